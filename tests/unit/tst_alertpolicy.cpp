#include "alerts/alertpolicy.h"
#include "gateway/policydocument.h"

#include <QJsonDocument>
#include <QTest>

using tollgate::Error;
using tollgate::alerts::AlertKind;
using tollgate::alerts::AlertPolicy;
using tollgate::alerts::AlertRule;
using tollgate::alerts::AlertSeverity;

namespace {

QJsonObject parse(const QByteArray &json)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(json, &error);
    if (error.error != QJsonParseError::NoError)
        qFatal("bad test JSON: %s", qPrintable(error.errorString()));
    return document.object();
}

QStringList describe(const QList<Error> &problems)
{
    QStringList lines;
    for (const Error &problem : problems)
        lines.append(problem.toString());
    return lines;
}

AlertPolicy load(const QByteArray &json)
{
    auto policy = AlertPolicy::fromJson(parse(json));
    if (!policy)
        qFatal("unexpected problem: %s", qPrintable(policy.error().toString()));
    return *policy;
}

/// document.alerts.rules[name]
QJsonObject ruleJson(const QJsonObject &document, const QString &name)
{
    return document.value(u"alerts").toObject().value(u"rules").toObject().value(name).toObject();
}

QStringList names(const AlertPolicy &policy)
{
    QStringList list;
    for (const AlertRule &rule : policy.rules())
        list.append(rule.name);
    return list;
}

} // namespace

class TestAlertPolicy : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void referenceMatchesDesign();
    void absentOrEmptySectionIsReference();
    void otherSectionsIgnored();
    void fieldsOverrideTheReferenceRule();
    void ruleCanBeTurnedOff();
    void extraRulesStartFromTheReferenceOfTheirKind();
    void toJsonWritesEveryFieldAndReadsBack();
    void problemsCarryTheirPaths_data();
    void problemsCarryTheirPaths();
    void everyProblemIsReportedAtOnce();
    void fromJsonFailsWithTheFirstProblem();
    void tooManyRules();
    void prometheusDurations_data();
    void prometheusDurations();
    void policyDocumentReadsAndPrintsTheSection();
};

void TestAlertPolicy::referenceMatchesDesign()
{
    const AlertPolicy policy = AlertPolicy::reference();
    QCOMPARE(names(policy),
             (QStringList{QStringLiteral("HighAIErrorRate"), QStringLiteral("HighAILatency"),
                          QStringLiteral("AIBudgetExceeded")}));

    // rate(ai_errors_total[5m]) / rate(ai_requests_total[5m]) > 0.05 for 5m, critical
    const AlertRule *errors = policy.rule(QStringLiteral("HighAIErrorRate"));
    QVERIFY(errors);
    QCOMPARE(errors->kind, AlertKind::ErrorRate);
    QCOMPARE(errors->threshold, 0.05);
    QCOMPARE(errors->windowSeconds, 300);
    QCOMPARE(errors->forSeconds, 300);
    QCOMPARE(errors->severity, AlertSeverity::Critical);
    QVERIFY(errors->enabled);

    // p95 of ai_request_duration_seconds > 2 s for 5m, warning
    const AlertRule *latency = policy.rule(QStringLiteral("HighAILatency"));
    QVERIFY(latency);
    QCOMPARE(latency->kind, AlertKind::Latency);
    QCOMPARE(latency->quantile, 0.95);
    QCOMPARE(latency->threshold, 2.0);
    QCOMPARE(latency->windowSeconds, 300);
    QCOMPARE(latency->forSeconds, 300);
    QCOMPARE(latency->severity, AlertSeverity::Warning);
    QVERIFY(latency->enabled);

    // increase(ai_cost_total_usd[1h]) > 50, critical, no `for`
    const AlertRule *cost = policy.rule(QStringLiteral("AIBudgetExceeded"));
    QVERIFY(cost);
    QCOMPARE(cost->kind, AlertKind::Cost);
    QCOMPARE(cost->threshold, 50.0);
    QCOMPARE(cost->windowSeconds, 3600);
    QCOMPARE(cost->forSeconds, 0);
    QCOMPARE(cost->severity, AlertSeverity::Critical);
    QVERIFY(cost->enabled);

    QCOMPARE(policy.longestWindowSeconds(), 3600);
    QVERIFY(AlertPolicy().rules() == policy.rules());
}

void TestAlertPolicy::absentOrEmptySectionIsReference()
{
    const QList<AlertRule> reference = AlertPolicy::reference().rules();
    for (const QByteArray &json : {QByteArray("{}"), QByteArray(R"({"alerts":{}})"),
                                   QByteArray(R"({"alerts":{"rules":{}}})")}) {
        QVERIFY2(AlertPolicy::validate(parse(json)).isEmpty(), json.constData());
        QVERIFY2(load(json).rules() == reference, json.constData());
    }
}

void TestAlertPolicy::otherSectionsIgnored()
{
    const QByteArray json = R"({"plans":{"free":"nonsense"},"budgets":7,"routes":"x"})";
    QVERIFY(AlertPolicy::validate(parse(json)).isEmpty());
    QVERIFY(load(json).rules() == AlertPolicy::reference().rules());
}

void TestAlertPolicy::fieldsOverrideTheReferenceRule()
{
    const AlertPolicy policy = load(R"({"alerts":{"rules":{
        "HighAIErrorRate": {"threshold": 0.1, "for_seconds": 60},
        "HighAILatency": {"kind": "latency", "quantile": 0.99, "threshold": 4.5,
                          "window_seconds": 600, "severity": "critical"}}}})");
    QCOMPARE(names(policy), names(AlertPolicy::reference()));

    AlertRule errors = *AlertPolicy::referenceRule(QStringLiteral("HighAIErrorRate"));
    errors.threshold = 0.1;
    errors.forSeconds = 60;
    QVERIFY(*policy.rule(QStringLiteral("HighAIErrorRate")) == errors);

    AlertRule latency = *AlertPolicy::referenceRule(QStringLiteral("HighAILatency"));
    latency.quantile = 0.99;
    latency.threshold = 4.5;
    latency.windowSeconds = 600;
    latency.severity = AlertSeverity::Critical;
    QVERIFY(*policy.rule(QStringLiteral("HighAILatency")) == latency);

    QVERIFY(*policy.rule(QStringLiteral("AIBudgetExceeded")) ==
            *AlertPolicy::referenceRule(QStringLiteral("AIBudgetExceeded")));
}

void TestAlertPolicy::ruleCanBeTurnedOff()
{
    const AlertPolicy policy =
        load(R"({"alerts":{"rules":{"AIBudgetExceeded":{"enabled":false}}}})");
    const AlertRule *cost = policy.rule(QStringLiteral("AIBudgetExceeded"));
    QVERIFY(cost);
    QVERIFY(!cost->enabled);
    QCOMPARE(cost->threshold, 50.0); // kept, so turning it back on restores the same rule
    // The window no longer has to keep the hour only the disabled rule needed.
    QCOMPARE(policy.longestWindowSeconds(), 300);

    const AlertPolicy none = load(R"({"alerts":{"rules":{"AIBudgetExceeded":{"enabled":false},
        "HighAIErrorRate":{"enabled":false},"HighAILatency":{"enabled":false}}}})");
    QCOMPARE(none.longestWindowSeconds(), 0);
}

void TestAlertPolicy::extraRulesStartFromTheReferenceOfTheirKind()
{
    const AlertPolicy policy = load(R"({"alerts":{"rules":{
        "ZetaSpend": {"kind": "cost", "threshold": 5, "window_seconds": 600},
        "AnyErrors": {"kind": "error_rate", "threshold": 0, "severity": "info"},
        "SlowP99": {"kind": "latency", "quantile": 0.99, "threshold": 8}}}})");
    // Reference rules first, in reference order; then the others by name.
    QCOMPARE(names(policy),
             (QStringList{QStringLiteral("HighAIErrorRate"), QStringLiteral("HighAILatency"),
                          QStringLiteral("AIBudgetExceeded"), QStringLiteral("AnyErrors"),
                          QStringLiteral("SlowP99"), QStringLiteral("ZetaSpend")}));

    const AlertRule *spend = policy.rule(QStringLiteral("ZetaSpend"));
    QCOMPARE(spend->kind, AlertKind::Cost);
    QCOMPARE(spend->threshold, 5.0);
    QCOMPARE(spend->windowSeconds, 600);
    QCOMPARE(spend->forSeconds, 0);                     // AIBudgetExceeded's
    QCOMPARE(spend->severity, AlertSeverity::Critical); // AIBudgetExceeded's

    const AlertRule *errors = policy.rule(QStringLiteral("AnyErrors"));
    QCOMPARE(errors->kind, AlertKind::ErrorRate);
    QCOMPARE(errors->threshold, 0.0);
    QCOMPARE(errors->windowSeconds, 300); // HighAIErrorRate's
    QCOMPARE(errors->forSeconds, 300);
    QCOMPARE(errors->severity, AlertSeverity::Info);

    const AlertRule *slow = policy.rule(QStringLiteral("SlowP99"));
    QCOMPARE(slow->kind, AlertKind::Latency);
    QCOMPARE(slow->quantile, 0.99);
    QCOMPARE(slow->threshold, 8.0);
    QCOMPARE(slow->severity, AlertSeverity::Warning); // HighAILatency's
}

void TestAlertPolicy::toJsonWritesEveryFieldAndReadsBack()
{
    const QJsonObject expected = parse(R"({"alerts":{"rules":{
        "HighAIErrorRate": {"kind":"error_rate","threshold":0.05,"window_seconds":300,
                            "for_seconds":300,"severity":"critical","enabled":true},
        "HighAILatency": {"kind":"latency","quantile":0.95,"threshold":2,"window_seconds":300,
                          "for_seconds":300,"severity":"warning","enabled":true},
        "AIBudgetExceeded": {"kind":"cost","threshold":50,"window_seconds":3600,
                             "for_seconds":0,"severity":"critical","enabled":true}}}})");
    QCOMPARE(AlertPolicy::reference().toJson(), expected);
    // The reference written out in full is the reference.
    QVERIFY(load(QJsonDocument(expected).toJson()).rules() == AlertPolicy::reference().rules());

    const AlertPolicy custom = load(R"({"alerts":{"rules":{
        "HighAILatency": {"enabled": false},
        "Spend": {"kind": "cost", "threshold": 12.5, "window_seconds": 60, "for_seconds": 30}}}})");
    const AlertPolicy again = load(QJsonDocument(custom.toJson()).toJson());
    QVERIFY(again.rules() == custom.rules());
    // A cost rule has no quantile.
    QCOMPARE(ruleJson(custom.toJson(), QStringLiteral("Spend")),
             parse(R"({"kind":"cost","threshold":12.5,"window_seconds":60,
                              "for_seconds":30,"severity":"critical","enabled":true})"));
}

void TestAlertPolicy::problemsCarryTheirPaths_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("problem");

    const QString rules = QStringLiteral("alerts.rules.");
    QTest::newRow("section not an object")
        << QByteArray(R"({"alerts": []})") << QStringLiteral("alerts: expected an object");
    QTest::newRow("unknown section key") << QByteArray(R"({"alerts": {"rule": {}}})")
                                         << QStringLiteral("alerts.rule: unknown setting");
    QTest::newRow("rules not an object")
        << QByteArray(R"({"alerts": {"rules": []}})")
        << QStringLiteral("alerts.rules: expected an object of rules by name");
    QTest::newRow("rule not an object")
        << QByteArray(R"({"alerts": {"rules": {"HighAIErrorRate": false}}})")
        << rules + QStringLiteral("HighAIErrorRate: expected an object");
    QTest::newRow("misspelt field")
        << QByteArray(R"({"alerts": {"rules": {"HighAIErrorRate": {"treshold": 0.1}}}})")
        << rules + QStringLiteral("HighAIErrorRate.treshold: unknown setting");
    QTest::newRow("error rate of 1")
        << QByteArray(R"({"alerts": {"rules": {"HighAIErrorRate": {"threshold": 1}}}})")
        << rules + QStringLiteral("HighAIErrorRate.threshold: expected a ratio of errors to "
                                  "requests, >= 0 and < 1 (0.05 is 5 %)");
    QTest::newRow("error rate as percent")
        << QByteArray(R"({"alerts": {"rules": {"HighAIErrorRate": {"threshold": 5}}}})")
        << rules + QStringLiteral("HighAIErrorRate.threshold: expected a ratio of errors to "
                                  "requests, >= 0 and < 1 (0.05 is 5 %)");
    QTest::newRow("latency in milliseconds")
        << QByteArray(R"({"alerts": {"rules": {"HighAILatency": {"threshold": 2000}}}})")
        << rules + QStringLiteral("HighAILatency.threshold: expected a number of seconds >= 0 and "
                                  "< 10 (the largest bucket of ai_request_duration_seconds: a "
                                  "quantile above it cannot be measured)");
    QTest::newRow("latency at the largest bucket")
        << QByteArray(R"({"alerts": {"rules": {"HighAILatency": {"threshold": 10}}}})")
        << rules + QStringLiteral("HighAILatency.threshold: expected a number of seconds >= 0 and "
                                  "< 10 (the largest bucket of ai_request_duration_seconds: a "
                                  "quantile above it cannot be measured)");
    QTest::newRow("negative cost")
        << QByteArray(R"({"alerts": {"rules": {"AIBudgetExceeded": {"threshold": -1}}}})")
        << rules + QStringLiteral("AIBudgetExceeded.threshold: expected an amount in USD >= 0 and "
                                  "at most 1e12");
    QTest::newRow("threshold as a string")
        << QByteArray(R"({"alerts": {"rules": {"AIBudgetExceeded": {"threshold": "50"}}}})")
        << rules + QStringLiteral("AIBudgetExceeded.threshold: expected an amount in USD >= 0 and "
                                  "at most 1e12");
    QTest::newRow("window of zero")
        << QByteArray(R"({"alerts": {"rules": {"HighAIErrorRate": {"window_seconds": 0}}}})")
        << rules + QStringLiteral("HighAIErrorRate.window_seconds: expected a whole number of "
                                  "seconds from 1 to 86400 (one day)");
    QTest::newRow("window as a duration string")
        << QByteArray(R"({"alerts": {"rules": {"HighAIErrorRate": {"window_seconds": "5m"}}}})")
        << rules + QStringLiteral("HighAIErrorRate.window_seconds: expected a whole number of "
                                  "seconds from 1 to 86400 (one day)");
    QTest::newRow("window longer than a day")
        << QByteArray(R"({"alerts": {"rules": {"AIBudgetExceeded": {"window_seconds": 86401}}}})")
        << rules + QStringLiteral("AIBudgetExceeded.window_seconds: expected a whole number of "
                                  "seconds from 1 to 86400 (one day)");
    QTest::newRow("fractional for")
        << QByteArray(R"({"alerts": {"rules": {"HighAILatency": {"for_seconds": 1.5}}}})")
        << rules + QStringLiteral("HighAILatency.for_seconds: expected a whole number of seconds "
                                  "from 0 to 86400 (one day)");
    QTest::newRow("negative for")
        << QByteArray(R"({"alerts": {"rules": {"HighAILatency": {"for_seconds": -1}}}})")
        << rules + QStringLiteral("HighAILatency.for_seconds: expected a whole number of seconds "
                                  "from 0 to 86400 (one day)");
    QTest::newRow("unknown severity")
        << QByteArray(R"({"alerts": {"rules": {"HighAILatency": {"severity": "page"}}}})")
        << rules + QStringLiteral("HighAILatency.severity: expected one of critical, warning, "
                                  "info");
    QTest::newRow("enabled as a string")
        << QByteArray(R"({"alerts": {"rules": {"HighAILatency": {"enabled": "no"}}}})")
        << rules + QStringLiteral("HighAILatency.enabled: expected true or false");
    QTest::newRow("unknown kind")
        << QByteArray(R"({"alerts": {"rules": {"Saturation": {"kind": "cpu"}}}})")
        << rules + QStringLiteral("Saturation.kind: expected one of error_rate, latency, cost");
    QTest::newRow("new rule without kind")
        << QByteArray(R"({"alerts": {"rules": {"Spend": {"threshold": 5}}}})")
        << rules + QStringLiteral("Spend.kind: required for a rule that is not one of the "
                                  "reference rules (HighAIErrorRate, HighAILatency, "
                                  "AIBudgetExceeded)");
    QTest::newRow("reference rule of another kind")
        << QByteArray(R"({"alerts": {"rules": {"HighAILatency": {"kind": "cost"}}}})")
        << rules + QStringLiteral("HighAILatency.kind: HighAILatency is a reference rule of kind "
                                  "latency; give a rule of another kind a name of its own");
    QTest::newRow("quantile on an error-rate rule")
        << QByteArray(R"({"alerts": {"rules": {"HighAIErrorRate": {"quantile": 0.9}}}})")
        << rules + QStringLiteral("HighAIErrorRate.quantile: only latency rules take a quantile");
    QTest::newRow("quantile of 1")
        << QByteArray(R"({"alerts": {"rules": {"HighAILatency": {"quantile": 1}}}})")
        << rules + QStringLiteral("HighAILatency.quantile: expected a number > 0 and < 1 (0.95 "
                                  "for the p95)");
    QTest::newRow("name with a dash")
        << QByteArray(R"({"alerts": {"rules": {"high-cost": {"kind": "cost"}}}})")
        << rules + QStringLiteral("high-cost: expected a rule name of up to 64 letters, digits or "
                                  "'_', starting with a letter");
    QTest::newRow("name starting with a digit")
        << QByteArray(R"({"alerts": {"rules": {"5xx": {"kind": "error_rate"}}}})")
        << rules + QStringLiteral("5xx: expected a rule name of up to 64 letters, digits or '_', "
                                  "starting with a letter");
}

void TestAlertPolicy::problemsCarryTheirPaths()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, problem);
    QCOMPARE(describe(AlertPolicy::validate(parse(json))), QStringList{problem});
}

void TestAlertPolicy::everyProblemIsReportedAtOnce()
{
    const QJsonObject document = parse(R"({"alerts":{"rules":{
        "HighAIErrorRate": {"threshold": 2, "severity": "loud"},
        "HighAILatency": {"window_seconds": 0, "enabled": 1},
        "Extra": {"kind": "cost", "threshold": -5, "colour": "red"}}}})");
    QCOMPARE(describe(AlertPolicy::validate(document)),
             (QStringList{
                 QStringLiteral("alerts.rules.Extra.colour: unknown setting"),
                 QStringLiteral("alerts.rules.Extra.threshold: expected an amount in USD >= 0 and "
                                "at most 1e12"),
                 QStringLiteral("alerts.rules.HighAIErrorRate.threshold: expected a ratio of "
                                "errors to requests, >= 0 and < 1 (0.05 is 5 %)"),
                 QStringLiteral("alerts.rules.HighAIErrorRate.severity: expected one of critical, "
                                "warning, info"),
                 QStringLiteral("alerts.rules.HighAILatency.window_seconds: expected a whole "
                                "number of seconds from 1 to 86400 (one day)"),
                 QStringLiteral("alerts.rules.HighAILatency.enabled: expected true or false"),
             }));
}

void TestAlertPolicy::fromJsonFailsWithTheFirstProblem()
{
    const auto policy = AlertPolicy::fromJson(parse(
        R"({"alerts":{"rules":{"HighAILatency":{"threshold":-1},"HighAIErrorRate":{"for_seconds":"x"}}}})"));
    QVERIFY(!policy);
    QCOMPARE(policy.error().path, QStringLiteral("alerts.rules.HighAIErrorRate.for_seconds"));
}

void TestAlertPolicy::tooManyRules()
{
    QJsonObject rules;
    for (int i = 0; i < 61; ++i)
        rules.insert(QStringLiteral("Extra%1").arg(i), QJsonObject{{"kind", "cost"}});
    QJsonObject document{{"alerts", QJsonObject{{"rules", rules}}}};
    QVERIFY(AlertPolicy::validate(document).isEmpty()); // 61 + 3 reference rules = 64
    rules.insert(QStringLiteral("OneTooMany"), QJsonObject{{"kind", "cost"}});
    document = QJsonObject{{"alerts", QJsonObject{{"rules", rules}}}};
    QCOMPARE(describe(AlertPolicy::validate(document)),
             QStringList{QStringLiteral(
                 "alerts.rules: expected at most 64 rules, the reference ones included")});
}

void TestAlertPolicy::prometheusDurations_data()
{
    QTest::addColumn<int>("seconds");
    QTest::addColumn<QString>("text");
    QTest::newRow("zero") << 0 << "0s";
    QTest::newRow("seconds") << 45 << "45s";
    QTest::newRow("five minutes") << 300 << "5m";
    QTest::newRow("minutes and seconds") << 90 << "1m30s";
    QTest::newRow("an hour") << 3600 << "1h";
    QTest::newRow("hour and a half") << 5400 << "1h30m";
    QTest::newRow("hour and seconds") << 3605 << "1h5s";
    QTest::newRow("a day") << 86400 << "1d";
    QTest::newRow("a week") << 604800 << "1w";
    QTest::newRow("eight days") << 691200 << "8d";
}

void TestAlertPolicy::prometheusDurations()
{
    QFETCH(int, seconds);
    QFETCH(QString, text);
    QCOMPARE(tollgate::alerts::prometheusDuration(seconds), text);
}

void TestAlertPolicy::policyDocumentReadsAndPrintsTheSection()
{
    namespace gateway = tollgate::gateway;
    const auto prices = tollgate::metering::PriceTable::builtin();
    auto document = gateway::loadPolicy(
        R"({"version":1,"alerts":{"rules":{"HighAIErrorRate":{"threshold":0.2}}}})", prices);
    QVERIFY2(document, qPrintable(document.ok() ? QString() : document.error().toString()));
    QCOMPARE(document->alerts.rule(QStringLiteral("HighAIErrorRate"))->threshold, 0.2);
    const QJsonObject effective = gateway::effectivePolicy(*document);
    QCOMPARE(ruleJson(effective, QStringLiteral("HighAIErrorRate")).value(u"threshold").toDouble(),
             0.2);
    QCOMPARE(ruleJson(effective, QStringLiteral("AIBudgetExceeded")).value(u"threshold").toDouble(),
             50.0);

    // Without the section, the reference.
    auto plain = gateway::loadPolicy(R"({"version":1})", prices);
    QVERIFY(plain);
    QVERIFY(plain->alerts.rules() == AlertPolicy::reference().rules());

    // A problem in the section refuses the document, with its path.
    auto invalid = gateway::loadPolicy(
        R"({"version":1,"alerts":{"rules":{"HighAILatency":{"severity":"page"}}}})", prices);
    QVERIFY(!invalid);
    QCOMPARE(invalid.error().toString(),
             QStringLiteral("alerts.rules.HighAILatency.severity: expected one of critical, "
                            "warning, info"));
}

QTEST_GUILESS_MAIN(TestAlertPolicy)
#include "tst_alertpolicy.moc"
