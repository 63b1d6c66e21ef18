#include "http/requestparser.h"

#include <QTest>

using namespace tollgate::http;

class TestRequestParser : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void credentialsAreRedacted();
    void parsesWholeRequest();
    void parsesByteAtATime();
    void keepsPipelinedRequestsForLater();
    void decodesChunkedBody();
    void rejectsOversizedBodyByContentLength();
    void rejectsOversizedChunkedBody();
    void rejectsOversizedHeaders();
    void rejectsMalformedRequest();
    void honoursConnectionClose();
    void reportsPartialRequest();
};

namespace {
const QByteArray kPost = "POST /v1/messages?beta=true HTTP/1.1\r\n"
                         "Host: localhost\r\n"
                         "X-Api-Key: sk-test\r\n"
                         "Content-Length: 13\r\n"
                         "\r\n"
                         "{\"model\":\"m\"}";
}

void TestRequestParser::parsesWholeRequest()
{
    RequestParser parser;
    parser.append(kPost);
    QCOMPARE(parser.parse(), RequestParser::State::Ready);
    const HttpRequest request = parser.takeRequest();
    QCOMPARE(request.method, QByteArray("POST"));
    QCOMPARE(request.path, QByteArray("/v1/messages"));
    QCOMPARE(request.query, QByteArray("beta=true"));
    QCOMPARE(request.header("x-api-key"), QByteArray("sk-test"));
    QCOMPARE(request.body, QByteArray("{\"model\":\"m\"}"));
    QVERIFY(request.keepAlive);
    QCOMPARE(parser.parse(), RequestParser::State::NeedMore);
    QVERIFY(!parser.inRequest());
}

void TestRequestParser::parsesByteAtATime()
{
    RequestParser parser;
    for (qsizetype i = 0; i < kPost.size() - 1; ++i) {
        parser.append(kPost.mid(i, 1));
        QCOMPARE(parser.parse(), RequestParser::State::NeedMore);
    }
    parser.append(kPost.right(1));
    QCOMPARE(parser.parse(), RequestParser::State::Ready);
    const HttpRequest request = parser.takeRequest();
    QCOMPARE(request.header("host"), QByteArray("localhost"));
    QCOMPARE(request.body.size(), 13);
}

void TestRequestParser::keepsPipelinedRequestsForLater()
{
    RequestParser parser;
    parser.append(kPost + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    QCOMPARE(parser.parse(), RequestParser::State::Ready);
    QCOMPARE(parser.takeRequest().path, QByteArray("/v1/messages"));
    QVERIFY(parser.inRequest());
    QCOMPARE(parser.parse(), RequestParser::State::Ready);
    const HttpRequest second = parser.takeRequest();
    QCOMPARE(second.method, QByteArray("GET"));
    QCOMPARE(second.path, QByteArray("/health"));
    QVERIFY(second.body.isEmpty());
}

void TestRequestParser::decodesChunkedBody()
{
    RequestParser parser;
    parser.append("POST /v1/messages HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n");
    QCOMPARE(parser.parse(), RequestParser::State::Ready);
    QCOMPARE(parser.takeRequest().body, QByteArray("{\"a\":1}"));
}

void TestRequestParser::rejectsOversizedBodyByContentLength()
{
    RequestParser parser({64 * 1024, 10});
    parser.append("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n");
    QCOMPARE(parser.parse(), RequestParser::State::Failed);
    QCOMPARE(parser.errorStatus(), 413);
}

void TestRequestParser::rejectsOversizedChunkedBody()
{
    RequestParser parser({64 * 1024, 10});
    parser.append("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n");
    QCOMPARE(parser.parse(), RequestParser::State::NeedMore);
    parser.append("8\r\n12345678\r\n");
    QCOMPARE(parser.parse(), RequestParser::State::Failed);
    QCOMPARE(parser.errorStatus(), 413);
}

void TestRequestParser::rejectsOversizedHeaders()
{
    RequestParser parser({1024, 1024});
    parser.append("GET / HTTP/1.1\r\nX-Big: " + QByteArray(2000, 'a') + "\r\n\r\n");
    QCOMPARE(parser.parse(), RequestParser::State::Failed);
    QCOMPARE(parser.errorStatus(), 431);
}

void TestRequestParser::rejectsMalformedRequest()
{
    RequestParser parser;
    parser.append("NOT A REQUEST\r\n\r\n");
    QCOMPARE(parser.parse(), RequestParser::State::Failed);
    QCOMPARE(parser.errorStatus(), 400);
    QVERIFY(parser.errorMessage().startsWith(QLatin1String("malformed HTTP request")));
}

void TestRequestParser::honoursConnectionClose()
{
    RequestParser parser;
    parser.append("GET /health HTTP/1.1\r\nConnection: close\r\n\r\n");
    QCOMPARE(parser.parse(), RequestParser::State::Ready);
    QVERIFY(!parser.takeRequest().keepAlive);
    RequestParser old;
    old.append("GET /health HTTP/1.0\r\n\r\n");
    QCOMPARE(old.parse(), RequestParser::State::Ready);
    QVERIFY(!old.takeRequest().keepAlive);
}

void TestRequestParser::reportsPartialRequest()
{
    RequestParser parser;
    QVERIFY(!parser.inRequest());
    parser.append("GET /hea");
    QCOMPARE(parser.parse(), RequestParser::State::NeedMore);
    QVERIFY(parser.inRequest());
}

void TestRequestParser::credentialsAreRedacted()
{
    using tollgate::http::HeaderList;
    const HeaderList headers{{"authorization", "Bearer sk-1"},
                             {"x-api-key", "sk-ant-2"},
                             {"Cookie", "session=3"},
                             {"x-goog-api-key", "g-4"},
                             {"x-tollgate-key", "tg-5"},
                             {"openai-session-token", "t-6"},
                             {"content-type", "application/json"},
                             {"anthropic-version", "2023-06-01"}};
    const HeaderList redacted = tollgate::http::redactCredentials(headers);
    QCOMPARE(redacted.size(), headers.size());
    for (int i = 0; i < 6; ++i)
        QCOMPARE(redacted[i].second, QByteArray("[redacted]"));
    QCOMPARE(redacted[6], headers[6]);
    QCOMPARE(redacted[7], headers[7]);
}

QTEST_GUILESS_MAIN(TestRequestParser)
#include "tst_requestparser.moc"
