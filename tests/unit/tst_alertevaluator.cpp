#include "alerts/alertevaluator.h"

#include <QJsonDocument>
#include <QTest>

#include <cmath>

using namespace tollgate::alerts;

namespace {

constexpr qint64 kT0 = 1700000000000; // a whole second, in ms since epoch
constexpr qint64 kSecond = 1000;
constexpr qint64 kMinute = 60 * kSecond;

AlertPolicy policy(const QByteArray &rules)
{
    const QJsonObject document =
        QJsonDocument::fromJson(R"({"alerts":{"rules":)" + rules + "}}").object();
    auto parsed = AlertPolicy::fromJson(document);
    if (!parsed)
        qFatal("bad test policy: %s", qPrintable(parsed.error().toString()));
    return *parsed;
}

/// Only `rule` (and its settings) enabled; the other reference rules off.
AlertPolicy only(const QByteArray &name, const QByteArray &settings = "{}")
{
    QJsonObject rules;
    const AlertPolicy reference = AlertPolicy::reference();
    for (const AlertRule &rule : reference.rules())
        rules.insert(rule.name, QJsonObject{{"enabled", false}});
    rules.insert(QString::fromLatin1(name), QJsonDocument::fromJson(settings).object());
    return policy(QJsonDocument(rules).toJson(QJsonDocument::Compact));
}

RequestSample sample(qint64 atMs, bool error = false, double seconds = 0.2, double cost = 0)
{
    RequestSample s;
    s.atMs = atMs;
    s.error = error;
    s.durationSeconds = seconds;
    s.costUsd = cost;
    return s;
}

void addMany(RequestStatsWindow &window, qint64 atMs, int count, bool error, double seconds = 0.2)
{
    for (int i = 0; i < count; ++i)
        window.add(sample(atMs, error, seconds));
}

/// Evaluates, keeps the states for the next call, returns the transitions.
struct Evaluator {
    AlertPolicy rules;
    QList<AlertState> states;

    QList<AlertTransition> at(const RequestStatsWindow &window, qint64 nowMs)
    {
        AlertEvaluation evaluation = evaluateAlerts(rules, window, states, nowMs);
        states = evaluation.states;
        return evaluation.transitions;
    }
    const AlertState &state(const QString &name) const
    {
        for (const AlertState &s : states) {
            if (s.rule.name == name)
                return s;
        }
        qFatal("no state for %s", qPrintable(name));
    }
};

QStringList lines(const QList<AlertTransition> &transitions)
{
    QStringList out;
    for (const AlertTransition &t : transitions)
        out.append(describeTransition(t));
    return out;
}

} // namespace

class TestAlertEvaluator : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void errorRateFiresAboveItsThresholdOnly();
    void pendingForTheForDurationThenFiring();
    void pendingClearsWhenTheConditionStops();
    void firingResolvesWhenTheErrorsLeaveTheWindow();
    void windowEdgesDecideWhatCounts();
    void latencyRuleComparesTheQuantile();
    void costRuleAddsUpTheWindow();
    void disabledRuleIsNeverEvaluated();
    void ruleTurnedOffWhileFiringResolves();
    void stateSurvivesAPolicyChangeByName();
    void transitionsAreReportedOnce();
    void advanceIsPure();
    void descriptions();
    void changesBetweenReadings();
    void stateDescriptions();
};

void TestAlertEvaluator::errorRateFiresAboveItsThresholdOnly()
{
    Evaluator e{only("HighAIErrorRate", R"({"for_seconds": 0, "window_seconds": 60})"), {}};
    RequestStatsWindow window(60);
    addMany(window, kT0, 19, false);
    addMany(window, kT0, 1, true);
    // 1 / 20 = 0.05 is not above 0.05.
    QVERIFY(e.at(window, kT0).isEmpty());
    QCOMPARE(e.state("HighAIErrorRate").status, AlertStatus::Inactive);
    QCOMPARE(e.state("HighAIErrorRate").value, 0.05);

    // 2 / 21 is: with `for` 0 it fires at once, in a single transition.
    window.add(sample(kT0 + 500, true));
    const QList<AlertTransition> transitions = e.at(window, kT0 + kSecond);
    QCOMPARE(transitions.size(), 1);
    QCOMPARE(transitions[0].rule.name, QStringLiteral("HighAIErrorRate"));
    QCOMPARE(transitions[0].from, AlertStatus::Inactive);
    QCOMPARE(transitions[0].to, AlertStatus::Firing);
    QCOMPARE(transitions[0].value, 2.0 / 21.0);
    QCOMPARE(transitions[0].atMs, kT0 + kSecond);
    const AlertState &state = e.state("HighAIErrorRate");
    QCOMPARE(state.status, AlertStatus::Firing);
    QCOMPARE(state.activeSinceMs, kT0 + kSecond);
    QCOMPARE(state.firingSinceMs, kT0 + kSecond);
}

void TestAlertEvaluator::pendingForTheForDurationThenFiring()
{
    // The reference rule: over 5m, for 5m. Errors keep coming, one request in four failing.
    Evaluator e{only("HighAIErrorRate"), {}};
    RequestStatsWindow window(300);
    const auto traffic = [&](qint64 at) {
        addMany(window, at, 3, false);
        addMany(window, at, 1, true);
    };
    traffic(kT0);
    QList<AlertTransition> t = e.at(window, kT0);
    QCOMPARE(t.size(), 1);
    QCOMPARE(t[0].from, AlertStatus::Inactive);
    QCOMPARE(t[0].to, AlertStatus::Pending);
    QCOMPARE(e.state("HighAIErrorRate").activeSinceMs, kT0);
    QCOMPARE(e.state("HighAIErrorRate").firingSinceMs, qint64(0));

    // Still pending a moment before the 5 minutes are up, with nothing new to report.
    for (qint64 at = kT0 + kMinute; at < kT0 + 5 * kMinute; at += kMinute) {
        traffic(at);
        QVERIFY(e.at(window, at).isEmpty());
        QVERIFY(e.at(window, at + kMinute - 1).isEmpty());
        QCOMPARE(e.state("HighAIErrorRate").status, AlertStatus::Pending);
    }
    // Held for exactly 5 minutes: firing (Prometheus fires once held >= `for`).
    t = e.at(window, kT0 + 5 * kMinute);
    QCOMPARE(t.size(), 1);
    QCOMPARE(t[0].from, AlertStatus::Pending);
    QCOMPARE(t[0].to, AlertStatus::Firing);
    QCOMPARE(e.state("HighAIErrorRate").activeSinceMs, kT0);
    QCOMPARE(e.state("HighAIErrorRate").firingSinceMs, kT0 + 5 * kMinute);
    QCOMPARE(e.state("HighAIErrorRate").value, 0.25);
}

void TestAlertEvaluator::pendingClearsWhenTheConditionStops()
{
    Evaluator e{only("HighAIErrorRate", R"({"window_seconds": 600, "for_seconds": 120})"), {}};
    RequestStatsWindow window(600);
    addMany(window, kT0, 1, true);
    QCOMPARE(e.at(window, kT0).size(), 1);
    QCOMPARE(e.state("HighAIErrorRate").status, AlertStatus::Pending);

    // Plenty of successes bring the ratio down before the two minutes are up: never fires.
    addMany(window, kT0 + 30 * kSecond, 99, false);
    const QList<AlertTransition> t = e.at(window, kT0 + 30 * kSecond);
    QCOMPARE(t.size(), 1);
    QCOMPARE(t[0].from, AlertStatus::Pending);
    QCOMPARE(t[0].to, AlertStatus::Inactive);
    QCOMPARE(t[0].value, 0.01);
    QCOMPARE(e.state("HighAIErrorRate").activeSinceMs, qint64(0));

    // A new run of errors (11 of 110) starts the `for` again from its own beginning.
    addMany(window, kT0 + 200 * kSecond, 10, true);
    QCOMPARE(e.at(window, kT0 + 200 * kSecond).size(), 1);
    QVERIFY(e.at(window, kT0 + 200 * kSecond + 119 * kSecond).isEmpty());
    QCOMPARE(e.state("HighAIErrorRate").status, AlertStatus::Pending);
}

void TestAlertEvaluator::firingResolvesWhenTheErrorsLeaveTheWindow()
{
    Evaluator e{only("HighAIErrorRate", R"({"window_seconds": 60, "for_seconds": 0})"), {}};
    RequestStatsWindow window(60);
    addMany(window, kT0, 2, true);
    QCOMPARE(e.at(window, kT0).size(), 1);
    QCOMPARE(e.state("HighAIErrorRate").status, AlertStatus::Firing);

    // Successes only, later: the ratio falls to 0 while the errors are still in the window...
    addMany(window, kT0 + 30 * kSecond, 18, false);
    QVERIFY(e.at(window, kT0 + 30 * kSecond).isEmpty()); // 2/20 = 0.1, still firing
    // ...and once they have left it, the rule resolves with what it measured.
    QList<AlertTransition> t = e.at(window, kT0 + 60 * kSecond);
    QCOMPARE(t.size(), 1);
    QCOMPARE(t[0].from, AlertStatus::Firing);
    QCOMPARE(t[0].to, AlertStatus::Inactive);
    QCOMPARE(t[0].value, 0.0);
    QCOMPARE(e.state("HighAIErrorRate").firingSinceMs, qint64(0));
}

void TestAlertEvaluator::windowEdgesDecideWhatCounts()
{
    // A 60 s window at any moment of second S holds seconds S-59 .. S.
    Evaluator e{only("HighAIErrorRate", R"({"window_seconds": 60, "for_seconds": 0})"), {}};
    RequestStatsWindow window(60);
    window.add(sample(kT0 + 999, true));       // second 0
    QCOMPARE(e.at(window, kT0 - 1).size(), 0); // before it: nothing measured
    QVERIFY(std::isnan(e.state("HighAIErrorRate").value));
    QCOMPARE(e.at(window, kT0).size(), 1);                     // its own second
    QVERIFY(e.at(window, kT0 + 59 * kSecond + 999).isEmpty()); // second 59: still inside
    QCOMPARE(e.state("HighAIErrorRate").status, AlertStatus::Firing);
    const QList<AlertTransition> t = e.at(window, kT0 + 60 * kSecond); // second 60: gone
    QCOMPARE(t.size(), 1);
    QCOMPARE(t[0].to, AlertStatus::Inactive);
    QVERIFY(std::isnan(t[0].value)); // no requests: nothing to measure, like 0/0 in PromQL
}

void TestAlertEvaluator::latencyRuleComparesTheQuantile()
{
    Evaluator e{only("HighAILatency", R"({"for_seconds": 0})"), {}};
    RequestStatsWindow window(300);
    // Exactly 95 % at or under 2 s: the p95 is 2 s, not above the threshold.
    addMany(window, kT0, 95, false, 1.5);
    addMany(window, kT0, 5, false, 3.0);
    QVERIFY(e.at(window, kT0).isEmpty());
    QCOMPARE(e.state("HighAILatency").value, 2.0);
    // One more slow request: 94.06 % under 2 s, p95 in (2, 5].
    window.add(sample(kT0 + 10 * kSecond, false, 4.0));
    const QList<AlertTransition> t = e.at(window, kT0 + 10 * kSecond);
    QCOMPARE(t.size(), 1);
    QCOMPARE(t[0].to, AlertStatus::Firing);
    QVERIFY(t[0].value > 2.0 && t[0].value < 5.0);
    QCOMPARE(t[0].value, 2.0 + 3.0 * ((0.95 * 101 - 95) / 6));

    // A p50 rule of its own over the same requests stays quiet.
    Evaluator median{policy(R"({"HighAILatency":{"enabled":false},"HighAIErrorRate":
        {"enabled":false},"AIBudgetExceeded":{"enabled":false},
        "MedianSlow":{"kind":"latency","quantile":0.5,"threshold":2,"for_seconds":0}})"),
                     {}};
    QVERIFY(median.at(window, kT0 + 10 * kSecond).isEmpty());
    QCOMPARE(median.state("MedianSlow").value, 1.0 + 1.0 * (50.5 / 95));
}

void TestAlertEvaluator::costRuleAddsUpTheWindow()
{
    // increase(ai_cost_total_usd[1h]) > 50, no `for`.
    Evaluator e{only("AIBudgetExceeded"), {}};
    RequestStatsWindow window(3600);
    window.add(sample(kT0, false, 0.2, 30.0));
    QVERIFY(e.at(window, kT0).isEmpty());
    QCOMPARE(e.state("AIBudgetExceeded").value, 30.0);
    window.add(sample(kT0 + 30 * kMinute, false, 0.2, 20.0));
    QVERIFY(e.at(window, kT0 + 30 * kMinute).isEmpty()); // 50 is not above 50
    window.add(sample(kT0 + 40 * kMinute, false, 0.2, 0.01));
    QList<AlertTransition> t = e.at(window, kT0 + 40 * kMinute);
    QCOMPARE(t.size(), 1);
    QCOMPARE(t[0].to, AlertStatus::Firing);
    QCOMPARE(t[0].value, 50.01);
    // An hour after the first charge it has left the window: 20.01 USD, resolved.
    t = e.at(window, kT0 + 60 * kMinute);
    QCOMPARE(t.size(), 1);
    QCOMPARE(t[0].to, AlertStatus::Inactive);
    QCOMPARE(t[0].value, 20.01);
    // An idle hour costs 0, a measurement (not "nothing to measure").
    e.at(window, kT0 + 200 * kMinute);
    QCOMPARE(e.state("AIBudgetExceeded").value, 0.0);
}

void TestAlertEvaluator::disabledRuleIsNeverEvaluated()
{
    Evaluator e{policy(R"({"HighAIErrorRate":{"enabled":false,"for_seconds":0}})"), {}};
    RequestStatsWindow window(3600);
    addMany(window, kT0, 10, true);
    QVERIFY(e.at(window, kT0).isEmpty());
    QCOMPARE(e.states.size(), 2);
    for (const AlertState &state : e.states)
        QVERIFY(state.rule.name != QLatin1String("HighAIErrorRate"));
}

void TestAlertEvaluator::ruleTurnedOffWhileFiringResolves()
{
    Evaluator e{only("HighAIErrorRate", R"({"for_seconds": 0})"), {}};
    RequestStatsWindow window(300);
    addMany(window, kT0, 3, true);
    QCOMPARE(e.at(window, kT0).size(), 1);

    e.rules = only("HighAILatency");
    const QList<AlertTransition> t = e.at(window, kT0 + kSecond);
    QCOMPARE(t.size(), 1);
    QCOMPARE(t[0].rule.name, QStringLiteral("HighAIErrorRate"));
    QCOMPARE(t[0].from, AlertStatus::Firing);
    QCOMPARE(t[0].to, AlertStatus::Inactive);
    QVERIFY(t[0].ruleRemoved);
    QCOMPARE(describeTransition(t[0]),
             QStringLiteral("alert HighAIErrorRate resolved: the rule was turned off"));
    QCOMPARE(e.states.size(), 1);
    QVERIFY(e.at(window, kT0 + 2 * kSecond).isEmpty()); // reported once
}

void TestAlertEvaluator::stateSurvivesAPolicyChangeByName()
{
    // A pending rule whose `for` gets shorter keeps counting from when it became pending.
    Evaluator e{only("HighAIErrorRate", R"({"for_seconds": 300})"), {}};
    RequestStatsWindow window(300);
    addMany(window, kT0, 1, true);
    QCOMPARE(e.at(window, kT0).size(), 1);
    e.rules = only("HighAIErrorRate", R"({"for_seconds": 60, "threshold": 0.5})");
    QVERIFY(e.at(window, kT0 + 59 * kSecond).isEmpty());
    const QList<AlertTransition> t = e.at(window, kT0 + 60 * kSecond);
    QCOMPARE(t.size(), 1);
    QCOMPARE(t[0].to, AlertStatus::Firing);
    QCOMPARE(t[0].rule.threshold, 0.5); // the rule as it is now
    QCOMPARE(e.state("HighAIErrorRate").activeSinceMs, kT0);
}

void TestAlertEvaluator::transitionsAreReportedOnce()
{
    Evaluator e{only("HighAIErrorRate", R"({"for_seconds": 2, "window_seconds": 10})"), {}};
    RequestStatsWindow window(10);
    addMany(window, kT0, 5, true);
    QStringList seen;
    for (qint64 at = kT0; at <= kT0 + 20 * kSecond; at += kSecond)
        for (const AlertTransition &t : e.at(window, at))
            seen.append(alertStatusName(t.from) + QStringLiteral("->") + alertStatusName(t.to));
    QCOMPARE(seen,
             (QStringList{QStringLiteral("inactive->pending"), QStringLiteral("pending->firing"),
                          QStringLiteral("firing->inactive")}));
}

void TestAlertEvaluator::advanceIsPure()
{
    AlertRule rule = *AlertPolicy::referenceRule(QStringLiteral("HighAIErrorRate"));
    const AlertState start;
    const AlertState a = advanceAlert(rule, start, 0.5, kT0);
    const AlertState b = advanceAlert(rule, start, 0.5, kT0);
    QCOMPARE(a.status, AlertStatus::Pending);
    QCOMPARE(b.status, a.status);
    QCOMPARE(b.activeSinceMs, a.activeSinceMs);
    QCOMPARE(start.status, AlertStatus::Inactive);
    // NaN never holds, even against a threshold of 0.
    rule.threshold = 0;
    QCOMPARE(advanceAlert(rule, a, std::nan(""), kT0).status, AlertStatus::Inactive);
    QVERIFY(std::isnan(measureAlert(rule, RequestStats())));
}

void TestAlertEvaluator::descriptions()
{
    const auto transition = [](const QString &name, AlertStatus from, AlertStatus to,
                               double value) {
        AlertTransition t;
        t.rule = *AlertPolicy::referenceRule(name);
        t.from = from;
        t.to = to;
        t.value = value;
        return t;
    };
    const QString errors = QStringLiteral("HighAIErrorRate");
    const QString latency = QStringLiteral("HighAILatency");
    const QString cost = QStringLiteral("AIBudgetExceeded");
    QCOMPARE(lines({transition(errors, AlertStatus::Pending, AlertStatus::Firing, 0.31),
                    transition(errors, AlertStatus::Inactive, AlertStatus::Pending, 0.3125),
                    transition(errors, AlertStatus::Firing, AlertStatus::Inactive, 0.01),
                    transition(errors, AlertStatus::Pending, AlertStatus::Inactive, std::nan("")),
                    transition(latency, AlertStatus::Pending, AlertStatus::Firing, 2.4),
                    transition(cost, AlertStatus::Inactive, AlertStatus::Firing, 63.2),
                    transition(cost, AlertStatus::Firing, AlertStatus::Inactive, 12)}),
             (QStringList{
                 QStringLiteral("alert HighAIErrorRate firing: error rate 0.31 > 0.05 for 5m "
                                "(critical, over the last 5m)"),
                 QStringLiteral("alert HighAIErrorRate pending: error rate 0.3125 > 0.05 "
                                "(critical, over the last 5m); fires if it holds for 5m"),
                 QStringLiteral("alert HighAIErrorRate resolved: error rate 0.01 <= 0.05 (over "
                                "the last 5m)"),
                 QStringLiteral("alert HighAIErrorRate no longer pending: no requests in the "
                                "last 5m"),
                 QStringLiteral("alert HighAILatency firing: p95 latency 2.4 s > 2 s for 5m "
                                "(warning, over the last 5m)"),
                 QStringLiteral("alert AIBudgetExceeded firing: cost 63.2 USD > 50 USD "
                                "(critical, over the last 1h)"),
                 QStringLiteral("alert AIBudgetExceeded resolved: cost 12 USD <= 50 USD (over "
                                "the last 1h)"),
             }));
}

void TestAlertEvaluator::changesBetweenReadings()
{
    const AlertRule errors = *AlertPolicy::reference().rule(QStringLiteral("HighAIErrorRate"));
    const AlertRule latency = *AlertPolicy::reference().rule(QStringLiteral("HighAILatency"));
    const auto state = [](const AlertRule &rule, AlertStatus status, double value, qint64 atMs) {
        AlertState s;
        s.rule = rule;
        s.status = status;
        s.value = value;
        s.evaluatedAtMs = atMs;
        return s;
    };
    const QList<AlertState> first{state(errors, AlertStatus::Inactive, 0.01, kT0),
                                  state(latency, AlertStatus::Pending, 9, kT0)};
    // The first reading reports what is not inactive, as from an empty past.
    QList<AlertTransition> changes = changesBetween({}, first);
    QCOMPARE(changes.size(), 1);
    QCOMPARE(changes[0].rule.name, latency.name);
    QCOMPARE(changes[0].to, AlertStatus::Pending);

    const QList<AlertState> second{state(errors, AlertStatus::Firing, 0.5, kT0 + kSecond),
                                   state(latency, AlertStatus::Pending, 9.5, kT0 + kSecond)};
    changes = changesBetween(first, second);
    QCOMPARE(changes.size(), 1);
    QCOMPARE(changes[0].rule.name, errors.name);
    QCOMPARE(changes[0].from, AlertStatus::Inactive);
    QCOMPARE(changes[0].to, AlertStatus::Firing);
    QCOMPARE(changes[0].value, 0.5);
    QCOMPARE(changes[0].atMs, kT0 + kSecond);
    QVERIFY(changesBetween(second, second).isEmpty());

    // A firing rule that disappears (turned off) resolves, marked as removed.
    const QList<AlertState> third{state(latency, AlertStatus::Inactive, 1, kT0 + 2 * kSecond)};
    changes = changesBetween(second, third);
    QCOMPARE(changes.size(), 2);
    QCOMPARE(changes[0].rule.name, latency.name);
    QCOMPARE(changes[0].to, AlertStatus::Inactive);
    QVERIFY(!changes[0].ruleRemoved);
    QCOMPARE(changes[1].rule.name, errors.name);
    QCOMPARE(changes[1].from, AlertStatus::Firing);
    QVERIFY(changes[1].ruleRemoved);
    QCOMPARE(changes[1].atMs, kT0 + 2 * kSecond);
}

void TestAlertEvaluator::stateDescriptions()
{
    AlertState state;
    state.rule = *AlertPolicy::reference().rule(QStringLiteral("HighAIErrorRate"));
    state.status = AlertStatus::Firing;
    state.value = 0.31;
    QCOMPARE(describeState(state), QStringLiteral("error rate 0.31 > 0.05 over the last 5m"));
    state.status = AlertStatus::Inactive;
    state.value = 0.01;
    QCOMPARE(describeState(state), QStringLiteral("error rate 0.01 <= 0.05 over the last 5m"));
    state.value = std::nan("");
    QCOMPARE(describeState(state), QStringLiteral("no requests in the last 5m"));
}

QTEST_GUILESS_MAIN(TestAlertEvaluator)
#include "tst_alertevaluator.moc"
