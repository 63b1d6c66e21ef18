// The policy's alert rules (docs/alerts.md) evaluated live by the real tollgated on real sockets
// against the in-process mock upstream: errors fire HighAIErrorRate and it resolves once they
// leave its window, slow answers make HighAILatency pending and then firing, spend fires
// AIBudgetExceeded and a reload that turns the rule off resolves it; each change is logged once on
// stderr and shown by the tollgate_alert_* gauges of /metrics. `tollgated check-config` refuses an
// invalid alerts section with the paths of its problems. Windows are seconds long so the test
// takes seconds; the response cache is off so every request reaches the mock.

#include "httptestclient.h"
#include "mockupstream.h"
#include "prometheustext.h"
#include "providerheaders.h"
#include "testchecks.h"
#include "tollgatedprocess.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QtTest/QtTest>

using namespace tollgate::testsupport;

namespace {

const QByteArray kSonnet = "claude-sonnet-4-20250514";
const QByteArray kHaiku = "claude-3-haiku-20240307";
const QByteArray kClientKey = "sk-ant-api03-tollgate-al-client-7f3e20c9";

/// The reference rules all off, then `rules` on top (a JSON object's members, without braces).
QByteArray policyWith(const QByteArray &rules)
{
    return R"({"version":1,"cache":{"enabled":false},"retries":{"max_attempts":1},)"
           R"("alerts":{"rules":{"HighAIErrorRate":{"enabled":false},)"
           R"("HighAILatency":{"enabled":false},"AIBudgetExceeded":{"enabled":false},)" +
           rules + "}}}";
}

QByteArray firingSeries(const QByteArray &alert, const QByteArray &severity)
{
    return R"(tollgate_alert_firing{alert=")" + alert + R"(",severity=")" + severity + R"("})";
}

} // namespace

#define START_GATEWAY(policy) VERIFY_NO_PROBLEM(startGateway(policy))

class TestAlerts : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanup();

    void errorRateFiresThenResolves();
    void latencyRuleIsPendingThenFiring();
    void costRuleFiresAndReloadTurningItOffResolvesIt();
    void checkConfigRefusesAnInvalidAlertsSection();
    void checkConfigPrintsTheAlertRules();

private:
    /// Empty once the gateway listens with `policy`; else what went wrong.
    QString startGateway(const QByteArray &policy);
    /// A Messages call for `model` with the mock scenario `scenario`, each with its own prompt.
    HttpTestResponse send(const QByteArray &model, const QByteArray &scenario);

    MockUpstream m_anthropic;
    TollgatedProcess m_gateway;
    int m_sent = 0;
};

void TestAlerts::initTestCase()
{
    QVERIFY2(QFile::exists(QStringLiteral(TOLLGATED_PATH)), TOLLGATED_PATH);
    m_anthropic.setThreads(1); // serves while a test waits on a blocking call
    QVERIFY2(m_anthropic.listen(), qPrintable(m_anthropic.errorString()));
}

void TestAlerts::cleanup()
{
    if (m_gateway.isRunning())
        QCOMPARE(m_gateway.stop(), 0);
    m_gateway.removeDataDir();
}

QString TestAlerts::startGateway(const QByteArray &policy)
{
    // Only the Anthropic upstream: every call of these tests is a Messages call.
    TollgatedProcess::Options options;
    options.anthropicBaseUrl = m_anthropic.baseUrl().toString();
    options.policy = policy;
    return m_gateway.start(options) ? QString() : m_gateway.failureReport();
}

HttpTestResponse TestAlerts::send(const QByteArray &model, const QByteArray &scenario)
{
    const QByteArray body =
        R"({"model":")" + model +
        R"(","max_tokens":64,"messages":[{"role":"user","content":"alert test #)" +
        QByteArray::number(++m_sent) + R"("}]})";
    return m_gateway.send(HttpTestRequest::post("/v1/messages", body,
                                                ProviderHeaders::anthropic(kClientKey) +
                                                    ProviderHeaders::scenario(scenario)));
}

// ---------------------------------------------------------------------------------------------

void TestAlerts::errorRateFiresThenResolves()
{
    // HighAIErrorRate over the last 3 s, firing as soon as the rate is above 0.05.
    START_GATEWAY(policyWith(R"("HighAIErrorRate":{"window_seconds":3,"for_seconds":0})"));
    const QByteArray firing = firingSeries("HighAIErrorRate", "critical");

    // The gauges are there from the start, for enabled rules only.
    QByteArray metrics = m_gateway.scrapeMetrics();
    QCOMPARE(PrometheusText::sample(metrics, firing), 0.0);
    QVERIFY2(!metrics.contains(R"(alert="HighAILatency")"), metrics.constData());

    // One answer and three upstream failures.
    HttpTestResponse response = send(kHaiku, "in=10,out=5");
    QVERIFY2(response.status == 200, qPrintable(response.describe()));
    for (int i = 0; i < 3; ++i) {
        response = send(kHaiku, "error=500");
        QVERIFY2(response.status == 500, qPrintable(response.describe()));
    }

    QTRY_COMPARE_WITH_TIMEOUT(PrometheusText::sample(m_gateway.scrapeMetrics(), firing), 1.0, 5000);
    QVERIFY(m_gateway.waitForOutput("alert HighAIErrorRate firing", 2000));
    // The rate depends on how many of the four the first evaluation saw; the rest is exact.
    static const QRegularExpression firingLine(
        QStringLiteral("tollgated: alert HighAIErrorRate firing: error rate (1|0\\.[0-9]+) > "
                       "0\\.05 \\(critical, over the last 3s\\)\n"));
    QVERIFY2(firingLine.match(QString::fromUtf8(m_gateway.output())).hasMatch(),
             m_gateway.output().constData());
    metrics = m_gateway.scrapeMetrics();
    QCOMPARE(PrometheusText::sample(
                 metrics, R"(tollgate_alert_threshold{alert="HighAIErrorRate",kind="error_rate"})"),
             0.05);
    const double rate = PrometheusText::sample(
        metrics, R"(tollgate_alert_value{alert="HighAIErrorRate",kind="error_rate"})");
    QVERIFY2(rate > 0.05 && rate <= 1, metrics.constData());
    if (!PrometheusText::promtool().isEmpty())
        VERIFY_NO_PROBLEM(PrometheusText::lintProblem(metrics));

    // Three seconds without traffic empty the window: resolved, logged once, gauge back to 0.
    QVERIFY2(
        m_gateway.waitForOutput("alert HighAIErrorRate resolved: no requests in the last 3s", 8000),
        m_gateway.output().constData());
    QCOMPARE(PrometheusText::sample(m_gateway.scrapeMetrics(), firing), 0.0);
    QCOMPARE(m_gateway.output().count("alert HighAIErrorRate firing"), 1);
    QCOMPARE(m_gateway.output().count("alert HighAIErrorRate resolved"), 1);
}

void TestAlerts::latencyRuleIsPendingThenFiring()
{
    // p95 above 0.5 s over 30 s, for 2 s. Every answer takes about 0.6 s: all in the (0.5, 1]
    // bucket, so the p95 is 0.5 + 0.5 × 0.95 = 0.975 s however many the evaluation saw.
    START_GATEWAY(
        policyWith(R"("HighAILatency":{"threshold":0.5,"window_seconds":30,"for_seconds":2})"));
    for (int i = 0; i < 2; ++i) {
        const HttpTestResponse response = send(kHaiku, "slow=600");
        QVERIFY2(response.status == 200, qPrintable(response.describe()));
    }
    const QByteArray pendingLine = "tollgated: alert HighAILatency pending: p95 latency 0.975 s > "
                                   "0.5 s (warning, over the last 30s); fires if it holds for 2s\n";
    const QByteArray firingLine = "tollgated: alert HighAILatency firing: p95 latency 0.975 s > "
                                  "0.5 s for 2s (warning, over the last 30s)\n";
    QVERIFY2(m_gateway.waitForOutput(pendingLine, 3000), m_gateway.output().constData());
    QCOMPARE(PrometheusText::sample(
                 m_gateway.scrapeMetrics(),
                 R"(tollgate_alert_pending{alert="HighAILatency",severity="warning"})"),
             1.0);
    QVERIFY2(m_gateway.waitForOutput(firingLine, 5000), m_gateway.output().constData());
    const QByteArray output = m_gateway.output();
    QVERIFY(output.indexOf(pendingLine) < output.indexOf(firingLine));

    const QByteArray metrics = m_gateway.scrapeMetrics();
    QCOMPARE(PrometheusText::sample(metrics, firingSeries("HighAILatency", "warning")), 1.0);
    QCOMPARE(PrometheusText::sample(
                 metrics, R"(tollgate_alert_pending{alert="HighAILatency",severity="warning"})"),
             0.0);
    QCOMPARE(PrometheusText::sample(
                 metrics, R"(tollgate_alert_value{alert="HighAILatency",kind="latency"})"),
             0.975);
    if (!PrometheusText::promtool().isEmpty())
        VERIFY_NO_PROBLEM(PrometheusText::lintProblem(metrics));
}

void TestAlerts::costRuleFiresAndReloadTurningItOffResolvesIt()
{
    // One Sonnet call of 1000 + 1000 tokens costs $0.018: above a $0.01 threshold.
    const QByteArray firingPolicy =
        policyWith(R"("AIBudgetExceeded":{"threshold":0.01,"window_seconds":60})");
    START_GATEWAY(firingPolicy);
    const HttpTestResponse response = send(kSonnet, "in=1000,out=1000");
    QVERIFY2(response.status == 200, qPrintable(response.describe()));
    QVERIFY2(m_gateway.waitForOutput("tollgated: alert AIBudgetExceeded firing: cost 0.018 USD > "
                                     "0.01 USD (critical, over the last 1m)\n",
                                     3000),
             m_gateway.output().constData());
    QCOMPARE(PrometheusText::sample(m_gateway.scrapeMetrics(),
                                    firingSeries("AIBudgetExceeded", "critical")),
             1.0);

    // Turned off by a reload: resolved at once, and its gauges are gone.
    QByteArray off = firingPolicy;
    off.replace(R"("window_seconds":60)", R"("window_seconds":60,"enabled":false)");
    QVERIFY(m_gateway.replacePolicy(off));
    QVERIFY2(m_gateway.waitForOutput(
                 "tollgated: alert AIBudgetExceeded resolved: the rule was turned off\n", 5000),
             m_gateway.output().constData());
    QVERIFY(!m_gateway.scrapeMetrics().contains(R"(alert="AIBudgetExceeded")"));
}

void TestAlerts::checkConfigRefusesAnInvalidAlertsSection()
{
    const TollgatedProcess::Exit result =
        TollgatedProcess::checkConfig(R"({"version":1,"alerts":{"rules":{
        "HighAIErrorRate":{"threshold":5},
        "HighAILatency":{"for":"5m"},
        "Spend":{"threshold":100}}}})");
    QVERIFY(result.exited);
    QCOMPARE(result.code, 2);
    QVERIFY(result.out.isEmpty());
    for (const char *problem :
         {"alerts.rules.HighAIErrorRate.threshold: expected a ratio of errors to requests, >= 0 "
          "and < 1 (0.05 is 5 %)",
          "alerts.rules.HighAILatency.for: unknown setting",
          "alerts.rules.Spend.kind: required for a rule that is not one of the reference rules "
          "(HighAIErrorRate, HighAILatency, AIBudgetExceeded)"})
        QVERIFY2(result.err.contains(problem), result.err.constData());
}

void TestAlerts::checkConfigPrintsTheAlertRules()
{
    const TollgatedProcess::Exit result =
        TollgatedProcess::checkConfig(R"({"version":1,"alerts":{"rules":{
        "HighAILatency":{"threshold":3,"severity":"critical"},
        "SpendSpike":{"kind":"cost","threshold":5,"window_seconds":600}}}})");
    QVERIFY(result.exited);
    QVERIFY2(result.code == 0, result.err.constData());
    const QJsonObject rules = QJsonDocument::fromJson(result.out)
                                  .object()
                                  .value(u"alerts")
                                  .toObject()
                                  .value(u"rules")
                                  .toObject();
    QCOMPARE(rules.keys(),
             (QStringList{QStringLiteral("AIBudgetExceeded"), QStringLiteral("HighAIErrorRate"),
                          QStringLiteral("HighAILatency"), QStringLiteral("SpendSpike")}));
    QCOMPARE(rules.value(u"HighAILatency").toObject(),
             QJsonDocument::fromJson(R"({"kind":"latency","quantile":0.95,"threshold":3,
                 "window_seconds":300,"for_seconds":300,"severity":"critical","enabled":true})")
                 .object());
    QCOMPARE(rules.value(u"SpendSpike").toObject(),
             QJsonDocument::fromJson(R"({"kind":"cost","threshold":5,"window_seconds":600,
                 "for_seconds":0,"severity":"critical","enabled":true})")
                 .object());
    QCOMPARE(rules.value(u"HighAIErrorRate").toObject().value(u"threshold").toDouble(), 0.05);
}

QTEST_GUILESS_MAIN(TestAlerts)
#include "tst_alerts.moc"
