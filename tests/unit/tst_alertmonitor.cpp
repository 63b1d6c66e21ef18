#include "alerts/alertmonitor.h"
#include "metering/metrics.h"

#include <QFileInfo>
#include <QJsonDocument>
#include <QLocale>
#include <QProcess>
#include <QTest>
#include <QThread>

#include <memory>
#include <vector>

using namespace tollgate::alerts;
using tollgate::metering::Metrics;
using tollgate::metering::RequestRecord;

namespace {

constexpr qint64 kT0 = 1700000000000;
constexpr qint64 kSecond = 1000;

AlertPolicy policy(const QByteArray &rules)
{
    auto parsed = AlertPolicy::fromJson(
        QJsonDocument::fromJson(R"({"alerts":{"rules":)" + rules + "}}").object());
    if (!parsed)
        qFatal("bad test policy: %s", qPrintable(parsed.error().toString()));
    return *parsed;
}

/// A request that finished at `endMs` after `latencyMs`.
RequestRecord finished(qint64 endMs, int status, double latencyMs = 200, double costUsd = 0)
{
    RequestRecord record;
    record.usedModel = QStringLiteral("claude-3-haiku-20240307");
    record.startedAtMs = endMs - qint64(latencyMs);
    record.latencyMs = latencyMs;
    record.status = status;
    record.costUsd = costUsd;
    if (status >= 400)
        record.error = QStringLiteral("upstream HTTP %1").arg(status);
    return record;
}

const AlertState *stateOf(const QList<AlertState> &states, const QString &name)
{
    for (const AlertState &state : states) {
        if (state.rule.name == name)
            return &state;
    }
    return nullptr;
}

} // namespace

class TestAlertMonitor : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void startsWithTheReferenceRulesInactive();
    void recordedRequestsDriveTheRules();
    void exposition();
    void disabledRulesAreNotExported();
    void metricsAppendTheAlertFamilies();
    void promtoolAcceptsTheExposition();
    void newPolicyKeepsStatesAndWindowData();
    void recordingFromManyThreads();

private:
    void checkWithPromtool(const QByteArray &text);
};

void TestAlertMonitor::startsWithTheReferenceRulesInactive()
{
    AlertMonitor monitor;
    QVERIFY(monitor.policy().rules() == AlertPolicy::reference().rules());
    const QList<AlertState> states = monitor.states();
    QCOMPARE(states.size(), 3);
    for (const AlertState &state : states) {
        QCOMPARE(state.status, AlertStatus::Inactive);
        QVERIFY(std::isnan(state.value));
    }
    QVERIFY(monitor.evaluate(kT0).isEmpty());
}

void TestAlertMonitor::recordedRequestsDriveTheRules()
{
    AlertMonitor monitor;
    monitor.setPolicy(policy(R"({
        "HighAIErrorRate": {"window_seconds": 10, "for_seconds": 2},
        "HighAILatency": {"window_seconds": 10, "for_seconds": 0, "threshold": 0.5},
        "AIBudgetExceeded": {"window_seconds": 10, "threshold": 0.05}})"));
    monitor.record(finished(kT0, 500));
    monitor.record(finished(kT0, 200, 700, 0.03));
    monitor.record(finished(kT0 + 500, 200, 900, 0.03));

    QList<AlertTransition> t = monitor.evaluate(kT0 + kSecond);
    QCOMPARE(t.size(), 3);
    QCOMPARE(t[0].rule.name, QStringLiteral("HighAIErrorRate"));
    QCOMPARE(t[0].to, AlertStatus::Pending);
    QCOMPARE(t[0].value, 1.0 / 3.0);
    QCOMPARE(t[1].rule.name, QStringLiteral("HighAILatency"));
    QCOMPARE(t[1].to, AlertStatus::Firing);
    QCOMPARE(t[1].value, 0.5 + 0.5 * (0.95 * 3 - 1) / 2); // 0.2 s, 0.7 s, 0.9 s
    QCOMPARE(t[2].rule.name, QStringLiteral("AIBudgetExceeded"));
    QCOMPARE(t[2].to, AlertStatus::Firing);
    QCOMPARE(t[2].value, 0.06);

    QVERIFY(monitor.evaluate(kT0 + 2 * kSecond).isEmpty()); // held 1 s of 2
    t = monitor.evaluate(kT0 + 3 * kSecond);
    QCOMPARE(t.size(), 1);
    QCOMPARE(t[0].to, AlertStatus::Firing);
    const QList<AlertState> states = monitor.states();
    QCOMPARE(stateOf(states, QStringLiteral("HighAIErrorRate"))->status, AlertStatus::Firing);
    QCOMPARE(stateOf(states, QStringLiteral("HighAIErrorRate"))->activeSinceMs, kT0 + kSecond);
    QCOMPARE(stateOf(states, QStringLiteral("HighAIErrorRate"))->firingSinceMs, kT0 + 3 * kSecond);

    // Ten seconds on, the window is empty and every rule resolves, each reported once.
    t = monitor.evaluate(kT0 + 11 * kSecond);
    QCOMPARE(t.size(), 3);
    for (const AlertTransition &transition : t)
        QCOMPARE(transition.to, AlertStatus::Inactive);
    QVERIFY(monitor.evaluate(kT0 + 12 * kSecond).isEmpty());
}

void TestAlertMonitor::exposition()
{
    AlertMonitor monitor;
    monitor.setPolicy(policy(R"({"HighAIErrorRate": {"window_seconds": 60, "for_seconds": 0},
        "HighAILatency": {"window_seconds": 60, "for_seconds": 30}})"));
    monitor.record(finished(kT0, 503));
    monitor.record(finished(kT0, 200, 3000));
    monitor.record(finished(kT0, 200, 3000, 1.5));
    monitor.record(finished(kT0, 200, 3000));
    monitor.evaluate(kT0);
    // histogram_quantile(0.95) of 0.2 s and 3 × 3 s: rank 3.8, the 2.8th of three in (2, 5].
    const QByteArray p95 =
        QByteArray::number(2.0 + 3.0 * ((0.95 * 4 - 1) / 3), 'g', QLocale::FloatingPointShortest);
    const QByteArray expected =
        "# HELP tollgate_alert_firing Whether each alert rule of the policy is firing (1) or not "
        "(0).\n"
        "# TYPE tollgate_alert_firing gauge\n"
        "tollgate_alert_firing{alert=\"HighAIErrorRate\",severity=\"critical\"} 1\n"
        "tollgate_alert_firing{alert=\"HighAILatency\",severity=\"warning\"} 0\n"
        "tollgate_alert_firing{alert=\"AIBudgetExceeded\",severity=\"critical\"} 0\n"
        "# HELP tollgate_alert_pending Whether each alert rule's condition holds but has not yet "
        "held for its for duration (1) or not (0).\n"
        "# TYPE tollgate_alert_pending gauge\n"
        "tollgate_alert_pending{alert=\"HighAIErrorRate\",severity=\"critical\"} 0\n"
        "tollgate_alert_pending{alert=\"HighAILatency\",severity=\"warning\"} 1\n"
        "tollgate_alert_pending{alert=\"AIBudgetExceeded\",severity=\"critical\"} 0\n"
        "# HELP tollgate_alert_value What each alert rule measured over its window at the last "
        "evaluation: error ratio, latency in seconds or cost in USD (NaN when there was nothing "
        "to measure).\n"
        "# TYPE tollgate_alert_value gauge\n"
        "tollgate_alert_value{alert=\"HighAIErrorRate\",kind=\"error_rate\"} 0.25\n"
        "tollgate_alert_value{alert=\"HighAILatency\",kind=\"latency\"} " +
        p95 +
        "\n"
        "tollgate_alert_value{alert=\"AIBudgetExceeded\",kind=\"cost\"} 1.5\n"
        "# HELP tollgate_alert_threshold The threshold each alert rule compares its value with "
        "(fires above it).\n"
        "# TYPE tollgate_alert_threshold gauge\n"
        "tollgate_alert_threshold{alert=\"HighAIErrorRate\",kind=\"error_rate\"} 0.05\n"
        "tollgate_alert_threshold{alert=\"HighAILatency\",kind=\"latency\"} 2\n"
        "tollgate_alert_threshold{alert=\"AIBudgetExceeded\",kind=\"cost\"} 50\n";
    QCOMPARE(monitor.renderPrometheus(), expected);

    // Before any request, a ratio and a quantile have nothing to measure: NaN, not 0.
    AlertMonitor idle;
    idle.evaluate(kT0);
    const QByteArray text = idle.renderPrometheus();
    QVERIFY(text.contains("tollgate_alert_value{alert=\"HighAIErrorRate\",kind=\"error_rate\"} "
                          "NaN\n"));
    QVERIFY(text.contains("tollgate_alert_value{alert=\"AIBudgetExceeded\",kind=\"cost\"} 0\n"));
}

void TestAlertMonitor::disabledRulesAreNotExported()
{
    AlertMonitor monitor;
    monitor.setPolicy(policy(R"({"HighAILatency": {"enabled": false},
        "SpendSpike": {"kind": "cost", "threshold": 5, "window_seconds": 60}})"));
    const QByteArray text = monitor.renderPrometheus();
    QVERIFY(!text.contains("HighAILatency"));
    QVERIFY(text.contains("tollgate_alert_firing{alert=\"SpendSpike\",severity=\"critical\"} 0\n"));
    QVERIFY(text.contains("tollgate_alert_threshold{alert=\"SpendSpike\",kind=\"cost\"} 5\n"));
    QCOMPARE(monitor.states().size(), 3);
}

void TestAlertMonitor::metricsAppendTheAlertFamilies()
{
    AlertMonitor monitor;
    Metrics metrics;
    QVERIFY(!metrics.renderPrometheus().contains("tollgate_alert_"));
    metrics.setAlertExposition(monitor.renderPrometheus());
    const QByteArray text = metrics.renderPrometheus();
    QVERIFY(text.endsWith(monitor.renderPrometheus()));
    QVERIFY(text.contains("# TYPE ai_requests_total counter\n"));
}

void TestAlertMonitor::checkWithPromtool(const QByteArray &text)
{
    const QString promtool = QStringLiteral("/usr/bin/promtool");
    if (!QFileInfo(promtool).isExecutable())
        QSKIP("promtool not installed at /usr/bin/promtool (Debian package 'prometheus')");
    QProcess process;
    process.start(promtool, {QStringLiteral("check"), QStringLiteral("metrics")});
    QVERIFY2(process.waitForStarted(10000), qPrintable(process.errorString()));
    process.write(text);
    process.closeWriteChannel();
    QVERIFY(process.waitForFinished(30000));
    const QByteArray output = process.readAllStandardOutput() + process.readAllStandardError();
    QVERIFY2(process.exitStatus() == QProcess::NormalExit && process.exitCode() == 0,
             qPrintable(QStringLiteral("promtool exit %1:\n%2\n--- input ---\n%3")
                            .arg(process.exitCode())
                            .arg(QString::fromUtf8(output), QString::fromUtf8(text))));
}

void TestAlertMonitor::promtoolAcceptsTheExposition()
{
    AlertMonitor monitor;
    monitor.setPolicy(policy(R"({"HighAIErrorRate": {"for_seconds": 0},
        "Extra_1": {"kind": "latency", "quantile": 0.5, "threshold": 0.1, "for_seconds": 60}})"));
    monitor.evaluate(kT0); // NaN values
    Metrics metrics;
    metrics.setAlertExposition(monitor.renderPrometheus());
    checkWithPromtool(metrics.renderPrometheus());

    for (int i = 0; i < 4; ++i) {
        const RequestRecord record = finished(kT0 + kSecond, i == 0 ? 502 : 200, 400, 0.01);
        monitor.record(record);
        metrics.record(record);
    }
    monitor.evaluate(kT0 + kSecond); // firing and pending
    metrics.setAlertExposition(monitor.renderPrometheus());
    const QByteArray text = metrics.renderPrometheus();
    QVERIFY(text.contains("tollgate_alert_firing{alert=\"HighAIErrorRate\",severity=\"critical\"} "
                          "1\n"));
    QVERIFY(text.contains("tollgate_alert_pending{alert=\"Extra_1\",severity=\"warning\"} 1\n"));
    checkWithPromtool(text);
}

void TestAlertMonitor::newPolicyKeepsStatesAndWindowData()
{
    AlertMonitor monitor;
    monitor.setPolicy(policy(R"({"HighAIErrorRate": {"window_seconds": 60, "for_seconds": 120},
        "HighAILatency": {"enabled": false}, "AIBudgetExceeded": {"enabled": false}})"));
    monitor.record(finished(kT0, 500));
    QCOMPARE(monitor.evaluate(kT0).size(), 1); // pending

    // A longer window still sees the request recorded under the shorter one, and the pending
    // rule keeps counting its `for` from when it became pending.
    monitor.setPolicy(policy(R"({"HighAIErrorRate": {"window_seconds": 600, "for_seconds": 100},
        "HighAILatency": {"enabled": false}, "AIBudgetExceeded": {"enabled": false}})"));
    QCOMPARE(monitor.states().constFirst().status, AlertStatus::Pending);
    QCOMPARE(monitor.states().constFirst().rule.windowSeconds, 600);
    QVERIFY(monitor.evaluate(kT0 + 59 * kSecond).isEmpty());
    const QList<AlertTransition> t = monitor.evaluate(kT0 + 100 * kSecond);
    QCOMPARE(t.size(), 1);
    QCOMPARE(t[0].to, AlertStatus::Firing);
    QCOMPARE(t[0].value, 1.0);
}

void TestAlertMonitor::recordingFromManyThreads()
{
    AlertMonitor monitor;
    monitor.setPolicy(policy(R"({"HighAIErrorRate": {"window_seconds": 60, "for_seconds": 0}})"));
    constexpr int kThreads = 4;
    constexpr int kPerThread = 5000;
    std::vector<std::unique_ptr<QThread>> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back(QThread::create([&monitor] {
            for (int i = 0; i < kPerThread; ++i)
                monitor.record(finished(kT0 + (i % 30) * kSecond, i % 10 == 0 ? 500 : 200));
        }));
        threads.back()->start();
    }
    for (int i = 0; i < 20; ++i)
        monitor.evaluate(kT0 + 30 * kSecond); // evaluating while workers record
    for (auto &thread : threads)
        QVERIFY(thread->wait(30000));
    monitor.evaluate(kT0 + 30 * kSecond);
    QCOMPARE(stateOf(monitor.states(), QStringLiteral("HighAIErrorRate"))->value, 0.1);
    QCOMPARE(stateOf(monitor.states(), QStringLiteral("HighAIErrorRate"))->status,
             AlertStatus::Firing);
}

QTEST_GUILESS_MAIN(TestAlertMonitor)
#include "tst_alertmonitor.moc"
