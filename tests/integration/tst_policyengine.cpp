// The policy engine through the real tollgated on real sockets against the mock upstream: the
// reference router (docs/routing.md), rate limits per plan (docs/limits.md), gateway keys with
// plans, teams and trust, a custom policy's routes and plans, and `tollgated check-config`
// (docs/policy.md). What the upstream received (the mock's journal), what the client saw, and
// what the request log recorded are checked against each other.

#include "httptestclient.h"
#include "mockupstream.h"
#include "providerheaders.h"
#include "requestlogreader.h"
#include "testchecks.h"
#include "tokenprice.h"
#include "tollgatedprocess.h"

#include <QCryptographicHash>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QVariantMap>
#include <QtTest/QtTest>

using namespace tollgate::testsupport;

namespace {

const QByteArray kSonnet = "claude-sonnet-4-20250514";
const QByteArray kHaiku = "claude-3-haiku-20240307";
const QByteArray kHaikuAlias = "claude-haiku-3-20240307";
const QByteArray kSonnet45 = "claude-sonnet-4-5-20250929"; // canonical id of claude-sonnet-4-5
const QByteArray kAnthropicClientKey = "sk-ant-api03-tollgate-pe-client-3c91d0aa";
const QByteArray kOpenAiClientKey = "sk-proj-tollgate-pe-client-8e2f41bb";
const QByteArray kProviderKey = "sk-ant-api03-tollgate-pe-provider-55aa10c4";
const QByteArray kRateLimitMessage = "Rate limit exceeded. Upgrade for higher limits.";

HttpTestRequest messages(const QByteArray &body, const HttpHeaders &extra = {},
                         const QByteArray &scenario = {})
{
    return HttpTestRequest::post("/v1/messages", body,
                                 ProviderHeaders::anthropic(kAnthropicClientKey) +
                                     ProviderHeaders::scenario(scenario) + extra);
}

HttpTestRequest chat(const QByteArray &body, const HttpHeaders &extra = {})
{
    return HttpTestRequest::post("/v1/chat/completions", body,
                                 ProviderHeaders::openAi(kOpenAiClientKey) + extra);
}

/// Every body differs in its prompt, so no response cache could ever answer one of them.
QByteArray anthropicBody(const QByteArray &model, const QByteArray &prompt, int maxTokens = 256)
{
    QByteArray body = R"({"model":")" + model + '"';
    if (maxTokens > 0)
        body += R"(,"max_tokens":)" + QByteArray::number(maxTokens);
    return body + R"(,"messages":[{"role":"user","content":")" + prompt + R"("}]})";
}

QByteArray openAiBody(const QByteArray &model, const QByteArray &prompt)
{
    return R"({"model":")" + model + R"(","messages":[{"role":"user","content":")" + prompt +
           R"("}]})";
}

/// An Anthropic request with the shape the complexity estimate reads (docs/routing.md): exactly
/// `chars` characters of text over `messageCount` messages, `codeBlocks` fenced blocks and
/// `tools` tool definitions; no math markers, max_tokens at the 1024 floor.
QByteArray conversationBody(const QByteArray &model, int chars, int messageCount, int codeBlocks,
                            int tools)
{
    Q_ASSERT(codeBlocks <= messageCount);
    const QString code = QStringLiteral("```cpp\nint answer() { return 42; }\n```\n");
    const QString filler = QStringLiteral("The quick brown fox jumps over the lazy dog near the "
                                          "river bank while the farmer counts his sheep. ");
    QStringList contents;
    qsizetype used = 0;
    for (int i = 0; i < messageCount; ++i) {
        contents.append(i < codeBlocks ? code : QString());
        used += contents.last().size();
    }
    qsizetype left = chars - used;
    Q_ASSERT(left >= 0);
    for (int i = 0; i < messageCount; ++i) {
        const qsizetype share = i + 1 == messageCount ? left : left / (messageCount - i);
        QString text;
        while (text.size() < share)
            text += filler;
        text.truncate(share);
        contents[i].prepend(text);
        left -= share;
    }
    QJsonArray messageArray;
    for (int i = 0; i < messageCount; ++i)
        messageArray.append(
            QJsonObject{{QStringLiteral("role"),
                         i % 2 == 0 ? QStringLiteral("user") : QStringLiteral("assistant")},
                        {QStringLiteral("content"), contents[i]}});
    QJsonArray toolArray;
    for (int i = 0; i < tools; ++i)
        toolArray.append(
            QJsonObject{{QStringLiteral("name"), QStringLiteral("tool_%1").arg(i)},
                        {QStringLiteral("description"), QStringLiteral("Tool number %1.").arg(i)},
                        {QStringLiteral("input_schema"),
                         QJsonObject{{QStringLiteral("type"), QStringLiteral("object")}}}});
    QJsonObject request{{QStringLiteral("model"), QString::fromLatin1(model)},
                        {QStringLiteral("max_tokens"), 1024},
                        {QStringLiteral("messages"), messageArray}};
    if (tools > 0)
        request.insert(QStringLiteral("tools"), toolArray);
    return QJsonDocument(request).toJson(QJsonDocument::Compact);
}

QJsonObject withoutKeys(QJsonObject object, const QStringList &keys)
{
    for (const QString &key : keys)
        object.remove(key);
    return object;
}

/// Headers of the gateway's own rate limiting that a response carries.
QList<QByteArray> rateLimitHeaderNames(const HttpTestResponse &response)
{
    QList<QByteArray> names;
    for (const auto &field : response.headers) {
        if (field.first.startsWith("x-ratelimit-") || field.first == "retry-after" ||
            field.first == "x-tollgate-rate-limit")
            names.append(field.first);
    }
    return names;
}

/// Empty if `body` is the Anthropic 429 of the reference, else what is wrong with it.
QString anthropicRateLimitProblem(const QByteArray &body)
{
    const QJsonObject root = QJsonDocument::fromJson(body).object();
    const QJsonObject error = root.value(u"error").toObject();
    if (root.value(u"type").toString() != QLatin1String("error") ||
        error.value(u"type").toString() != QLatin1String("rate_limit_error") ||
        error.value(u"message").toString() != QLatin1String(kRateLimitMessage))
        return QStringLiteral("not the Anthropic rate-limit error: ") + QString::fromUtf8(body);
    return {};
}

/// Empty if `body` is the same 429 in OpenAI's shape, else what is wrong with it.
QString openAiRateLimitProblem(const QByteArray &body)
{
    const QJsonObject root = QJsonDocument::fromJson(body).object();
    const QJsonObject error = root.value(u"error").toObject();
    if (root.contains(u"type") || !error.value(u"type").isString() ||
        error.value(u"message").toString() != QLatin1String(kRateLimitMessage))
        return QStringLiteral("not an OpenAI rate-limit error: ") + QString::fromUtf8(body);
    return {};
}

QByteArray sha256Hex(const QByteArray &key)
{
    return QCryptographicHash::hash(key, QCryptographicHash::Sha256).toHex();
}

} // namespace

#define START_GATEWAY(...) VERIFY_NO_PROBLEM(startGateway(__VA_ARGS__))

class TestPolicyEngine : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    // The reference router (no policy file)
    void referenceRouterChoosesTheModel_data();
    void referenceRouterChoosesTheModel();
    void concreteModelWithoutHintsIsForwardedByteIdentical();
    void openAiAutoIsRefusedAndConcreteModelKept();
    void requestLogRecordsRequestedAndRoutedModel();

    // Rate limits of the reference plans
    void freeUserGets100PerHourThen429();
    void localOwnerIsNeverThrottled();
    void planHeaderFromLoopbackSelectsThePlan();

    // Gateway keys
    void gatewayKeysCarryPlanTeamAndTrust();

    // A custom policy
    void customRouteMatchesHeaderAndClampsMaxTokens();
    void customPlanLimitsRequestsPerMinute();

    // tollgated check-config
    void policyReloadsOnChangeAndSighupKeepingTheRunningOneOnErrors();
    void checkConfigPrintsEffectivePolicy();
    void checkConfigNamesEveryProblem_data();
    void checkConfigNamesEveryProblem();

private:
    /// Starts tollgated against the mocks with this policy (none if empty) and provider key.
    QString startGateway(const QByteArray &policy = {}, const QByteArray &anthropicKey = {});
    QString logPath() const { return m_gateway.requestLogPath(); }
    HttpTestResponse send(const HttpTestRequest &request) const { return m_gateway.send(request); }

    MockUpstream m_anthropic;
    MockUpstream m_openAi;
    TollgatedProcess m_gateway;
};

void TestPolicyEngine::initTestCase()
{
    QVERIFY2(QFile::exists(QStringLiteral(TOLLGATED_PATH)), TOLLGATED_PATH);
    m_anthropic.setThreads(1);
    m_openAi.setThreads(1);
    QVERIFY2(m_anthropic.listen(), qPrintable(m_anthropic.errorString()));
    QVERIFY2(m_openAi.listen(), qPrintable(m_openAi.errorString()));
}

void TestPolicyEngine::init()
{
    m_anthropic.clearJournal();
    m_openAi.clearJournal();
}

void TestPolicyEngine::cleanup()
{
    if (m_gateway.isRunning())
        QCOMPARE(m_gateway.stop(), 0);
    m_gateway.removeDataDir();
}

QString TestPolicyEngine::startGateway(const QByteArray &policy, const QByteArray &anthropicKey)
{
    TollgatedProcess::Options options =
        TollgatedProcess::Options::forUpstreams(m_anthropic.baseUrl(), m_openAi.baseUrl());
    options.policy = policy;
    options.anthropicKey = anthropicKey;
    return m_gateway.start(options) ? QString() : m_gateway.failureReport();
}

// ---------------------------------------------------------------------------------------------
// The reference router

void TestPolicyEngine::referenceRouterChoosesTheModel_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QByteArrayList>("hints"); // "name: value"
    QTest::addColumn<QByteArray>("expectedModel");
    QTest::addColumn<QByteArray>("expectedRoute");

    const QByteArray hello = anthropicBody("auto", "Hello there");
    QTest::newRow("auto, priority high") << hello << QByteArrayList{"x-tollgate-priority: high"}
                                         << kSonnet << QByteArray("priority-high");
    QTest::newRow("auto, budget strict") << hello << QByteArrayList{"x-tollgate-budget: strict"}
                                         << kHaiku << QByteArray("budget-strict");
    QTest::newRow("auto, high wins over strict")
        << hello << QByteArrayList{"x-tollgate-budget: strict", "x-tollgate-priority: high"}
        << kSonnet << QByteArray("priority-high");
    QTest::newRow("auto, strict wins over complexity 0.9")
        << hello << QByteArrayList{"x-tollgate-complexity: 0.9", "x-tollgate-budget: strict"}
        << kHaiku << QByteArray("budget-strict");
    QTest::newRow("auto, complexity 0.9") << hello << QByteArrayList{"x-tollgate-complexity: 0.9"}
                                          << kSonnet << QByteArray("auto-complex");
    QTest::newRow("auto, complexity 0.2") << hello << QByteArrayList{"x-tollgate-complexity: 0.2"}
                                          << kHaiku << QByteArray("auto-simple");
    QTest::newRow("auto, priority low") << hello << QByteArrayList{"x-tollgate-priority: low"}
                                        << kHaiku << QByteArray("auto-simple");
    QTest::newRow("auto, hi, no hint")
        << anthropicBody("auto", "hi") << QByteArrayList{} << kHaiku << QByteArray("auto-simple");

    // docs/routing.md: 20,000 characters, 12 messages, 5 tools, 4 code blocks -> 0.73 -> sonnet.
    const QByteArray agentic = conversationBody("auto", 20000, 12, 4, 5);
    QTest::newRow("auto, long code-heavy tool-using conversation (estimate 0.73)")
        << agentic << QByteArrayList{} << kSonnet << QByteArray("auto-complex");
    QTest::newRow("auto, same conversation, caller says complexity 0.2")
        << agentic << QByteArrayList{"x-tollgate-complexity: 0.2"} << kHaiku
        << QByteArray("auto-simple");
    // Length alone never reaches the threshold: 0.27.
    QTest::newRow("auto, 20,000 characters of plain prose (estimate 0.27)")
        << conversationBody("auto", 20000, 1, 0, 0) << QByteArrayList{} << kHaiku
        << QByteArray("auto-simple");
    // docs/routing.md: 8,000 characters, 3 code blocks -> 0.37; over 3 messages (one block
    // each) the depth adds 0.02 -> 0.39 -> haiku.
    QTest::newRow("auto, 8,000 characters with 3 code blocks (estimate 0.39)")
        << conversationBody("auto", 8000, 3, 3, 0) << QByteArrayList{} << kHaiku
        << QByteArray("auto-simple");

    // Concrete models keep their model unless an explicit hint asks the gateway to choose.
    QTest::newRow("haiku, priority high")
        << anthropicBody(kHaiku, "Hello there") << QByteArrayList{"x-tollgate-priority: high"}
        << kSonnet << QByteArray("priority-high");
    QTest::newRow("sonnet, budget strict")
        << anthropicBody(kSonnet, "Hello there") << QByteArrayList{"x-tollgate-budget: strict"}
        << kHaiku << QByteArray("budget-strict");
    QTest::newRow("haiku, complexity 0.9 is not a reason to switch")
        << anthropicBody(kHaiku, "Hello there") << QByteArrayList{"x-tollgate-complexity: 0.9"}
        << kHaiku << QByteArray("requested");
    QTest::newRow("haiku, complex conversation keeps haiku")
        << conversationBody(kHaiku, 20000, 12, 4, 5) << QByteArrayList{} << kHaiku
        << QByteArray("requested");
    QTest::newRow("alias claude-haiku-3-20240307")
        << anthropicBody(kHaikuAlias, "Hello there") << QByteArrayList{} << kHaiku
        << QByteArray("requested");
    QTest::newRow("alias claude-sonnet-4-0")
        << anthropicBody("claude-sonnet-4-0", "Hello there") << QByteArrayList{} << kSonnet
        << QByteArray("requested");
}

void TestPolicyEngine::referenceRouterChoosesTheModel()
{
    QFETCH(QByteArray, body);
    QFETCH(QByteArrayList, hints);
    QFETCH(QByteArray, expectedModel);
    QFETCH(QByteArray, expectedRoute);
    START_GATEWAY();

    HttpHeaders headers;
    for (const QByteArray &hint : hints) {
        const qsizetype colon = hint.indexOf(':');
        headers.append({hint.left(colon).trimmed(), hint.mid(colon + 1).trimmed()});
    }
    const HttpTestResponse response = send(messages(body, headers));
    QVERIFY2(response.status == 200 && response.complete, qPrintable(response.describe()));

    // What the provider was asked for.
    const QList<JournalEntry> journal = m_anthropic.journal();
    QCOMPARE(journal.size(), 1);
    QVERIFY(m_openAi.journal().isEmpty());
    const QJsonObject sent = QJsonDocument::fromJson(body).object();
    const QJsonObject received = QJsonDocument::fromJson(journal[0].body).object();
    QCOMPARE(received.value(u"model").toString(), QString::fromLatin1(expectedModel));
    // Only the model changed; the hints stay at the gateway.
    QCOMPARE(withoutKeys(received, {QStringLiteral("model")}),
             withoutKeys(sent, {QStringLiteral("model")}));
    for (const auto &field : journal[0].headers)
        QVERIFY2(!field.first.startsWith("x-tollgate-"), field.first.constData());

    // What the client is told.
    QCOMPARE(response.header("x-tollgate-model"), expectedModel);
    QCOMPARE(response.header("x-tollgate-route"), expectedRoute);
    QCOMPARE(response.json().value(u"model").toString(), QString::fromLatin1(expectedModel));
    // The local owner: never rate limited, so no rate-limit headers.
    QVERIFY2(rateLimitHeaderNames(response).isEmpty(), qPrintable(response.describe()));
}

void TestPolicyEngine::concreteModelWithoutHintsIsForwardedByteIdentical()
{
    START_GATEWAY();
    // Odd spacing and member order: any re-serialization would show.
    const QByteArray body =
        "{ \"messages\" : [ {\"role\":\"user\", \"content\":\"Keep me \\u00e9xactly\"} ],\n"
        "  \"max_tokens\": 300, \"model\":  \"claude-sonnet-4-20250514\", \"temperature\": 0.50 }";
    const HttpTestResponse response = send(messages(body));
    QVERIFY2(response.status == 200, qPrintable(response.describe()));
    QCOMPARE(response.header("x-tollgate-route"), QByteArray("requested"));
    QCOMPARE(response.header("x-tollgate-model"), kSonnet);
    const QList<JournalEntry> journal = m_anthropic.journal();
    QCOMPARE(journal.size(), 1);
    QCOMPARE(journal[0].body, body);

    // Haiku without hints is kept too (the "otherwise haiku" rule is for `auto` only), and a
    // concrete model named through its alias reaches the provider as the canonical id.
    m_anthropic.clearJournal();
    const QByteArray haikuBody = anthropicBody(kHaiku, "Short question");
    HttpTestResponse haiku = send(messages(haikuBody));
    QCOMPARE(haiku.status, 200);
    QCOMPARE(haiku.header("x-tollgate-route"), QByteArray("requested"));
    QCOMPARE(m_anthropic.journal().value(0).body, haikuBody);

    m_anthropic.clearJournal();
    // (Another prompt: the same one would be a cache hit, since alias and id share entries.)
    haiku = send(messages(anthropicBody(kHaikuAlias, "Short question, by alias")));
    QCOMPARE(haiku.status, 200);
    QCOMPARE(haiku.header("x-tollgate-model"), kHaiku);
    QCOMPARE(QJsonDocument::fromJson(m_anthropic.journal().value(0).body)
                 .object()
                 .value(u"model")
                 .toString(),
             QString::fromLatin1(kHaiku));
}

void TestPolicyEngine::openAiAutoIsRefusedAndConcreteModelKept()
{
    START_GATEWAY();
    // The reference rules hold for Anthropic clients only: `auto` has nowhere to go.
    for (const QByteArray &hint : {QByteArray(), QByteArray("high")}) {
        HttpHeaders headers;
        if (!hint.isEmpty())
            headers.append({"x-tollgate-priority", hint});
        const HttpTestResponse refused = send(chat(openAiBody("auto", "Hello"), headers));
        QVERIFY2(refused.status == 400, qPrintable(refused.describe()));
        QCOMPARE(refused.header("content-type"), QByteArray("application/json"));
        const QJsonObject root = refused.json();
        QVERIFY2(!root.contains(u"type") && root.value(u"error").isObject(),
                 refused.body.constData());
        QCOMPARE(root.value(u"error").toObject().value(u"type").toString(),
                 QStringLiteral("invalid_request_error"));
        QVERIFY2(root.value(u"error")
                     .toObject()
                     .value(u"message")
                     .toString()
                     .contains(QLatin1String("auto")),
                 refused.body.constData());
    }
    QVERIFY(m_openAi.journal().isEmpty());
    QVERIFY(m_anthropic.journal().isEmpty());

    // A concrete OpenAI model with priority high keeps its model, body untouched.
    const QByteArray body = openAiBody("gpt-4o", "Hello");
    const HttpTestResponse kept = send(chat(body, {{"x-tollgate-priority", "high"}}));
    QVERIFY2(kept.status == 200, qPrintable(kept.describe()));
    QCOMPARE(kept.header("x-tollgate-model"), QByteArray("gpt-4o"));
    QCOMPARE(kept.header("x-tollgate-route"), QByteArray("requested"));
    const QList<JournalEntry> journal = m_openAi.journal();
    QCOMPARE(journal.size(), 1);
    QCOMPARE(journal[0].body, body);
    QVERIFY(m_anthropic.journal().isEmpty());
}

void TestPolicyEngine::requestLogRecordsRequestedAndRoutedModel()
{
    START_GATEWAY();
    const QByteArray usage = "in=1000,out=2000";
    struct Want {
        QString requested, used;
        double cost;
    };
    QHash<QString, Want> want;
    auto sendLogged = [&](const HttpTestRequest &request, const Want &expected) {
        const HttpTestResponse response = send(request);
        QVERIFY2(response.status == 200, qPrintable(response.describe()));
        QCOMPARE(response.header("x-tollgate-model"), expected.used.toLatin1());
        const QByteArray cost = response.header("x-tollgate-cost-usd");
        QVERIFY2(TokenPrice::sameUsd(cost.toDouble(), expected.cost), cost.constData());
        want.insert(QString::fromLatin1(response.header("x-tollgate-request-id")), expected);
    };
    sendLogged(messages(anthropicBody("auto", "Log me"), {{"x-tollgate-priority", "high"}}, usage),
               {QStringLiteral("auto"), QString::fromLatin1(kSonnet),
                TokenPrice::sonnet4().costUsd(1000, 2000)});
    if (QTest::currentTestFailed())
        return;
    sendLogged(messages(anthropicBody("auto", "Log me too"), {}, usage),
               {QStringLiteral("auto"), QString::fromLatin1(kHaiku),
                TokenPrice::haiku3().costUsd(1000, 2000)});
    if (QTest::currentTestFailed())
        return;
    sendLogged(
        messages(anthropicBody(kHaiku, "Log me three"), {{"x-tollgate-priority", "high"}}, usage),
        {QString::fromLatin1(kHaiku), QString::fromLatin1(kSonnet),
         TokenPrice::sonnet4().costUsd(1000, 2000)});
    if (QTest::currentTestFailed())
        return;
    sendLogged(messages(anthropicBody(kHaikuAlias, "Log me four"), {}, usage),
               {QString::fromLatin1(kHaikuAlias), QString::fromLatin1(kHaiku),
                TokenPrice::haiku3().costUsd(1000, 2000)});
    if (QTest::currentTestFailed())
        return;
    QVERIFY2(!TokenPrice::sameUsd(TokenPrice::sonnet4().costUsd(1000, 2000),
                                  TokenPrice::haiku3().costUsd(1000, 2000)),
             "prices must differ");

    QCOMPARE(m_gateway.stop(), 0);
    QHash<QString, QVariantMap> rows;
    QString error;
    QVERIFY2(readRequestLog(logPath(), &rows, &error), qPrintable(error));
    QCOMPARE(rows.size(), want.size());
    for (auto it = want.cbegin(); it != want.cend(); ++it) {
        QVERIFY2(rows.contains(it.key()), qPrintable(it.key()));
        const QVariantMap row = rows.value(it.key());
        const QByteArray where = it.key().toLatin1() + " " + it->requested.toLatin1();
        QVERIFY2(row.value(QStringLiteral("requested_model")).toString() == it->requested,
                 where + ": requested_model " +
                     row.value(QStringLiteral("requested_model")).toString().toUtf8());
        QVERIFY2(row.value(QStringLiteral("used_model")).toString() == it->used,
                 where + ": used_model " +
                     row.value(QStringLiteral("used_model")).toString().toUtf8());
        QCOMPARE(row.value(QStringLiteral("status")).toLongLong(), 200);
        QCOMPARE(row.value(QStringLiteral("priced")).toLongLong(), 1);
        const double cost = row.value(QStringLiteral("cost_usd")).toDouble();
        QVERIFY2(TokenPrice::sameUsd(cost, it->cost),
                 where + ": cost_usd " + QByteArray::number(cost, 'g', 17));
    }
}

// ---------------------------------------------------------------------------------------------
// Rate limits of the reference plans

void TestPolicyEngine::freeUserGets100PerHourThen429()
{
    START_GATEWAY();
    HttpTestClient client(m_gateway.port());
    const HttpHeaders bob{{"x-tollgate-user", "bob"}};
    static const QRegularExpression reset(QStringLiteral(R"(^(\d+m)?\d+s$|^1h0m0s$)"));

    for (int i = 1; i <= 100; ++i) {
        const HttpTestResponse response = client.request(
            messages(anthropicBody(kHaiku, "bob request " + QByteArray::number(i)), bob));
        const QByteArray where = "request " + QByteArray::number(i) + ": ";
        QVERIFY2(response.status == 200, where + response.describe().toUtf8());
        QCOMPARE(response.header("x-ratelimit-limit-requests"), QByteArray("100"));
        QVERIFY2(response.header("x-ratelimit-remaining-requests") == QByteArray::number(100 - i),
                 where + response.header("x-ratelimit-remaining-requests"));
        QVERIFY2(reset.match(QString::fromLatin1(response.header("x-ratelimit-reset-requests")))
                     .hasMatch(),
                 where + response.header("x-ratelimit-reset-requests"));
        QVERIFY2(response.header("retry-after").isNull(), where);
        QVERIFY2(response.header("x-tollgate-rate-limit").isNull(), where);
    }
    QCOMPARE(m_anthropic.journal().size(), 100);

    const HttpTestResponse denied =
        client.request(messages(anthropicBody(kHaiku, "bob request 101"), bob));
    QVERIFY2(denied.status == 429, qPrintable(denied.describe()));
    QCOMPARE(denied.header("content-type"), QByteArray("application/json"));
    const QString problem = anthropicRateLimitProblem(denied.body);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    bool numeric = false;
    const int retryAfter = denied.header("retry-after").toInt(&numeric);
    // One hour after the first of the 100, which all went out within the last few seconds.
    QVERIFY2(numeric && retryAfter > 3540 && retryAfter <= 3600, denied.header("retry-after"));
    QCOMPARE(denied.header("x-ratelimit-limit-requests"), QByteArray("100"));
    QCOMPARE(denied.header("x-ratelimit-remaining-requests"), QByteArray("0"));
    QVERIFY2(
        reset.match(QString::fromLatin1(denied.header("x-ratelimit-reset-requests"))).hasMatch(),
        denied.header("x-ratelimit-reset-requests"));
    QCOMPARE(denied.header("x-tollgate-rate-limit"), QByteArray("requests_per_hour"));
    QVERIFY(!denied.header("x-tollgate-request-id").isEmpty());
    // The 429 came from the gateway: the provider never saw it.
    QCOMPARE(m_anthropic.journal().size(), 100);

    // Hammering the 429 does not move the reset; the OpenAI path shares bob's counters and
    // answers in OpenAI's shape.
    const HttpTestResponse again =
        client.request(messages(anthropicBody(kHaiku, "bob request 102"), bob));
    QCOMPARE(again.status, 429);
    QVERIFY2(again.header("retry-after").toInt() <= retryAfter, again.header("retry-after"));
    const HttpTestResponse openAi = client.request(chat(openAiBody("gpt-4o", "bob chat"), bob));
    QVERIFY2(openAi.status == 429, qPrintable(openAi.describe()));
    const QString openAiProblem = openAiRateLimitProblem(openAi.body);
    QVERIFY2(openAiProblem.isEmpty(), qPrintable(openAiProblem));
    QCOMPARE(openAi.header("x-tollgate-rate-limit"), QByteArray("requests_per_hour"));
    QCOMPARE(openAi.header("x-ratelimit-limit-requests"), QByteArray("100"));
    QCOMPARE(openAi.header("x-ratelimit-remaining-requests"), QByteArray("0"));
    QVERIFY(openAi.header("retry-after").toInt() > 3540);
    QCOMPARE(m_anthropic.journal().size(), 100);
    QVERIFY(m_openAi.journal().isEmpty());

    // Another user has counters of their own.
    const HttpTestResponse carol = client.request(
        messages(anthropicBody(kHaiku, "carol request"), {{"x-tollgate-user", "carol"}}));
    QVERIFY2(carol.status == 200, qPrintable(carol.describe()));
    QCOMPARE(carol.header("x-ratelimit-limit-requests"), QByteArray("100"));
    QCOMPARE(carol.header("x-ratelimit-remaining-requests"), QByteArray("99"));

    // Upgraded to pro, bob keeps the 100 requests of this hour (the denied ones counted for
    // nothing) and gets 1000 - 100 more.
    const HttpTestResponse upgraded =
        client.request(messages(anthropicBody(kHaiku, "bob on pro"),
                                {{"x-tollgate-user", "bob"}, {"x-tollgate-plan", "pro"}}));
    QVERIFY2(upgraded.status == 200, qPrintable(upgraded.describe()));
    QCOMPARE(upgraded.header("x-ratelimit-limit-requests"), QByteArray("1000"));
    QCOMPARE(upgraded.header("x-ratelimit-remaining-requests"), QByteArray("899"));
    QCOMPARE(m_anthropic.journal().size(), 102);
    QVERIFY(client.isConnected());
}

void TestPolicyEngine::localOwnerIsNeverThrottled()
{
    START_GATEWAY();
    HttpTestClient client(m_gateway.port());
    for (int i = 1; i <= 150; ++i) {
        const HttpTestResponse response = client.request(
            messages(anthropicBody(kHaiku, "owner request " + QByteArray::number(i))));
        const QByteArray where = "request " + QByteArray::number(i) + ": ";
        QVERIFY2(response.status == 200, where + response.describe().toUtf8());
        QVERIFY2(rateLimitHeaderNames(response).isEmpty(), where + response.describe().toUtf8());
    }
    QCOMPARE(m_anthropic.journal().size(), 150);

    // The owner may name a plan on purpose to see what its users will see; the 150 requests
    // before were not counted at all.
    HttpTestResponse pro = client.request(
        messages(anthropicBody(kHaiku, "owner on pro"), {{"x-tollgate-plan", "pro"}}));
    QVERIFY2(pro.status == 200, qPrintable(pro.describe()));
    QCOMPARE(pro.header("x-ratelimit-limit-requests"), QByteArray("1000"));
    QCOMPARE(pro.header("x-ratelimit-remaining-requests"), QByteArray("999"));
    // An unknown plan counts as none: the owner is back on the unlimited local plan.
    const HttpTestResponse gold = client.request(
        messages(anthropicBody(kHaiku, "owner on gold"), {{"x-tollgate-plan", "gold"}}));
    QVERIFY2(gold.status == 200, qPrintable(gold.describe()));
    QVERIFY2(rateLimitHeaderNames(gold).isEmpty(), qPrintable(gold.describe()));
    // OpenAI clients of the owner likewise.
    const HttpTestResponse openAi = client.request(chat(openAiBody("gpt-4o", "owner chat")));
    QVERIFY2(openAi.status == 200, qPrintable(openAi.describe()));
    QVERIFY2(rateLimitHeaderNames(openAi).isEmpty(), qPrintable(openAi.describe()));
}

void TestPolicyEngine::planHeaderFromLoopbackSelectsThePlan()
{
    START_GATEWAY();
    HttpTestClient client(m_gateway.port());
    struct Case {
        QByteArray user, plan, limit;
    };
    const QList<Case> cases{{"dave", "pro", "1000"},
                            {"erin", "enterprise", "10000"},
                            {"gina", "gold", "100"}, // unknown plan: identified users get free
                            {"hank", "", "100"}};
    for (const Case &c : cases) {
        HttpHeaders headers{{"x-tollgate-user", c.user}};
        if (!c.plan.isEmpty())
            headers.append({"x-tollgate-plan", c.plan});
        const HttpTestResponse anthropic =
            client.request(messages(anthropicBody(kHaiku, "from " + c.user), headers));
        QVERIFY2(anthropic.status == 200, qPrintable(anthropic.describe()));
        QVERIFY2(anthropic.header("x-ratelimit-limit-requests") == c.limit,
                 c.user + ": " + anthropic.header("x-ratelimit-limit-requests"));
        QCOMPARE(anthropic.header("x-ratelimit-remaining-requests"),
                 QByteArray::number(c.limit.toInt() - 1));
        const HttpTestResponse openAi =
            client.request(chat(openAiBody("gpt-4o", "chat from " + c.user), headers));
        QVERIFY2(openAi.status == 200, qPrintable(openAi.describe()));
        QCOMPARE(openAi.header("x-ratelimit-limit-requests"), c.limit);
        QCOMPARE(openAi.header("x-ratelimit-remaining-requests"),
                 QByteArray::number(c.limit.toInt() - 2));
    }
}

// ---------------------------------------------------------------------------------------------
// Gateway keys

void TestPolicyEngine::gatewayKeysCarryPlanTeamAndTrust()
{
    const QByteArray danaKey = "tg-pe-dana-laptop-0d1e2f";
    const QByteArray batchKey = "tg-pe-batch-service-9a8b7c";
    const QByteArray ciKey = "tg-pe-ci-runner-4455aa";
    const QByteArray policy = R"({"version":1,"gateway":{"listen":"127.0.0.1:0","keys":[)"
                              R"({"name":"dana-laptop","sha256":")" +
                              sha256Hex(danaKey) +
                              R"(","user":"dana","team":"ml","plan":"free"},)"
                              R"({"name":"batch","sha256":")" +
                              sha256Hex(batchKey) +
                              R"(","plan":"pro","trusted":true},)"
                              R"({"name":"ci","sha256":")" +
                              sha256Hex(ciKey) +
                              R"("}]},)"
                              R"("routes":[)"
                              R"({"name":"ml-team","match":{"team":"ml"},"targets":[")" +
                              kSonnet +
                              R"("]},)"
                              R"({"name":"requested","match":{},"targets":["$requested"]}]})";
    START_GATEWAY(policy, kProviderKey);

    struct Step {
        QByteArray key;
        HttpHeaders hints;
        QByteArray limit, remaining, model, route, user;
    };
    const QList<Step> steps{
        // Untrusted: its x-tollgate-plan / -user claims are ignored; the key's team routes.
        {danaKey,
         {{"x-tollgate-plan", "enterprise"}, {"x-tollgate-user", "eve"}},
         "100",
         "99",
         kSonnet,
         "ml-team",
         "dana"},
        {danaKey, {{"x-tollgate-plan", "pro"}}, "100", "98", kSonnet, "ml-team", "dana"},
        // Trusted: its own plan and name by default, another user and plan when it says so.
        {batchKey, {}, "1000", "999", kHaiku, "requested", "batch"},
        {batchKey,
         {{"x-tollgate-user", "frank"}, {"x-tollgate-plan", "enterprise"}},
         "10000",
         "9999",
         kHaiku,
         "requested",
         "frank"},
        {batchKey, {{"x-tollgate-user", "frank"}}, "1000", "998", kHaiku, "requested", "frank"},
        // eve's claim through dana's key above counted nothing for eve.
        {batchKey, {{"x-tollgate-user", "eve"}}, "1000", "999", kHaiku, "requested", "eve"},
        // A key without a plan gets the default plan, and its name as the user.
        {ciKey, {}, "100", "99", kHaiku, "requested", "ci"},
    };
    QHash<QString, QString> userOf;
    for (qsizetype i = 0; i < steps.size(); ++i) {
        const Step &step = steps[i];
        m_anthropic.clearJournal();
        HttpHeaders headers{{"x-api-key", step.key}};
        headers += step.hints;
        HttpTestRequest request =
            messages(anthropicBody(kHaiku, "key step " + QByteArray::number(i)), headers);
        // The gateway key stands in for the client's own provider key.
        request.headers.removeIf(
            [](const auto &field) { return field.second == kAnthropicClientKey; });
        const HttpTestResponse response = send(request);
        const QByteArray where = "step " + QByteArray::number(i) + ": ";
        QVERIFY2(response.status == 200, where + response.describe().toUtf8());
        QVERIFY2(response.header("x-ratelimit-limit-requests") == step.limit,
                 where + "limit " + response.header("x-ratelimit-limit-requests"));
        QVERIFY2(response.header("x-ratelimit-remaining-requests") == step.remaining,
                 where + "remaining " + response.header("x-ratelimit-remaining-requests"));
        QVERIFY2(response.header("x-tollgate-route") == step.route,
                 where + "route " + response.header("x-tollgate-route"));
        const QList<JournalEntry> journal = m_anthropic.journal();
        QCOMPARE(journal.size(), 1);
        QCOMPARE(QJsonDocument::fromJson(journal[0].body).object().value(u"model").toString(),
                 QString::fromLatin1(step.model));
        QCOMPARE(journal[0].header("x-api-key"), kProviderKey);
        userOf.insert(QString::fromLatin1(response.header("x-tollgate-request-id")),
                      QString::fromLatin1(step.user));
    }

    QCOMPARE(m_gateway.stop(), 0);
    QHash<QString, QVariantMap> rows;
    QString error;
    QVERIFY2(readRequestLog(logPath(), &rows, &error), qPrintable(error));
    QCOMPARE(rows.size(), userOf.size());
    for (auto it = userOf.cbegin(); it != userOf.cend(); ++it) {
        QVERIFY2(rows.contains(it.key()), qPrintable(it.key()));
        const QString user = rows.value(it.key()).value(QStringLiteral("user")).toString();
        QVERIFY2(user == it.value(),
                 qPrintable(QStringLiteral("%1: user %2, expected %3").arg(it.key(), user, *it)));
    }
}

// ---------------------------------------------------------------------------------------------
// A custom policy

namespace {

const QByteArray kCustomPolicy = R"({"version":1,
  "routes":[
    {"name":"ml-team","match":{"header":{"x-team":"ml"}},
     "targets":["claude-sonnet-4-5","claude-3-5-haiku-latest"],"max_tokens":{"clamp":256}},
    {"name":"requested","match":{},"targets":["$requested"]}],
  "plans":{"free":{"requests_per_hour":100},"team":{"requests_per_minute":3}}})";

} // namespace

void TestPolicyEngine::customRouteMatchesHeaderAndClampsMaxTokens()
{
    START_GATEWAY(kCustomPolicy);
    struct Case {
        const char *name;
        QByteArray body;
        HttpHeaders headers;
        QByteArray model, route;
        int maxTokens; // 0: the body must reach the provider byte for byte
    };
    const QList<Case> cases{
        {"clamped",
         anthropicBody(kHaiku, "ml one", 4000),
         {{"x-team", "ml"}},
         kSonnet45,
         "ml-team",
         256},
        {"below the clamp",
         anthropicBody(kHaiku, "ml two", 100),
         {{"X-Team", "ml"}},
         kSonnet45,
         "ml-team",
         100},
        // No max_tokens and no default: the clamp, or leaving it out would escape the cap.
        {"no max_tokens",
         anthropicBody(kHaiku, "ml three", 0),
         {{"x-team", "ml"}},
         kSonnet45,
         "ml-team",
         256},
        {"auto",
         anthropicBody("auto", "ml four", 2000),
         {{"x-team", "ml"}},
         kSonnet45,
         "ml-team",
         256},
        // Values are case-sensitive; other requests keep their model: the reference rules are
        // replaced, priority high included.
        {"other team",
         anthropicBody(kHaiku, "ML five", 4000),
         {{"x-team", "ML"}},
         kHaiku,
         "requested",
         0},
        {"no header, priority high",
         anthropicBody(kHaiku, "six", 4000),
         {{"x-tollgate-priority", "high"}},
         kHaiku,
         "requested",
         0},
    };
    for (const Case &c : cases) {
        m_anthropic.clearJournal();
        const HttpTestResponse response = send(messages(c.body, c.headers));
        const QByteArray where = QByteArray(c.name) + ": ";
        QVERIFY2(response.status == 200, where + response.describe().toUtf8());
        QVERIFY2(response.header("x-tollgate-route") == c.route,
                 where + response.header("x-tollgate-route"));
        QVERIFY2(response.header("x-tollgate-model") == c.model,
                 where + response.header("x-tollgate-model"));
        const QList<JournalEntry> journal = m_anthropic.journal();
        QCOMPARE(journal.size(), 1);
        if (c.maxTokens == 0) {
            QVERIFY2(journal[0].body == c.body, where + journal[0].body);
            continue;
        }
        const QJsonObject received = QJsonDocument::fromJson(journal[0].body).object();
        QVERIFY2(received.value(u"model").toString() == QString::fromLatin1(c.model),
                 where + journal[0].body);
        QVERIFY2(received.value(u"max_tokens").toInt() == c.maxTokens, where + journal[0].body);
        QCOMPARE(withoutKeys(received, {QStringLiteral("model"), QStringLiteral("max_tokens")}),
                 withoutKeys(QJsonDocument::fromJson(c.body).object(),
                             {QStringLiteral("model"), QStringLiteral("max_tokens")}));
    }

    // `auto` that no rule turns into a concrete model: nothing to send upstream.
    m_anthropic.clearJournal();
    const HttpTestResponse refused = send(messages(anthropicBody("auto", "no team")));
    QVERIFY2(refused.status == 400, qPrintable(refused.describe()));
    QCOMPARE(refused.json().value(u"type").toString(), QStringLiteral("error"));
    QCOMPARE(refused.json().value(u"error").toObject().value(u"type").toString(),
             QStringLiteral("invalid_request_error"));
    QVERIFY(m_anthropic.journal().isEmpty());
}

void TestPolicyEngine::customPlanLimitsRequestsPerMinute()
{
    START_GATEWAY(kCustomPolicy);
    HttpTestClient client(m_gateway.port());
    const HttpHeaders pat{{"x-tollgate-user", "pat"}, {"x-tollgate-plan", "team"}};
    for (int i = 1; i <= 3; ++i) {
        const HttpTestResponse response =
            client.request(messages(anthropicBody(kHaiku, "pat " + QByteArray::number(i)), pat));
        QVERIFY2(response.status == 200, qPrintable(response.describe()));
        QCOMPARE(response.header("x-ratelimit-limit-requests"), QByteArray("3"));
        QCOMPARE(response.header("x-ratelimit-remaining-requests"), QByteArray::number(3 - i));
    }
    const HttpTestResponse denied = client.request(messages(anthropicBody(kHaiku, "pat 4"), pat));
    QVERIFY2(denied.status == 429, qPrintable(denied.describe()));
    const QString problem = anthropicRateLimitProblem(denied.body);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    QCOMPARE(denied.header("x-tollgate-rate-limit"), QByteArray("requests_per_minute"));
    QCOMPARE(denied.header("x-ratelimit-limit-requests"), QByteArray("3"));
    QCOMPARE(denied.header("x-ratelimit-remaining-requests"), QByteArray("0"));
    const int retryAfter = denied.header("retry-after").toInt();
    QVERIFY2(retryAfter >= 1 && retryAfter <= 60, denied.header("retry-after"));
    QCOMPARE(m_anthropic.journal().size(), 3);

    // The plans section replaced the reference plans: free is the custom free, pro is unknown
    // (the owner falls back to the unlimited local plan, added because none was given).
    const HttpTestResponse quin =
        client.request(messages(anthropicBody(kHaiku, "quin"), {{"x-tollgate-user", "quin"}}));
    QCOMPARE(quin.status, 200);
    QCOMPARE(quin.header("x-ratelimit-limit-requests"), QByteArray("100"));
    const HttpTestResponse owner =
        client.request(messages(anthropicBody(kHaiku, "owner"), {{"x-tollgate-plan", "pro"}}));
    QCOMPARE(owner.status, 200);
    QVERIFY2(rateLimitHeaderNames(owner).isEmpty(), qPrintable(owner.describe()));
}

// ---------------------------------------------------------------------------------------------
// tollgated check-config

void TestPolicyEngine::policyReloadsOnChangeAndSighupKeepingTheRunningOneOnErrors()
{
    START_GATEWAY(R"({"version":1,"plans":{"free":{"requests_per_hour":100}}})");
    // Written aside and renamed over, as editors and config-management tools do.
    const auto writePolicy = [&](const QByteArray &policy) {
        QVERIFY(m_gateway.replacePolicy(policy));
    };
    int sent = 0;
    const auto limitNow = [&] {
        const HttpTestResponse response =
            send(messages(anthropicBody(kHaiku, "reload " + QByteArray::number(++sent)),
                          {{"x-tollgate-user", "rex"}}));
        return response.header("x-ratelimit-limit-requests");
    };
    QCOMPARE(limitNow(), QByteArray("100"));

    writePolicy(R"({"version":1,"plans":{"free":{"requests_per_hour":7}}})");
    QTRY_COMPARE_WITH_TIMEOUT(limitNow(), QByteArray("7"), 3000);

    // An invalid document never replaces the running one, and says why.
    writePolicy(R"({"version":1,"plans":{"free":{"requests_per_hour":-7}}})");
    QVERIFY(m_gateway.waitForOutput("policy not reloaded", 3000));
    QVERIFY(m_gateway.output().contains("plans.free.requests_per_hour"));
    QCOMPARE(limitNow(), QByteArray("7"));

    // SIGHUP reloads too (here after a change the watcher has already applied: same result).
    writePolicy(R"({"version":1,"plans":{"free":{"requests_per_hour":9}}})");
    QTRY_COMPARE_WITH_TIMEOUT(limitNow(), QByteArray("9"), 3000);
    QVERIFY(m_gateway.reloadOnSignal());
    QCOMPARE(limitNow(), QByteArray("9"));
}

void TestPolicyEngine::checkConfigPrintsEffectivePolicy()
{
    // Only a listen address and one retry setting: everything else is the reference.
    TollgatedProcess::Exit result = TollgatedProcess::checkConfig(
        R"({"version":1,"gateway":{"listen":"127.0.0.1:9191"},"retries":{"max_attempts":3}})");
    QVERIFY2(
        result.exited && result.code == 0,
        qPrintable(
            QStringLiteral("exit %1: %2").arg(result.code).arg(QString::fromUtf8(result.err))));
    QJsonParseError parseError;
    const QJsonObject effective = QJsonDocument::fromJson(result.out, &parseError).object();
    QVERIFY2(parseError.error == QJsonParseError::NoError, result.out.constData());

    // The reference router of docs/routing.md, rule for rule.
    const QJsonArray reference = QJsonDocument::fromJson(R"([
      {"name": "priority-high", "match": {"priority": "high", "api": "anthropic"},
       "targets": ["claude-sonnet-4-20250514"]},
      {"name": "budget-strict", "match": {"budget": "strict", "api": "anthropic"},
       "targets": ["claude-3-haiku-20240307"]},
      {"name": "auto-complex", "match": {"model": "auto", "complexity_above": 0.7, "api": "anthropic"},
       "targets": ["claude-sonnet-4-20250514"]},
      {"name": "auto-simple", "match": {"model": "auto", "api": "anthropic"},
       "targets": ["claude-3-haiku-20240307"]},
      {"name": "requested", "match": {}, "targets": ["$requested"]}
    ])")
                                     .array();
    const QJsonArray routes = effective.value(u"routes").toArray();
    QCOMPARE(routes.size(), reference.size());
    for (qsizetype i = 0; i < routes.size(); ++i) {
        const QJsonObject rule = routes[i].toObject();
        const QJsonObject want = reference[i].toObject();
        QCOMPARE(rule.value(u"name"), want.value(u"name"));
        QCOMPARE(rule.value(u"match").toObject(), want.value(u"match").toObject());
        QCOMPARE(rule.value(u"targets").toArray(), want.value(u"targets").toArray());
        QVERIFY(!rule.contains(u"max_tokens"));
    }

    const QJsonObject plans = effective.value(u"plans").toObject();
    const QJsonObject wantPlans =
        QJsonDocument::fromJson(
            R"({"free":{"requests_per_hour":100},"pro":{"requests_per_hour":1000},
            "enterprise":{"requests_per_hour":10000},"local":{}})")
            .object();
    QCOMPARE(plans, wantPlans);
    QCOMPARE(effective.value(u"default_plan").toString(), QStringLiteral("free"));
    QCOMPARE(effective.value(u"local_owner_plan").toString(), QStringLiteral("local"));

    const QJsonObject retries = effective.value(u"retries").toObject();
    QCOMPARE(retries.value(u"max_attempts").toInt(), 3); // given
    QCOMPARE(retries.value(u"deadline_ms").toInt(), 60000);
    QCOMPARE(retries.value(u"retry_on").toArray(),
             QJsonDocument::fromJson("[408,429,500,502,503,504,529]").array());
    const QJsonObject breakers = effective.value(u"breakers").toObject();
    QCOMPARE(breakers.value(u"consecutive_failures").toInt(), 5);
    QCOMPARE(breakers.value(u"cooldown_ms").toInt(), 30000);
    QCOMPARE(effective.value(u"gateway").toObject().value(u"listen").toString(),
             QStringLiteral("127.0.0.1:9191"));
    QCOMPARE(effective.value(u"gateway").toObject().value(u"default_max_tokens").toInt(), 1024);

    // A custom policy is printed back as it will run: its rules, its plans plus the local plan
    // that keeps the owner unthrottled.
    result = TollgatedProcess::checkConfig(kCustomPolicy);
    QVERIFY2(result.exited && result.code == 0, result.err.constData());
    const QJsonObject custom = QJsonDocument::fromJson(result.out).object();
    const QJsonArray customRoutes = custom.value(u"routes").toArray();
    QCOMPARE(customRoutes.size(), 2);
    const QJsonObject mlTeam = customRoutes[0].toObject();
    QCOMPARE(mlTeam.value(u"name").toString(), QStringLiteral("ml-team"));
    QCOMPARE(mlTeam.value(u"match").toObject(),
             QJsonDocument::fromJson(R"({"header":{"x-team":"ml"}})").object());
    QCOMPARE(mlTeam.value(u"max_tokens").toObject().value(u"clamp").toInt(), 256);
    QCOMPARE(mlTeam.value(u"targets").toArray().size(), 2);
    QCOMPARE(custom.value(u"plans").toObject(),
             QJsonDocument::fromJson(R"({"free":{"requests_per_hour":100},
                 "team":{"requests_per_minute":3},"local":{}})")
                 .object());
    QVERIFY(custom.value(u"retries").isObject());
    QVERIFY(custom.value(u"breakers").isObject());
}

void TestPolicyEngine::checkConfigNamesEveryProblem_data()
{
    QTest::addColumn<QByteArray>("policy");
    QTest::addColumn<QStringList>("paths");
    QTest::newRow("routes, plans, breakers")
        << QByteArray(R"({"version":1,
             "routes":[{"name":"r","match":{"priority":"urgent"},"targets":["claude-3-haiku-20240307"]}],
             "plans":{"free":{"requests_per_hour":-5}},
             "breakers":{"cooldown_ms":"soon"}})")
        << QStringList{QStringLiteral("routes[0].match.priority"),
                       QStringLiteral("plans.free.requests_per_hour"),
                       QStringLiteral("breakers.cooldown_ms")};
    QTest::newRow("routes, retries, default_plan")
        << QByteArray(R"({"version":1,
             "routes":[{"name":"r","targets":["claude-9"]}],
             "retries":{"max_attempts":0},
             "default_plan":"gold"})")
        << QStringList{QStringLiteral("routes[0].targets[0]"),
                       QStringLiteral("retries.max_attempts"), QStringLiteral("default_plan")};
    // docs/policy.md: "every problem is reported with its JSON path" — gateway settings too.
    QTest::newRow("gateway, routes, plans")
        << QByteArray(R"({"version":1,
             "gateway":{"listen":"nowhere"},
             "routes":[{"name":"r","match":{"priority":"urgent"},"targets":["claude-3-haiku-20240307"]}],
             "plans":{"free":{"requests_per_hour":-5}}})")
        << QStringList{QStringLiteral("gateway.listen"), QStringLiteral("routes[0].match.priority"),
                       QStringLiteral("plans.free.requests_per_hour")};
}

void TestPolicyEngine::checkConfigNamesEveryProblem()
{
    QFETCH(QByteArray, policy);
    QFETCH(QStringList, paths);
    const TollgatedProcess::Exit result = TollgatedProcess::checkConfig(policy);
    QVERIFY2(result.exited, "check-config did not finish");
    QVERIFY2(result.code != 0, result.out.constData());
    QVERIFY2(result.out.trimmed().isEmpty(), result.out.constData());
    QStringList missing;
    for (const QString &path : paths) {
        if (!result.err.contains((path + QStringLiteral(": ")).toUtf8()))
            missing.append(path);
    }
    QVERIFY2(missing.isEmpty(), qPrintable(QStringLiteral("not named: %1\nstderr:\n%2")
                                               .arg(missing.join(QStringLiteral(", ")),
                                                    QString::fromUtf8(result.err))));
}

QTEST_GUILESS_MAIN(TestPolicyEngine)
#include "tst_policyengine.moc"
