// What the console's policy editor edits: the editable sections of the running policy, checked
// with every problem at its path, put in force without touching the server's own settings, and
// saved to and read from policy files.

#include "gateway/policyedit.h"
#include "policy/jsonpath.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest/QtTest>

using namespace tollgate;

namespace {

QJsonObject edited(const QJsonObject &document, const char *path, const QJsonValue &value)
{
    auto changed = policy::withValueAtPath(document, QLatin1String(path), value);
    return changed ? changed->toObject() : QJsonObject();
}

/// A running policy with server settings of its own and a resolved provider key.
gateway::PolicyDocument serverPolicy()
{
    gateway::PolicyDocument running;
    running.gateway.listenPort = 9123;
    running.gateway.workers = 3;
    running.gateway.dataDir = QStringLiteral("/var/lib/tollgate-test");
    running.gateway.defaultMaxTokens = 2048;
    policy::ProviderConfig *anthropic =
        policy::findProvider(running.gateway, QStringLiteral("anthropic"));
    anthropic->apiKey = QByteArrayLiteral("sk-ant-secret-value");
    anthropic->keySource = QStringLiteral("test");
    return running;
}

QStringList pathsOf(const QList<Error> &problems)
{
    QStringList paths;
    for (const Error &problem : problems)
        paths.append(problem.path);
    return paths;
}

} // namespace

class TestPolicyEdit : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void theEditableSectionsAreTheEditorsOnly();
    void anUnchangedDocumentIsTheRunningPolicy();
    void anEditChangesThatSectionAndKeepsTheServersSettings();
    void everyProblemComesWithItsPath();
    void aFileReadsOverTheReferenceDefaults();
    void aFileThatIsNotAPolicyIsRefused();
    void saveThenReadRoundTripsWithoutSecrets();
    void renamingAPlanFollowsItsReferences();
    void renamingAPlanIsRefusedWithoutOneOrOverAnother();
    void renamingAModelFollowsItsReferences();
    void fixedChoicesComeFromTheSchemaAndTheDocument();
};

void TestPolicyEdit::theEditableSectionsAreTheEditorsOnly()
{
    const QJsonObject document = gateway::editablePolicy(serverPolicy());
    for (const char *section : {"routes", "models", "plans", "default_plan", "budgets", "alerts",
                                "cache", "retries", "breakers", "version"})
        QVERIFY2(document.contains(QLatin1String(section)), section);
    for (const char *server : {"gateway", "providers", "log", "state"})
        QVERIFY2(!document.contains(QLatin1String(server)), server);
}

void TestPolicyEdit::anUnchangedDocumentIsTheRunningPolicy()
{
    const gateway::PolicyDocument running = serverPolicy();
    QList<Error> problems;
    auto applied = gateway::editedPolicy(gateway::editablePolicy(running), running, &problems);
    QVERIFY2(applied, qPrintable(applied ? QString() : applied.error().toString()));
    QVERIFY(problems.isEmpty());
    QCOMPARE(gateway::effectivePolicy(*applied), gateway::effectivePolicy(running));
}

void TestPolicyEdit::anEditChangesThatSectionAndKeepsTheServersSettings()
{
    const gateway::PolicyDocument running = serverPolicy();
    QJsonObject document = gateway::editablePolicy(running);
    document = edited(document, "routes[0].targets[0]", QStringLiteral("claude-3-haiku-20240307"));
    document = edited(document, "cache.ttl_seconds", 60);
    document = edited(document, "plans.free.requests_per_hour", 7);
    auto applied = gateway::editedPolicy(document, running);
    QVERIFY2(applied, qPrintable(applied ? QString() : applied.error().toString()));
    const QJsonObject effective = gateway::effectivePolicy(*applied);
    QCOMPARE(policy::valueAtPath(effective, QStringLiteral("routes[0].targets[0]")).toString(),
             QStringLiteral("claude-3-haiku-20240307"));
    QCOMPARE(applied->cache.toJson().value(u"ttl_seconds").toInt(), 60);
    QCOMPARE(policy::valueAtPath(effective, QStringLiteral("plans.free.requests_per_hour")).toInt(),
             7);
    // The server's own settings and the resolved key stay as they were.
    QCOMPARE(applied->gateway.listenPort, quint16(9123));
    QCOMPARE(applied->gateway.workers, 3);
    QCOMPARE(applied->gateway.dataDir, QStringLiteral("/var/lib/tollgate-test"));
    QCOMPARE(applied->gateway.defaultMaxTokens, 2048);
    const policy::ProviderConfig *anthropic =
        policy::findProvider(applied->gateway.providers, QStringLiteral("anthropic"));
    QVERIFY(anthropic);
    QCOMPARE(anthropic->apiKey, QByteArrayLiteral("sk-ant-secret-value"));
}

void TestPolicyEdit::everyProblemComesWithItsPath()
{
    const gateway::PolicyDocument running = serverPolicy();
    QJsonObject document = gateway::editablePolicy(running);
    document = edited(document, "routes[1].targets[0]", QStringLiteral("no-such-model"));
    document = edited(document, "plans.free.requests_per_hour", QStringLiteral("lots"));
    document = edited(document, "cache.ttl_seconds", -5);
    QList<Error> problems;
    QVERIFY(!gateway::editedPolicy(document, running, &problems));
    const QStringList paths = pathsOf(problems);
    QVERIFY2(paths.contains(QStringLiteral("routes[1].targets[0]")), qPrintable(paths.join(' ')));
    QVERIFY2(paths.contains(QStringLiteral("plans.free.requests_per_hour")),
             qPrintable(paths.join(' ')));
    QVERIFY2(paths.contains(QStringLiteral("cache.ttl_seconds")), qPrintable(paths.join(' ')));
    QCOMPARE(problems.size(), 3);

    // The server sections are not the editor's: a document that names them is not read for
    // them (they stay the running server's).
    document = gateway::editablePolicy(running);
    document.insert(QStringLiteral("gateway"), QJsonObject{{"listen", "0.0.0.0:1"}});
    auto applied = gateway::editedPolicy(document, running, &problems);
    QVERIFY(applied);
    QCOMPARE(applied->gateway.listenPort, quint16(9123));
}

void TestPolicyEdit::aFileReadsOverTheReferenceDefaults()
{
    QStringList skipped;
    auto read = gateway::editablePolicyFromJson(R"({
        "version": 1,
        "gateway": {"listen": "127.0.0.1:9000"},
        "providers": {},
        "routes": [{"name": "all-haiku", "targets": ["claude-3-haiku-20240307"]}],
        "models": [{"id": "claude-3-haiku-20240307", "provider": "anthropic",
                    "input": 0.5, "output": 2}]
    })",
                                                &skipped);
    QVERIFY(read);
    QCOMPARE(skipped, (QStringList{QStringLiteral("gateway"), QStringLiteral("providers")}));
    QCOMPARE(read->value(u"routes").toArray().size(), 1);
    // Sections the file leaves out are the reference ones.
    const QJsonObject reference = gateway::editablePolicy({});
    QCOMPARE(read->value(u"plans"), reference.value(u"plans"));
    QCOMPARE(read->value(u"cache"), reference.value(u"cache"));
    // Its model replaces the built-in one of that id; the rest of the table stays.
    const QJsonArray models = read->value(u"models").toArray();
    QCOMPARE(models.size(), reference.value(u"models").toArray().size());
    bool found = false;
    for (const QJsonValue &model : models) {
        if (model.toObject().value(u"id").toString() == QLatin1String("claude-3-haiku-20240307")) {
            QCOMPARE(model.toObject().value(u"input").toDouble(), 0.5);
            found = true;
        }
    }
    QVERIFY(found);
    QVERIFY(gateway::editedPolicy(*read, serverPolicy()));
}

void TestPolicyEdit::aFileThatIsNotAPolicyIsRefused()
{
    auto broken = gateway::editablePolicyFromJson("{\"routes\": [");
    QVERIFY(!broken);
    QVERIFY(broken.error().message.startsWith(QStringLiteral("not valid JSON")));
    QVERIFY(!gateway::editablePolicyFromJson("[1, 2]"));
    QTemporaryDir dir;
    auto missing = gateway::readEditablePolicyFile(dir.filePath(QStringLiteral("none.json")));
    QVERIFY(!missing);
    QVERIFY(missing.error().message.startsWith(QStringLiteral("cannot read")));
}

void TestPolicyEdit::saveThenReadRoundTripsWithoutSecrets()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("policy.json"));
    QJsonObject document = gateway::editablePolicy(serverPolicy());
    document = edited(document, "routes[0].name", QStringLiteral("renamed"));
    QVERIFY(gateway::writeEditablePolicyFile(path, document));
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray text = file.readAll();
    QVERIFY(!text.contains("sk-ant-secret-value"));
    QVERIFY(!text.contains("\"providers\""));
    QVERIFY(!text.contains("\"gateway\""));
    QStringList skipped;
    auto read = gateway::readEditablePolicyFile(path, &skipped);
    QVERIFY(read);
    QVERIFY(skipped.isEmpty());
    QCOMPARE(*read, document);
    QVERIFY(!gateway::writeEditablePolicyFile(dir.filePath(QStringLiteral("no/such/dir/p.json")),
                                              document));
}

void TestPolicyEdit::renamingAPlanFollowsItsReferences()
{
    const gateway::PolicyDocument running = serverPolicy();
    QJsonObject document = gateway::editablePolicy(running);
    document = edited(document, "routes[0].match",
                      QJsonObject{{QStringLiteral("plan"), QJsonArray{"pro", "pro*", "free"}}});
    document = edited(
        document, "budgets",
        QJsonArray{
            QJsonObject{{QStringLiteral("name"), QStringLiteral("pro-spend")},
                        {QStringLiteral("scope"), QJsonObject{{QStringLiteral("kind"), "plan"},
                                                              {QStringLiteral("value"), "pro"}}},
                        {QStringLiteral("window"), "day"},
                        {QStringLiteral("limit_usd"), 10}},
            QJsonObject{{QStringLiteral("name"), QStringLiteral("by-model")},
                        {QStringLiteral("scope"), QJsonObject{{QStringLiteral("kind"), "model"},
                                                              {QStringLiteral("value"), "pro"}}},
                        {QStringLiteral("window"), "day"},
                        {QStringLiteral("limit_usd"), 10}}});
    document = edited(document, "default_plan", QStringLiteral("pro"));
    // Absent, local_owner_plan means "local": renaming "local" must keep the owner on it.
    document.remove(QStringLiteral("local_owner_plan"));

    auto renamed =
        gateway::withPlanRenamed(document, QStringLiteral("pro"), QStringLiteral("team"));
    QVERIFY2(renamed, qPrintable(renamed ? QString() : renamed.error().toString()));
    const auto at = [&](const char *path) {
        return policy::valueAtPath(*renamed, QLatin1String(path));
    };
    QVERIFY(at("plans.pro").isUndefined());
    QCOMPARE(at("plans.team"), policy::valueAtPath(document, QStringLiteral("plans.pro")));
    QCOMPARE(at("default_plan").toString(), QStringLiteral("team"));
    // The pattern and the other plan stay as written.
    QCOMPARE(at("routes[0].match.plan"), QJsonValue(QJsonArray{"team", "pro*", "free"}));
    QCOMPARE(at("budgets[0].scope.value").toString(), QStringLiteral("team"));
    // A model that happens to share the name is not the plan.
    QCOMPARE(at("budgets[1].scope.value").toString(), QStringLiteral("pro"));
    QVERIFY(at("local_owner_plan").isUndefined());
    QList<Error> problems;
    gateway::editedPolicy(*renamed, running, &problems);
    QVERIFY2(problems.isEmpty(), qPrintable(pathsOf(problems).join(u' ')));

    auto local = gateway::withPlanRenamed(document, QStringLiteral("local"), QStringLiteral("me"));
    QVERIFY(local);
    QCOMPARE(local->value(u"local_owner_plan").toString(), QStringLiteral("me"));
    QVERIFY(gateway::editedPolicy(*local, running, &problems));
    QVERIFY(problems.isEmpty());
}

void TestPolicyEdit::renamingAPlanIsRefusedWithoutOneOrOverAnother()
{
    const QJsonObject document = gateway::editablePolicy(serverPolicy());
    QVERIFY(!gateway::withPlanRenamed(document, QStringLiteral("gold"), QStringLiteral("x")));
    QVERIFY(!gateway::withPlanRenamed(document, QStringLiteral("pro"), QString()));
    const auto taken =
        gateway::withPlanRenamed(document, QStringLiteral("pro"), QStringLiteral("enterprise"));
    QVERIFY(!taken);
    QCOMPARE(taken.error().message, QStringLiteral("there is a plan \"enterprise\" already"));
}

void TestPolicyEdit::renamingAModelFollowsItsReferences()
{
    const gateway::PolicyDocument running = serverPolicy();
    QJsonObject document = gateway::editablePolicy(running);
    const QString haiku = QStringLiteral("claude-3-haiku-20240307");
    document = edited(document, "routes[0].match",
                      QJsonObject{{QStringLiteral("model"), QJsonArray{haiku, "claude-*"}}});
    document = edited(document, "budgets",
                      QJsonArray{QJsonObject{
                          {QStringLiteral("name"), QStringLiteral("haiku")},
                          {QStringLiteral("scope"), QJsonObject{{QStringLiteral("kind"), "model"},
                                                                {QStringLiteral("value"), haiku}}},
                          {QStringLiteral("window"), "day"},
                          {QStringLiteral("limit_usd"), 10}}});
    auto renamed = gateway::withModelRenamed(document, haiku, QStringLiteral("haiku-house"));
    QVERIFY2(renamed, qPrintable(renamed ? QString() : renamed.error().toString()));
    const QString text = QString::fromUtf8(QJsonDocument(*renamed).toJson(QJsonDocument::Compact));
    QVERIFY2(!text.contains(haiku), qPrintable(text));
    QCOMPARE(policy::valueAtPath(*renamed, QStringLiteral("routes[0].match.model")),
             QJsonValue(QJsonArray{"haiku-house", "claude-*"}));
    QCOMPARE(policy::valueAtPath(*renamed, QStringLiteral("budgets[0].scope.value")).toString(),
             QStringLiteral("haiku-house"));
    // The reference rule "budget-strict" routes to it by name.
    QVERIFY(text.contains(QStringLiteral("\"targets\":[\"haiku-house\"]")));
    QVERIFY(
        !gateway::withModelRenamed(document, haiku, QStringLiteral("claude-sonnet-4-20250514")));
}

void TestPolicyEdit::fixedChoicesComeFromTheSchemaAndTheDocument()
{
    const gateway::PolicyDocument running = serverPolicy();
    QJsonObject document = gateway::editablePolicy(running);
    document = edited(document, "plans.team", QJsonObject{{"requests_per_hour", 5}});
    document = edited(document, "models[0].id", QStringLiteral("house-model"));
    document = edited(document, "budgets[0]",
                      QJsonObject{{"name", "b"}, {"window", "day"}, {"limit_usd", 1}});
    const auto choices = [&](const char *path) {
        return gateway::fieldChoices(document, running, QLatin1String(path));
    };
    const auto has = [](const gateway::FieldChoices &found, const QJsonValue &value) {
        return found.values.contains(value);
    };

    // Closed sets, from the sections' own names.
    const gateway::FieldChoices window = choices("budgets[0].window");
    QCOMPARE(window.values, (QList<QJsonValue>{"hour", "day", "month"}));
    QVERIFY(!window.open && !window.boolean);
    QCOMPARE(choices("budgets[0].alignment").values.size(), 2);
    QVERIFY(has(choices("alerts.rules.HighAILatency.severity"), QStringLiteral("warning")));
    QVERIFY(has(choices("alerts.rules.HighAILatency.kind"), QStringLiteral("latency")));
    QVERIFY(has(choices("models[3].provider"), QStringLiteral("openai")));
    // Plans and models as the document names them now.
    QVERIFY(has(choices("default_plan"), QStringLiteral("team")));
    QVERIFY(!choices("default_plan").open);
    const gateway::FieldChoices targets = choices("routes[1].targets");
    QVERIFY(has(targets, QStringLiteral("house-model")));
    QVERIFY(has(targets, QStringLiteral("$requested")));
    QVERIFY(targets.open); // a chain of several
    const gateway::FieldChoices scope = choices("budgets[0].scope");
    QVERIFY(has(scope, QJsonObject{{"kind", "plan"}, {"value", "team"}}));
    QVERIFY(has(scope, QJsonObject{{"kind", "global"}}));
    QVERIFY(scope.open); // teams, users, keys and model patterns
    // Switches, and fields with no fixed set.
    QVERIFY(choices("alerts.rules.HighAILatency.enabled").boolean);
    QVERIFY(choices("cache.enabled").boolean);
    QVERIFY(choices("plans.team.requests_per_hour").isEmpty());
    QVERIFY(choices("routes[0].name").isEmpty());
}

QTEST_GUILESS_MAIN(TestPolicyEdit)
#include "tst_policyedit.moc"
