#include "limits/planpolicy.h"

#include <QJsonDocument>
#include <QTest>

using tollgate::limits::Plan;
using tollgate::limits::PlanPolicy;
using tollgate::policy::Principal;

namespace {

QJsonObject parse(const QByteArray &json)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(json, &error);
    if (error.error != QJsonParseError::NoError)
        qFatal("bad test JSON: %s", qPrintable(error.errorString()));
    return document.object();
}

Principal identified(const QString &user, const QString &plan = {})
{
    Principal principal;
    principal.user = user;
    principal.plan = plan;
    principal.localOwner = false;
    return principal;
}

Principal localOwner(const QString &plan = {})
{
    Principal principal;
    principal.plan = plan;
    principal.localOwner = true;
    return principal;
}

// The document of the brief, which spells out the reference plans.
const QByteArray kReferenceDocument =
    R"({"plans": {"free": {"requests_per_hour": 100}, "pro": {"requests_per_hour": 1000},)"
    R"( "enterprise": {"requests_per_hour": 10000}, "local": {}},)"
    R"( "default_plan": "free", "local_owner_plan": "local"})";

void verifyReference(const PlanPolicy &policy)
{
    QCOMPARE(policy.planNames(), (QStringList{QStringLiteral("enterprise"), QStringLiteral("free"),
                                              QStringLiteral("local"), QStringLiteral("pro")}));
    QCOMPARE(policy.defaultPlanName(), QStringLiteral("free"));
    QCOMPARE(policy.localOwnerPlanName(), QStringLiteral("local"));
    const struct {
        const char *name;
        qint64 perHour;
    } expected[] = {{"free", 100}, {"pro", 1000}, {"enterprise", 10000}};
    for (const auto &e : expected) {
        const Plan *plan = policy.plan(QLatin1String(e.name));
        QVERIFY2(plan, e.name);
        QCOMPARE(plan->name, QLatin1String(e.name));
        QCOMPARE(plan->requestsPerHour, std::optional<qint64>(e.perHour));
        QVERIFY(!plan->requestsPerMinute && !plan->inputTokensPerMinute &&
                !plan->outputTokensPerMinute && !plan->maxConcurrentStreams && !plan->maxTokens);
        QVERIFY(plan->hasRateLimits());
    }
    const Plan *local = policy.plan(QStringLiteral("local"));
    QVERIFY(local);
    QVERIFY(!local->hasRateLimits());
    QVERIFY(!local->maxTokens);
}

} // namespace

class TestPlanPolicy : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void referenceMatchesDesign();
    void defaultConstructedIsReference();
    void briefDocumentIsReference();
    void absentSectionsKeepReference();
    void otherSectionsIgnored();
    void allFieldsParse();
    void plansSectionReplacesReference();
    void localOwnerStaysUnlimitedWithoutLocalPlan();
    void explicitLocalOwnerPlan();
    void resolveIdentifiedUser();
    void resolveUnknownPlanToDefault();
    void resolveLocalOwner();
    void resolveGatewayKeyPlan();
    void cappedMaxTokens();
    void toJsonRoundTrips();
    void validationErrors_data();
    void validationErrors();
    void validateReportsEveryProblem();
};

void TestPlanPolicy::referenceMatchesDesign()
{
    verifyReference(PlanPolicy::reference());
}

void TestPlanPolicy::defaultConstructedIsReference()
{
    verifyReference(PlanPolicy());
}

void TestPlanPolicy::briefDocumentIsReference()
{
    const auto policy = PlanPolicy::fromJson(parse(kReferenceDocument));
    QVERIFY2(policy.ok(), qPrintable(policy ? QString() : policy.error().toString()));
    verifyReference(*policy);
}

void TestPlanPolicy::absentSectionsKeepReference()
{
    const auto policy = PlanPolicy::fromJson(QJsonObject());
    QVERIFY(policy.ok());
    verifyReference(*policy);
}

void TestPlanPolicy::otherSectionsIgnored()
{
    // The plans section lives in the one policy document next to sections other code reads.
    const auto policy = PlanPolicy::fromJson(
        parse(R"({"version": 1, "gateway": {"listen": "127.0.0.1:8080"}, "routes": [],)"
              R"( "plans": {"free": {"requests_per_hour": 5}}})"));
    QVERIFY2(policy.ok(), qPrintable(policy ? QString() : policy.error().toString()));
    QCOMPARE(policy->plan(QStringLiteral("free"))->requestsPerHour, std::optional<qint64>(5));
}

void TestPlanPolicy::allFieldsParse()
{
    const auto policy = PlanPolicy::fromJson(parse(
        R"({"plans": {"free": {}, "team": {"requests_per_hour": 500, "requests_per_minute": 20,)"
        R"( "input_tokens_per_minute": 40000, "output_tokens_per_minute": 8000,)"
        R"( "max_concurrent_streams": 3, "max_tokens": 4096}}})"));
    QVERIFY2(policy.ok(), qPrintable(policy ? QString() : policy.error().toString()));
    const Plan *team = policy->plan(QStringLiteral("team"));
    QVERIFY(team);
    QCOMPARE(team->requestsPerHour, std::optional<qint64>(500));
    QCOMPARE(team->requestsPerMinute, std::optional<qint64>(20));
    QCOMPARE(team->inputTokensPerMinute, std::optional<qint64>(40000));
    QCOMPARE(team->outputTokensPerMinute, std::optional<qint64>(8000));
    QCOMPARE(team->maxConcurrentStreams, std::optional<int>(3));
    QCOMPARE(team->maxTokens, std::optional<int>(4096));

    // Only max_tokens: a cap, not a rate, so nothing for the limiter to count.
    const auto capped = PlanPolicy::fromJson(parse(R"({"plans": {"free": {"max_tokens": 256}}})"));
    QVERIFY(capped.ok());
    QVERIFY(!capped->plan(QStringLiteral("free"))->hasRateLimits());
}

void TestPlanPolicy::plansSectionReplacesReference()
{
    const auto policy = PlanPolicy::fromJson(
        parse(R"({"plans": {"basic": {"requests_per_hour": 50}}, "default_plan": "basic"})"));
    QVERIFY2(policy.ok(), qPrintable(policy ? QString() : policy.error().toString()));
    QVERIFY(!policy->plan(QStringLiteral("pro")));
    QVERIFY(!policy->plan(QStringLiteral("free")));
    QCOMPARE(policy->resolvePlanName(identified(QStringLiteral("alice"), QStringLiteral("pro"))),
             QStringLiteral("basic"));
}

void TestPlanPolicy::localOwnerStaysUnlimitedWithoutLocalPlan()
{
    const auto policy =
        PlanPolicy::fromJson(parse(R"({"plans": {"free": {"requests_per_hour": 10}}})"));
    QVERIFY2(policy.ok(), qPrintable(policy ? QString() : policy.error().toString()));
    QCOMPARE(policy->resolvePlanName(localOwner()), QStringLiteral("local"));
    QVERIFY(!policy->resolvePlan(localOwner()).hasRateLimits());
}

void TestPlanPolicy::explicitLocalOwnerPlan()
{
    // An owner may deliberately limit their own tools, e.g. a shared workstation.
    const auto policy =
        PlanPolicy::fromJson(parse(R"({"plans": {"free": {"requests_per_hour": 10}},)"
                                   R"( "local_owner_plan": "free"})"));
    QVERIFY2(policy.ok(), qPrintable(policy ? QString() : policy.error().toString()));
    QCOMPARE(policy->resolvePlanName(localOwner()), QStringLiteral("free"));
    QVERIFY(!policy->plan(QStringLiteral("local")));
}

void TestPlanPolicy::resolveIdentifiedUser()
{
    const PlanPolicy policy = PlanPolicy::reference();
    QCOMPARE(policy.resolvePlanName(identified(QStringLiteral("alice"))), QStringLiteral("free"));
    QCOMPARE(policy.resolvePlanName(identified(QStringLiteral("bob"), QStringLiteral("pro"))),
             QStringLiteral("pro"));
    QCOMPARE(
        policy.resolvePlanName(identified(QStringLiteral("carol"), QStringLiteral("enterprise"))),
        QStringLiteral("enterprise"));
    QCOMPARE(policy.resolvePlan(identified(QStringLiteral("alice"))).requestsPerHour,
             std::optional<qint64>(100));
}

void TestPlanPolicy::resolveUnknownPlanToDefault()
{
    const PlanPolicy policy = PlanPolicy::reference();
    QCOMPARE(policy.resolvePlanName(identified(QStringLiteral("alice"), QStringLiteral("gold"))),
             QStringLiteral("free"));
    // Plan names are exact: no case folding that would let "PRO" mean something.
    QCOMPARE(policy.resolvePlanName(identified(QStringLiteral("alice"), QStringLiteral("PRO"))),
             QStringLiteral("free"));
}

void TestPlanPolicy::resolveLocalOwner()
{
    const PlanPolicy policy = PlanPolicy::reference();
    QCOMPARE(policy.resolvePlanName(localOwner()), QStringLiteral("local"));
    // An unknown plan never drops the local owner to the default (free) plan.
    QCOMPARE(policy.resolvePlanName(localOwner(QStringLiteral("gold"))), QStringLiteral("local"));
    // A plan the owner names on purpose (trusted header on loopback) applies, e.g. to try out
    // what free users will see.
    QCOMPARE(policy.resolvePlanName(localOwner(QStringLiteral("free"))), QStringLiteral("free"));
}

void TestPlanPolicy::resolveGatewayKeyPlan()
{
    const PlanPolicy policy = PlanPolicy::reference();
    Principal keyed;
    keyed.keyName = QStringLiteral("ci");
    keyed.plan = QStringLiteral("pro");
    keyed.localOwner = false;
    QCOMPARE(policy.resolvePlanName(keyed), QStringLiteral("pro"));
    keyed.plan.clear();
    QCOMPARE(policy.resolvePlanName(keyed), QStringLiteral("free"));
}

void TestPlanPolicy::cappedMaxTokens()
{
    Plan plan;
    QCOMPARE(plan.cappedMaxTokens(100000), 100000);
    plan.maxTokens = 2048;
    QCOMPARE(plan.cappedMaxTokens(100000), 2048);
    QCOMPARE(plan.cappedMaxTokens(1024), 1024);
}

void TestPlanPolicy::toJsonRoundTrips()
{
    const auto policy = PlanPolicy::fromJson(
        parse(R"({"plans": {"free": {"requests_per_hour": 100, "max_tokens": 1024},)"
              R"( "team": {"requests_per_minute": 20, "input_tokens_per_minute": 9007199254740991,)"
              R"( "max_concurrent_streams": 3}}})"));
    QVERIFY2(policy.ok(), qPrintable(policy ? QString() : policy.error().toString()));
    const QJsonObject json = policy->toJson();
    // The implicit local plan shows in the effective policy.
    QCOMPARE(json.value(QStringLiteral("local_owner_plan")).toString(), QStringLiteral("local"));
    QVERIFY(json.value(QStringLiteral("plans")).toObject().contains(QStringLiteral("local")));
    const auto again = PlanPolicy::fromJson(json);
    QVERIFY2(again.ok(), qPrintable(again ? QString() : again.error().toString()));
    QCOMPARE(again->toJson(), json);
    QCOMPARE(again->plan(QStringLiteral("team"))->inputTokensPerMinute,
             std::optional<qint64>(9007199254740991LL));
    QCOMPARE(PlanPolicy::reference().toJson(),
             PlanPolicy::fromJson(parse(kReferenceDocument))->toJson());
}

void TestPlanPolicy::validationErrors_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("expected");

    QTest::newRow("plans not an object")
        << QByteArray(R"({"plans": []})") << QStringLiteral("plans: expected an object");
    QTest::newRow("plan not an object") << QByteArray(R"({"plans": {"free": {}, "pro": 1000}})")
                                        << QStringLiteral("plans.pro: expected an object");
    QTest::newRow("string count")
        << QByteArray(R"({"plans": {"free": {}, "pro": {"requests_per_hour": "1000"}}})")
        << QStringLiteral("plans.pro.requests_per_hour: expected a positive integer");
    QTest::newRow("zero")
        << QByteArray(R"({"plans": {"free": {}, "pro": {"requests_per_hour": 0}}})")
        << QStringLiteral("plans.pro.requests_per_hour: expected a positive integer");
    QTest::newRow("negative") << QByteArray(R"({"plans": {"free": {"requests_per_minute": -5}}})")
                              << QStringLiteral(
                                     "plans.free.requests_per_minute: expected a positive integer");
    QTest::newRow("fraction")
        << QByteArray(R"({"plans": {"free": {"input_tokens_per_minute": 1.5}}})")
        << QStringLiteral("plans.free.input_tokens_per_minute: expected a positive integer");
    QTest::newRow("null")
        << QByteArray(R"({"plans": {"free": {"output_tokens_per_minute": null}}})")
        << QStringLiteral("plans.free.output_tokens_per_minute: expected a positive integer");
    QTest::newRow("streams too large")
        << QByteArray(R"({"plans": {"free": {"max_concurrent_streams": 3000000000}}})")
        << QStringLiteral("plans.free.max_concurrent_streams: expected at most 2147483647");
    QTest::newRow("max_tokens bool")
        << QByteArray(R"({"plans": {"free": {"max_tokens": true}}})")
        << QStringLiteral("plans.free.max_tokens: expected a positive integer");
    QTest::newRow("count beyond 2^53")
        << QByteArray(R"({"plans": {"free": {"requests_per_hour": 1e16}}})")
        << QStringLiteral("plans.free.requests_per_hour: expected at most 9007199254740991");
    QTest::newRow("unknown field")
        << QByteArray(R"({"plans": {"free": {"requests_per_day": 10}}})")
        << QStringLiteral("plans.free.requests_per_day: unknown setting");
    QTest::newRow("bad plan name")
        << QByteArray(R"({"plans": {"free": {}, "gold plan": {}}})")
        << QStringLiteral("plans.gold plan: expected a plan name of up to 64 letters, digits, "
                          "'_', '.' or '-', starting with a letter or digit");
    QTest::newRow("unknown default plan") << QByteArray(R"({"default_plan": "gold"})")
                                          << QStringLiteral("default_plan: unknown plan \"gold\"");
    QTest::newRow("default plan not a string")
        << QByteArray(R"({"default_plan": 3})")
        << QStringLiteral("default_plan: expected a plan name");
    QTest::newRow("empty default plan") << QByteArray(R"({"default_plan": ""})")
                                        << QStringLiteral("default_plan: expected a plan name");
    QTest::newRow("implicit default plan missing")
        << QByteArray(R"({"plans": {"basic": {}}})")
        << QStringLiteral(
               "default_plan: unknown plan \"free\" (the default when default_plan is absent)");
    QTest::newRow("unknown local owner plan")
        << QByteArray(R"({"local_owner_plan": "owner"})")
        << QStringLiteral("local_owner_plan: unknown plan \"owner\"");
}

void TestPlanPolicy::validationErrors()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, expected);
    const auto policy = PlanPolicy::fromJson(parse(json));
    QVERIFY(!policy.ok());
    QCOMPARE(policy.error().toString(), expected);
    const QList<tollgate::Error> problems = PlanPolicy::validate(parse(json));
    QCOMPARE(problems.size(), 1);
    QCOMPARE(problems.constFirst().toString(), expected);
}

void TestPlanPolicy::validateReportsEveryProblem()
{
    const QJsonObject document =
        parse(R"({"plans": {"free": {"requests_per_hour": 0, "requests_per_minute": "x"},)"
              R"( "pro": {"burst": 5}}, "default_plan": "gold", "local_owner_plan": ""})");
    QStringList problems;
    for (const tollgate::Error &error : PlanPolicy::validate(document))
        problems.append(error.toString());
    QCOMPARE(problems,
             (QStringList{
                 QStringLiteral("plans.free.requests_per_hour: expected a positive integer"),
                 QStringLiteral("plans.free.requests_per_minute: expected a positive integer"),
                 QStringLiteral("plans.pro.burst: unknown setting"),
                 QStringLiteral("default_plan: unknown plan \"gold\""),
                 QStringLiteral("local_owner_plan: expected a plan name"),
             }));
    // fromJson() refuses the document with the first of them.
    const auto policy = PlanPolicy::fromJson(document);
    QVERIFY(!policy.ok());
    QCOMPARE(policy.error().path, QStringLiteral("plans.free.requests_per_hour"));
    QCOMPARE(policy.error().message, QStringLiteral("expected a positive integer"));
}

QTEST_GUILESS_MAIN(TestPlanPolicy)
#include "tst_planpolicy.moc"
