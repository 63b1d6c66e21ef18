// USD budgets through the real tollgated on real sockets against the in-process mock upstream
// (docs/budgets.md): a budget that downgrades and then blocks, scopes, the pre-check on the
// estimate, the budget gauges of /metrics, spend that survives a restart and a kill -9, and a
// policy reload that keeps the spend. Every request carries a unique prompt and the response
// cache is off, so every request that passes reaches the mock; the mock's usage
// (`x-mock-scenario: in=N,out=N`) fixes what each one costs.

#include "httptestclient.h"
#include "mockupstream.h"
#include "prometheustext.h"
#include "providerheaders.h"
#include "testchecks.h"
#include "tokenprice.h"
#include "tollgatedprocess.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest/QtTest>

#include <cmath>
#include <csignal>
#include <cstdlib>

using namespace tollgate::testsupport;

namespace {

const QByteArray kSonnet = "claude-sonnet-4-20250514";
const QByteArray kSonnetAlias = "claude-sonnet-4-0";
const QByteArray kHaiku = "claude-3-haiku-20240307";
const QByteArray kAnthropicClientKey = "sk-ant-api03-tollgate-bt-client-6d02e7a1";
const QByteArray kOpenAiClientKey = "sk-proj-tollgate-bt-client-93c4be10";

const TokenPrice kSonnetPrice = TokenPrice::sonnet4();
const TokenPrice kHaikuPrice = TokenPrice::haiku3();

/// BudgetGuard::estimateCostUsd as the gateway applies it: the body's bytes / 4 (rounded up) at
/// the input price plus max_tokens at the output price.
double estimateUsd(const TokenPrice &price, qsizetype bodyBytes, qint64 maxTokens)
{
    return price.costUsd((bodyBytes + 3) / 4, maxTokens);
}

/// Dollars as block messages show them (BudgetGuard::formatUsd).
QString usd(double value)
{
    return QLatin1Char('$') +
           QString::number(value, 'f', std::fabs(value) > 0 && std::fabs(value) < 0.01 ? 4 : 2);
}

QString usdText(double value)
{
    return QString::number(value, 'g', 17);
}

/// The next UTC midnight: when a calendar day budget resets.
QDateTime nextUtcMidnight()
{
    return QDateTime(QDateTime::currentDateTimeUtc().date().addDays(1), QTime(0, 0), Qt::UTC);
}

QString isoUtc(const QDateTime &time)
{
    return time.toString(Qt::ISODate);
}

QByteArray anthropicBody(const QByteArray &model, const QByteArray &prompt, int maxTokens,
                         bool stream = false)
{
    QByteArray body =
        R"({"model":")" + model + R"(","max_tokens":)" + QByteArray::number(maxTokens);
    if (stream)
        body += R"(,"stream":true)";
    return body + R"(,"messages":[{"role":"user","content":")" + prompt + R"("}]})";
}

QByteArray openAiBody(const QByteArray &model, const QByteArray &prompt)
{
    return R"({"model":")" + model + R"(","messages":[{"role":"user","content":")" + prompt +
           R"("}]})";
}

HttpTestRequest messages(const QByteArray &body, const QByteArray &scenario,
                         const HttpHeaders &extra = {})
{
    return HttpTestRequest::post("/v1/messages", body,
                                 ProviderHeaders::anthropic(kAnthropicClientKey) +
                                     ProviderHeaders::scenario(scenario) + extra);
}

HttpTestRequest chat(const QByteArray &body, const QByteArray &scenario)
{
    return HttpTestRequest::post("/v1/chat/completions", body,
                                 ProviderHeaders::openAi(kOpenAiClientKey) +
                                     ProviderHeaders::scenario(scenario));
}

QByteArray scenario(int input, int output)
{
    return "in=" + QByteArray::number(input) + ",out=" + QByteArray::number(output);
}

/// One budget of the `budgets` section.
QByteArray budget(const QByteArray &name, const QByteArray &scope, double limitUsd,
                  const QByteArray &actions, const QByteArray &window = "day")
{
    QByteArray json = R"({"name":")" + name + R"(","window":")" + window + R"(","limit_usd":)" +
                      QByteArray::number(limitUsd, 'g', 17);
    if (!scope.isEmpty())
        json += R"(,"scope":)" + scope;
    if (!actions.isEmpty())
        json += R"(,"actions":)" + actions;
    return json + '}';
}

const QByteArray kBlockAt100 = R"([{"at_percent":100,"action":"block"}])";

/// A policy with these budgets, the response cache off and, if given, these routes.
QByteArray policyWith(const QByteArrayList &budgets, const QByteArray &routes = {})
{
    QByteArray json =
        R"({"version":1,"cache":{"enabled":false},"budgets":[)" + budgets.join(',') + ']';
    if (!routes.isEmpty())
        json += R"(,"routes":)" + routes;
    return json + '}';
}

/// The reference router (docs/routing.md) behind a rule for downgraded requests: a `routes`
/// section replaces the reference, so the reference rules are repeated after it.
const QByteArray kDowngradeRoutes = R"([
  {"name": "downgraded", "match": {"budget_state": "downgraded", "api": "anthropic"},
   "targets": ["claude-3-haiku-20240307"]},
  {"name": "priority-high", "match": {"priority": "high", "api": "anthropic"},
   "targets": ["claude-sonnet-4-20250514"]},
  {"name": "budget-strict", "match": {"budget": "strict", "api": "anthropic"},
   "targets": ["claude-3-haiku-20240307"]},
  {"name": "auto-complex", "match": {"model": "auto", "complexity_above": 0.7, "api": "anthropic"},
   "targets": ["claude-sonnet-4-20250514"]},
  {"name": "auto-simple", "match": {"model": "auto", "api": "anthropic"},
   "targets": ["claude-3-haiku-20240307"]},
  {"name": "requested", "match": {}, "targets": ["$requested"]}
])";

QString modelOf(const JournalEntry &entry)
{
    return QJsonDocument::fromJson(entry.body).object().value(u"model").toString();
}

/// Empty if `response` is the budget's 402 in the Anthropic shape with exactly `message`,
/// `x-tollgate-budget: budgetName` and (when `retryAfter` >= 0) `retry-after` within 2 s of
/// it, or no `retry-after` at all (when `retryAfter` < 0); else what is wrong.
QString anthropicBlockProblem(const HttpTestResponse &response, const QByteArray &budgetName,
                              const QString &message, qint64 retryAfter)
{
    const QJsonObject root = response.json();
    const QJsonObject error = root.value(u"error").toObject();
    if (response.status != 402)
        return QStringLiteral("expected 402: ") + response.describe();
    if (response.header("content-type") != "application/json" ||
        root.value(u"type").toString() != QLatin1String("error") ||
        error.value(u"type").toString() != QLatin1String("billing_error"))
        return QStringLiteral("not an Anthropic billing_error: ") + response.describe();
    if (error.value(u"message").toString() != message)
        return QStringLiteral("message\n  actual:   %1\n  expected: %2")
            .arg(error.value(u"message").toString(), message);
    if (response.header("x-tollgate-budget") != budgetName)
        return QStringLiteral("x-tollgate-budget should be %1: ")
                   .arg(QString::fromLatin1(budgetName)) +
               response.describe();
    const QByteArray retry = response.header("retry-after");
    if (retryAfter < 0) {
        if (!retry.isEmpty())
            return QStringLiteral("no retry-after expected: ") + response.describe();
    } else {
        bool numeric = false;
        const qint64 seconds = retry.toLongLong(&numeric);
        if (!numeric || seconds < 1 || std::abs(seconds - retryAfter) > 2)
            return QStringLiteral("retry-after should be about %1: ").arg(retryAfter) +
                   response.describe();
    }
    return {};
}

/// Seconds until the next UTC midnight, rounded up: the retry-after of a day budget.
qint64 secondsToMidnight()
{
    const qint64 ms = QDateTime::currentDateTimeUtc().msecsTo(nextUtcMidnight());
    return (ms + 999) / 1000;
}

} // namespace

#define START_GATEWAY(...) VERIFY_NO_PROBLEM(startGateway(__VA_ARGS__))

#define EXPECT_STATUS(response, expected)                                                          \
    QVERIFY2((response).status == (expected), qPrintable(response.describe()))

class TestBudgets : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    void budgetDowngradesThenBlocks();
    void userBudgetBlocksOnlyThatUser();
    void modelBudgetBlocksOnlyThatModel();
    void modelBudgetAlsoHoldsForAnAliasOfTheModel();
    void preCheckRefusesWhatTheEstimateWouldTakePastTheLimit();
    void preCheckPricesARouterModelByTheModelItIsRoutedTo();
    void metricsShowEveryBudgetAndPassPromtool();
    void spendSurvivesRestartAndKill9();
    void reloadedLimitAppliesAndSpendIsKept();
    void reloadChangingTheWindowKeepsTheSpend();

private:
    /// Starts tollgated against the mocks with this policy, in a new data folder unless
    /// `sameDataDir` (then the previous folder, its spend and its policy file are reused).
    QString startGateway(const QByteArray &policy, bool sameDataDir = false);
    HttpTestResponse send(const HttpTestRequest &request) const { return m_gateway.send(request); }
    /// A prompt no earlier request used.
    QByteArray prompt(const QByteArray &what) { return what + " #" + QByteArray::number(++m_sent); }
    /// tollgate_budget_<kind>_usd{budget="name"}, NaN when absent.
    double budgetGauge(const QByteArray &metrics, const QByteArray &kind,
                       const QByteArray &name) const
    {
        return PrometheusText::sample(metrics, "tollgate_budget_" + kind + R"(_usd{budget=")" +
                                                   name + R"("})");
    }
    /// Empty when /metrics shows `name` with this limit and spend (and limit − spend left).
    QString gaugeProblem(const QByteArray &name, double limitUsd, double spentUsd) const;

    MockUpstream m_anthropic;
    MockUpstream m_openAi;
    TollgatedProcess m_gateway;
    int m_sent = 0;
};

void TestBudgets::initTestCase()
{
    QVERIFY2(QFile::exists(QStringLiteral(TOLLGATED_PATH)), TOLLGATED_PATH);
    m_anthropic.setThreads(1);
    m_openAi.setThreads(1);
    QVERIFY2(m_anthropic.listen(), qPrintable(m_anthropic.errorString()));
    QVERIFY2(m_openAi.listen(), qPrintable(m_openAi.errorString()));
}

void TestBudgets::init()
{
    // Day budgets reset at UTC midnight: no test straddles it (waits at most a few seconds on
    // the rare run that starts just before).
    const qint64 left = QDateTime::currentDateTimeUtc().msecsTo(nextUtcMidnight());
    if (left < 15000)
        QTest::qWait(int(left) + 200);
    m_anthropic.clearJournal();
    m_openAi.clearJournal();
}

void TestBudgets::cleanup()
{
    if (m_gateway.isRunning())
        QCOMPARE(m_gateway.stop(), 0);
    m_gateway.removeDataDir();
}

QString TestBudgets::startGateway(const QByteArray &policy, bool sameDataDir)
{
    TollgatedProcess::Options options =
        TollgatedProcess::Options::forUpstreams(m_anthropic.baseUrl(), m_openAi.baseUrl());
    options.policy = policy;
    options.keepDataDir = sameDataDir;
    return m_gateway.start(options) ? QString() : m_gateway.failureReport();
}

QString TestBudgets::gaugeProblem(const QByteArray &name, double limitUsd, double spentUsd) const
{
    const QByteArray metrics = m_gateway.scrapeMetrics();
    const double limit = budgetGauge(metrics, "limit", name);
    const double spent = budgetGauge(metrics, "spend", name);
    const double remaining = budgetGauge(metrics, "remaining", name);
    if (!TokenPrice::sameUsd(limit, limitUsd) || !TokenPrice::sameUsd(spent, spentUsd) ||
        !TokenPrice::sameUsd(remaining, std::max(0.0, limitUsd - spentUsd)))
        return QStringLiteral("budget %1: limit %2 spend %3 remaining %4; expected limit %5 "
                              "spend %6\n%7")
            .arg(QString::fromLatin1(name), usdText(limit), usdText(spent), usdText(remaining),
                 usdText(limitUsd), usdText(spentUsd), QString::fromUtf8(metrics));
    return {};
}

// ---------------------------------------------------------------------------------------------

void TestBudgets::budgetDowngradesThenBlocks()
{
    // $0.10 a day: at 50 % requests go to haiku, past 100 % they are refused.
    START_GATEWAY(policyWith(
        {budget("team-day", R"({"kind":"global"})", 0.10,
                R"([{"at_percent":50,"action":"downgrade"},{"at_percent":100,"action":"block"}])")},
        kDowngradeRoutes));
    double spent = 0;

    // Below 50 %: sonnet as asked. Each costs 2000 × $3 + 2000 × $15 per MTok = $0.036.
    for (int i = 0; i < 2; ++i) {
        const HttpTestResponse response =
            send(messages(anthropicBody(kSonnet, prompt("below half"), 256), scenario(2000, 2000)));
        EXPECT_STATUS(response, 200);
        QCOMPARE(response.header("x-tollgate-route"), QByteArray("requested"));
        QCOMPARE(response.header("x-tollgate-model"), kSonnet);
        QCOMPARE(modelOf(m_anthropic.journal().constLast()), QString::fromLatin1(kSonnet));
        spent += kSonnetPrice.costUsd(2000, 2000);
    }
    QCOMPARE(m_anthropic.journal().size(), 2);
    VERIFY_NO_PROBLEM(gaugeProblem("team-day", 0.10, spent));

    // $0.072 spent, past 50 %: the same request for sonnet is answered by haiku.
    HttpTestResponse response =
        send(messages(anthropicBody(kSonnet, prompt("past half"), 256), scenario(2000, 4000)));
    EXPECT_STATUS(response, 200);
    QCOMPARE(response.header("x-tollgate-route"), QByteArray("downgraded"));
    QCOMPARE(response.header("x-tollgate-model"), kHaiku);
    QCOMPARE(m_anthropic.journal().size(), 3);
    QCOMPARE(modelOf(m_anthropic.journal().constLast()), QString::fromLatin1(kHaiku));
    QVERIFY2(TokenPrice::sameUsd(response.header("x-tollgate-cost-usd").toDouble(),
                                 kHaikuPrice.costUsd(2000, 4000)),
             qPrintable(response.describe()));
    spent += kHaikuPrice.costUsd(2000, 4000); // $0.0775

    // The pre-check: $0.0775 spent and up to 2000 sonnet output tokens ($0.03) would pass $0.10.
    const QByteArray large = anthropicBody(kSonnet, prompt("large"), 2000);
    response = send(messages(large, scenario(10, 10)));
    QString problem = anthropicBlockProblem(
        response, "team-day",
        QStringLiteral("Budget \"team-day\" would be exceeded: %1 of $0.10 spent and this request "
                       "may cost up to %2; resets %3")
            .arg(usd(spent), usd(estimateUsd(kSonnetPrice, large.size(), 2000)),
                 isoUtc(nextUtcMidnight())),
        secondsToMidnight());
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    QCOMPARE(m_anthropic.journal().size(), 3);

    // A small one still fits ($0.0775 + $0.004 < $0.10): downgraded, and it costs $0.03.
    response = send(messages(anthropicBody(kSonnet, prompt("small"), 256), scenario(20000, 20000)));
    EXPECT_STATUS(response, 200);
    QCOMPARE(response.header("x-tollgate-route"), QByteArray("downgraded"));
    QCOMPARE(modelOf(m_anthropic.journal().constLast()), QString::fromLatin1(kHaiku));
    spent += kHaikuPrice.costUsd(20000, 20000); // $0.1075
    QCOMPARE(m_anthropic.journal().size(), 4);

    // Exhausted: everything is refused in the caller's shape, and nothing reaches a provider.
    const QString exhausted = QStringLiteral("Budget \"team-day\" exhausted: %1 of $0.10 spent; "
                                             "resets %2")
                                  .arg(usd(spent), isoUtc(nextUtcMidnight()));
    response = send(messages(anthropicBody(kSonnet, prompt("exhausted"), 1), scenario(1, 1)));
    problem = anthropicBlockProblem(response, "team-day", exhausted, secondsToMidnight());
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    QVERIFY(exhausted.contains(QLatin1String("$0.11 of $0.10 spent")));

    response = send(messages(anthropicBody(kHaiku, prompt("cheap model"), 1), scenario(1, 1)));
    problem = anthropicBlockProblem(response, "team-day", exhausted, secondsToMidnight());
    QVERIFY2(problem.isEmpty(), qPrintable(problem));

    // A stream is refused before it starts: a plain JSON 402, not an event stream.
    response = send(messages(anthropicBody(kSonnet, prompt("stream"), 16, true), scenario(1, 1)));
    problem = anthropicBlockProblem(response, "team-day", exhausted, secondsToMidnight());
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    QVERIFY(response.events.isEmpty());
    QCOMPARE(m_anthropic.journal().size(), 4);

    // OpenAI clients get the same refusal in OpenAI's shape.
    response = send(chat(openAiBody("gpt-4o", prompt("openai")), scenario(1, 1)));
    EXPECT_STATUS(response, 402);
    const QJsonObject root = response.json();
    const QJsonObject error = root.value(u"error").toObject();
    QVERIFY2(!root.contains(u"type"), qPrintable(response.describe()));
    QCOMPARE(error.value(u"message").toString(), exhausted);
    QVERIFY2(error.value(u"type").isString() && error.contains(u"param") && error.contains(u"code"),
             qPrintable(response.describe()));
    QCOMPARE(response.header("x-tollgate-budget"), QByteArray("team-day"));
    QVERIFY2(std::abs(response.header("retry-after").toLongLong() - secondsToMidnight()) <= 2,
             qPrintable(response.describe()));
    QVERIFY(m_openAi.journal().isEmpty());

    // Refusals cost nothing.
    VERIFY_NO_PROBLEM(gaugeProblem("team-day", 0.10, spent));
}

void TestBudgets::userBudgetBlocksOnlyThatUser()
{
    START_GATEWAY(
        policyWith({budget("alice-day", R"({"kind":"user","value":"alice"})", 0.01, kBlockAt100)}));
    const HttpHeaders alice{{"x-tollgate-user", "alice"}};
    const HttpHeaders bob{{"x-tollgate-user", "bob"}};

    // Alice spends 10000 × $0.25 + 12000 × $1.25 per MTok = $0.0175 of her $0.01.
    HttpTestResponse response =
        send(messages(anthropicBody(kHaiku, prompt("alice"), 64), scenario(10000, 12000), alice));
    EXPECT_STATUS(response, 200);
    const double aliceSpent = kHaikuPrice.costUsd(10000, 12000);

    response =
        send(messages(anthropicBody(kHaiku, prompt("alice again"), 64), scenario(1, 1), alice));
    const QString problem = anthropicBlockProblem(
        response, "alice-day",
        QStringLiteral("Budget \"alice-day\" exhausted: %1 of $0.01 spent; resets %2")
            .arg(usd(aliceSpent), isoUtc(nextUtcMidnight())),
        secondsToMidnight());
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    QCOMPARE(m_anthropic.journal().size(), 1);

    // Bob and the local owner (no user) are not under Alice's budget, and do not count for it.
    response =
        send(messages(anthropicBody(kHaiku, prompt("bob"), 64), scenario(10000, 12000), bob));
    EXPECT_STATUS(response, 200);
    response = send(messages(anthropicBody(kHaiku, prompt("owner"), 64), scenario(10000, 12000)));
    EXPECT_STATUS(response, 200);
    response =
        send(messages(anthropicBody(kSonnet, prompt("bob sonnet"), 64), scenario(1, 1), bob));
    EXPECT_STATUS(response, 200);
    QCOMPARE(m_anthropic.journal().size(), 4);

    // Alice is refused whatever model she asks for.
    response =
        send(messages(anthropicBody(kSonnet, prompt("alice sonnet"), 64), scenario(1, 1), alice));
    EXPECT_STATUS(response, 402);
    QCOMPARE(response.header("x-tollgate-budget"), QByteArray("alice-day"));
    QCOMPARE(m_anthropic.journal().size(), 4);

    VERIFY_NO_PROBLEM(gaugeProblem("alice-day", 0.01, aliceSpent));
}

void TestBudgets::modelBudgetBlocksOnlyThatModel()
{
    START_GATEWAY(
        policyWith({budget("sonnet-day", R"({"kind":"model","value":"claude-sonnet-4-20250514"})",
                           0.02, kBlockAt100)}));
    const HttpHeaders bob{{"x-tollgate-user", "bob"}};

    // Haiku does not count for the sonnet budget.
    HttpTestResponse response =
        send(messages(anthropicBody(kHaiku, prompt("haiku"), 64), scenario(20000, 20000)));
    EXPECT_STATUS(response, 200);
    VERIFY_NO_PROBLEM(gaugeProblem("sonnet-day", 0.02, 0));

    // $0.036 of sonnet: past its $0.02.
    response = send(messages(anthropicBody(kSonnet, prompt("sonnet"), 64), scenario(2000, 2000)));
    EXPECT_STATUS(response, 200);
    const double sonnetSpent = kSonnetPrice.costUsd(2000, 2000);
    QCOMPARE(m_anthropic.journal().size(), 2);

    // Sonnet is refused to everybody; haiku and OpenAI models still pass for everybody.
    const QString exhausted =
        QStringLiteral("Budget \"sonnet-day\" exhausted: %1 of $0.02 spent; resets %2")
            .arg(usd(sonnetSpent), isoUtc(nextUtcMidnight()));
    for (const HttpHeaders &who : {HttpHeaders{}, bob}) {
        response =
            send(messages(anthropicBody(kSonnet, prompt("sonnet"), 64), scenario(1, 1), who));
        const QString problem =
            anthropicBlockProblem(response, "sonnet-day", exhausted, secondsToMidnight());
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        response = send(messages(anthropicBody(kHaiku, prompt("haiku"), 64), scenario(1, 1), who));
        EXPECT_STATUS(response, 200);
    }
    response = send(chat(openAiBody("gpt-4o", prompt("openai")), scenario(1, 1)));
    EXPECT_STATUS(response, 200);
    QCOMPARE(m_anthropic.journal().size(), 4);
    for (const JournalEntry &entry : m_anthropic.journal().mid(2))
        QCOMPARE(modelOf(entry), QString::fromLatin1(kHaiku));
    QCOMPARE(m_openAi.journal().size(), 1);

    VERIFY_NO_PROBLEM(gaugeProblem("sonnet-day", 0.02, sonnetSpent));
}

void TestBudgets::modelBudgetAlsoHoldsForAnAliasOfTheModel()
{
    // docs/budgets.md: model scopes match the canonical id, so an alias cannot get around them.
    START_GATEWAY(
        policyWith({budget("sonnet-day", R"({"kind":"model","value":"claude-sonnet-4-20250514"})",
                           0.02, kBlockAt100)}));

    // Through its alias, sonnet is charged to the sonnet budget (the provider answers with the
    // canonical id) ...
    HttpTestResponse response =
        send(messages(anthropicBody(kSonnetAlias, prompt("alias"), 64), scenario(2000, 2000)));
    EXPECT_STATUS(response, 200);
    QCOMPARE(modelOf(m_anthropic.journal().constLast()), QString::fromLatin1(kSonnet));
    const double spent = kSonnetPrice.costUsd(2000, 2000);
    VERIFY_NO_PROBLEM(gaugeProblem("sonnet-day", 0.02, spent));
    response = send(messages(anthropicBody(kSonnet, prompt("canonical"), 64), scenario(1, 1)));
    EXPECT_STATUS(response, 402);

    // ... and the exhausted budget refuses it through the alias too.
    response = send(
        messages(anthropicBody(kSonnetAlias, prompt("alias again"), 64), scenario(2000, 2000)));
    const QString problem = anthropicBlockProblem(
        response, "sonnet-day",
        QStringLiteral("Budget \"sonnet-day\" exhausted: %1 of $0.02 spent; resets %2")
            .arg(usd(spent), isoUtc(nextUtcMidnight())),
        secondsToMidnight());
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    QCOMPARE(m_anthropic.journal().size(), 1);
}

void TestBudgets::preCheckRefusesWhatTheEstimateWouldTakePastTheLimit()
{
    START_GATEWAY(policyWith({budget("small-day", {}, 0.05, kBlockAt100)}));

    // Nothing spent, but up to 4000 sonnet output tokens ($0.06) is more than the whole limit:
    // refused before any upstream call, and no retry would ever help.
    QByteArray body = anthropicBody(kSonnet, prompt("too large"), 4000);
    HttpTestResponse response = send(messages(body, scenario(1, 1)));
    QString problem = anthropicBlockProblem(
        response, "small-day",
        QStringLiteral("Budget \"small-day\" cannot cover this request: it may cost up to %1, more "
                       "than the $0.05 limit; lower max_tokens")
            .arg(usd(estimateUsd(kSonnetPrice, body.size(), 4000))),
        -1);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    QVERIFY(m_anthropic.journal().isEmpty());

    // Spend $0.033 of $0.05 (1000 in, 2000 out).
    response = send(messages(anthropicBody(kSonnet, prompt("spend"), 100), scenario(1000, 2000)));
    EXPECT_STATUS(response, 200);
    const double spent = kSonnetPrice.costUsd(1000, 2000);
    QCOMPARE(m_anthropic.journal().size(), 1);

    // max_tokens 2000 may cost $0.03 more: past the limit, refused before the upstream.
    body = anthropicBody(kSonnet, prompt("would exceed"), 2000);
    response = send(messages(body, scenario(1, 1)));
    problem = anthropicBlockProblem(
        response, "small-day",
        QStringLiteral("Budget \"small-day\" would be exceeded: %1 of $0.05 spent and this "
                       "request may cost up to %2; resets %3")
            .arg(usd(spent), usd(estimateUsd(kSonnetPrice, body.size(), 2000)),
                 isoUtc(nextUtcMidnight())),
        secondsToMidnight());
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    QCOMPARE(m_anthropic.journal().size(), 1);

    // The prompt counts as well: 40,000 characters (10,000 tokens, $0.03) with max_tokens 1.
    body = anthropicBody(kSonnet, prompt(QByteArray(40000, 'a')), 1);
    QVERIFY(spent + estimateUsd(kSonnetPrice, body.size(), 1) > 0.05);
    response = send(messages(body, scenario(1, 1)));
    EXPECT_STATUS(response, 402);
    QCOMPARE(response.header("x-tollgate-budget"), QByteArray("small-day"));
    QCOMPARE(m_anthropic.journal().size(), 1);

    // max_tokens 1000 ($0.015 + the prompt) still fits under $0.05: it passes.
    body = anthropicBody(kSonnet, prompt("fits"), 1000);
    QVERIFY(spent + estimateUsd(kSonnetPrice, body.size(), 1000) < 0.05);
    response = send(messages(body, scenario(10, 10)));
    EXPECT_STATUS(response, 200);
    QCOMPARE(m_anthropic.journal().size(), 2);
    VERIFY_NO_PROBLEM(gaugeProblem("small-day", 0.05, spent + kSonnetPrice.costUsd(10, 10)));
}

void TestBudgets::preCheckPricesARouterModelByTheModelItIsRoutedTo()
{
    // docs/budgets.md: a request naming a router model (`auto`) is estimated at the most
    // expensive model the router could pick, or checked again once routed. Here `auto` with
    // priority high is routed to sonnet, where 8000 output tokens may cost $0.12 > $0.05.
    START_GATEWAY(policyWith({budget("small-day", {}, 0.05, kBlockAt100)}));
    const QByteArray body = anthropicBody("auto", prompt("route me"), 8000);
    const HttpTestResponse response =
        send(messages(body, scenario(1000, 8000), {{"x-tollgate-priority", "high"}}));
    QVERIFY2(response.status == 402 && response.header("x-tollgate-budget") == "small-day",
             qPrintable(
                 QStringLiteral("expected the pre-check to refuse it (sonnet estimate "
                                "%1 > $0.05 limit), got:\n")
                     .arg(usd(estimateUsd(kSonnetPrice, body.size(), 8000))) +
                 response.describe() +
                 QStringLiteral("\nupstream saw %1 request(s)").arg(m_anthropic.journal().size())));
    QVERIFY(m_anthropic.journal().isEmpty());
}

void TestBudgets::metricsShowEveryBudgetAndPassPromtool()
{
    START_GATEWAY(policyWith(
        {budget("team-day", {}, 0.5, R"([{"at_percent":80,"action":"alert"}])"),
         budget("sonnet-month", R"({"kind":"model","value":"claude-sonnet-*"})", 2, "[]", "month"),
         budget("idle-day", R"({"kind":"user","value":"nobody"})", 7.25, {})}));
    double spent = 0;
    double sonnet = 0;
    const QList<QPair<QByteArray, QPair<int, int>>> calls = {
        {kSonnet, {1234, 567}}, {kHaiku, {4321, 765}}, {kSonnet, {17, 3}}};
    for (const auto &[model, usage] : calls) {
        const HttpTestResponse response = send(messages(anthropicBody(model, prompt("metered"), 64),
                                                        scenario(usage.first, usage.second)));
        EXPECT_STATUS(response, 200);
        const double cost = model == kSonnet ? kSonnetPrice.costUsd(usage.first, usage.second)
                                             : kHaikuPrice.costUsd(usage.first, usage.second);
        spent += cost;
        if (model == kSonnet)
            sonnet += cost;
    }
    VERIFY_NO_PROBLEM(gaugeProblem("team-day", 0.5, spent));
    VERIFY_NO_PROBLEM(gaugeProblem("sonnet-month", 2, sonnet));
    // A budget nothing was charged to is shown all the same.
    VERIFY_NO_PROBLEM(gaugeProblem("idle-day", 7.25, 0));

    const QByteArray metrics = m_gateway.scrapeMetrics();
    for (const char *kind : {"limit", "spend", "remaining"}) {
        const QByteArray name = QByteArray("tollgate_budget_") + kind + "_usd";
        QVERIFY2(metrics.contains("# TYPE " + name + " gauge\n"), name.constData());
        QCOMPARE(metrics.count(name + "{budget="), 3);
    }

    if (PrometheusText::promtool().isEmpty())
        QSKIP("promtool is not installed");
    VERIFY_NO_PROBLEM(PrometheusText::lintProblem(metrics));
}

void TestBudgets::spendSurvivesRestartAndKill9()
{
    const QByteArray policy = policyWith({budget("team-day", {}, 0.10, kBlockAt100)});
    START_GATEWAY(policy);
    double spent = 0;
    const auto spend = [&](int count) {
        for (int i = 0; i < count; ++i) {
            const HttpTestResponse response = send(
                messages(anthropicBody(kSonnet, prompt("persisted"), 64), scenario(1000, 1000)));
            QVERIFY2(response.status == 200, qPrintable(response.describe()));
            spent += kSonnetPrice.costUsd(1000, 1000); // $0.018
        }
    };

    // A clean stop writes everything; the next start on the same data folder reads it back.
    spend(2);
    VERIFY_NO_PROBLEM(gaugeProblem("team-day", 0.10, spent));
    QCOMPARE(m_gateway.stop(), 0);
    QVERIFY(QFile::exists(QDir(m_gateway.dataDir()).filePath(QStringLiteral("spend.sqlite"))));
    START_GATEWAY(policy, true);
    VERIFY_NO_PROBLEM(gaugeProblem("team-day", 0.10, spent));

    // A kill -9 after the store's flush interval (200 ms) loses nothing either.
    spend(3); // $0.09 in all
    VERIFY_NO_PROBLEM(gaugeProblem("team-day", 0.10, spent));
    QTest::qWait(400);
    const qint64 pid = m_gateway.processId();
    QVERIFY(pid > 0);
    QCOMPARE(::kill(pid_t(pid), SIGKILL), 0);
    QTRY_VERIFY_WITH_TIMEOUT(!m_gateway.isRunning(), 5000);
    QCOMPARE(m_gateway.stop(), -1); // it crashed, as intended
    START_GATEWAY(policy, true);
    VERIFY_NO_PROBLEM(gaugeProblem("team-day", 0.10, spent));

    // The restored spend also decides: $0.09 + up to $0.015 would pass $0.10.
    const QByteArray body = anthropicBody(kSonnet, prompt("after the crash"), 1000);
    const HttpTestResponse response = send(messages(body, scenario(1, 1)));
    const QString problem = anthropicBlockProblem(
        response, "team-day",
        QStringLiteral("Budget \"team-day\" would be exceeded: %1 of $0.10 spent and this "
                       "request may cost up to %2; resets %3")
            .arg(usd(spent), usd(estimateUsd(kSonnetPrice, body.size(), 1000)),
                 isoUtc(nextUtcMidnight())),
        secondsToMidnight());
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    QCOMPARE(m_anthropic.journal().size(), 5);
}

void TestBudgets::reloadedLimitAppliesAndSpendIsKept()
{
    START_GATEWAY(policyWith({budget("team-day", {}, 0.05, kBlockAt100)}));
    HttpTestResponse response =
        send(messages(anthropicBody(kSonnet, prompt("spend"), 64), scenario(2000, 2000)));
    EXPECT_STATUS(response, 200);
    double spent = kSonnetPrice.costUsd(2000, 2000); // $0.036

    // $0.036 + up to $0.015 would pass $0.05.
    const auto fits = [&] {
        return send(messages(anthropicBody(kSonnet, prompt("fits?"), 1000), scenario(10, 10)));
    };
    response = fits();
    EXPECT_STATUS(response, 402);
    QCOMPARE(m_anthropic.journal().size(), 1);

    // Raised to $1 (the file watcher reloads it): the same request passes.
    QVERIFY(m_gateway.reloadPolicy(policyWith({budget("team-day", {}, 1, kBlockAt100)})));
    response = fits();
    EXPECT_STATUS(response, 200);
    QCOMPARE(m_anthropic.journal().size(), 2);
    spent += kSonnetPrice.costUsd(10, 10);
    VERIFY_NO_PROBLEM(gaugeProblem("team-day", 1, spent));

    // Lowered to $0.03: the spend kept from before the reloads is past it.
    QVERIFY(m_gateway.reloadPolicy(policyWith({budget("team-day", {}, 0.03, kBlockAt100)})));
    response = send(messages(anthropicBody(kHaiku, prompt("tiny"), 1), scenario(1, 1)));
    const QString problem = anthropicBlockProblem(
        response, "team-day",
        QStringLiteral("Budget \"team-day\" exhausted: %1 of $0.03 spent; resets %2")
            .arg(usd(spent), isoUtc(nextUtcMidnight())),
        secondsToMidnight());
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    QCOMPARE(m_anthropic.journal().size(), 2);
    VERIFY_NO_PROBLEM(gaugeProblem("team-day", 0.03, spent));
}

void TestBudgets::reloadChangingTheWindowKeepsTheSpend()
{
    // docs/budgets.md: a reload that changes a budget's window starts it afresh in memory and
    // restores it from the store, where each row is spend at a point in time: today's spend
    // counts in this month as well. That includes spend charged just before the reload, which
    // may still wait for the store's next flush (every 200 ms).
    START_GATEWAY(policyWith({budget("team", {}, 1, "[]", "day")}));
    HttpTestResponse response =
        send(messages(anthropicBody(kSonnet, prompt("early"), 64), scenario(1000, 1000)));
    EXPECT_STATUS(response, 200);
    double spent = kSonnetPrice.costUsd(1000, 1000);
    QTest::qWait(400); // committed

    response =
        send(messages(anthropicBody(kSonnet, prompt("just before"), 64), scenario(2000, 2000)));
    EXPECT_STATUS(response, 200);
    spent += kSonnetPrice.costUsd(2000, 2000);

    QVERIFY(m_gateway.replacePolicy(policyWith({budget("team", {}, 1, "[]", "month")})));
    QVERIFY(m_gateway.reloadOnSignal()); // now, not after the watcher's debounce
    VERIFY_NO_PROBLEM(gaugeProblem("team", 1, spent));
}

QTEST_GUILESS_MAIN(TestBudgets)
#include "tst_budgets.moc"
