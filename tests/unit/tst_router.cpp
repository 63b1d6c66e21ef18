#include "metering/pricetable.h"
#include "routing/glob.h"
#include "routing/router.h"
#include "routing/routingpolicy.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using tollgate::Error;
using tollgate::metering::PriceTable;
using tollgate::policy::BudgetHint;
using tollgate::policy::Priority;
using tollgate::policy::RequestFeatures;
using tollgate::routing::BudgetState;
using tollgate::routing::RouteDecision;
using tollgate::routing::RouteState;
using tollgate::routing::RoutingPolicy;

namespace {

const QString kSonnet = QStringLiteral("claude-sonnet-4-20250514");
const QString kHaiku = QStringLiteral("claude-3-haiku-20240307");
const QString kRoutes = QStringLiteral("routes");

// A request described in JSON keeps the data-driven rows short and readable.
struct Request {
    RequestFeatures features;
    RouteState state;
};

Request request(const QByteArray &json)
{
    QJsonParseError error;
    const QJsonObject o = QJsonDocument::fromJson(json, &error).object();
    if (error.error != QJsonParseError::NoError)
        qFatal("bad test request JSON: %s", json.constData());
    Request r;
    RequestFeatures &f = r.features;
    f.requestedModel = o.value(QLatin1String("model")).toString(QStringLiteral("claude-opus-4-1"));
    if (o.value(QLatin1String("api")).toString() == QLatin1String("openai"))
        f.flavor = tollgate::api::Flavor::OpenAI;
    const QString priority = o.value(QLatin1String("priority")).toString();
    if (priority == QLatin1String("low"))
        f.priority = Priority::Low;
    else if (priority == QLatin1String("medium"))
        f.priority = Priority::Medium;
    else if (priority == QLatin1String("high"))
        f.priority = Priority::High;
    const QString budget = o.value(QLatin1String("budget")).toString();
    if (budget == QLatin1String("strict"))
        f.budget = BudgetHint::Strict;
    else if (budget == QLatin1String("flexible"))
        f.budget = BudgetHint::Flexible;
    if (o.contains(QLatin1String("complexity")))
        f.complexity = o.value(QLatin1String("complexity")).toDouble();
    f.principal.plan = o.value(QLatin1String("plan")).toString();
    f.principal.user = o.value(QLatin1String("user")).toString();
    f.principal.team = o.value(QLatin1String("team")).toString();
    f.principal.keyName = o.value(QLatin1String("key")).toString();
    const QJsonObject headers = o.value(QLatin1String("headers")).toObject();
    for (auto it = headers.begin(); it != headers.end(); ++it)
        f.headers.append({it.key().toLatin1(), it.value().toString().toUtf8()});
    // [["name","value"], ...]: a list, since a field may repeat (OpenAI user and metadata).
    const QJsonArray metadata = o.value(QLatin1String("metadata")).toArray();
    for (const QJsonValue &field : metadata)
        f.metadata.append({field[0].toString(), field[1].toString()});
    f.maxTokens = o.value(QLatin1String("max_tokens")).toInt();
    f.promptChars = o.value(QLatin1String("prompt_chars")).toInt();
    f.messageCount = o.value(QLatin1String("messages")).toInt(1);
    f.toolCount = o.value(QLatin1String("tools")).toInt();
    f.codeBlockCount = o.value(QLatin1String("code_blocks")).toInt();
    if (o.value(QLatin1String("budget_state")).toString() == QLatin1String("downgraded"))
        r.state.budget = BudgetState::Downgraded;
    return r;
}

QJsonValue json(const QByteArray &text)
{
    // Wrapped so that scalars and arrays parse too.
    const QJsonDocument document = QJsonDocument::fromJson("[" + text + "]");
    if (document.isNull())
        qFatal("bad test JSON: %s", text.constData());
    return document.array().at(0);
}

RoutingPolicy policyFrom(const QByteArray &routes,
                         const QStringList &routerModels = RoutingPolicy::defaultRouterModels())
{
    auto parsed =
        RoutingPolicy::fromJson(json(routes), kRoutes, PriceTable::builtin(), routerModels);
    if (!parsed)
        qFatal("test policy rejected: %s", qPrintable(parsed.error().toString()));
    return *parsed;
}

RouteDecision routeWith(const RoutingPolicy &policy, const QByteArray &requestJson)
{
    const Request r = request(requestJson);
    return tollgate::routing::route(policy, r.features, PriceTable::builtin(), r.state);
}

// A valid rule to put in front of a broken one, so error paths carry a real index.
const QByteArray kValidRule = R"({"name":"ok%1","targets":["claude-3-haiku-20240307"]})";

QByteArray validRule(int n)
{
    return QString::fromLatin1(kValidRule).arg(n).toLatin1();
}

} // namespace

class TestRouter : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void matchConditions_data();
    void matchConditions();
    void firstMatchWins();
    void noRuleMatchedKeepsRequestedModel();
    void reference_data();
    void reference();
    void referenceReasons();
    void referenceIsValidAndRoundTrips();
    void configurableRouterModels();
    void chainResolvesAliasesAndDropsRepeats();
    void routerModelNeverGoesUpstream();
    void maxTokensTransforms_data();
    void maxTokensTransforms();
    void reportsComplexityUsed();
    void validationErrors_data();
    void validationErrors();
    void reportsEveryProblem();
    void toJsonRoundTripsEveryCondition();
    void globMatching_data();
    void globMatching();
};

void TestRouter::matchConditions_data()
{
    QTest::addColumn<QByteArray>("match");
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<bool>("matched");

    QTest::newRow("empty match") << QByteArray("{}") << QByteArray("{}") << true;

    QTest::newRow("priority =") << QByteArray(R"({"priority":"high"})")
                                << QByteArray(R"({"priority":"high"})") << true;
    QTest::newRow("priority !=") << QByteArray(R"({"priority":"high"})")
                                 << QByteArray(R"({"priority":"low"})") << false;
    QTest::newRow("priority absent")
        << QByteArray(R"({"priority":"high"})") << QByteArray("{}") << false;
    QTest::newRow("priority list") << QByteArray(R"({"priority":["low","medium"]})")
                                   << QByteArray(R"({"priority":"medium"})") << true;

    QTest::newRow("budget =") << QByteArray(R"({"budget":"strict"})")
                              << QByteArray(R"({"budget":"strict"})") << true;
    QTest::newRow("budget !=") << QByteArray(R"({"budget":"strict"})")
                               << QByteArray(R"({"budget":"flexible"})") << false;
    QTest::newRow("budget absent")
        << QByteArray(R"({"budget":"flexible"})") << QByteArray("{}") << false;

    QTest::newRow("complexity_above >") << QByteArray(R"({"complexity_above":0.7})")
                                        << QByteArray(R"({"complexity":0.71})") << true;
    QTest::newRow("complexity_above =") << QByteArray(R"({"complexity_above":0.7})")
                                        << QByteArray(R"({"complexity":0.7})") << false;
    QTest::newRow("complexity_above estimated")
        << QByteArray(R"({"complexity_above":0.7})")
        << QByteArray(R"({"prompt_chars":20000,"messages":12,"tools":5,"code_blocks":4})") << true;
    QTest::newRow("complexity_above estimated simple")
        << QByteArray(R"({"complexity_above":0.7})") << QByteArray(R"({"prompt_chars":2})")
        << false;
    QTest::newRow("complexity_at_most =") << QByteArray(R"({"complexity_at_most":0.3})")
                                          << QByteArray(R"({"complexity":0.3})") << true;
    QTest::newRow("complexity_at_most >") << QByteArray(R"({"complexity_at_most":0.3})")
                                          << QByteArray(R"({"complexity":0.31})") << false;
    QTest::newRow("complexity range in")
        << QByteArray(R"({"complexity_above":0.3,"complexity_at_most":0.7})")
        << QByteArray(R"({"complexity":0.5})") << true;
    QTest::newRow("complexity range out")
        << QByteArray(R"({"complexity_above":0.3,"complexity_at_most":0.7})")
        << QByteArray(R"({"complexity":0.8})") << false;

    QTest::newRow("model exact") << QByteArray(R"({"model":"gpt-4o"})")
                                 << QByteArray(R"({"model":"gpt-4o"})") << true;
    QTest::newRow("model exact is not prefix")
        << QByteArray(R"({"model":"gpt-4o"})") << QByteArray(R"({"model":"gpt-4o-mini"})") << false;
    QTest::newRow("model glob") << QByteArray(R"({"model":"claude-*"})")
                                << QByteArray(R"({"model":"claude-3-haiku-20240307"})") << true;
    QTest::newRow("model glob miss")
        << QByteArray(R"({"model":"claude-*"})") << QByteArray(R"({"model":"gpt-4o"})") << false;
    QTest::newRow("model glob ?") << QByteArray(R"({"model":"o?-mini"})")
                                  << QByteArray(R"({"model":"o3-mini"})") << true;
    QTest::newRow("model list") << QByteArray(R"({"model":["gpt-4o","o3"]})")
                                << QByteArray(R"({"model":"o3"})") << true;
    QTest::newRow("model id matches alias request")
        << QByteArray(R"({"model":"claude-3-haiku-20240307"})")
        << QByteArray(R"({"model":"claude-haiku-3-20240307"})") << true;
    QTest::newRow("model glob matches alias's canonical id")
        << QByteArray(R"({"model":"claude-3-*"})")
        << QByteArray(R"({"model":"claude-haiku-3-20240307"})") << true;
    QTest::newRow("model auto") << QByteArray(R"({"model":"auto"})")
                                << QByteArray(R"({"model":"auto"})") << true;
    QTest::newRow("model auto vs concrete")
        << QByteArray(R"({"model":"auto"})") << QByteArray(R"({"model":"claude-3-haiku-20240307"})")
        << false;
    QTest::newRow("model unknown to the table")
        << QByteArray(R"({"model":"my-finetune-*"})") << QByteArray(R"({"model":"my-finetune-7"})")
        << true;

    QTest::newRow("plan =") << QByteArray(R"({"plan":"pro"})") << QByteArray(R"({"plan":"pro"})")
                            << true;
    QTest::newRow("plan !=") << QByteArray(R"({"plan":"pro"})") << QByteArray(R"({"plan":"free"})")
                             << false;
    QTest::newRow("plan list") << QByteArray(R"({"plan":["pro","enterprise"]})")
                               << QByteArray(R"({"plan":"enterprise"})") << true;
    QTest::newRow("plan glob vs none")
        << QByteArray(R"({"plan":"*"})") << QByteArray("{}") << false;

    QTest::newRow("user =") << QByteArray(R"({"user":"alice"})")
                            << QByteArray(R"({"user":"alice"})") << true;
    QTest::newRow("user !=") << QByteArray(R"({"user":"alice"})") << QByteArray(R"({"user":"bob"})")
                             << false;
    QTest::newRow("user * vs local owner")
        << QByteArray(R"({"user":"*"})") << QByteArray("{}") << false;
    QTest::newRow("user * vs someone")
        << QByteArray(R"({"user":"*"})") << QByteArray(R"({"user":"bob"})") << true;

    QTest::newRow("team =") << QByteArray(R"({"team":"ml"})") << QByteArray(R"({"team":"ml"})")
                            << true;
    QTest::newRow("team !=") << QByteArray(R"({"team":"ml"})") << QByteArray(R"({"team":"web"})")
                             << false;

    QTest::newRow("key glob") << QByteArray(R"({"key":"ci-*"})")
                              << QByteArray(R"({"key":"ci-runner"})") << true;
    QTest::newRow("key none") << QByteArray(R"({"key":"ci-*"})") << QByteArray("{}") << false;

    QTest::newRow("header =") << QByteArray(R"({"header":{"x-team":"ml"}})")
                              << QByteArray(R"({"headers":{"x-team":"ml"}})") << true;
    QTest::newRow("header !=") << QByteArray(R"({"header":{"x-team":"ml"}})")
                               << QByteArray(R"({"headers":{"x-team":"web"}})") << false;
    QTest::newRow("header absent")
        << QByteArray(R"({"header":{"x-team":"*"}})") << QByteArray("{}") << false;
    QTest::newRow("header * present") << QByteArray(R"({"header":{"x-team":"*"}})")
                                      << QByteArray(R"({"headers":{"x-team":""}})") << true;
    QTest::newRow("header glob crosses /")
        << QByteArray(R"({"header":{"user-agent":"claude-cli/*"}})")
        << QByteArray(R"x({"headers":{"user-agent":"claude-cli/1.0.83 (external, cli)"}})x")
        << true;
    QTest::newRow("header name case-insensitive")
        << QByteArray(R"({"header":{"X-Team":"ml"}})")
        << QByteArray(R"({"headers":{"x-team":"ml"}})") << true;
    QTest::newRow("headers all must hold")
        << QByteArray(R"({"header":{"x-team":"ml","x-env":"prod"}})")
        << QByteArray(R"({"headers":{"x-team":"ml"}})") << false;

    QTest::newRow("metadata =") << QByteArray(R"({"metadata":{"user_id":"batch-7"}})")
                                << QByteArray(R"({"metadata":[["user_id","batch-7"]]})") << true;
    QTest::newRow("metadata glob") << QByteArray(R"({"metadata":{"user_id":"batch-*"}})")
                                   << QByteArray(R"({"metadata":[["user_id","batch-7"]]})") << true;
    QTest::newRow("metadata !=") << QByteArray(R"({"metadata":{"user_id":"batch-*"}})")
                                 << QByteArray(R"({"metadata":[["user_id","alice"]]})") << false;
    QTest::newRow("metadata case-sensitive value")
        << QByteArray(R"({"metadata":{"user_id":"batch-*"}})")
        << QByteArray(R"({"metadata":[["user_id","Batch-7"]]})") << false;
    QTest::newRow("metadata case-sensitive name")
        << QByteArray(R"({"metadata":{"User_Id":"*"}})")
        << QByteArray(R"({"metadata":[["user_id","batch-7"]]})") << false;
    QTest::newRow("metadata absent")
        << QByteArray(R"({"metadata":{"user_id":"*"}})") << QByteArray("{}") << false;
    QTest::newRow("metadata other field only")
        << QByteArray(R"({"metadata":{"user_id":"*"}})")
        << QByteArray(R"({"metadata":[["env","prod"]]})") << false;
    QTest::newRow("metadata * present empty") << QByteArray(R"({"metadata":{"env":"*"}})")
                                              << QByteArray(R"({"metadata":[["env",""]]})") << true;
    QTest::newRow("metadata list") << QByteArray(R"({"metadata":{"env":["staging","prod"]}})")
                                   << QByteArray(R"({"metadata":[["env","prod"]]})") << true;
    QTest::newRow("metadata all must hold")
        << QByteArray(R"({"metadata":{"user_id":"batch-*","env":"prod"}})")
        << QByteArray(R"({"metadata":[["user_id","batch-7"],["env","dev"]]})") << false;
    QTest::newRow("metadata all hold")
        << QByteArray(R"({"metadata":{"user_id":"batch-*","env":"prod"}})")
        << QByteArray(R"({"metadata":[["env","prod"],["user_id","batch-7"]]})") << true;
    QTest::newRow("metadata repeated field, any value")
        << QByteArray(R"({"metadata":{"user_id":"batch-*"}})")
        << QByteArray(R"({"metadata":[["user_id","alice"],["user_id","batch-7"]]})") << true;
    QTest::newRow("metadata is not the principal's user")
        << QByteArray(R"({"metadata":{"user_id":"alice"}})") << QByteArray(R"({"user":"alice"})")
        << false;
    QTest::newRow("metadata json member")
        << QByteArray(R"({"metadata":{"user_id.account_uuid":"acct-1*"}})")
        << QByteArray(
               R"({"metadata":[["user_id","{\"device_id\":\"d9\",\"account_uuid\":\"acct-123\"}"]]})")
        << true;
    QTest::newRow("metadata json member !=")
        << QByteArray(R"({"metadata":{"user_id.account_uuid":"acct-9*"}})")
        << QByteArray(R"({"metadata":[["user_id","{\"account_uuid\":\"acct-123\"}"]]})") << false;
    QTest::newRow("metadata json member absent")
        << QByteArray(R"({"metadata":{"user_id.account_uuid":"*"}})")
        << QByteArray(R"({"metadata":[["user_id","{\"device_id\":\"d9\"}"]]})") << false;
    QTest::newRow("metadata json member not a string")
        << QByteArray(R"({"metadata":{"user_id.account_uuid":"*"}})")
        << QByteArray(R"({"metadata":[["user_id","{\"account_uuid\":7}"]]})") << false;
    QTest::newRow("metadata json member of plain text")
        << QByteArray(R"({"metadata":{"user_id.account_uuid":"*"}})")
        << QByteArray(R"({"metadata":[["user_id","user_abc_account_123"]]})") << false;
    QTest::newRow("metadata whole json text by glob")
        << QByteArray(R"({"metadata":{"user_id":"*\"account_uuid\":\"acct-123\"*"}})")
        << QByteArray(R"({"metadata":[["user_id","{\"account_uuid\":\"acct-123\"}"]]})") << true;
    QTest::newRow("metadata dotted name is literal first")
        << QByteArray(R"({"metadata":{"app.version":"2.*"}})")
        << QByteArray(R"({"metadata":[["app.version","2.1"]]})") << true;
    QTest::newRow("metadata literal dotted field decides")
        << QByteArray(R"({"metadata":{"user_id.account_uuid":"acct-1*"}})")
        << QByteArray(R"({"metadata":[["user_id.account_uuid","other"],)"
                      R"(["user_id","{\"account_uuid\":\"acct-123\"}"]]})")
        << false;

    QTest::newRow("budget_state =") << QByteArray(R"({"budget_state":"downgraded"})")
                                    << QByteArray(R"({"budget_state":"downgraded"})") << true;
    QTest::newRow("budget_state ok")
        << QByteArray(R"({"budget_state":"downgraded"})") << QByteArray("{}") << false;
    QTest::newRow("budget_state ok matches ok")
        << QByteArray(R"({"budget_state":"ok"})") << QByteArray("{}") << true;

    QTest::newRow("api =") << QByteArray(R"({"api":"openai"})") << QByteArray(R"({"api":"openai"})")
                           << true;
    QTest::newRow("api !=") << QByteArray(R"({"api":"openai"})") << QByteArray("{}") << false;

    QTest::newRow("all conditions hold")
        << QByteArray(R"({"priority":"high","plan":"pro","model":"claude-*"})")
        << QByteArray(R"({"priority":"high","plan":"pro","model":"claude-opus-4-1"})") << true;
    QTest::newRow("one condition fails")
        << QByteArray(R"({"priority":"high","plan":"pro","model":"claude-*"})")
        << QByteArray(R"({"priority":"high","plan":"free","model":"claude-opus-4-1"})") << false;
}

void TestRouter::matchConditions()
{
    QFETCH(QByteArray, match);
    QFETCH(QByteArray, request);
    QFETCH(bool, matched);

    const RoutingPolicy policy = policyFrom(R"([{"name":"rule","match":)" + match +
                                            R"(,"targets":["claude-3-haiku-20240307"]}])");
    const RouteDecision decision = routeWith(policy, request);
    QCOMPARE(decision.ruleName, matched ? QStringLiteral("rule") : QString());
    QCOMPARE(decision.ruleIndex, matched ? 0 : -1);
    if (matched)
        QCOMPARE(decision.chain, QStringList{kHaiku});
}

void TestRouter::firstMatchWins()
{
    const QByteArray a = R"({"name":"a","match":{"plan":"pro"},"targets":["gpt-4o"]})";
    const QByteArray b = R"({"name":"b","match":{"user":"alice"},"targets":["o3"]})";
    const QByteArray both = R"({"plan":"pro","user":"alice"})";

    RouteDecision decision = routeWith(policyFrom("[" + a + "," + b + "]"), both);
    QCOMPARE(decision.ruleName, QStringLiteral("a"));
    QCOMPARE(decision.ruleIndex, 0);
    QCOMPARE(decision.chain, QStringList{QStringLiteral("gpt-4o")});

    decision = routeWith(policyFrom("[" + b + "," + a + "]"), both);
    QCOMPARE(decision.ruleName, QStringLiteral("b"));
    QCOMPARE(decision.chain, QStringList{QStringLiteral("o3")});

    // A later rule still gets the requests the first one lets through.
    decision = routeWith(policyFrom("[" + a + "," + b + "]"), R"({"user":"alice"})");
    QCOMPARE(decision.ruleName, QStringLiteral("b"));
    QCOMPARE(decision.ruleIndex, 1);
}

void TestRouter::noRuleMatchedKeepsRequestedModel()
{
    const RouteDecision decision =
        routeWith(RoutingPolicy(), R"({"model":"claude-haiku-3-20240307","max_tokens":77})");
    QVERIFY(decision.ruleName.isEmpty());
    QCOMPARE(decision.ruleIndex, -1);
    QCOMPARE(decision.chain, QStringList{kHaiku});
    QCOMPARE(decision.maxTokens, 77);
    QCOMPARE(decision.reason, QStringLiteral("no rule matched"));
}

void TestRouter::reference_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<QString>("rule");
    QTest::addColumn<QStringList>("chain");

    QTest::newRow("high -> sonnet")
        << QByteArray(R"({"priority":"high","model":"claude-3-haiku-20240307"})") << "priority-high"
        << QStringList{kSonnet};
    QTest::newRow("high auto -> sonnet")
        << QByteArray(R"({"priority":"high","model":"auto","complexity":0.1})") << "priority-high"
        << QStringList{kSonnet};
    QTest::newRow("strict -> haiku")
        << QByteArray(R"({"budget":"strict","model":"claude-opus-4-1"})") << "budget-strict"
        << QStringList{kHaiku};
    QTest::newRow("strict auto complex -> haiku")
        << QByteArray(R"({"budget":"strict","model":"auto","complexity":0.95})") << "budget-strict"
        << QStringList{kHaiku};
    QTest::newRow("high beats strict") << QByteArray(R"({"priority":"high","budget":"strict"})")
                                       << "priority-high" << QStringList{kSonnet};
    QTest::newRow("auto complex -> sonnet") << QByteArray(R"({"model":"auto","complexity":0.9})")
                                            << "auto-complex" << QStringList{kSonnet};
    QTest::newRow("auto at threshold -> haiku")
        << QByteArray(R"({"model":"auto","complexity":0.7})") << "auto-simple"
        << QStringList{kHaiku};
    QTest::newRow("auto simple -> haiku") << QByteArray(R"({"model":"auto","complexity":0.2})")
                                          << "auto-simple" << QStringList{kHaiku};
    QTest::newRow("auto estimated complex -> sonnet")
        << QByteArray(
               R"({"model":"auto","prompt_chars":20000,"messages":12,"tools":5,"code_blocks":4})")
        << "auto-complex" << QStringList{kSonnet};
    QTest::newRow("auto estimated hi -> haiku")
        << QByteArray(R"({"model":"auto","prompt_chars":2})") << "auto-simple"
        << QStringList{kHaiku};
    QTest::newRow("low/flexible hints auto -> by complexity")
        << QByteArray(R"({"model":"auto","priority":"low","budget":"flexible","complexity":0.8})")
        << "auto-complex" << QStringList{kSonnet};
    QTest::newRow("concrete model kept")
        << QByteArray(R"({"model":"claude-opus-4-1-20250805"})") << "requested"
        << QStringList{QStringLiteral("claude-opus-4-1-20250805")};
    QTest::newRow("concrete complex model kept")
        << QByteArray(R"({"model":"claude-3-haiku-20240307","complexity":0.99})") << "requested"
        << QStringList{kHaiku};
    QTest::newRow("concrete with low priority kept")
        << QByteArray(R"({"model":"claude-sonnet-4-5","priority":"low"})") << "requested"
        << QStringList{QStringLiteral("claude-sonnet-4-5-20250929")};
    QTest::newRow("alias -> canonical") << QByteArray(R"({"model":"claude-haiku-3-20240307"})")
                                        << "requested" << QStringList{kHaiku};
    QTest::newRow("sonnet alias -> canonical")
        << QByteArray(R"({"model":"claude-sonnet-4-0"})") << "requested" << QStringList{kSonnet};
    QTest::newRow("dated variant kept as given")
        << QByteArray(R"({"model":"gpt-4o-2024-08-06","api":"openai"})") << "requested"
        << QStringList{QStringLiteral("gpt-4o-2024-08-06")};
    QTest::newRow("unknown model kept as given")
        << QByteArray(R"({"model":"my-finetune"})") << "requested"
        << QStringList{QStringLiteral("my-finetune")};
    QTest::newRow("openai high keeps its model")
        << QByteArray(R"({"model":"gpt-4o","api":"openai","priority":"high"})") << "requested"
        << QStringList{QStringLiteral("gpt-4o")};
    QTest::newRow("openai strict keeps its model")
        << QByteArray(R"({"model":"gpt-4o","api":"openai","budget":"strict"})") << "requested"
        << QStringList{QStringLiteral("gpt-4o")};
    QTest::newRow("openai auto has no target")
        << QByteArray(R"({"model":"auto","api":"openai"})") << "requested" << QStringList{};
}

void TestRouter::reference()
{
    QFETCH(QByteArray, request);
    QFETCH(QString, rule);
    QFETCH(QStringList, chain);

    const RouteDecision decision = routeWith(RoutingPolicy::reference(), request);
    QCOMPARE(decision.ruleName, rule);
    QCOMPARE(decision.chain, chain);
}

void TestRouter::referenceReasons()
{
    const RoutingPolicy policy = RoutingPolicy::reference();
    QCOMPARE(routeWith(policy, R"({"priority":"high"})").reason,
             QStringLiteral("priority=high, api=anthropic"));
    QCOMPARE(routeWith(policy, R"({"budget":"strict"})").reason,
             QStringLiteral("budget=strict, api=anthropic"));
    QCOMPARE(routeWith(policy, R"({"model":"auto","complexity":0.9})").reason,
             QStringLiteral("model=auto, complexity=0.90>0.70, api=anthropic"));
    QCOMPARE(routeWith(policy, R"({"model":"auto","prompt_chars":20000,"messages":12,"tools":5,)"
                               R"("code_blocks":4})")
                 .reason,
             QStringLiteral("model=auto, complexity=0.73>0.70 (estimated), api=anthropic"));
    QCOMPARE(routeWith(policy, R"({"model":"auto"})").reason,
             QStringLiteral("model=auto, api=anthropic"));
    QCOMPARE(routeWith(policy, R"({"model":"claude-opus-4-1"})").reason, QStringLiteral("default"));
    QCOMPARE(routeWith(policy, R"({"model":"auto","api":"openai"})").reason,
             QStringLiteral("default; no upstream model for \"auto\""));
}

void TestRouter::referenceIsValidAndRoundTrips()
{
    const QJsonArray routes = RoutingPolicy::reference().toJson();
    const QList<Error> errors = RoutingPolicy::validate(routes, kRoutes, PriceTable::builtin());
    for (const Error &error : errors)
        qWarning("%s", qPrintable(error.toString()));
    QVERIFY(errors.isEmpty());

    auto parsed = RoutingPolicy::fromJson(routes, kRoutes, PriceTable::builtin());
    QVERIFY(parsed.ok());
    QCOMPARE(parsed->toJson(), routes);
    QCOMPARE(parsed->rules().size(), 5);
    QCOMPARE(parsed->rules().last().name, QStringLiteral("requested"));
    QVERIFY(parsed->rules().last().match.isEmpty());
    QCOMPARE(parsed->routerModels(), QStringList{QStringLiteral("auto")});
}

void TestRouter::configurableRouterModels()
{
    const QStringList routers = {QStringLiteral("auto"), QStringLiteral("tollgate-router")};
    const RoutingPolicy policy = RoutingPolicy::reference(routers);
    QCOMPARE(policy.routerModels(), routers);

    RouteDecision decision = routeWith(policy, R"({"model":"tollgate-router","complexity":0.9})");
    QCOMPARE(decision.ruleName, QStringLiteral("auto-complex"));
    QCOMPARE(decision.chain, QStringList{kSonnet});
    decision = routeWith(policy, R"({"model":"tollgate-router","complexity":0.1})");
    QCOMPARE(decision.chain, QStringList{kHaiku});

    // The default set does not know that name: it is an unknown concrete model, kept.
    decision = routeWith(RoutingPolicy::reference(), R"({"model":"tollgate-router"})");
    QCOMPARE(decision.ruleName, QStringLiteral("requested"));

    // A router model is never a target.
    const QList<Error> errors =
        RoutingPolicy::validate(json(R"([{"name":"r","targets":["tollgate-router"]}])"), kRoutes,
                                PriceTable::builtin(), routers);
    QCOMPARE(errors.size(), 1);
    QCOMPARE(errors.first().path, QStringLiteral("routes[0].targets[0]"));
}

void TestRouter::chainResolvesAliasesAndDropsRepeats()
{
    const RoutingPolicy policy = policyFrom(
        R"([{"name":"fallbacks","match":{"plan":"pro"},)"
        R"("targets":["claude-sonnet-4-0","$requested","claude-haiku-3-20240307","gpt-4o-2024-08-06"]},)"
        R"({"name":"requested-first","targets":["$requested","claude-3-haiku-20240307"]}])");

    RouteDecision decision = routeWith(policy, R"({"plan":"pro","model":"claude-opus-4-0"})");
    QCOMPARE(decision.chain, (QStringList{kSonnet, QStringLiteral("claude-opus-4-20250514"), kHaiku,
                                          QStringLiteral("gpt-4o-2024-08-06")}));

    // "$requested" naming the primary again is not a fallback.
    decision = routeWith(policy, R"({"plan":"pro","model":"claude-sonnet-4-20250514"})");
    QCOMPARE(decision.chain, (QStringList{kSonnet, kHaiku, QStringLiteral("gpt-4o-2024-08-06")}));

    decision = routeWith(policy, R"({"model":"claude-haiku-3-20240307"})");
    QCOMPARE(decision.ruleName, QStringLiteral("requested-first"));
    QCOMPARE(decision.chain, QStringList{kHaiku});
}

void TestRouter::routerModelNeverGoesUpstream()
{
    const RoutingPolicy policy =
        policyFrom(R"([{"name":"pass","targets":["$requested","claude-3-haiku-20240307"]}])");
    RouteDecision decision = routeWith(policy, R"({"model":"auto"})");
    QCOMPARE(decision.chain, QStringList{kHaiku});

    const RoutingPolicy passOnly = policyFrom(R"([{"name":"pass","targets":["$requested"]}])");
    decision = routeWith(passOnly, R"({"model":"auto"})");
    QCOMPARE(decision.ruleName, QStringLiteral("pass"));
    QVERIFY(decision.chain.isEmpty());
    QVERIFY(decision.reason.contains(QLatin1String("no upstream model")));

    decision = routeWith(RoutingPolicy(), R"({"model":"auto"})");
    QVERIFY(decision.chain.isEmpty());
}

void TestRouter::maxTokensTransforms_data()
{
    QTest::addColumn<QByteArray>("transform");
    QTest::addColumn<int>("requested"); // 0: the request has none
    QTest::addColumn<int>("expected");

    QTest::newRow("no transform, none") << QByteArray() << 0 << 0;
    QTest::newRow("no transform, kept") << QByteArray() << 9000 << 9000;
    QTest::newRow("default fills in") << QByteArray(R"({"default":1024})") << 0 << 1024;
    QTest::newRow("default leaves a value") << QByteArray(R"({"default":1024})") << 50 << 50;
    QTest::newRow("default leaves a larger value")
        << QByteArray(R"({"default":1024})") << 8000 << 8000;
    QTest::newRow("clamp above") << QByteArray(R"({"clamp":4096})") << 8000 << 4096;
    QTest::newRow("clamp at") << QByteArray(R"({"clamp":4096})") << 4096 << 4096;
    QTest::newRow("clamp below") << QByteArray(R"({"clamp":4096})") << 100 << 100;
    QTest::newRow("clamp caps a missing value") << QByteArray(R"({"clamp":4096})") << 0 << 4096;
    QTest::newRow("both, none") << QByteArray(R"({"default":1024,"clamp":4096})") << 0 << 1024;
    QTest::newRow("both, above") << QByteArray(R"({"default":1024,"clamp":4096})") << 32000 << 4096;
    QTest::newRow("both, between")
        << QByteArray(R"({"default":1024,"clamp":4096})") << 2000 << 2000;
}

void TestRouter::maxTokensTransforms()
{
    QFETCH(QByteArray, transform);
    QFETCH(int, requested);
    QFETCH(int, expected);

    QByteArray rule = R"({"name":"t","targets":["$requested"])";
    if (!transform.isEmpty())
        rule += R"(,"max_tokens":)" + transform;
    rule += "}";
    const RoutingPolicy policy = policyFrom("[" + rule + "]");
    const RouteDecision decision =
        routeWith(policy, R"({"model":"claude-3-haiku-20240307","max_tokens":)" +
                              QByteArray::number(requested) + "}");
    QCOMPARE(decision.ruleName, QStringLiteral("t"));
    QCOMPARE(decision.maxTokens, expected);

    // Only the rule that matched transforms.
    const RoutingPolicy earlier = policyFrom(R"([{"name":"first","targets":["$requested"]},)" +
                                             rule.replace("\"t\"", "\"second\"") + "]");
    QCOMPARE(
        routeWith(earlier, R"({"max_tokens":)" + QByteArray::number(requested) + "}").maxTokens,
        requested);
}

void TestRouter::reportsComplexityUsed()
{
    const RoutingPolicy policy = RoutingPolicy::reference();
    RouteDecision decision = routeWith(policy, R"({"model":"auto","complexity":0.42})");
    QCOMPARE(decision.complexityUsed, 0.42);
    QVERIFY(!decision.complexityEstimated);

    decision = routeWith(policy, R"({"model":"auto","prompt_chars":2})");
    QCOMPARE(decision.complexityUsed, 0.0);
    QVERIFY(decision.complexityEstimated);

    // Caller-given complexity wins over the estimate, in both directions.
    decision = routeWith(policy, R"({"model":"auto","complexity":0.1,"prompt_chars":20000,)"
                                 R"("messages":12,"tools":5,"code_blocks":4})");
    QCOMPARE(decision.ruleName, QStringLiteral("auto-simple"));
    decision = routeWith(policy, R"({"model":"auto","complexity":0.8,"prompt_chars":2})");
    QCOMPARE(decision.ruleName, QStringLiteral("auto-complex"));
}

void TestRouter::validationErrors_data()
{
    QTest::addColumn<QByteArray>("routes");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("message");

    auto third = [](const QByteArray &rule) {
        return "[" + validRule(0) + "," + validRule(1) + "," + rule + "]";
    };
    auto withMatch = [](const QByteArray &match) {
        return R"([{"name":"r","match":)" + match + R"(,"targets":["claude-3-haiku-20240307"]}])";
    };
    auto withTargets = [](const QByteArray &targets) {
        return R"([{"name":"r","targets":)" + targets + "}]";
    };
    auto withMaxTokens = [](const QByteArray &maxTokens) {
        return R"([{"name":"r","targets":["$requested"],"max_tokens":)" + maxTokens + "}]";
    };

    QTest::newRow("not an array") << QByteArray("{}") << "routes"
                                  << "expected an array of rules";
    QTest::newRow("rule not an object") << QByteArray("[1]") << "routes[0]"
                                        << "expected an object";
    QTest::newRow("unknown rule field")
        << third(R"({"name":"r","targets":["$requested"],"targts":[]})") << "routes[2].targts"
        << "unknown field";
    QTest::newRow("name missing") << third(R"({"targets":["$requested"]})") << "routes[2].name"
                                  << "required";
    QTest::newRow("name empty") << third(R"({"name":" ","targets":["$requested"]})")
                                << "routes[2].name"
                                << "expected a non-empty string";
    QTest::newRow("name repeated")
        << third(R"({"name":"ok1","targets":["$requested"]})") << "routes[2].name"
        << "duplicate rule name \"ok1\"";
    QTest::newRow("description") << third(
                                        R"({"name":"r","description":5,"targets":["$requested"]})")
                                 << "routes[2].description"
                                 << "expected a string";

    QTest::newRow("targets missing") << third(R"({"name":"r"})") << "routes[2].targets"
                                     << "required";
    QTest::newRow("targets empty") << withTargets("[]") << "routes[0].targets"
                                   << "expected a non-empty list of models";
    QTest::newRow("targets not a list")
        << withTargets(R"("claude-3-haiku-20240307")") << "routes[0].targets"
        << "expected a non-empty list of models";
    QTest::newRow("target not a string") << withTargets("[7]") << "routes[0].targets[0]"
                                         << "expected a model name or \"$requested\"";
    QTest::newRow("target unknown")
        << withTargets(R"(["claude-3-haiku-20240307","claude-9"])") << "routes[0].targets[1]"
        << "unknown model \"claude-9\" (not in the price table)";
    QTest::newRow("target router model") << withTargets(R"(["auto"])") << "routes[0].targets[0]"
                                         << "\"auto\" is a router model, not an upstream model";
    QTest::newRow("target repeated by alias")
        << withTargets(R"(["claude-3-haiku-20240307","claude-haiku-3-20240307"])")
        << "routes[0].targets[1]"
        << "\"claude-haiku-3-20240307\" repeats routes[0].targets[0]";
    QTest::newRow("$requested repeated")
        << withTargets(R"(["$requested","$requested"])") << "routes[0].targets[1]"
        << "\"$requested\" repeats routes[0].targets[0]";

    QTest::newRow("match not an object") << withMatch("[]") << "routes[0].match"
                                         << "expected an object";
    QTest::newRow("unknown condition")
        << withMatch(R"({"priorty":"high"})") << "routes[0].match.priorty"
        << "unknown condition";
    QTest::newRow("priority")
        << third(R"({"name":"r","match":{"priority":"urgent"},"targets":["$requested"]})")
        << "routes[2].match.priority"
        << "expected one of low, medium, high";
    QTest::newRow("priority list entry")
        << withMatch(R"({"priority":["high","max"]})") << "routes[0].match.priority[1]"
        << "expected one of low, medium, high";
    QTest::newRow("priority empty list")
        << withMatch(R"({"priority":[]})") << "routes[0].match.priority"
        << "expected one of low, medium, high";
    QTest::newRow("priority not a string")
        << withMatch(R"({"priority":3})") << "routes[0].match.priority"
        << "expected one of low, medium, high";
    QTest::newRow("budget") << withMatch(R"({"budget":"tight"})") << "routes[0].match.budget"
                            << "expected one of strict, flexible";
    QTest::newRow("budget_state") << withMatch(R"({"budget_state":"blocked"})")
                                  << "routes[0].match.budget_state"
                                  << "expected one of ok, downgraded";
    QTest::newRow("api") << withMatch(R"({"api":"gemini"})") << "routes[0].match.api"
                         << "expected one of anthropic, openai";
    QTest::newRow("complexity_above range")
        << withMatch(R"({"complexity_above":1.5})") << "routes[0].match.complexity_above"
        << "expected a number from 0 to 1";
    QTest::newRow("complexity_above type")
        << withMatch(R"({"complexity_above":"0.5"})") << "routes[0].match.complexity_above"
        << "expected a number from 0 to 1";
    QTest::newRow("complexity_at_most range")
        << withMatch(R"({"complexity_at_most":-0.1})") << "routes[0].match.complexity_at_most"
        << "expected a number from 0 to 1";
    QTest::newRow("complexity empty range")
        << withMatch(R"({"complexity_above":0.7,"complexity_at_most":0.7})")
        << "routes[0].match.complexity_above"
        << "must be less than complexity_at_most (0.7), or the rule never matches";
    QTest::newRow("model type") << withMatch(R"({"model":5})") << "routes[0].match.model"
                                << "expected a non-empty string, or a non-empty list of them";
    QTest::newRow("model empty list") << withMatch(R"({"model":[]})") << "routes[0].match.model"
                                      << "expected a non-empty string, or a non-empty list of them";
    QTest::newRow("model empty entry")
        << withMatch(R"({"model":["gpt-4o",""]})") << "routes[0].match.model[1]"
        << "expected a non-empty string";
    QTest::newRow("plan") << withMatch(R"({"plan":{}})") << "routes[0].match.plan"
                          << "expected a non-empty string, or a non-empty list of them";
    QTest::newRow("user") << withMatch(R"({"user":""})") << "routes[0].match.user"
                          << "expected a non-empty string";
    QTest::newRow("team") << withMatch(R"({"team":true})") << "routes[0].match.team"
                          << "expected a non-empty string, or a non-empty list of them";
    QTest::newRow("key") << withMatch(R"({"key":[1]})") << "routes[0].match.key[0]"
                         << "expected a non-empty string";
    QTest::newRow("header type") << withMatch(R"({"header":"x-team"})") << "routes[0].match.header"
                                 << "expected an object of header name to value pattern";
    QTest::newRow("header empty") << withMatch(R"({"header":{}})") << "routes[0].match.header"
                                  << "expected an object of header name to value pattern";
    QTest::newRow("header name") << withMatch(R"({"header":{"x team":"ml"}})")
                                 << "routes[0].match.header.x team"
                                 << "expected a header name";
    QTest::newRow("header value") << withMatch(R"({"header":{"x-team":3}})")
                                  << "routes[0].match.header.x-team"
                                  << "expected a non-empty string, or a non-empty list of them";
    QTest::newRow("metadata type")
        << withMatch(R"({"metadata":"user_id"})") << "routes[0].match.metadata"
        << "expected an object of metadata field name to value pattern";
    QTest::newRow("metadata list")
        << withMatch(R"({"metadata":[{"user_id":"a"}]})") << "routes[0].match.metadata"
        << "expected an object of metadata field name to value pattern";
    QTest::newRow("metadata empty") << withMatch(R"({"metadata":{}})") << "routes[0].match.metadata"
                                    << "expected an object of metadata field name to value pattern";
    QTest::newRow("metadata field name")
        << third(R"({"name":"r","match":{"metadata":{"":"x"}},"targets":["$requested"]})")
        << "routes[2].match.metadata."
        << "expected a metadata field name";
    QTest::newRow("metadata value number")
        << withMatch(R"({"metadata":{"user_id":42}})") << "routes[0].match.metadata.user_id"
        << "expected a non-empty string, or a non-empty list of them";
    QTest::newRow("metadata value empty")
        << withMatch(R"({"metadata":{"user_id":""}})") << "routes[0].match.metadata.user_id"
        << "expected a non-empty string";
    QTest::newRow("metadata value list entry")
        << withMatch(R"({"metadata":{"env":["prod",null]}})") << "routes[0].match.metadata.env[1]"
        << "expected a non-empty string";

    QTest::newRow("max_tokens type") << withMaxTokens("1024") << "routes[0].max_tokens"
                                     << "expected an object";
    QTest::newRow("max_tokens unknown")
        << withMaxTokens(R"({"maximum":5})") << "routes[0].max_tokens.maximum"
        << "unknown field";
    QTest::newRow("max_tokens default zero")
        << withMaxTokens(R"({"default":0})") << "routes[0].max_tokens.default"
        << "expected a positive integer";
    QTest::newRow("max_tokens clamp fraction")
        << withMaxTokens(R"({"clamp":1.5})") << "routes[0].max_tokens.clamp"
        << "expected a positive integer";
    QTest::newRow("max_tokens clamp string")
        << withMaxTokens(R"({"clamp":"4096"})") << "routes[0].max_tokens.clamp"
        << "expected a positive integer";
    QTest::newRow("max_tokens default over clamp")
        << withMaxTokens(R"({"default":2048,"clamp":100})") << "routes[0].max_tokens.default"
        << "must not exceed clamp (100)";
}

void TestRouter::validationErrors()
{
    QFETCH(QByteArray, routes);
    QFETCH(QString, path);
    QFETCH(QString, message);

    const QList<Error> errors =
        RoutingPolicy::validate(json(routes), kRoutes, PriceTable::builtin());
    QStringList all;
    for (const Error &error : errors)
        all.append(error.toString());
    QVERIFY2(errors.size() == 1, qPrintable(all.join(QLatin1Char('\n'))));
    QCOMPARE(errors.first().path, path);
    QCOMPARE(errors.first().message, message);

    const auto parsed = RoutingPolicy::fromJson(json(routes), kRoutes, PriceTable::builtin());
    QVERIFY(!parsed.ok());
    QCOMPARE(parsed.error().message, path + QStringLiteral(": ") + message);
}

void TestRouter::reportsEveryProblem()
{
    const QByteArray routes = R"([
        {"name":"a","match":{"priority":"urgent","budget":"tight"},"targets":["claude-9"]},
        {"name":"a","targets":["$requested"],"max_tokens":{"clamp":0}},
        {"match":{"complexity_above":2}}
    ])";
    const QList<Error> errors =
        RoutingPolicy::validate(json(routes), kRoutes, PriceTable::builtin());
    QStringList lines;
    for (const Error &error : errors)
        lines.append(error.toString());
    // One line per problem, in document order within each rule; QJsonObject orders keys.
    const QStringList expected = {
        QStringLiteral("routes[0].match.budget: expected one of strict, flexible"),
        QStringLiteral("routes[0].match.priority: expected one of low, medium, high"),
        QStringLiteral("routes[0].targets[0]: unknown model \"claude-9\" (not in the price table)"),
        QStringLiteral("routes[1].max_tokens.clamp: expected a positive integer"),
        QStringLiteral("routes[1].name: duplicate rule name \"a\""),
        QStringLiteral("routes[2].match.complexity_above: expected a number from 0 to 1"),
        QStringLiteral("routes[2].name: required"),
        QStringLiteral("routes[2].targets: required"),
    };
    QCOMPARE(lines, expected);

    const auto parsed = RoutingPolicy::fromJson(json(routes), kRoutes, PriceTable::builtin());
    QVERIFY(!parsed.ok());
    QCOMPARE(parsed.error().message, expected.join(QLatin1Char('\n')));
    QVERIFY(parsed.error().path.isEmpty());
}

void TestRouter::toJsonRoundTripsEveryCondition()
{
    const QByteArray routes = R"([{"name":"everything","description":"all of it",
        "match":{"priority":["low","medium"],"budget":"flexible","complexity_above":0.2,
                 "complexity_at_most":0.9,"model":["auto","claude-*"],"plan":"pro",
                 "user":["alice","bob"],"team":"ml","key":"ci-*",
                 "header":{"x-env":"prod","user-agent":["curl/*","python-*"]},
                 "metadata":{"user_id":"batch-*","env":["prod","staging"],
                             "user_id.account_uuid":"acct-*"},
                 "budget_state":"downgraded","api":"anthropic"},
        "targets":["claude-sonnet-4-0","$requested"],
        "max_tokens":{"default":512,"clamp":2048}}])";
    const RoutingPolicy policy = policyFrom(routes);
    const QJsonArray out = policy.toJson();
    QCOMPARE(out, json(routes).toArray());
    QCOMPARE(policyFrom(QJsonDocument(out).toJson()).toJson(), out);
}

void TestRouter::globMatching_data()
{
    QTest::addColumn<QString>("pattern");
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("matched");

    QTest::newRow("literal") << "gpt-4o"
                             << "gpt-4o" << true;
    QTest::newRow("literal longer") << "gpt-4o"
                                    << "gpt-4o-mini" << false;
    QTest::newRow("case-sensitive") << "GPT-4o"
                                    << "gpt-4o" << false;
    QTest::newRow("star empty") << "*"
                                << "" << true;
    QTest::newRow("star all") << "*"
                              << "anything/at all" << true;
    QTest::newRow("prefix") << "claude-*"
                            << "claude-3-haiku" << true;
    QTest::newRow("prefix exact") << "claude-*"
                                  << "claude-" << true;
    QTest::newRow("prefix miss") << "claude-*"
                                 << "claud" << false;
    QTest::newRow("suffix") << "*-mini"
                            << "gpt-4o-mini" << true;
    QTest::newRow("middle") << "a*b*c"
                            << "abxbc" << true;
    QTest::newRow("backtrack") << "*ab"
                               << "aab" << true;
    QTest::newRow("backtrack miss") << "a*b*c"
                                    << "abxbd" << false;
    QTest::newRow("question") << "o?-mini"
                              << "o3-mini" << true;
    QTest::newRow("question needs one") << "o?-mini"
                                        << "o-mini" << false;
    QTest::newRow("slash") << "*/gpt-*"
                           << "openai/gpt-4o" << true;
    QTest::newRow("bracket literal") << "model[1]"
                                     << "model[1]" << true;
    QTest::newRow("bracket not a class") << "model[12]"
                                         << "model1" << false;
}

void TestRouter::globMatching()
{
    QFETCH(QString, pattern);
    QFETCH(QString, text);
    QFETCH(bool, matched);
    QCOMPARE(tollgate::routing::globMatch(pattern, text), matched);
    QCOMPARE(tollgate::routing::isGlob(pattern),
             pattern.contains(QLatin1Char('*')) || pattern.contains(QLatin1Char('?')));
}

QTEST_GUILESS_MAIN(TestRouter)
#include "tst_router.moc"
