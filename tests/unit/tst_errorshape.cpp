#include "api/errorshape.h"
#include "http/sseparser.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using namespace tollgate::api;

Q_DECLARE_METATYPE(Flavor)

namespace {

QJsonObject json(const QByteArray &body)
{
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(body, &error);
    if (error.error != QJsonParseError::NoError)
        qWarning("invalid JSON (%s): %s", qPrintable(error.errorString()), body.constData());
    return doc.object();
}

QString messageOf(const QByteArray &body)
{
    return json(body).value("error").toObject().value("message").toString();
}

} // namespace

class TestErrorShape : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void anthropicTypes_data();
    void anthropicTypes();
    void openAiTypes_data();
    void openAiTypes();
    void anthropicBodyIsExact();
    void openAiBodyIsExact();
    void messagesAreEscaped();
    void streamErrorEvents();
    void upstreamInCallerShapeIsKept_data();
    void upstreamInCallerShapeIsKept();
    void otherProviderShapeIsRewrapped();
    void nonJsonUpstreamIsWrapped();
    void longUpstreamBodyIsCut();
    void emptyUpstreamBody();
    void credentialsNeverLeak_data();
    void credentialsNeverLeak();
    void credentialInCallerShapeIsRedactedInPlace();
};

void TestErrorShape::anthropicTypes_data()
{
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("type");
    const QList<QPair<int, const char *>> table = {{400, "invalid_request_error"},
                                                   {401, "authentication_error"},
                                                   {402, "billing_error"},
                                                   {403, "permission_error"},
                                                   {404, "not_found_error"},
                                                   {408, "timeout_error"},
                                                   {409, "invalid_request_error"},
                                                   {413, "request_too_large"},
                                                   {422, "invalid_request_error"},
                                                   {429, "rate_limit_error"},
                                                   {500, "api_error"},
                                                   {502, "api_error"},
                                                   {503, "api_error"},
                                                   {504, "timeout_error"},
                                                   {529, "overloaded_error"}};
    for (const auto &[status, type] : table)
        QTest::addRow("%d", status) << status << QString::fromLatin1(type);
}

void TestErrorShape::anthropicTypes()
{
    QFETCH(int, status);
    QFETCH(QString, type);
    QCOMPARE(anthropicErrorType(status), type);
    QCOMPARE(json(errorBody(Flavor::Anthropic, status, "m"))
                 .value("error")
                 .toObject()
                 .value("type")
                 .toString(),
             type);
}

void TestErrorShape::openAiTypes_data()
{
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("type");
    QTest::addColumn<QJsonValue>("code");
    const QJsonValue null(QJsonValue::Null);
    QTest::newRow("400") << 400 << "invalid_request_error" << null;
    QTest::newRow("401") << 401 << "authentication_error" << QJsonValue("invalid_api_key");
    QTest::newRow("403") << 403 << "permission_error" << null;
    QTest::newRow("404") << 404 << "not_found_error" << null;
    QTest::newRow("413") << 413 << "invalid_request_error" << null;
    QTest::newRow("422") << 422 << "invalid_request_error" << null;
    QTest::newRow("429") << 429 << "rate_limit_error" << QJsonValue("rate_limit_exceeded");
    QTest::newRow("500") << 500 << "server_error" << null;
    QTest::newRow("502") << 502 << "server_error" << null;
    QTest::newRow("503") << 503 << "server_error" << null;
    QTest::newRow("529") << 529 << "server_error" << null;
}

void TestErrorShape::openAiTypes()
{
    QFETCH(int, status);
    QFETCH(QString, type);
    QFETCH(QJsonValue, code);
    QCOMPARE(openAiErrorType(status), type);
    const QJsonObject error =
        json(errorBody(Flavor::OpenAI, status, "m")).value("error").toObject();
    QCOMPARE(error.value("type").toString(), type);
    QCOMPARE(error.value("code"), code);
    QVERIFY(error.value("param").isNull());
}

void TestErrorShape::anthropicBodyIsExact()
{
    QCOMPARE(
        errorBody(Flavor::Anthropic, 429, "Rate limit exceeded. Upgrade for higher limits."),
        QByteArray(
            R"({"type":"error","error":{"type":"rate_limit_error","message":"Rate limit exceeded. Upgrade for higher limits."}})"));
}

void TestErrorShape::openAiBodyIsExact()
{
    QCOMPARE(
        errorBody(Flavor::OpenAI, 429, "Rate limit exceeded. Upgrade for higher limits."),
        QByteArray(
            R"({"error":{"message":"Rate limit exceeded. Upgrade for higher limits.","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}})"));
    QCOMPARE(errorBody(Flavor::OpenAI, 500, "boom"),
             QByteArray(
                 R"({"error":{"message":"boom","type":"server_error","param":null,"code":null}})"));
}

void TestErrorShape::messagesAreEscaped()
{
    const QString message =
        QStringLiteral("a \"quoted\" \\ path\nnew line\ttab \x01 ctl é ✓ 🙂");
    for (const Flavor flavor : {Flavor::Anthropic, Flavor::OpenAI}) {
        const QByteArray body = errorBody(flavor, 400, message);
        QCOMPARE(messageOf(body), message);
        QVERIFY(!body.contains('\n'));
    }
}

void TestErrorShape::streamErrorEvents()
{
    QCOMPARE(
        streamErrorEvent(Flavor::Anthropic, 529, "Overloaded"),
        QByteArray("event: error\ndata: "
                   R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"
                   "\n\n"));
    QCOMPARE(
        streamErrorEvent(Flavor::OpenAI, 502, "bad gateway"),
        QByteArray(
            "data: "
            R"({"error":{"message":"bad gateway","type":"server_error","param":null,"code":null}})"
            "\n\n"));

    // A multi-line message must stay one data line, or the client's parser would split it.
    tollgate::http::SseParser parser;
    const auto events = parser.feed(streamErrorEvent(Flavor::Anthropic, 500, "line1\nline2"));
    QCOMPARE(events.size(), 1);
    QCOMPARE(events[0].event, QByteArray("error"));
    QCOMPARE(messageOf(events[0].data), QStringLiteral("line1\nline2"));
}

void TestErrorShape::upstreamInCallerShapeIsKept_data()
{
    QTest::addColumn<Flavor>("flavor");
    QTest::addColumn<QByteArray>("body");
    QTest::newRow("anthropic")
        << Flavor::Anthropic
        << QByteArray(
               R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"})");
    QTest::newRow("anthropic pretty")
        << Flavor::Anthropic
        << QByteArray(
               "{\n  \"type\": \"error\",\n  \"error\": {\"type\": \"invalid_request_error\", "
               "\"message\": \"max_tokens: Field required\"}\n}\n");
    QTest::newRow("openai")
        << Flavor::OpenAI
        << QByteArray(
               R"({"error":{"message":"The model `gpt-9` does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}})");
}

void TestErrorShape::upstreamInCallerShapeIsKept()
{
    QFETCH(Flavor, flavor);
    QFETCH(QByteArray, body);
    QCOMPARE(normalizeUpstreamError(flavor, 400, body), body);
}

void TestErrorShape::otherProviderShapeIsRewrapped()
{
    const QByteArray openAiBody =
        R"({"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}})";
    const QByteArray asAnthropic = normalizeUpstreamError(Flavor::Anthropic, 429, openAiBody);
    QCOMPARE(
        asAnthropic,
        QByteArray(
            R"({"type":"error","error":{"type":"rate_limit_error","message":"You exceeded your current quota"}})"));

    const QByteArray anthropicBody =
        R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})";
    QCOMPARE(
        normalizeUpstreamError(Flavor::OpenAI, 529, anthropicBody),
        QByteArray(
            R"({"error":{"message":"Overloaded","type":"server_error","param":null,"code":null}})"));
}

void TestErrorShape::nonJsonUpstreamIsWrapped()
{
    const QByteArray html = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
                            "<center><h1>502   Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n";
    const QString expected = QStringLiteral(
        "upstream returned HTTP 502: <html> <head><title>502 Bad Gateway</title></head> <body> "
        "<center><h1>502 Bad Gateway</h1></center> </body> </html>");
    const QByteArray anthropic = normalizeUpstreamError(Flavor::Anthropic, 502, html);
    QCOMPARE(messageOf(anthropic), expected);
    QCOMPARE(json(anthropic).value("type").toString(), QStringLiteral("error"));
    QCOMPARE(json(anthropic).value("error").toObject().value("type").toString(),
             QStringLiteral("api_error"));
    const QByteArray openAi = normalizeUpstreamError(Flavor::OpenAI, 502, html);
    QCOMPARE(messageOf(openAi), expected);
    QCOMPARE(json(openAi).value("error").toObject().value("type").toString(),
             QStringLiteral("server_error"));

    // JSON that is not an error object is wrapped too.
    QCOMPARE(messageOf(normalizeUpstreamError(Flavor::OpenAI, 500, R"({"detail":"oops"})")),
             QStringLiteral(R"(upstream returned HTTP 500: {"detail":"oops"})"));
}

void TestErrorShape::longUpstreamBodyIsCut()
{
    const QByteArray body = QByteArray(150, 'a') + "\n\n\n" + QByteArray(5000, 'b');
    const QString message = messageOf(normalizeUpstreamError(Flavor::Anthropic, 500, body));
    const QString prefix = QStringLiteral("upstream returned HTTP 500: ");
    QVERIFY(message.startsWith(prefix));
    const QString excerpt = message.mid(prefix.size());
    QCOMPARE(excerpt, QString(150, 'a') + ' ' + QString(49, 'b') + QChar(0x2026));
}

void TestErrorShape::emptyUpstreamBody()
{
    QCOMPARE(messageOf(normalizeUpstreamError(Flavor::Anthropic, 503, "")),
             QStringLiteral("upstream returned HTTP 503"));
    QCOMPARE(messageOf(normalizeUpstreamError(Flavor::OpenAI, 504, " \r\n ")),
             QStringLiteral("upstream returned HTTP 504"));
}

void TestErrorShape::credentialsNeverLeak_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QByteArray>("secret");
    QTest::addColumn<QString>("kept");
    QTest::newRow("anthropic key in text")
        << QByteArray("bad key sk-ant-api03-AbCdEf123456_xyz-987 rejected")
        << QByteArray("AbCdEf123456") << QStringLiteral("bad key [redacted] rejected");
    QTest::newRow("openai key at start")
        << QByteArray("sk-proj-0123456789abcdef") << QByteArray("0123456789")
        << QStringLiteral("[redacted]");
    QTest::newRow("bearer header echoed")
        << QByteArray("Authorization: Bearer tg-virtual.key/abc= was refused")
        << QByteArray("tg-virtual")
        << QStringLiteral("Authorization: Bearer [redacted] was refused");
    QTest::newRow("key in non-caller json")
        << QByteArray(R"({"detail":"invalid key sk-abcdefghijklmnop"})")
        << QByteArray("abcdefghijklmnop")
        << QStringLiteral(R"({"detail":"invalid key [redacted]"})");
    QTest::newRow("key in other provider's message")
        << QByteArray(
               R"({"type":"error","error":{"type":"authentication_error","message":"key sk-ant-0123456789 invalid"}})")
        << QByteArray("0123456789") << QStringLiteral("key [redacted] invalid");
    QTest::newRow("key past the excerpt cut")
        << QByteArray(190, 'x') + " sk-ant-api03-SECRETSECRETSECRET" << QByteArray("SECRETSE")
        << QString();
    QTest::newRow("words are not keys")
        << QByteArray("task-12345678 and risk-management-plan") << QByteArray("[redacted]")
        << QStringLiteral("task-12345678 and risk-management-plan");
}

void TestErrorShape::credentialsNeverLeak()
{
    QFETCH(QByteArray, body);
    QFETCH(QByteArray, secret);
    QFETCH(QString, kept);
    // OpenAI flavor, so the Anthropic-shaped row exercises the rewrap path.
    const QByteArray out = normalizeUpstreamError(Flavor::OpenAI, 401, body);
    QVERIFY2(!out.contains(secret), out.constData());
    if (!kept.isEmpty())
        QVERIFY2(messageOf(out).endsWith(kept), out.constData());
}

void TestErrorShape::credentialInCallerShapeIsRedactedInPlace()
{
    const QByteArray body =
        R"({"error":{"message":"Incorrect API key provided: sk-proj-****************************abcd. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}})";
    const QByteArray out = normalizeUpstreamError(Flavor::OpenAI, 401, body);
    QCOMPARE(out,
             QByteArray(body).replace("sk-proj-****************************abcd", "[redacted]"));
    QCOMPARE(json(out).value("error").toObject().value("code").toString(),
             QStringLiteral("invalid_api_key"));
}

QTEST_GUILESS_MAIN(TestErrorShape)
#include "tst_errorshape.moc"
