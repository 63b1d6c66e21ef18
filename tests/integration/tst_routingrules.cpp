// Routing rules on request metadata through the real tollgated on real sockets against the mock
// upstream (docs/routing.md, "metadata"): Anthropic `metadata.user_id` (plain, and Claude Code's
// JSON text) and OpenAI `user` pick the rule; what the provider received (the mock's journal),
// what the client saw (x-tollgate-model, x-tollgate-route) and what the request log recorded agree.
// `tollgated check-config` prints the condition back and names a bad one by its path.

#include "httptestclient.h"
#include "mockupstream.h"
#include "providerheaders.h"
#include "requestlogreader.h"
#include "testchecks.h"
#include "tollgatedprocess.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QVariantMap>
#include <QtTest/QtTest>

using namespace tollgate::testsupport;

namespace {

const QByteArray kSonnet = "claude-sonnet-4-20250514";
const QByteArray kHaiku = "claude-3-haiku-20240307";
const QByteArray kAnthropicClientKey = "sk-ant-api03-tollgate-rr-client-61c2e0f9";
const QByteArray kOpenAiClientKey = "sk-proj-tollgate-rr-client-a47d93c0";

// Claude Code's metadata.user_id: a JSON object as text, escaped once more inside the body.
const QByteArray kClaudeCodeUserId =
    R"({\"device_id\":\"9b1f3c0d2e4a\",\"account_uuid\":\"acct-7d41-55e0\",\"session_id\":\"c1\"})";

const QByteArray kPolicy = R"({"version":1,
  "routes":[
    {"name":"batch-jobs","match":{"metadata":{"user_id":"batch-*"},"api":"anthropic"},
     "targets":["claude-3-haiku-20240307"]},
    {"name":"claude-code-account",
     "match":{"metadata":{"user_id.account_uuid":"acct-7d41-*"},"api":"anthropic"},
     "targets":["claude-sonnet-4-20250514"]},
    {"name":"openai-batch","match":{"metadata":{"user_id":"batch-*"},"api":"openai"},
     "targets":["gpt-4o-mini"]},
    {"name":"requested","match":{},"targets":["$requested"]}]})";

HttpTestRequest messages(const QByteArray &body, const HttpHeaders &extra = {})
{
    return HttpTestRequest::post("/v1/messages", body,
                                 ProviderHeaders::anthropic(kAnthropicClientKey) + extra);
}

HttpTestRequest chat(const QByteArray &body)
{
    return HttpTestRequest::post("/v1/chat/completions", body,
                                 ProviderHeaders::openAi(kOpenAiClientKey));
}

/// Every body differs in its prompt, so no response cache could answer one of them.
QByteArray anthropicBody(const QByteArray &model, const QByteArray &prompt,
                         const QByteArray &metadata, bool stream = false)
{
    QByteArray body = R"({"model":")" + model + R"(","max_tokens":64,)";
    if (!metadata.isEmpty())
        body += R"("metadata":)" + metadata + ',';
    if (stream)
        body += R"("stream":true,)";
    return body + R"("messages":[{"role":"user","content":")" + prompt + R"("}]})";
}

QByteArray openAiBody(const QByteArray &model, const QByteArray &prompt, const QByteArray &extra)
{
    return R"({"model":")" + model + R"(",)" + extra + R"("messages":[{"role":"user","content":")" +
           prompt + R"("}]})";
}

QJsonObject jsonObject(const QByteArray &json)
{
    return QJsonDocument::fromJson(json).object();
}

} // namespace

class TestRoutingRules : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    void anthropicMetadataPicksTheRule();
    void openAiUserPicksAnotherRule();
    void checkConfigPrintsAndChecksTheCondition();

private:
    /// Empty once the gateway listens with `policy` in front of both mocks; else what went wrong.
    QString startGateway(const QByteArray &policy);

    MockUpstream m_anthropic;
    MockUpstream m_openAi;
    TollgatedProcess m_gateway;
};

void TestRoutingRules::initTestCase()
{
    QVERIFY2(QFile::exists(QStringLiteral(TOLLGATED_PATH)), TOLLGATED_PATH);
    m_anthropic.setThreads(1);
    m_openAi.setThreads(1);
    QVERIFY2(m_anthropic.listen(), qPrintable(m_anthropic.errorString()));
    QVERIFY2(m_openAi.listen(), qPrintable(m_openAi.errorString()));
}

void TestRoutingRules::init()
{
    m_anthropic.clearJournal();
    m_openAi.clearJournal();
}

void TestRoutingRules::cleanup()
{
    if (m_gateway.isRunning())
        QCOMPARE(m_gateway.stop(), 0);
    m_gateway.removeDataDir();
}

QString TestRoutingRules::startGateway(const QByteArray &policy)
{
    TollgatedProcess::Options options =
        TollgatedProcess::Options::forUpstreams(m_anthropic.baseUrl(), m_openAi.baseUrl());
    options.policy = policy;
    return m_gateway.start(options) ? QString() : m_gateway.failureReport();
}

void TestRoutingRules::anthropicMetadataPicksTheRule()
{
    VERIFY_NO_PROBLEM(startGateway(kPolicy));

    struct Case {
        const char *name;
        QByteArray body;
        HttpHeaders headers;
        QByteArray model, route;
    };
    const QList<Case> cases{
        {"batch user",
         anthropicBody(kSonnet, "nightly one", R"({"user_id":"batch-nightly"})"),
         {},
         kHaiku,
         "batch-jobs"},
        {"batch user, streaming",
         anthropicBody(kSonnet, "nightly two", R"({"user_id":"batch-nightly"})", true),
         {},
         kHaiku,
         "batch-jobs"},
        {"claude code account",
         anthropicBody(kHaiku, "cc one", R"({"user_id":")" + kClaudeCodeUserId + "\"}"),
         {{"user-agent", "claude-cli/2.0.14 (external, cli)"}},
         kSonnet,
         "claude-code-account"},
        // Patterns are case-sensitive, and the rest keeps the model it named.
        {"other user",
         anthropicBody(kSonnet, "alice one", R"({"user_id":"Batch-nightly"})"),
         {},
         kSonnet,
         "requested"},
        // Only string values count: a number is never spelt as text to match.
        {"user_id not a string",
         anthropicBody(kSonnet, "number one", R"({"user_id":7})"),
         {},
         kSonnet,
         "requested"},
        // The condition reads the body, not the principal: x-tollgate-user is no metadata.
        {"no metadata, batch principal",
         anthropicBody(kSonnet, "header one", {}),
         {{"x-tollgate-user", "batch-nightly"}},
         kSonnet,
         "requested"},
    };
    QHash<QString, QByteArray> routeOf; // request id -> rule
    for (const Case &c : cases) {
        m_anthropic.clearJournal();
        const QByteArray where = QByteArray(c.name) + ": ";
        const HttpTestResponse response = m_gateway.send(messages(c.body, c.headers));
        QVERIFY2(response.status == 200, where + response.describe().toUtf8());
        QVERIFY2(response.header("x-tollgate-route") == c.route,
                 where + response.header("x-tollgate-route"));
        QVERIFY2(response.header("x-tollgate-model") == c.model,
                 where + response.header("x-tollgate-model"));
        const QList<JournalEntry> journal = m_anthropic.journal();
        QVERIFY2(journal.size() == 1, where + QByteArray::number(journal.size()));
        const QJsonObject sent = jsonObject(journal[0].body);
        QVERIFY2(sent.value(u"model").toString() == QString::fromLatin1(c.model),
                 where + journal[0].body);
        // The metadata reaches the provider as the client sent it; only the model may change.
        QCOMPARE(sent.value(u"metadata"), jsonObject(c.body).value(u"metadata"));
        if (c.route == "requested")
            QVERIFY2(journal[0].body == c.body, where + journal[0].body);
        routeOf.insert(QString::fromLatin1(response.header("x-tollgate-request-id")), c.route);
    }
    QVERIFY(m_openAi.journal().isEmpty());

    QCOMPARE(m_gateway.stop(), 0);
    QHash<QString, QVariantMap> rows;
    QString error;
    QVERIFY2(readRequestLog(m_gateway.requestLogPath(), &rows, &error), qPrintable(error));
    QCOMPARE(rows.size(), routeOf.size());
    for (auto it = routeOf.cbegin(); it != routeOf.cend(); ++it) {
        QVERIFY2(rows.contains(it.key()), qPrintable(it.key()));
        QCOMPARE(rows.value(it.key()).value(QStringLiteral("route")).toString(),
                 QString::fromLatin1(*it));
    }
}

void TestRoutingRules::openAiUserPicksAnotherRule()
{
    VERIFY_NO_PROBLEM(startGateway(kPolicy));

    struct Case {
        const char *name;
        QByteArray body;
        QByteArray model, route;
    };
    const QList<Case> cases{
        {"batch user", openAiBody("gpt-4o", "etl one", R"("user":"batch-etl",)"), "gpt-4o-mini",
         "openai-batch"},
        {"batch user_id in metadata",
         openAiBody("gpt-4o", "etl two", R"("metadata":{"user_id":"batch-etl","env":"prod"},)"),
         "gpt-4o-mini", "openai-batch"},
        {"other user", openAiBody("gpt-4o", "carol one", R"("user":"carol",)"), "gpt-4o",
         "requested"},
        {"no user", openAiBody("gpt-4o", "nobody one", {}), "gpt-4o", "requested"},
    };
    for (const Case &c : cases) {
        m_openAi.clearJournal();
        const QByteArray where = QByteArray(c.name) + ": ";
        const HttpTestResponse response = m_gateway.send(chat(c.body));
        QVERIFY2(response.status == 200, where + response.describe().toUtf8());
        QVERIFY2(response.header("x-tollgate-route") == c.route,
                 where + response.header("x-tollgate-route"));
        QVERIFY2(response.header("x-tollgate-model") == c.model,
                 where + response.header("x-tollgate-model"));
        const QList<JournalEntry> journal = m_openAi.journal();
        QVERIFY2(journal.size() == 1, where + QByteArray::number(journal.size()));
        QVERIFY2(jsonObject(journal[0].body).value(u"model").toString() ==
                     QString::fromLatin1(c.model),
                 where + journal[0].body);
        if (c.route == "requested")
            QVERIFY2(journal[0].body == c.body, where + journal[0].body);
    }
    // The Anthropic rule for the same users never sent an OpenAI request to Anthropic.
    QVERIFY(m_anthropic.journal().isEmpty());
}

void TestRoutingRules::checkConfigPrintsAndChecksTheCondition()
{
    TollgatedProcess::Exit result = TollgatedProcess::checkConfig(kPolicy);
    QVERIFY2(result.exited && result.code == 0, result.err.constData());
    const QJsonArray routes = jsonObject(result.out).value(u"routes").toArray();
    const QJsonArray written = jsonObject(kPolicy).value(u"routes").toArray();
    QCOMPARE(routes.size(), written.size());
    for (qsizetype i = 0; i < routes.size(); ++i) {
        QCOMPARE(routes[i].toObject().value(u"name"), written[i].toObject().value(u"name"));
        QCOMPARE(routes[i].toObject().value(u"match"), written[i].toObject().value(u"match"));
    }

    result = TollgatedProcess::checkConfig(R"({"version":1,"routes":[
        {"name":"bad","match":{"metadata":{"user_id":5,"env":[]}},"targets":["$requested"]},
        {"name":"empty","match":{"metadata":{}},"targets":["$requested"]}]})");
    QVERIFY2(result.exited && result.code != 0, result.out.constData());
    QVERIFY2(result.out.trimmed().isEmpty(), result.out.constData());
    for (const QByteArray &path : {QByteArray("routes[0].match.metadata.env: "),
                                   QByteArray("routes[0].match.metadata.user_id: "),
                                   QByteArray("routes[1].match.metadata: ")})
        QVERIFY2(result.err.contains(path), path + '\n' + result.err);
}

QTEST_GUILESS_MAIN(TestRoutingRules)
#include "tst_routingrules.moc"
