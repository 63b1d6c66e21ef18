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
    void openAiStreamOptionsAfterEscapedQuotesIsReplaced();
    void openAiNonStreamLeavesStreamOptionsAlone();
    void escapedKeyFallsBackToReserializing();
    void escapedKeyElsewhereKeepsClientBytes();
    void duplicateKeysLastWins();
    void userIsRead();
    void errors_data();
    void errors();
    void countTokensModel();
    void countTokensErrors();
    void invalidJsonAnywhereIsRejected_data();
    void invalidJsonAnywhereIsRejected();
    void jsonQtToleratesIsAccepted_data();
    void jsonQtToleratesIsAccepted();
    void underflowingNumberIsAccepted();
    void bodiesOfAnyCapacityAndSize();
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

void TestClientRequest::openAiStreamOptionsAfterEscapedQuotesIsReplaced()
{
    // The byte scanner that finds stream_options must end strings at the right quote.
    const QByteArray before =
        R"({"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"say \"}\" \\"},)"
        R"({"role":"user","content":"C:\\dir\\\"x\\\\"}],"stream_options":)";
    const auto request = parseClientRequest(Flavor::OpenAI, before + R"({"include_usage":false}})");
    QVERIFY(request.ok());
    QCOMPARE(request->upstreamBody, before + R"({"include_usage":true}})");
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

void TestClientRequest::escapedKeyElsewhereKeepsClientBytes()
{
    // An escaped key that is not the one being added does not stop the byte edit.
    const QByteArray rest = R"("mod\u0065l":"m", "messages":[], "temperature": 0.70})";
    const auto request = parseClientRequest(Flavor::Anthropic, "{" + rest);
    QVERIFY(request.ok());
    QCOMPARE(request->model, QStringLiteral("m"));
    QCOMPARE(request->upstreamBody, "{\"max_tokens\":1024," + rest);
}

void TestClientRequest::duplicateKeysLastWins()
{
    const auto request = parseClientRequest(
        Flavor::Anthropic,
        R"({"model":"a","messages":{},"max_tokens":5,"stream":true,"metadata":{"user_id":"x"},)"
        R"("model":"b","messages":[],"max_tokens":6,"stream":false,"metadata":{}})");
    QVERIFY(request.ok());
    QCOMPARE(request->model, QStringLiteral("b"));
    QCOMPARE(request->maxTokens, 6);
    QVERIFY(!request->stream);
    QVERIFY(request->user.isEmpty());

    const auto openAi = parseClientRequest(
        Flavor::OpenAI,
        R"({"model":"g","stream":true,"messages":[],"stream_options":{"include_usage":true},)"
        R"("stream_options":{"include_usage":false,"include_usage":true}})");
    QVERIFY(openAi.ok());
    QVERIFY(openAi->clientWantsUsageChunk);
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

void TestClientRequest::invalidJsonAnywhereIsRejected_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QString>("error");

    // Deep in values the gateway does not read: the whole body is validated, and the error is
    // worded (offset included) as before.
    QTest::newRow("bad literal")
        << QByteArray(
               R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","x":tru}]}]})")
        << QStringLiteral("illegal value at offset 74");
    QTest::newRow("missing comma") << QByteArray(R"({"model":"m","messages":[],"tools":[1 2]})")
                                   << QStringLiteral("missing value separator at offset 39");
    QTest::newRow("missing colon") << QByteArray(R"({"model":"m","messages":[],"t":{"a" 1}})")
                                   << QStringLiteral("missing name separator at offset 37");
    QTest::newRow("bad escape") << QByteArray(R"({"model":"m","messages":["\u12g4"]})")
                                << QStringLiteral("invalid escape sequence at offset 30");
    QTest::newRow("invalid UTF-8") << QByteArray("{\"model\":\"m\",\"messages\":[\"\xff\"]}")
                                   << QStringLiteral("invalid UTF8 string at offset 26");
    QTest::newRow("trailing garbage")
        << QByteArray(R"({"model":"m","messages":[]} x)")
        << QStringLiteral("garbage at the end of the document at offset 28");
    QTest::newRow("unclosed") << QByteArray(R"({"model":"m","messages":[)")
                              << QStringLiteral("unterminated array at offset 25");
}

void TestClientRequest::invalidJsonAnywhereIsRejected()
{
    QFETCH(QByteArray, body);
    QFETCH(QString, error);

    for (const Flavor flavor : {Flavor::Anthropic, Flavor::OpenAI}) {
        const auto request = parseClientRequest(flavor, body);
        QVERIFY(!request.ok());
        QVERIFY(request.error().path.isEmpty());
        QCOMPARE(request.error().message, "request body is not valid JSON: " + error);
    }
    QVERIFY(!parseCountTokensModel(body).ok());
}

void TestClientRequest::jsonQtToleratesIsAccepted_data()
{
    QTest::addColumn<QByteArray>("value");

    // simdjson refuses these (the first four are not RFC 8259 JSON; it stops at 64-bit
    // integers), but the gateway has always accepted them, and so may a provider.
    QTest::newRow("lone surrogate") << QByteArray(R"("\ud83d")");
    QTest::newRow("unknown escape") << QByteArray(R"("\q")");
    QTest::newRow("control character") << QByteArray("\"a\x01b\"");
    QTest::newRow("trailing dot") << QByteArray("1.");
    QTest::newRow("beyond 64 bits") << QByteArray("123456789012345678901234567890");
}

void TestClientRequest::jsonQtToleratesIsAccepted()
{
    QFETCH(QByteArray, value);

    const QByteArray body =
        R"({"model":"m","max_tokens":9,"messages":[{"content":)" + value + "}]}";
    const auto request = parseClientRequest(Flavor::Anthropic, body);
    QVERIFY2(request.ok(), qPrintable(request.ok() ? QString() : request.error().toString()));
    QCOMPARE(request->maxTokens, 9);
    QCOMPARE(request->upstreamBody, body);

    // Edits still keep the client's bytes.
    const QByteArray openAiBody =
        R"({"model":"m","stream":true,"stream_options":{"x":1},"messages":[)" + value + "]}";
    const auto openAi = parseClientRequest(Flavor::OpenAI, openAiBody);
    QVERIFY(openAi.ok());
    QCOMPARE(openAi->upstreamBody,
             R"({"model":"m","stream":true,"stream_options":{"include_usage":true,"x":1},)"
             R"("messages":[)" +
                 value + "]}");
}

void TestClientRequest::underflowingNumberIsAccepted()
{
    // Valid JSON that reads as 0; Qt's parser refused it, simdjson (and the providers) accept it.
    const QByteArray body = R"({"model":"m","max_tokens":1,"messages":[],"temperature":1e-400})";
    const auto request = parseClientRequest(Flavor::Anthropic, body);
    QVERIFY(request.ok());
    QCOMPARE(request->upstreamBody, body);
}

void TestClientRequest::bodiesOfAnyCapacityAndSize()
{
    // simdjson reads past the end of its input: bodies with and without spare capacity, raw
    // data, and one too large for the thread's reused parser.
    const QByteArray body = R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";
    QByteArray exact;
    exact.reserve(body.size());
    exact.append(body);
    QByteArray spare;
    spare.reserve(body.size() + 4096);
    spare.append(body);
    const QByteArray raw = QByteArray::fromRawData(body.constData(), body.size());
    QByteArray huge = R"({"model":"m","messages":[{"role":"user","content":")";
    huge.append(QByteArray(5 * 1024 * 1024, 'x'));
    huge.append(R"("}]})");

    for (const QByteArray &input : {exact, spare, raw, huge}) {
        const auto request = parseClientRequest(Flavor::Anthropic, input);
        QVERIFY(request.ok());
        QCOMPARE(request->model, QStringLiteral("m"));
        QCOMPARE(request->upstreamBody, "{\"max_tokens\":1024," + input.mid(1));
    }
}

QTEST_GUILESS_MAIN(TestClientRequest)
#include "tst_clientrequest.moc"
