// The `state` section of the policy document and the Redis URLs it names: what is read, what
// is refused with which path, and that a password never shows in the effective policy.

#include "store/redisendpoint.h"
#include "store/statepolicy.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest/QtTest>

using namespace tollgate;

namespace {

QJsonObject json(const char *text)
{
    return QJsonDocument::fromJson(text).object();
}

QStringList problems(const char *text)
{
    QStringList out;
    for (const Error &error : store::StatePolicy::validate(json(text)))
        out.append(error.toString());
    return out;
}

} // namespace

class TestStatePolicy : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void endpointParsing_data();
    void endpointParsing();
    void endpointRefusals_data();
    void endpointRefusals();
    void referenceSharesNothing();
    void readsEverySetting();
    void reportsEveryProblemWithItsPath();
    void passwordStaysOutOfTheDocument();
    void passwordComesFromTheNamedVariable();
};

void TestStatePolicy::endpointParsing_data()
{
    QTest::addColumn<QString>("url");
    QTest::addColumn<QString>("host");
    QTest::addColumn<int>("port");
    QTest::addColumn<int>("db");
    QTest::addColumn<QString>("username");
    QTest::addColumn<QByteArray>("password");
    QTest::newRow("host only") << "redis://cache.internal"
                               << "cache.internal" << 6379 << 0 << "" << QByteArray();
    QTest::newRow("port and db") << "redis://127.0.0.1:27379/3"
                                 << "127.0.0.1" << 27379 << 3 << "" << QByteArray();
    QTest::newRow("password") << "redis://:s3cret@redis:6380/0"
                              << "redis" << 6380 << 0 << "" << QByteArray("s3cret");
    QTest::newRow("acl user") << "redis://gateway:p%40ss@10.0.0.5"
                              << "10.0.0.5" << 6379 << 0 << "gateway" << QByteArray("p@ss");
    QTest::newRow("trailing slash") << "redis://redis:6379/"
                                    << "redis" << 6379 << 0 << "" << QByteArray();
}

void TestStatePolicy::endpointParsing()
{
    QFETCH(QString, url);
    const auto endpoint = store::RedisEndpoint::parse(url);
    QVERIFY2(endpoint, qPrintable(endpoint ? QString() : endpoint.error().message));
    QTEST(endpoint->host, "host");
    QTEST(endpoint->port, "port");
    QTEST(endpoint->db, "db");
    QTEST(endpoint->username, "username");
    QTEST(endpoint->password, "password");
    QVERIFY(!endpoint->address().contains(QStringLiteral("s3cret")));
    QVERIFY(!endpoint->urlWithoutPassword().contains(QStringLiteral("s3cret")));
    QVERIFY(!endpoint->urlWithoutPassword().contains(QStringLiteral("p%40ss")));
}

void TestStatePolicy::endpointRefusals_data()
{
    QTest::addColumn<QString>("url");
    QTest::addColumn<QString>("message");
    QTest::newRow("tls") << "rediss://:pw@redis:6379"
                         << "rediss:// (TLS) is not supported";
    QTest::newRow("http") << "http://redis:6379"
                          << "expected the scheme redis://";
    QTest::newRow("no slashes") << "redis:6379"
                                << "the URL names no host";
    QTest::newRow("no host") << "redis://:6379"
                             << "the URL names no host";
    QTest::newRow("db name") << "redis://redis:6379/zero"
                             << "expected a database number";
    QTest::newRow("query") << "redis://redis:6379/0?timeout=1"
                           << "expected no query";
}

void TestStatePolicy::endpointRefusals()
{
    QFETCH(QString, url);
    QFETCH(QString, message);
    const auto endpoint = store::RedisEndpoint::parse(url);
    QVERIFY(!endpoint);
    QVERIFY2(endpoint.error().message.startsWith(message), qPrintable(endpoint.error().message));
    QVERIFY(!endpoint.error().message.contains(QStringLiteral("pw")));
}

void TestStatePolicy::referenceSharesNothing()
{
    const auto policy = store::StatePolicy::fromJson(json("{}"));
    QVERIFY(policy);
    QVERIFY(!policy->redis.enabled());
    QCOMPARE(policy->redis.timeoutMs, 50);
    QVERIFY(policy->redis.rateLimits);
    QVERIFY(policy->redis.cache);
    QVERIFY(policy->redis.budgets);
    QVERIFY(policy->redis.keyPrefix.isEmpty());
    QVERIFY(problems("{\"state\": null}").isEmpty());
}

void TestStatePolicy::readsEverySetting()
{
    const auto policy =
        store::StatePolicy::fromJson(json("{\"plans\": {}, \"state\": {\"redis\": {"
                                          "\"url\": \"redis://redis.default.svc:6379/2\", "
                                          "\"password_env\": \"REDIS_PASSWORD\", "
                                          "\"key_prefix\": \"tollgate:\", \"timeout_ms\": 80, "
                                          "\"rate_limits\": true, \"cache\": false, "
                                          "\"budgets\": false}}}"));
    QVERIFY2(policy, qPrintable(policy ? QString() : policy.error().toString()));
    QVERIFY(policy->redis.enabled());
    QCOMPARE(policy->redis.url, QStringLiteral("redis://redis.default.svc:6379/2"));
    QCOMPARE(policy->redis.passwordEnv, QStringLiteral("REDIS_PASSWORD"));
    QCOMPARE(policy->redis.keyPrefix, QStringLiteral("tollgate:"));
    QCOMPARE(policy->redis.timeoutMs, 80);
    QVERIFY(policy->redis.rateLimits);
    QVERIFY(!policy->redis.cache);
    QVERIFY(!policy->redis.budgets);

    // toJson() is what fromJson() reads back.
    const QJsonObject section = policy->toJson();
    const auto again = store::StatePolicy::fromJson(QJsonObject{{"state", section}});
    QVERIFY(again);
    QCOMPARE(again->toJson(), section);
    QCOMPARE(section.value("redis").toObject().value("url").toString(),
             QStringLiteral("redis://redis.default.svc:6379/2"));
}

void TestStatePolicy::reportsEveryProblemWithItsPath()
{
    const QStringList found =
        problems("{\"state\": {\"redis\": {\"url\": \"http://redis\", "
                 "\"password_env\": \"not a name\", \"key_prefix\": \"has space\", "
                 "\"timeout_ms\": 0, \"cache\": \"yes\", \"budgets\": 1, \"tls\": true}, "
                 "\"sqlite\": {}}}");
    const QStringList expected = {
        QStringLiteral("state.redis.url: expected the scheme redis://"),
        QStringLiteral("state.redis.password_env: expected an environment variable name"),
        QStringLiteral("state.redis.key_prefix: expected up to 64 printable ASCII characters "
                       "without spaces"),
        QStringLiteral("state.redis.timeout_ms: expected an integer from 1 to 10000"),
        QStringLiteral("state.redis.cache: expected true or false"),
        QStringLiteral("state.redis.budgets: expected true or false"),
        QStringLiteral("state.redis.tls: unknown setting"),
        QStringLiteral("state.sqlite: unknown setting"),
    };
    for (const QString &problem : expected)
        QVERIFY2(found.contains(problem), qPrintable(found.join(QLatin1Char('\n'))));
    QCOMPARE(found.size(), expected.size());
    QCOMPARE(problems("{\"state\": []}"), QStringList{"state: expected an object"});
    QCOMPARE(problems("{\"state\": {\"redis\": \"redis://x\"}}"),
             QStringList{"state.redis: expected an object"});
    QCOMPARE(problems("{\"state\": {\"redis\": {\"timeout_ms\": 10001}}}"),
             QStringList{"state.redis.timeout_ms: expected an integer from 1 to 10000"});
}

void TestStatePolicy::passwordStaysOutOfTheDocument()
{
    // The document is exported (ConfigMaps) and printed by check-config.
    const QStringList found =
        problems("{\"state\": {\"redis\": {\"url\": \"redis://:hunter2@redis:6379/0\"}}}");
    QCOMPARE(found.size(), 1);
    QVERIFY(
        found.first().startsWith(QStringLiteral("state.redis.url: a password does not belong")));
    QVERIFY(!found.first().contains(QStringLiteral("hunter2")));

    // A URL with a password can still come from the --redis flag; the effective policy drops it.
    store::StatePolicy policy;
    policy.redis.url = QStringLiteral("redis://:hunter2@redis:6379/1");
    const QByteArray shown = QJsonDocument(policy.toJson()).toJson();
    QVERIFY2(!shown.contains("hunter2"), shown.constData());
    QVERIFY2(shown.contains("redis://redis:6379/1"), shown.constData());
}

void TestStatePolicy::passwordComesFromTheNamedVariable()
{
    store::RedisSettings settings;
    settings.url = QStringLiteral("redis://redis:6379/0");
    settings.passwordEnv = QStringLiteral("TOLLGATE_TEST_REDIS_PASSWORD");
    settings.timeoutMs = 75;
    qunsetenv("TOLLGATE_TEST_REDIS_PASSWORD");
    const auto missing = settings.clientOptions();
    QVERIFY(!missing);
    QCOMPARE(missing.error().toString(),
             QStringLiteral("state.redis.password_env: the environment variable "
                            "TOLLGATE_TEST_REDIS_PASSWORD is not set"));

    qputenv("TOLLGATE_TEST_REDIS_PASSWORD", "from-the-environment");
    const auto options = settings.clientOptions();
    qunsetenv("TOLLGATE_TEST_REDIS_PASSWORD");
    QVERIFY(options);
    QCOMPARE(options->endpoint.password, QByteArray("from-the-environment"));
    QCOMPARE(options->endpoint.host, QStringLiteral("redis"));
    QCOMPARE(options->timeoutMs, 75);
}

QTEST_GUILESS_MAIN(TestStatePolicy)
#include "tst_statepolicy.moc"
