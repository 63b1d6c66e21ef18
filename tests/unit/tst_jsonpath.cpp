// JSON paths as the policy's problems spell them: reading and replacing a value at a path, and
// the structured difference between two documents that the policy editor shows.

#include "policy/jsonpath.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest/QtTest>

using namespace tollgate;
using namespace tollgate::policy;

namespace {

QJsonValue json(const char *text)
{
    const QJsonDocument document = QJsonDocument::fromJson(text);
    return document.isArray() ? QJsonValue(document.array()) : QJsonValue(document.object());
}

const char *kRoutes = R"({"routes":[
    {"name":"a","match":{"model":"x"},"targets":["m1","m2"]},
    {"name":"b","match":{},"targets":["$requested"]}],
  "cache":{"ttl_seconds":3600}})";

} // namespace

class TestJsonPath : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void parsesMembersAndIndexes();
    void refusesMalformedPaths();
    void readsTheValueAtAPath();
    void replacesAddsAndRemoves();
    void refusesPathsThatLeadNowhere();
    void knowsWhatLiesWithinAPath();
    void diffsMemberByMemberAndElementByElement();
    void aMovedRuleIsOneMove();
    void namedElementsAreAddedRemovedAndChangedByName();
    void unnamedElementsCompareByPosition();
    void describesChanges();
};

void TestJsonPath::parsesMembersAndIndexes()
{
    const auto steps = parseJsonPath(QStringLiteral("routes[2].targets[0]"));
    QVERIFY(steps);
    QCOMPARE(steps->size(), 4);
    QCOMPARE(steps->at(0).key, QStringLiteral("routes"));
    QCOMPARE(steps->at(1).index, 2);
    QCOMPARE(steps->at(2).key, QStringLiteral("targets"));
    QCOMPARE(steps->at(3).index, 0);
    QVERIFY(parseJsonPath(QString())->isEmpty());
    // Plan and header names may hold '-' and '_'.
    QCOMPARE(parseJsonPath(QStringLiteral("plans.free-tier.max_tokens"))->at(1).key,
             QStringLiteral("free-tier"));
}

void TestJsonPath::refusesMalformedPaths()
{
    QVERIFY(!parseJsonPath(QStringLiteral("routes[x]")));
    QVERIFY(!parseJsonPath(QStringLiteral("routes[1")));
    QVERIFY(!parseJsonPath(QStringLiteral("routes..name")));
    QVERIFY(!parseJsonPath(QStringLiteral(".routes")));
}

void TestJsonPath::readsTheValueAtAPath()
{
    const QJsonValue root = json(kRoutes);
    QCOMPARE(valueAtPath(root, QStringLiteral("routes[0].targets[1]")).toString(),
             QStringLiteral("m2"));
    QCOMPARE(valueAtPath(root, QStringLiteral("cache.ttl_seconds")).toInt(), 3600);
    QCOMPARE(valueAtPath(root, QString()), root);
    QVERIFY(valueAtPath(root, QStringLiteral("routes[5]")).isUndefined());
    QVERIFY(valueAtPath(root, QStringLiteral("cache.nope")).isUndefined());
    QVERIFY(valueAtPath(root, QStringLiteral("cache[0]")).isUndefined());
}

void TestJsonPath::replacesAddsAndRemoves()
{
    const QJsonValue root = json(kRoutes);
    auto changed =
        withValueAtPath(root, QStringLiteral("routes[0].targets[0]"), QStringLiteral("y"));
    QVERIFY(changed);
    QCOMPARE(valueAtPath(*changed, QStringLiteral("routes[0].targets")), json(R"(["y","m2"])"));
    // The original is a value: untouched.
    QCOMPARE(valueAtPath(root, QStringLiteral("routes[0].targets[0]")).toString(),
             QStringLiteral("m1"));

    auto appended = withValueAtPath(root, QStringLiteral("routes[2]"), QJsonObject{{"name", "c"}});
    QVERIFY(appended);
    QCOMPARE(valueAtPath(*appended, QStringLiteral("routes")).toArray().size(), 3);

    auto removed =
        withValueAtPath(root, QStringLiteral("routes[0]"), QJsonValue(QJsonValue::Undefined));
    QVERIFY(removed);
    QCOMPARE(valueAtPath(*removed, QStringLiteral("routes[0].name")).toString(),
             QStringLiteral("b"));

    auto member = withValueAtPath(root, QStringLiteral("cache.ttl_seconds"),
                                  QJsonValue(QJsonValue::Undefined));
    QVERIFY(member);
    QVERIFY(!valueAtPath(*member, QStringLiteral("cache")).toObject().contains("ttl_seconds"));

    // A missing object on the way is made.
    auto made = withValueAtPath(root, QStringLiteral("routes[1].max_tokens.clamp"), 512);
    QVERIFY(made);
    QCOMPARE(valueAtPath(*made, QStringLiteral("routes[1].max_tokens")), json(R"({"clamp":512})"));

    auto whole = withValueAtPath(root, QString(), QJsonObject{{"version", 1}});
    QVERIFY(whole);
    QCOMPARE(*whole, QJsonValue(QJsonObject{{"version", 1}}));
}

void TestJsonPath::refusesPathsThatLeadNowhere()
{
    const QJsonValue root = json(kRoutes);
    auto beyond = withValueAtPath(root, QStringLiteral("routes[7].name"), QStringLiteral("x"));
    QVERIFY(!beyond);
    QCOMPARE(beyond.error().toString(), QStringLiteral("routes[7]: no such element"));
    auto notList = withValueAtPath(root, QStringLiteral("cache[0]"), 1);
    QVERIFY(!notList);
    QCOMPARE(notList.error().toString(), QStringLiteral("cache: not a list"));
    auto notObject = withValueAtPath(root, QStringLiteral("routes[0].name.x"), 1);
    QVERIFY(!notObject);
    QCOMPARE(notObject.error().toString(), QStringLiteral("routes[0].name: not an object"));
}

void TestJsonPath::knowsWhatLiesWithinAPath()
{
    QVERIFY(isWithinPath(QStringLiteral("routes[1].name"), QStringLiteral("routes[1]")));
    QVERIFY(isWithinPath(QStringLiteral("routes[1].name"), QStringLiteral("routes")));
    QVERIFY(isWithinPath(QStringLiteral("routes"), QStringLiteral("routes")));
    QVERIFY(isWithinPath(QStringLiteral("routes"), QString()));
    QVERIFY(!isWithinPath(QStringLiteral("routes[1].name"), QStringLiteral("route")));
    QVERIFY(!isWithinPath(QStringLiteral("routes[10]"), QStringLiteral("routes[1]")));
    QVERIFY(!isWithinPath(QStringLiteral("routes"), QStringLiteral("routes[1]")));
}

void TestJsonPath::diffsMemberByMemberAndElementByElement()
{
    const QJsonValue before = json(kRoutes);
    QVERIFY(diffJson(before, before).isEmpty());
    QJsonValue after = *withValueAtPath(before, QStringLiteral("routes[0].targets[0]"), "y");
    after = *withValueAtPath(after, QStringLiteral("cache.enabled"), false);
    after = *withValueAtPath(after, QStringLiteral("routes[1].targets"),
                             QJsonValue(QJsonValue::Undefined));
    const QList<JsonChange> changes = diffJson(before, after);
    QCOMPARE(changes.size(), 3);
    QCOMPARE(changes.at(0).path, QStringLiteral("cache.enabled"));
    QVERIFY(changes.at(0).before.isUndefined());
    QCOMPARE(changes.at(0).after, QJsonValue(false));
    QCOMPARE(changes.at(1).path, QStringLiteral("routes[0].targets[0]"));
    QCOMPARE(changes.at(1).before.toString(), QStringLiteral("m1"));
    QCOMPARE(changes.at(1).after.toString(), QStringLiteral("y"));
    QCOMPARE(changes.at(2).path, QStringLiteral("routes[1].targets"));
    QVERIFY(changes.at(2).after.isUndefined());

    // A value of another type is one change, not a walk into it.
    const auto retyped = diffJson(json(R"({"a":{"b":1}})"), json(R"({"a":[1]})"));
    QCOMPARE(retyped.size(), 1);
    QCOMPARE(retyped.first().path, QStringLiteral("a"));
}

void TestJsonPath::aMovedRuleIsOneMove()
{
    const QJsonValue before = json(R"([{"name":"a"},{"name":"b"},{"name":"c","targets":["m1"]}])");
    const QJsonValue after = json(R"([{"name":"c","targets":["m2"]},{"name":"a"},{"name":"b"}])");
    const QList<JsonChange> changes = diffJson(before, after, QStringLiteral("routes"));
    QCOMPARE(changes.size(), 2);
    QVERIFY(changes.at(0).isMove());
    QCOMPARE(changes.at(0).path, QStringLiteral("routes[0]"));
    QCOMPARE(changes.at(0).movedFrom, 2);
    QCOMPARE(changes.at(0).movedTo, 0);
    QCOMPARE(describeChange(changes.at(0)),
             QStringLiteral("routes[0] \"c\": moved from position 3 to 1"));
    // Its own edit is named at its new place, after the move.
    QCOMPARE(describeChange(changes.at(1)),
             QStringLiteral("routes[0].targets[0]: \"m1\" → \"m2\""));
    // Two rules swapped: the one now higher is the one that moved.
    const auto swapped =
        diffJson(json(R"([{"name":"a"},{"name":"b"}])"), json(R"([{"name":"b"},{"name":"a"}])"));
    QCOMPARE(swapped.size(), 1);
    QCOMPARE(describeChange(swapped.first()),
             QStringLiteral("[0] \"b\": moved from position 2 to 1"));
}

void TestJsonPath::namedElementsAreAddedRemovedAndChangedByName()
{
    // Models go by id: one taken out at the front shifts the rest without changing them.
    const QJsonValue before =
        json(R"([{"id":"x","input":1},{"id":"y","input":2},{"id":"z","input":3}])");
    const QJsonValue after =
        json(R"([{"id":"y","input":2},{"id":"z","input":4},{"id":"w","input":5}])");
    const QList<JsonChange> changes = diffJson(before, after, QStringLiteral("models"));
    QCOMPARE(changes.size(), 3);
    QCOMPARE(describeChange(changes.at(0)),
             QStringLiteral("models[0]: removed {\"id\":\"x\",\"input\":1}"));
    QCOMPARE(describeChange(changes.at(1)), QStringLiteral("models[1].input: 3 → 4"));
    QCOMPARE(describeChange(changes.at(2)),
             QStringLiteral("models[2]: added {\"id\":\"w\",\"input\":5}"));
    QVERIFY(std::none_of(changes.begin(), changes.end(),
                         [](const JsonChange &change) { return change.isMove(); }));

    // A rule renamed where it stands is its name changing, not a removal and an addition.
    const auto renamed = diffJson(json(R"([{"name":"a","x":1},{"name":"b"}])"),
                                  json(R"([{"name":"a2","x":1},{"name":"b"}])"));
    QCOMPARE(renamed.size(), 1);
    QCOMPARE(describeChange(renamed.first()), QStringLiteral("[0].name: \"a\" → \"a2\""));
}

void TestJsonPath::unnamedElementsCompareByPosition()
{
    // Targets are plain names and thresholds have none: both compare index by index.
    const auto targets = diffJson(json(R"(["m1","m2"])"), json(R"(["m2","m1"])"));
    QCOMPARE(targets.size(), 2);
    QCOMPARE(targets.at(0).path, QStringLiteral("[0]"));
    const auto thresholds =
        diffJson(json(R"([{"at_percent":50},{"at_percent":80}])"), json(R"([{"at_percent":80}])"));
    QCOMPARE(thresholds.size(), 2);
    QCOMPARE(describeChange(thresholds.at(0)), QStringLiteral("[0].at_percent: 50 → 80"));
    QCOMPARE(describeChange(thresholds.at(1)), QStringLiteral("[1]: removed {\"at_percent\":80}"));
    // Two elements sharing a name cannot be told apart by it.
    const auto shared = diffJson(json(R"([{"name":"a","x":1},{"name":"a","x":2}])"),
                                 json(R"([{"name":"a","x":2}])"));
    QCOMPARE(shared.size(), 2);
    QCOMPARE(shared.at(0).path, QStringLiteral("[0].x"));
}

void TestJsonPath::describesChanges()
{
    QCOMPARE(describeChange({QStringLiteral("routes[0].targets[0]"), QStringLiteral("m1"),
                             QStringLiteral("y")}),
             QStringLiteral("routes[0].targets[0]: \"m1\" → \"y\""));
    QCOMPARE(
        describeChange({QStringLiteral("cache.enabled"), QJsonValue(QJsonValue::Undefined), false}),
        QStringLiteral("cache.enabled: added false"));
    QCOMPARE(describeChange({QStringLiteral("routes[1]"), json(R"({"name":"b"})"),
                             QJsonValue(QJsonValue::Undefined)}),
             QStringLiteral("routes[1]: removed {\"name\":\"b\"}"));
    QCOMPARE(jsonText(0.7), QStringLiteral("0.7"));
}

QTEST_GUILESS_MAIN(TestJsonPath)
#include "tst_jsonpath.moc"
