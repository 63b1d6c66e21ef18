#include "api/clientrequest.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using tollgate::api::ClientRequest;
using tollgate::api::Flavor;
using tollgate::api::parseClientRequest;
using tollgate::api::parseCountTokensModel;
using tollgate::api::RequestDefaults;

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

} // namespace

class TestClientRequest : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void unchangedBodyIsByteIdentical_data();
    void unchangedBodyIsByteIdentical();
    void anthropicDefaultMaxTokensIsInjected();
    void anthropicDefaultIsConfigurable();
    void anthropicInjectionKeepsClientBytes();
    void openAiNeverGetsMaxTokens();
    void openAiMaxCompletionTokens();
    void openAiNullsAreAbsent();
    void openAiStreamGetsIncludeUsage();
    void openAiStreamKeepsOtherStreamOptions();
    void openAiStreamOptionsIncludeUsageFalseIsReplaced();
    void openAiNonStreamLeavesStreamOptionsAlone();
    void escapedKeyFallsBackToReserializing();
    void userIsRead();
    void errors_data();
    void errors();
    void countTokensModel();
    void countTokensErrors();
};

void TestClientRequest::unchangedBodyIsByteIdentical_data()
{
    QTest::addColumn<Flavor>("flavor");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<bool>("stream");
    QTest::addColumn<int>("maxTokens");

    // Odd spacing, key order, number spellings and unicode: any re-serialization would show.
    QTest::newRow("anthropic")
        << Flavor::Anthropic
        << QByteArray("{ \"messages\" : [ {\"role\":\"user\",\"content\":\"h\\u00e9llo "
                      "\xe2\x9c\x93\"} ],\n"
                      "  \"model\":\"claude-sonnet-4-20250514\", \"max_tokens\": 512,"
                      " \"temperature\": 1.0e0, \"seed\": 12345678901234567890 }")
        << false << 512;
    QTest::newRow("anthropic stream")
        << Flavor::Anthropic
        << QByteArray(
               R"({"model":"claude-3-haiku-20240307","max_tokens":100,"stream":true,"messages":[]})")
        << true << 100;
    QTest::newRow("openai without max_tokens")
        << Flavor::OpenAI
        << QByteArray(
               "{\"model\": \"gpt-4o\",\n \"messages\": [{\"role\": \"user\", \"content\": \"x\"}],"
               " \"temperature\": 0.10}")
        << false << 0;
    QTest::newRow("openai stream asking for usage")
        << Flavor::OpenAI
        << QByteArray(
               R"({"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[]})")
        << true << 0;
    QTest::newRow("openai stream false")
        << Flavor::OpenAI
        << QByteArray(R"({"model":"gpt-4o","stream":false,"max_tokens":64,"messages":[]})") << false
        << 64;
}

void TestClientRequest::unchangedBodyIsByteIdentical()
{
    QFETCH(Flavor, flavor);
    QFETCH(QByteArray, body);
    QFETCH(bool, stream);
    QFETCH(int, maxTokens);

    const auto request = parseClientRequest(flavor, body);
    QVERIFY2(request.ok(), qPrintable(request.ok() ? QString() : request.error().toString()));
    QCOMPARE(request->upstreamBody, body);
    QCOMPARE(request->stream, stream);
    QCOMPARE(request->maxTokens, maxTokens);
    QVERIFY(!request->maxTokensDefaulted);
}

void TestClientRequest::anthropicDefaultMaxTokensIsInjected()
{
    const QByteArray body =
        R"({"model":"claude-sonnet-4-20250514","messages":[{"role":"user","content":"hi"}]})";
    const auto request = parseClientRequest(Flavor::Anthropic, body);
    QVERIFY(request.ok());
    QCOMPARE(request->model, QStringLiteral("claude-sonnet-4-20250514"));
    QCOMPARE(request->maxTokens, 1024);
    QVERIFY(request->maxTokensDefaulted);
    QVERIFY(!request->stream);
    QCOMPARE(
        request->upstreamBody,
        QByteArray(
            R"({"max_tokens":1024,"model":"claude-sonnet-4-20250514","messages":[{"role":"user","content":"hi"}]})"));
}

void TestClientRequest::anthropicDefaultIsConfigurable()
{
    RequestDefaults defaults;
    defaults.maxTokens = 2048;
    const auto request =
        parseClientRequest(Flavor::Anthropic, R"({"model":"m","messages":[]})", defaults);
    QVERIFY(request.ok());
    QCOMPARE(request->maxTokens, 2048);
    QCOMPARE(json(request->upstreamBody).value("max_tokens").toInt(), 2048);

    // A non-positive default turns defaulting off: the upstream answers for itself.
    defaults.maxTokens = 0;
    const QByteArray body = R"({"model":"m","messages":[]})";
    const auto untouched = parseClientRequest(Flavor::Anthropic, body, defaults);
    QVERIFY(untouched.ok());
    QCOMPARE(untouched->upstreamBody, body);
    QCOMPARE(untouched->maxTokens, 0);
    QVERIFY(!untouched->maxTokensDefaulted);
}

void TestClientRequest::anthropicInjectionKeepsClientBytes()
{
    // Leading whitespace, big integers and float spellings survive; only the member is added.
    const QByteArray rest = "\"model\" : \"m\", \"messages\":[], \"seed\": 123456789012345678901,"
                            " \"temperature\": 0.70 }\n";
    const QByteArray body = " \n{ " + rest;
    const auto request = parseClientRequest(Flavor::Anthropic, body);
    QVERIFY(request.ok());
    QCOMPARE(request->upstreamBody, " \n{\"max_tokens\":1024, " + rest);
    QCOMPARE(json(request->upstreamBody).value("max_tokens").toInt(), 1024);
}

void TestClientRequest::openAiNeverGetsMaxTokens()
{
    const QByteArray body = R"({"model":"o3-mini","messages":[{"role":"user","content":"x"}]})";
    const auto request = parseClientRequest(Flavor::OpenAI, body);
    QVERIFY(request.ok());
    QCOMPARE(request->maxTokens, 0);
    QVERIFY(!request->maxTokensDefaulted);
    QCOMPARE(request->upstreamBody, body);
}

void TestClientRequest::openAiMaxCompletionTokens()
{
    const QByteArray body = R"({"model":"o3-mini","max_completion_tokens":300,"messages":[]})";
    const auto request = parseClientRequest(Flavor::OpenAI, body);
    QVERIFY(request.ok());
    QCOMPARE(request->maxTokens, 300);
    QCOMPARE(request->upstreamBody, body);

    const auto both = parseClientRequest(
        Flavor::OpenAI,
        R"({"model":"g","max_tokens":10,"max_completion_tokens":20,"messages":[]})");
    QVERIFY(both.ok());
    QCOMPARE(both->maxTokens, 20);
}

void TestClientRequest::openAiNullsAreAbsent()
{
    const QByteArray body =
        R"({"model":"g","messages":[],"max_tokens":null,"max_completion_tokens":null,"stream":null})";
    const auto request = parseClientRequest(Flavor::OpenAI, body);
    QVERIFY2(request.ok(), qPrintable(request.ok() ? QString() : request.error().toString()));
    QCOMPARE(request->maxTokens, 0);
    QVERIFY(!request->stream);
    QCOMPARE(request->upstreamBody, body);
}

void TestClientRequest::openAiStreamGetsIncludeUsage()
{
    const QByteArray body =
        R"({"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"x"}]})";
    const auto request = parseClientRequest(Flavor::OpenAI, body);
    QVERIFY(request.ok());
    QVERIFY(request->stream);
    QVERIFY(!request->clientWantsUsageChunk);
    QCOMPARE(
        request->upstreamBody,
        QByteArray(
            R"({"stream_options":{"include_usage":true},"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"x"}]})"));

    const auto asked = parseClientRequest(
        Flavor::OpenAI,
        R"({"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[]})");
    QVERIFY(asked.ok());
    QVERIFY(asked->clientWantsUsageChunk);
}

void TestClientRequest::openAiStreamKeepsOtherStreamOptions()
{
    const QByteArray body =
        R"({"model":"gpt-4o","stream_options": {"continuous_usage_stats": true} ,"stream":true,"messages":[]})";
    const auto request = parseClientRequest(Flavor::OpenAI, body);
    QVERIFY(request.ok());
    QVERIFY(!request->clientWantsUsageChunk);
    QCOMPARE(
        request->upstreamBody,
        QByteArray(
            R"({"model":"gpt-4o","stream_options": {"continuous_usage_stats":true,"include_usage":true} ,"stream":true,"messages":[]})"));
}

void TestClientRequest::openAiStreamOptionsIncludeUsageFalseIsReplaced()
{
    const QByteArray body =
        R"({"model":"gpt-4o","stream":true,"messages":[],"stream_options":{"include_usage":false}})";
    const auto request = parseClientRequest(Flavor::OpenAI, body);
    QVERIFY(request.ok());
    QVERIFY(!request->clientWantsUsageChunk);
    QCOMPARE(
        request->upstreamBody,
        QByteArray(
            R"({"model":"gpt-4o","stream":true,"messages":[],"stream_options":{"include_usage":true}})"));
}

void TestClientRequest::openAiNonStreamLeavesStreamOptionsAlone()
{
    const QByteArray body =
        R"({"model":"gpt-4o","messages":[],"stream_options":{"include_usage":false}})";
    const auto request = parseClientRequest(Flavor::OpenAI, body);
    QVERIFY(request.ok());
    QVERIFY(!request->stream);
    QVERIFY(!request->clientWantsUsageChunk);
    QCOMPARE(request->upstreamBody, body);
}

void TestClientRequest::escapedKeyFallsBackToReserializing()
{
    // "stream\u005foptions" is stream_options to every JSON parser; a byte edit would miss it.
    const QByteArray body =
        R"({"model":"g","stream":true,"messages":[],"stream\u005foptions":{"include_usage":false}})";
    const auto request = parseClientRequest(Flavor::OpenAI, body);
    QVERIFY(request.ok());
    const QJsonObject upstream = json(request->upstreamBody);
    QCOMPARE(upstream.value("stream_options").toObject().value("include_usage").toBool(), true);
    QCOMPARE(upstream.value("model").toString(), QStringLiteral("g"));
    QCOMPARE(upstream.size(), 4);
}

void TestClientRequest::userIsRead()
{
    const auto anthropic = parseClientRequest(
        Flavor::Anthropic,
        R"({"model":"m","max_tokens":1,"messages":[],"metadata":{"user_id":"alice"},"user":"x"})");
    QVERIFY(anthropic.ok());
    QCOMPARE(anthropic->user, QStringLiteral("alice"));

    const auto openAi = parseClientRequest(
        Flavor::OpenAI, R"({"model":"m","messages":[],"user":"bob","metadata":{"user_id":"x"}})");
    QVERIFY(openAi.ok());
    QCOMPARE(openAi->user, QStringLiteral("bob"));

    const auto none = parseClientRequest(Flavor::OpenAI, R"({"model":"m","messages":[],"user":7})");
    QVERIFY(none.ok());
    QVERIFY(none->user.isEmpty());
}

void TestClientRequest::errors_data()
{
    QTest::addColumn<Flavor>("flavor");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("message");

    const auto a = Flavor::Anthropic;
    const auto o = Flavor::OpenAI;
    QTest::newRow("empty") << a << QByteArray("  ") << QString()
                           << QStringLiteral("request body is empty; expected a JSON object");
    QTest::newRow("malformed") << a << QByteArray(R"({"model":"m",)") << QString()
                               << QStringLiteral("request body is not valid JSON: ");
    QTest::newRow("not an object") << o << QByteArray("[1,2]") << QString()
                                   << QStringLiteral("request body must be a JSON object");
    QTest::newRow("model missing") << a << QByteArray(R"({"messages":[]})")
                                   << QStringLiteral("model") << QStringLiteral("field required");
    QTest::newRow("model not string")
        << o << QByteArray(R"({"model":3,"messages":[]})") << QStringLiteral("model")
        << QStringLiteral("must be a string");
    QTest::newRow("model empty") << a << QByteArray(R"({"model":"","messages":[]})")
                                 << QStringLiteral("model") << QStringLiteral("must not be empty");
    QTest::newRow("messages missing (anthropic)")
        << a << QByteArray(R"({"model":"m"})") << QStringLiteral("messages")
        << QStringLiteral("field required");
    QTest::newRow("messages missing (openai)")
        << o << QByteArray(R"({"model":"m"})") << QStringLiteral("messages")
        << QStringLiteral("field required");
    QTest::newRow("messages not array")
        << o << QByteArray(R"({"model":"m","messages":{}})") << QStringLiteral("messages")
        << QStringLiteral("must be an array");
    QTest::newRow("max_tokens zero")
        << a << QByteArray(R"({"model":"m","messages":[],"max_tokens":0})")
        << QStringLiteral("max_tokens") << QStringLiteral("must be a positive integer");
    QTest::newRow("max_tokens negative")
        << o << QByteArray(R"({"model":"m","messages":[],"max_tokens":-5})")
        << QStringLiteral("max_tokens") << QStringLiteral("must be a positive integer");
    QTest::newRow("max_tokens fraction")
        << a << QByteArray(R"({"model":"m","messages":[],"max_tokens":1.5})")
        << QStringLiteral("max_tokens") << QStringLiteral("must be a positive integer");
    QTest::newRow("max_tokens string")
        << a << QByteArray(R"({"model":"m","messages":[],"max_tokens":"100"})")
        << QStringLiteral("max_tokens") << QStringLiteral("must be a positive integer");
    QTest::newRow("max_tokens too large")
        << a << QByteArray(R"({"model":"m","messages":[],"max_tokens":1e12})")
        << QStringLiteral("max_tokens") << QStringLiteral("must be a positive integer");
    QTest::newRow("max_tokens null (anthropic)")
        << a << QByteArray(R"({"model":"m","messages":[],"max_tokens":null})")
        << QStringLiteral("max_tokens") << QStringLiteral("must be a positive integer");
    QTest::newRow("max_completion_tokens zero")
        << o << QByteArray(R"({"model":"m","messages":[],"max_completion_tokens":0})")
        << QStringLiteral("max_completion_tokens") << QStringLiteral("must be a positive integer");
    QTest::newRow("stream string")
        << o << QByteArray(R"({"model":"m","messages":[],"stream":"yes"})")
        << QStringLiteral("stream") << QStringLiteral("must be a boolean");
    QTest::newRow("stream null (anthropic)")
        << a << QByteArray(R"({"model":"m","max_tokens":1,"messages":[],"stream":null})")
        << QStringLiteral("stream") << QStringLiteral("must be a boolean");
}

void TestClientRequest::errors()
{
    QFETCH(Flavor, flavor);
    QFETCH(QByteArray, body);
    QFETCH(QString, path);
    QFETCH(QString, message);

    const auto request = parseClientRequest(flavor, body);
    QVERIFY(!request.ok());
    QCOMPARE(request.error().path, path);
    QVERIFY2(request.error().message.startsWith(message), qPrintable(request.error().message));
}

void TestClientRequest::countTokensModel()
{
    const auto model = parseCountTokensModel(
        R"({"model":"claude-3-haiku-20240307","messages":[{"role":"user","content":"hi"}]})");
    QVERIFY(model.ok());
    QCOMPARE(*model, QStringLiteral("claude-3-haiku-20240307"));
}

void TestClientRequest::countTokensErrors()
{
    const auto malformed = parseCountTokensModel("{\"model\":");
    QVERIFY(!malformed.ok());
    QVERIFY(malformed.error().path.isEmpty());
    QVERIFY(malformed.error().message.startsWith("request body is not valid JSON: "));
    QVERIFY2(malformed.error().message.contains(" at offset 9"),
             qPrintable(malformed.error().message));

    const auto missing = parseCountTokensModel(R"({"messages":[]})");
    QVERIFY(!missing.ok());
    QCOMPARE(missing.error().toString(), QStringLiteral("model: field required"));

    const auto empty = parseCountTokensModel(R"({"model":""})");
    QVERIFY(!empty.ok());
    QCOMPARE(empty.error().path, QStringLiteral("model"));

    const auto notObject = parseCountTokensModel("\"m\"");
    QVERIFY(!notObject.ok());
    QCOMPARE(notObject.error().message, QStringLiteral("request body must be a JSON object"));
}

QTEST_GUILESS_MAIN(TestClientRequest)
#include "tst_clientrequest.moc"
