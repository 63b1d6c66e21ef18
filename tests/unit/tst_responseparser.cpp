#include "http/responseparser.h"

#include <QTest>

using namespace tollgate::http;

class TestResponseParser : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void deliversHeadersThenBody();
    void decodesChunkedStreamPieceByPiece();
    void completesBodyDelimitedByClose();
    void reportsConnectionClose();
    void flagsGarbage();
    void resetsForTheNextResponse();
};

void TestResponseParser::deliversHeadersThenBody()
{
    ResponseParser parser;
    auto progress = parser.feed("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\n"
                                "Content-Length: 5\r\n\r\nab");
    QVERIFY(progress.headersDone);
    QCOMPARE(parser.status(), 429);
    QCOMPARE(headerValue(parser.headers(), "retry-after"), QByteArray("7"));
    QCOMPARE(progress.body, QByteArray("ab"));
    QVERIFY(!progress.messageDone);
    progress = parser.feed("cde");
    QVERIFY(!progress.headersDone);
    QCOMPARE(progress.body, QByteArray("cde"));
    QVERIFY(progress.messageDone);
    QVERIFY(parser.keepAlive());
}

void TestResponseParser::decodesChunkedStreamPieceByPiece()
{
    ResponseParser parser;
    QVERIFY(parser.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").headersDone);
    QCOMPARE(parser.feed("7\r\nevent:").body, QByteArray("event:"));
    QCOMPARE(parser.feed(" \r\n").body, QByteArray(" "));
    const auto last = parser.feed("0\r\n\r\n");
    QVERIFY(last.body.isEmpty());
    QVERIFY(last.messageDone);
}

void TestResponseParser::completesBodyDelimitedByClose()
{
    ResponseParser parser;
    auto progress =
        parser.feed("HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n\r\n<html>");
    QCOMPARE(progress.body, QByteArray("<html>"));
    QVERIFY(!progress.messageDone);
    QVERIFY(parser.finishAtEof().messageDone);
    QVERIFY(!parser.keepAlive());
}

void TestResponseParser::reportsConnectionClose()
{
    ResponseParser parser;
    QVERIFY(parser.feed("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
                .messageDone);
    QVERIFY(!parser.keepAlive());
}

void TestResponseParser::flagsGarbage()
{
    ResponseParser parser;
    const auto progress = parser.feed("SSH-2.0-OpenSSH\r\n");
    QVERIFY(progress.failed);
    QVERIFY(progress.error.startsWith(QLatin1String("malformed upstream response")));
}

void TestResponseParser::resetsForTheNextResponse()
{
    ResponseParser parser;
    QVERIFY(parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").messageDone);
    parser.reset();
    QVERIFY(!parser.started());
    const auto next = parser.feed("HTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx");
    QVERIFY(next.messageDone);
    QCOMPARE(parser.status(), 201);
    QCOMPARE(parser.headers().size(), 1);
}

QTEST_GUILESS_MAIN(TestResponseParser)
#include "tst_responseparser.moc"
