#include "limits/budgetpolicy.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>

using tollgate::Error;
using tollgate::limits::Budget;
using tollgate::limits::BudgetAction;
using tollgate::limits::BudgetAlignment;
using tollgate::limits::BudgetPolicy;
using tollgate::limits::BudgetScope;
using tollgate::limits::BudgetScopeKind;
using tollgate::limits::BudgetThreshold;
using tollgate::limits::BudgetWindow;
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

QStringList problems(const QByteArray &json)
{
    QStringList lines;
    for (const Error &error : BudgetPolicy::validate(parse(json)))
        lines.append(error.toString());
    return lines;
}

// The budget of the brief.
const QByteArray kBriefBudget =
    R"({"name": "team-ml-daily", "scope": {"kind": "team", "value": "ml"}, "window": "day",)"
    R"( "alignment": "calendar", "limit_usd": 50, "actions": [{"at_percent": 50, "action": "alert"},)"
    R"( {"at_percent": 80, "action": "downgrade"}, {"at_percent": 100, "action": "block"}]})";

QByteArray document(const QByteArray &budgets)
{
    return R"({"budgets": [)" + budgets + "]}";
}

Principal principal(const QString &user, const QString &team, const QString &plan,
                    const QString &key)
{
    Principal p;
    p.user = user;
    p.team = team;
    p.plan = plan;
    p.keyName = key;
    p.localOwner = user.isEmpty() && key.isEmpty();
    return p;
}

} // namespace

class TestBudgetPolicy : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void referenceHasNoBudgets();
    void briefBudgetParses();
    void defaultsFilledIn();
    void everyScopeKindParses_data();
    void everyScopeKindParses();
    void everyWindowAndAlignmentParses_data();
    void everyWindowAndAlignmentParses();
    void actionsSortedAndMayBeEmpty();
    void otherSectionsIgnored();
    void problemsHavePaths_data();
    void problemsHavePaths();
    void everyProblemInOnePass();
    void fromJsonFailsWithFirstProblem();
    void toJsonRoundTrips();
    void scopeMatching_data();
    void scopeMatching();
    void thresholdAmounts();
    void names();
};

void TestBudgetPolicy::referenceHasNoBudgets()
{
    QVERIFY(BudgetPolicy::reference().isEmpty());
    QVERIFY(BudgetPolicy().isEmpty());
    const auto fromEmpty = BudgetPolicy::fromJson(QJsonObject());
    QVERIFY(fromEmpty.ok());
    QVERIFY(fromEmpty->isEmpty());
    QCOMPARE(BudgetPolicy::reference().toJson(),
             QJsonObject({{QStringLiteral("budgets"), QJsonArray()}}));
    const auto explicitEmpty = BudgetPolicy::fromJson(parse(R"({"budgets": []})"));
    QVERIFY(explicitEmpty.ok());
    QVERIFY(explicitEmpty->isEmpty());
}

void TestBudgetPolicy::briefBudgetParses()
{
    const auto policy = BudgetPolicy::fromJson(parse(document(kBriefBudget)));
    QVERIFY2(policy.ok(), qPrintable(policy.ok() ? QString() : policy.error().toString()));
    QCOMPARE(policy->budgets().size(), 1);
    const Budget &b = policy->budgets().constFirst();
    QCOMPARE(b.name, QStringLiteral("team-ml-daily"));
    QCOMPARE(b.scope.kind, BudgetScopeKind::Team);
    QCOMPARE(b.scope.value, QStringLiteral("ml"));
    QCOMPARE(b.window, BudgetWindow::Day);
    QCOMPARE(b.alignment, BudgetAlignment::Calendar);
    QCOMPARE(b.limitUsd, 50.0);
    const QList<BudgetThreshold> expected = {
        {50, BudgetAction::Alert}, {80, BudgetAction::Downgrade}, {100, BudgetAction::Block}};
    QCOMPARE(b.actions, expected);
    QCOMPARE(policy->budget(QStringLiteral("team-ml-daily")), &b);
    QCOMPARE(policy->budget(QStringLiteral("nope")), nullptr);
}

void TestBudgetPolicy::defaultsFilledIn()
{
    const auto policy =
        BudgetPolicy::fromJson(parse(document(R"({"name": "all", "window": "month",)"
                                              R"( "limit_usd": 1000.5})")));
    QVERIFY(policy.ok());
    const Budget &b = policy->budgets().constFirst();
    QCOMPARE(b.scope.kind, BudgetScopeKind::Global);
    QVERIFY(b.scope.value.isEmpty());
    QCOMPARE(b.alignment, BudgetAlignment::Calendar);
    QCOMPARE(b.limitUsd, 1000.5);
    QCOMPARE(b.actions, BudgetPolicy::defaultActions());
    const QList<BudgetThreshold> expected = {
        {50, BudgetAction::Alert}, {80, BudgetAction::Alert}, {100, BudgetAction::Block}};
    QCOMPARE(BudgetPolicy::defaultActions(), expected);
}

void TestBudgetPolicy::everyScopeKindParses_data()
{
    QTest::addColumn<QByteArray>("scope");
    QTest::addColumn<BudgetScopeKind>("kind");
    QTest::addColumn<QString>("value");
    QTest::newRow("global") << QByteArray(R"({"kind": "global"})") << BudgetScopeKind::Global
                            << QString();
    QTest::newRow("plan") << QByteArray(R"({"kind": "plan", "value": "pro"})")
                          << BudgetScopeKind::Plan << QStringLiteral("pro");
    QTest::newRow("team") << QByteArray(R"({"kind": "team", "value": "ml"})")
                          << BudgetScopeKind::Team << QStringLiteral("ml");
    QTest::newRow("user") << QByteArray(R"({"kind": "user", "value": "alice"})")
                          << BudgetScopeKind::User << QStringLiteral("alice");
    QTest::newRow("key") << QByteArray(R"({"kind": "key", "value": "batch"})")
                         << BudgetScopeKind::Key << QStringLiteral("batch");
    QTest::newRow("model") << QByteArray(
                                  R"({"kind": "model", "value": "claude-sonnet-4-20250514"})")
                           << BudgetScopeKind::Model << QStringLiteral("claude-sonnet-4-20250514");
    QTest::newRow("model prefix") << QByteArray(R"({"kind": "model", "value": "claude-sonnet-*"})")
                                  << BudgetScopeKind::Model << QStringLiteral("claude-sonnet-*");
}

void TestBudgetPolicy::everyScopeKindParses()
{
    QFETCH(QByteArray, scope);
    QFETCH(BudgetScopeKind, kind);
    QFETCH(QString, value);
    const auto policy = BudgetPolicy::fromJson(parse(
        document(R"({"name": "b", "window": "hour", "limit_usd": 1, "scope": )" + scope + "}")));
    QVERIFY2(policy.ok(), qPrintable(policy.ok() ? QString() : policy.error().toString()));
    QCOMPARE(policy->budgets().constFirst().scope.kind, kind);
    QCOMPARE(policy->budgets().constFirst().scope.value, value);
}

void TestBudgetPolicy::everyWindowAndAlignmentParses_data()
{
    QTest::addColumn<QString>("window");
    QTest::addColumn<QString>("alignment");
    QTest::addColumn<BudgetWindow>("expectedWindow");
    QTest::addColumn<BudgetAlignment>("expectedAlignment");
    const struct {
        const char *name;
        BudgetWindow value;
    } windows[] = {
        {"hour", BudgetWindow::Hour}, {"day", BudgetWindow::Day}, {"month", BudgetWindow::Month}};
    const struct {
        const char *name;
        BudgetAlignment value;
    } alignments[] = {{"calendar", BudgetAlignment::Calendar},
                      {"rolling", BudgetAlignment::Rolling}};
    for (const auto &w : windows) {
        for (const auto &a : alignments)
            QTest::addRow("%s %s", a.name, w.name)
                << QString::fromLatin1(w.name) << QString::fromLatin1(a.name) << w.value << a.value;
    }
}

void TestBudgetPolicy::everyWindowAndAlignmentParses()
{
    QFETCH(QString, window);
    QFETCH(QString, alignment);
    QFETCH(BudgetWindow, expectedWindow);
    QFETCH(BudgetAlignment, expectedAlignment);
    const QByteArray json =
        document(R"({"name": "b", "limit_usd": 5, "window": ")" + window.toLatin1() +
                 R"(", "alignment": ")" + alignment.toLatin1() + R"("})");
    const auto policy = BudgetPolicy::fromJson(parse(json));
    QVERIFY(policy.ok());
    QCOMPARE(policy->budgets().constFirst().window, expectedWindow);
    QCOMPARE(policy->budgets().constFirst().alignment, expectedAlignment);
}

void TestBudgetPolicy::actionsSortedAndMayBeEmpty()
{
    const auto policy = BudgetPolicy::fromJson(parse(document(
        R"({"name": "a", "window": "day", "limit_usd": 10, "actions": [)"
        R"({"at_percent": 100, "action": "block"}, {"at_percent": 120, "action": "alert"},)"
        R"( {"at_percent": 100, "action": "alert"}, {"at_percent": 75.5, "action": "downgrade"}]},)"
        R"({"name": "tracked", "window": "day", "limit_usd": 10, "actions": []})")));
    QVERIFY(policy.ok());
    const QList<BudgetThreshold> expected = {{75.5, BudgetAction::Downgrade},
                                             {100, BudgetAction::Alert},
                                             {100, BudgetAction::Block},
                                             {120, BudgetAction::Alert}};
    QCOMPARE(policy->budgets().at(0).actions, expected);
    QVERIFY(policy->budgets().at(1).actions.isEmpty());
}

void TestBudgetPolicy::otherSectionsIgnored()
{
    const auto policy = BudgetPolicy::fromJson(
        parse(R"({"plans": {"x": 5}, "routes": "nonsense", "budgets": [)" + kBriefBudget + "]}"));
    QVERIFY(policy.ok());
    QCOMPARE(policy->budgets().size(), 1);
}

void TestBudgetPolicy::problemsHavePaths_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QStringList>("expected");

    auto row = [](const char *name, const QByteArray &json, const QStringList &expected) {
        QTest::newRow(name) << json << expected;
    };
    const QByteArray ok = R"("window": "day", "limit_usd": 5)";
    row("not an array", R"({"budgets": {}})", {"budgets: expected an array of budgets"});
    row("entry not an object", R"({"budgets": [3]})", {"budgets[0]: expected an object"});
    row("name missing", document("{" + ok + "}"), {"budgets[0].name: required"});
    row("bad name", document(R"({"name": "team ml", )" + ok + "}"),
        {"budgets[0].name: expected a budget name of up to 64 letters, digits, '_', '.' or '-', "
         "starting with a letter or digit"});
    row("name not a string", document(R"({"name": 7, )" + ok + "}"),
        {"budgets[0].name: expected a budget name of up to 64 letters, digits, '_', '.' or '-', "
         "starting with a letter or digit"});
    row("duplicate name",
        document(R"({"name": "a", )" + ok + R"(}, {"name": "b", )" + ok + R"(}, {"name": "a", )" +
                 ok + "}"),
        {"budgets[2].name: duplicate budget name \"a\""});
    row("unknown setting", document(R"({"name": "a", "limits_usd": 5, "window": "day"})"),
        {"budgets[0].limits_usd: unknown setting", "budgets[0].limit_usd: required"});
    row("window missing", document(R"({"name": "a", "limit_usd": 5})"),
        {"budgets[0].window: required"});
    row("bad window", document(R"({"name": "a", "limit_usd": 5, "window": "week"})"),
        {"budgets[0].window: expected one of hour, day, month"});
    row("bad alignment", document(R"({"name": "a", "alignment": "sliding", )" + ok + "}"),
        {"budgets[0].alignment: expected one of calendar, rolling"});
    row("zero limit", document(R"({"name": "a", "window": "day", "limit_usd": 0})"),
        {"budgets[0].limit_usd: expected a positive amount in USD"});
    row("negative limit", document(R"({"name": "a", "window": "day", "limit_usd": -3})"),
        {"budgets[0].limit_usd: expected a positive amount in USD"});
    row("string limit", document(R"({"name": "a", "window": "day", "limit_usd": "50"})"),
        {"budgets[0].limit_usd: expected a positive amount in USD"});
    row("huge limit", document(R"({"name": "a", "window": "day", "limit_usd": 2e12})"),
        {"budgets[0].limit_usd: expected at most 1000000000000"});
    row("scope not an object", document(R"({"name": "a", "scope": "team", )" + ok + "}"),
        {"budgets[0].scope: expected an object"});
    row("scope kind missing", document(R"({"name": "a", "scope": {"value": "ml"}, )" + ok + "}"),
        {"budgets[0].scope.kind: required"});
    row("bad scope kind", document(R"({"name": "a", "scope": {"kind": "org"}, )" + ok + "}"),
        {"budgets[0].scope.kind: expected one of global, plan, team, user, key, model"});
    row("scope value missing", document(R"({"name": "a", "scope": {"kind": "team"}, )" + ok + "}"),
        {"budgets[0].scope.value: required for a team budget"});
    row("scope value empty",
        document(R"({"name": "a", "scope": {"kind": "user", "value": ""}, )" + ok + "}"),
        {"budgets[0].scope.value: expected a non-empty string of at most 256 characters"});
    row("global with value",
        document(R"({"name": "a", "scope": {"kind": "global", "value": "x"}, )" + ok + "}"),
        {"budgets[0].scope.value: a global budget takes no value"});
    row("unknown scope key",
        document(R"({"name": "a", "scope": {"kind": "team", "value": "ml", "x": 1}, )" + ok + "}"),
        {"budgets[0].scope.x: unknown setting"});
    row("star in a team",
        document(R"({"name": "a", "scope": {"kind": "team", "value": "ml-*"}, )" + ok + "}"),
        {"budgets[0].scope.value: expected an exact team name; only model scopes take a "
         "trailing '*'"});
    row("star inside a model",
        document(R"({"name": "a", "scope": {"kind": "model", "value": "claude-*-4"}, )" + ok + "}"),
        {"budgets[0].scope.value: '*' may only end a model prefix, as in \"claude-sonnet-*\"; use "
         "the global scope for every model"});
    row("actions not an array", document(R"({"name": "a", "actions": {}, )" + ok + "}"),
        {"budgets[0].actions: expected an array of actions"});
    row("action not an object", document(R"({"name": "a", "actions": ["block"], )" + ok + "}"),
        {"budgets[0].actions[0]: expected an object"});
    row("percent missing",
        document(R"({"name": "a", "actions": [{"action": "block"}], )" + ok + "}"),
        {"budgets[0].actions[0].at_percent: required"});
    row("percent zero",
        document(R"({"name": "a", "actions": [{"at_percent": 0, "action": "block"}], )" + ok + "}"),
        {"budgets[0].actions[0].at_percent: expected a number greater than 0 and at most 1000"});
    row("percent huge",
        document(R"({"name": "a", "actions": [{"at_percent": 1001, "action": "alert"}], )" + ok +
                 "}"),
        {"budgets[0].actions[0].at_percent: expected a number greater than 0 and at most 1000"});
    row("action missing", document(R"({"name": "a", "actions": [{"at_percent": 50}], )" + ok + "}"),
        {"budgets[0].actions[0].action: required"});
    row("bad action",
        document(R"({"name": "a", "actions": [{"at_percent": 50, "action": "email"}], )" + ok +
                 "}"),
        {"budgets[0].actions[0].action: expected one of alert, downgrade, block"});
    row("unknown action key",
        document(
            R"({"name": "a", "actions": [{"at_percent": 50, "action": "alert", "to": "x"}], )" +
            ok + "}"),
        {"budgets[0].actions[0].to: unknown setting"});
    row("duplicate action",
        document(R"({"name": "a", "actions": [{"at_percent": 50, "action": "alert"},)"
                 R"( {"at_percent": 50, "action": "alert"}], )" +
                 ok + "}"),
        {"budgets[0].actions[1]: duplicate action: alert at 50 % is already listed"});
}

void TestBudgetPolicy::problemsHavePaths()
{
    QFETCH(QByteArray, json);
    QFETCH(QStringList, expected);
    QCOMPARE(problems(json), expected);
}

void TestBudgetPolicy::everyProblemInOnePass()
{
    const QStringList found = problems(document(
        R"({"name": "a", "window": "year", "limit_usd": -1, "actions": [{"at_percent": 50}]},)"
        R"({"name": "b b", "scope": {"kind": "team"}, "window": "day", "limit_usd": 5})"));
    const QStringList expected = {
        "budgets[0].window: expected one of hour, day, month",
        "budgets[0].limit_usd: expected a positive amount in USD",
        "budgets[0].actions[0].action: required",
        "budgets[1].name: expected a budget name of up to 64 letters, digits, '_', '.' or '-', "
        "starting with a letter or digit",
        "budgets[1].scope.value: required for a team budget",
    };
    QCOMPARE(found, expected);
}

void TestBudgetPolicy::fromJsonFailsWithFirstProblem()
{
    const auto policy = BudgetPolicy::fromJson(
        parse(document(R"({"name": "a", "window": "year", "limit_usd": -1})")));
    QVERIFY(!policy.ok());
    QCOMPARE(policy.error().path, QStringLiteral("budgets[0].window"));
    QCOMPARE(policy.error().message, QStringLiteral("expected one of hour, day, month"));
}

void TestBudgetPolicy::toJsonRoundTrips()
{
    const auto policy = BudgetPolicy::fromJson(parse(document(
        kBriefBudget +
        R"(, {"name": "all-monthly", "window": "month", "limit_usd": 2000},)"
        R"( {"name": "sonnet", "scope": {"kind": "model", "value": "claude-sonnet-*"},)"
        R"( "window": "hour", "alignment": "rolling", "limit_usd": 0.25, "actions": []})")));
    QVERIFY(policy.ok());
    const QJsonObject json = policy->toJson();
    QCOMPARE(json.value(QStringLiteral("budgets")).toArray().size(), 3);
    // The brief's budget comes back exactly as written.
    QCOMPARE(json.value(QStringLiteral("budgets")).toArray().at(0).toObject(), parse(kBriefBudget));
    // Defaults are filled in.
    const QJsonObject monthly = json.value(QStringLiteral("budgets")).toArray().at(1).toObject();
    QCOMPARE(monthly.value(QStringLiteral("scope")).toObject(),
             QJsonObject({{QStringLiteral("kind"), QStringLiteral("global")}}));
    QCOMPARE(monthly.value(QStringLiteral("alignment")).toString(), QStringLiteral("calendar"));
    QCOMPARE(monthly.value(QStringLiteral("actions")).toArray().size(), 3);

    const auto again = BudgetPolicy::fromJson(json);
    QVERIFY(again.ok());
    QCOMPARE(again->toJson(), json);
    QCOMPARE(again->budgets().at(2).limitUsd, 0.25);
    QCOMPARE(again->budgets().at(2).alignment, BudgetAlignment::Rolling);
}

void TestBudgetPolicy::scopeMatching_data()
{
    QTest::addColumn<int>("kind");
    QTest::addColumn<QString>("value");
    QTest::addColumn<QString>("user");
    QTest::addColumn<QString>("team");
    QTest::addColumn<QString>("plan");
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("model");
    QTest::addColumn<bool>("matches");

    const QString sonnet = QStringLiteral("claude-sonnet-4-20250514");
    const QString haiku = QStringLiteral("claude-3-haiku-20240307");
    auto row = [&](const char *name, BudgetScopeKind kind, const char *value, const char *user,
                   const char *team, const char *plan, const char *key, const QString &model,
                   bool matches) {
        QTest::newRow(name) << int(kind) << QString::fromLatin1(value) << QString::fromLatin1(user)
                            << QString::fromLatin1(team) << QString::fromLatin1(plan)
                            << QString::fromLatin1(key) << model << matches;
    };
    row("global, local owner", BudgetScopeKind::Global, "", "", "", "", "", haiku, true);
    row("global, anyone", BudgetScopeKind::Global, "", "bob", "web", "pro", "k", sonnet, true);
    row("plan match", BudgetScopeKind::Plan, "pro", "bob", "", "pro", "", haiku, true);
    row("plan other", BudgetScopeKind::Plan, "pro", "bob", "", "free", "", haiku, false);
    row("plan none", BudgetScopeKind::Plan, "pro", "", "", "", "", haiku, false);
    row("team match", BudgetScopeKind::Team, "ml", "alice", "ml", "pro", "", haiku, true);
    row("team case-sensitive", BudgetScopeKind::Team, "ml", "alice", "ML", "pro", "", haiku, false);
    row("team none", BudgetScopeKind::Team, "ml", "alice", "", "pro", "", haiku, false);
    row("user match", BudgetScopeKind::User, "alice", "alice", "ml", "", "", haiku, true);
    row("user other", BudgetScopeKind::User, "alice", "bob", "ml", "", "", haiku, false);
    row("user local owner", BudgetScopeKind::User, "alice", "", "", "", "", haiku, false);
    row("key match", BudgetScopeKind::Key, "batch", "", "", "", "batch", haiku, true);
    row("key other", BudgetScopeKind::Key, "batch", "", "", "", "laptop", haiku, false);
    row("model exact", BudgetScopeKind::Model, "claude-sonnet-4-20250514", "", "", "", "", sonnet,
        true);
    row("model other", BudgetScopeKind::Model, "claude-sonnet-4-20250514", "", "", "", "", haiku,
        false);
    row("model prefix", BudgetScopeKind::Model, "claude-sonnet-*", "", "", "", "", sonnet, true);
    row("model prefix other", BudgetScopeKind::Model, "claude-sonnet-*", "", "", "", "", haiku,
        false);
    row("model exact is not a prefix", BudgetScopeKind::Model, "claude-sonnet-4", "", "", "", "",
        sonnet, false);
}

void TestBudgetPolicy::scopeMatching()
{
    QFETCH(int, kind);
    QFETCH(QString, value);
    QFETCH(QString, user);
    QFETCH(QString, team);
    QFETCH(QString, plan);
    QFETCH(QString, key);
    QFETCH(QString, model);
    QFETCH(bool, matches);
    const BudgetScope scope{BudgetScopeKind(kind), value};
    QCOMPARE(scope.matches(principal(user, team, plan, key), model), matches);
}

void TestBudgetPolicy::thresholdAmounts()
{
    QCOMPARE((BudgetThreshold{80, BudgetAction::Downgrade}.amountUsd(50)), 40.0);
    QCOMPARE((BudgetThreshold{100, BudgetAction::Block}.amountUsd(50)), 50.0);
    QCOMPARE((BudgetThreshold{150, BudgetAction::Alert}.amountUsd(50)), 75.0);
}

void TestBudgetPolicy::names()
{
    using namespace tollgate::limits;
    QCOMPARE(budgetActionName(BudgetAction::None), QStringLiteral("none"));
    QCOMPARE(budgetActionName(BudgetAction::Downgrade), QStringLiteral("downgrade"));
    QCOMPARE(budgetWindowName(BudgetWindow::Month), QStringLiteral("month"));
    QCOMPARE(budgetAlignmentName(BudgetAlignment::Rolling), QStringLiteral("rolling"));
    QCOMPARE(budgetScopeKindName(BudgetScopeKind::Key), QStringLiteral("key"));
    // Actions are ordered by strength, so the strongest is the largest.
    QVERIFY(BudgetAction::Block > BudgetAction::Downgrade);
    QVERIFY(BudgetAction::Downgrade > BudgetAction::Alert);
    QVERIFY(BudgetAction::Alert > BudgetAction::None);
}

QTEST_GUILESS_MAIN(TestBudgetPolicy)
#include "tst_budgetpolicy.moc"
