// Two real tollgated replicas sharing one real redis-server (docs/scaling.md), against the mock
// upstream: a free user's hourly limit holds across both, an answer cached through one is a hit
// on the other (bodies and streams), budget spend through one replica blocks the other once the
// global spend passes the budget, the Redis health shows on /metrics, the password comes from
// the environment and is never printed, and when Redis dies both keep answering, then share
// again once it is back.

#include "httptestclient.h"
#include "mockupstream.h"
#include "prometheustext.h"
#include "providerheaders.h"
#include "redisserver.h"
#include "testchecks.h"
#include "tollgatedprocess.h"

#include "store/redisclient.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QFile>
#include <QScopeGuard>
#include <QtTest/QtTest>

using namespace tollgate;
using namespace tollgate::testsupport;

namespace {

const QByteArray kClientKey = "sk-ant-api03-tollgate-replicas-client-3c9e71";
const QByteArray kRedisPassword = "redis-pw-tollgate-replicas-8f21d4";

HttpTestRequest messages(const QByteArray &prompt, const QByteArray &user = {}, bool stream = false,
                         const QByteArray &scenario = {})
{
    HttpHeaders headers = ProviderHeaders::anthropic(kClientKey);
    if (!user.isEmpty())
        headers.append({"x-tollgate-user", user});
    const QByteArray body = R"({"model":"claude-3-haiku-20240307","max_tokens":64,)" +
                            QByteArray(stream ? R"("stream":true,)" : "") +
                            R"("messages":[{"role":"user","content":")" + prompt + R"("}]})";
    return HttpTestRequest::post("/v1/messages", body,
                                 headers + ProviderHeaders::scenario(scenario));
}

/// The text of an Anthropic answer, from a body or from its stream's text deltas.
QString answerText(const HttpTestResponse &response)
{
    QString text;
    if (response.events.isEmpty()) {
        for (const QJsonValue &block : response.json().value(u"content").toArray())
            text += block.toObject().value(u"text").toString();
        return text;
    }
    for (const HttpTestEvent &event : response.events)
        text += event.json().value(u"delta").toObject().value(u"text").toString();
    return text;
}

} // namespace

class TestReplicas : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    void freeUserIsLimitedAcrossReplicas();
    void answerCachedOnOneReplicaIsAHitOnTheOther();
    void budgetSpendThroughOneReplicaBlocksTheOther();
    void passwordComesFromTheEnvironmentAndIsNeverPrinted();
    void replicasKeepAnsweringWhileRedisIsDown();

private:
    /// Starts replica A with the Redis in its policy file and replica B with --redis, both on
    /// fresh data folders. `env` is added to their environment; `sections` (e.g. `"budgets":
    /// [...]`) to both policies.
    QString startReplicas(const QByteArray &statePolicyExtra = {},
                          const QList<QPair<QString, QString>> &env = {},
                          const QByteArray &sections = {});
    store::RedisReply redis(const QList<QByteArray> &command, const QByteArray &password = {});
    int journalCount(const QByteArray &prompt) const;

    RedisServer m_redis;
    MockUpstream m_anthropic;
    TollgatedProcess m_a;
    TollgatedProcess m_b;
};

void TestReplicas::initTestCase()
{
    QVERIFY2(QFile::exists(QStringLiteral(TOLLGATED_PATH)), TOLLGATED_PATH);
    if (RedisServer::program().isEmpty())
        QSKIP("redis-server is not installed (scripts/setup.sh installs it)");
    m_anthropic.setThreads(1);
    QVERIFY2(m_anthropic.listen(), qPrintable(m_anthropic.errorString()));
}

void TestReplicas::init()
{
    QVERIFY2(m_redis.start(), qPrintable(m_redis.errorString()));
    m_anthropic.clearJournal();
}

void TestReplicas::cleanup()
{
    for (TollgatedProcess *gateway : {&m_a, &m_b}) {
        if (gateway->isRunning())
            QCOMPARE(gateway->stop(), 0);
        gateway->removeDataDir();
    }
    m_redis.stop();
}

QString TestReplicas::startReplicas(const QByteArray &statePolicyExtra,
                                    const QList<QPair<QString, QString>> &env,
                                    const QByteArray &sections)
{
    // The replicas inherit this process's environment (less any provider key) at start.
    for (const auto &variable : env)
        qputenv(qPrintable(variable.first), variable.second.toUtf8());
    const auto unsetEnv = qScopeGuard([&env] {
        for (const auto &variable : env)
            qunsetenv(qPrintable(variable.first));
    });
    TollgatedProcess::Options options;
    options.anthropicBaseUrl = m_anthropic.baseUrl().toString();
    options.extraArgs = {QStringLiteral("--workers"), QStringLiteral("2")};
    const QByteArray before = sections.isEmpty() ? QByteArray() : sections + ", ";

    // A reads the Redis from its policy, B from the flag: both ways lead to the same stores.
    TollgatedProcess::Options a = options;
    a.policy = "{" + before + R"("state": {"redis": {"url": ")" + m_redis.url().toUtf8() +
               R"(", "timeout_ms": 500)" + statePolicyExtra + "}}}";
    if (!m_a.start(a))
        return QStringLiteral("replica A: ") + m_a.failureReport();

    TollgatedProcess::Options b = options;
    b.extraArgs << QStringLiteral("--redis") << m_redis.url();
    // The flag sets the URL; everything else of the section comes from B's own policy.
    if (!statePolicyExtra.isEmpty() || !sections.isEmpty())
        b.policy =
            "{" + before + R"("state": {"redis": {"timeout_ms": 500)" + statePolicyExtra + "}}}";
    if (!m_b.start(b))
        return QStringLiteral("replica B: ") + m_b.failureReport();
    return {};
}

store::RedisReply TestReplicas::redis(const QList<QByteArray> &command, const QByteArray &password)
{
    store::RedisClient::Options options;
    options.endpoint = *store::RedisEndpoint::parse(m_redis.url());
    options.endpoint.password = password;
    options.timeoutMs = 2000;
    store::RedisClient client(options);
    const Expected<store::RedisReply> reply = client.command(command);
    if (!reply) {
        QTest::qFail(qPrintable(reply.error().message), __FILE__, __LINE__);
        return {};
    }
    return *reply;
}

int TestReplicas::journalCount(const QByteArray &prompt) const
{
    int count = 0;
    for (const JournalEntry &entry : m_anthropic.journal())
        count += entry.body.contains(prompt);
    return count;
}

#define START_REPLICAS(...) VERIFY_NO_PROBLEM(startReplicas(__VA_ARGS__))

void TestReplicas::freeUserIsLimitedAcrossReplicas()
{
    START_REPLICAS();
    HttpTestClient a(m_a.port());
    HttpTestClient b(m_b.port());
    // 100 requests of a free user, half through each replica: every one passes.
    for (int i = 0; i < 100; ++i) {
        HttpTestClient &client = i % 2 == 0 ? a : b;
        const HttpTestResponse response =
            client.request(messages("limited request " + QByteArray::number(i), "alice"));
        QVERIFY2(
            response.status == 200,
            qPrintable(
                QStringLiteral("request %1 through %2: ").arg(i + 1).arg(i % 2 == 0 ? 'A' : 'B') +
                response.describe()));
        QCOMPARE(response.header("x-ratelimit-limit-requests"), QByteArray("100"));
        QCOMPARE(response.header("x-ratelimit-remaining-requests"), QByteArray::number(99 - i));
    }
    // The 101st gets the 429 on either replica: neither has seen 100 on its own.
    for (HttpTestClient *client : {&a, &b}) {
        const HttpTestResponse refused = client->request(messages("one too many", "alice"));
        QVERIFY2(refused.status == 429, qPrintable(refused.describe()));
        QCOMPARE(refused.json().value(u"error").toObject().value(u"message").toString(),
                 QStringLiteral("Rate limit exceeded. Upgrade for higher limits."));
        QCOMPARE(refused.header("x-tollgate-rate-limit"), QByteArray("requests_per_hour"));
        QCOMPARE(refused.header("x-ratelimit-remaining-requests"), QByteArray("0"));
        const int retryAfter = refused.header("retry-after").toInt();
        QVERIFY2(retryAfter > 3500 && retryAfter <= 3600,
                 refused.header("retry-after").constData());
    }
    QCOMPARE(journalCount("one too many"), 0);
    // Another free user is not held to alice's count.
    QCOMPARE(a.request(messages("someone else", "bob")).status, 200);

    // The counters are where DESIGN.md puts them, and go away when idle.
    QCOMPARE(redis({"TYPE", "rl:user:alice"}).string, QByteArray("hash"));
    const qint64 ttl = redis({"PTTL", "rl:user:alice"}).integer;
    QVERIFY2(ttl > 3'500'000 && ttl <= 3'600'000, qPrintable(QString::number(ttl)));
    // The local owner's own tools (no user) are not limited and leave nothing in Redis.
    QCOMPARE(b.request(messages("the owner")).status, 200);
    QCOMPARE(redis({"EXISTS", "rl:local"}).integer, 0);
}

void TestReplicas::answerCachedOnOneReplicaIsAHitOnTheOther()
{
    START_REPLICAS();
    for (const bool stream : {false, true}) {
        const QByteArray prompt = stream ? "shared stream" : "shared body";
        const HttpTestResponse first = m_a.send(messages(prompt, {}, stream));
        QVERIFY2(first.status == 200 && first.complete, qPrintable(first.describe()));
        QCOMPARE(first.header("x-tollgate-cache"), QByteArray("miss"));
        // A's writer puts it in Redis off the request path; wait for it to land.
        const qint64 expected = stream ? 2 : 1;
        QTRY_COMPARE_WITH_TIMEOUT(redis({"KEYS", "cache:*"}).elements.size(), expected, 5000);

        const HttpTestResponse second = m_b.send(messages(prompt, {}, stream));
        QVERIFY2(second.status == 200 && second.complete, qPrintable(second.describe()));
        QCOMPARE(second.header("x-tollgate-cache"), QByteArray("hit"));
        QCOMPARE(second.header("x-tollgate-cost-usd"), QByteArray("0"));
        QCOMPARE(answerText(second), answerText(first));
        QVERIFY(!answerText(second).isEmpty());
        QCOMPARE(second.events.isEmpty(), !stream);
        QCOMPARE(journalCount(prompt), 1);
    }
    // Every entry carries its TTL (the policy's 3600 s).
    const store::RedisReply keys = redis({"KEYS", "cache:*"});
    for (const store::RedisReply &key : keys.elements) {
        const qint64 ttl = redis({"PTTL", key.string}).integer;
        QVERIFY2(ttl > 3'500'000 && ttl <= 3'600'000, qPrintable(QString::number(ttl)));
    }
}

void TestReplicas::budgetSpendThroughOneReplicaBlocksTheOther()
{
    // A calendar day budget must not reset in the middle of the test.
    const qint64 day = 24 * 3'600'000LL;
    if (const qint64 left = day - QDateTime::currentMSecsSinceEpoch() % day; left < 15'000)
        QTest::qWait(int(left) + 200);
    // $0.01 a day for everyone. One haiku answer of 10,000 input and 10,000 output tokens costs
    // 10,000 × $0.25 + 10,000 × $1.25 per MTok = $0.015: past the budget on its own.
    START_REPLICAS({}, {},
                   R"("cache": {"enabled": false}, "budgets": [{"name": "shared-day", )"
                   R"("window": "day", "limit_usd": 0.01, )"
                   R"("actions": [{"at_percent": 100, "action": "block"}]}])");
    const double cost = 0.015;
    const HttpTestResponse spent =
        m_a.send(messages("spend through A", {}, false, "in=10000,out=10000"));
    QVERIFY2(spent.status == 200, qPrintable(spent.describe()));

    // B never served a request of this budget, yet its ledger gets A's spend from Redis within
    // about a second (A's 200 ms batch, then B's read every second).
    const auto bSpend = [this] {
        return PrometheusText::sample(m_b.scrapeMetrics(),
                                      R"(tollgate_budget_spend_usd{budget="shared-day"})");
    };
    QElapsedTimer clock;
    clock.start();
    QTRY_VERIFY_WITH_TIMEOUT(std::abs(bSpend() - cost) < 1e-9, 5000);
    QVERIFY2(clock.elapsed() < 3000, qPrintable(QString::number(clock.elapsed())));

    // So B refuses with the budget's 402, and nothing reaches the provider.
    for (TollgatedProcess *gateway : {&m_b, &m_a}) {
        const HttpTestResponse refused =
            gateway->send(messages("refused", {}, false, "in=1,out=1"));
        QVERIFY2(refused.status == 402, qPrintable(refused.describe()));
        QCOMPARE(refused.json().value(u"error").toObject().value(u"type").toString(),
                 QStringLiteral("billing_error"));
        QVERIFY2(refused.json()
                     .value(u"error")
                     .toObject()
                     .value(u"message")
                     .toString()
                     .startsWith(QStringLiteral("Budget \"shared-day\" exhausted")),
                 qPrintable(refused.describe()));
        QCOMPARE(refused.header("x-tollgate-budget"), QByteArray("shared-day"));
    }
    QCOMPARE(journalCount("refused"), 0);

    // The day's spend is one field of the budget's hash, kept until the day ends (plus one
    // bucket of 24 minutes).
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const qint64 dayStart = now - now % day;
    const QByteArray field =
        redis({"HGET", "spend:shared-day", QByteArray::number(dayStart)}).string;
    QVERIFY2(std::abs(field.toDouble() - cost) < 1e-9, field.constData());
    const qint64 ttl = redis({"PTTL", "spend:shared-day"}).integer;
    // Give or take a few minutes: only ever lengthened, the TTL may come from a batch of another
    // test's replicas that used the same Redis; what matters is that the hash outlives its day
    // and then goes.
    const qint64 keep = dayStart + day + 24 * 60'000 - now;
    QVERIFY2(ttl > keep - 60'000 && ttl <= keep + 5 * 60'000, qPrintable(QString::number(ttl)));

    // The threshold was reported once, by the replica whose spend crossed it.
    const QByteArray crossing = "budget \"shared-day\" reached 100%";
    QTRY_COMPARE_WITH_TIMEOUT(m_a.output().count(crossing), qsizetype(1), 5000);
    QCOMPARE(m_b.output().count(crossing), qsizetype(0));

    // Both replicas show the shared Redis's health, and the scrape passes promtool.
    for (TollgatedProcess *gateway : {&m_a, &m_b}) {
        const QByteArray metrics = gateway->scrapeMetrics();
        QCOMPARE(PrometheusText::sample(metrics, "tollgate_redis_up"), 1.0);
        QCOMPARE(PrometheusText::sample(metrics, "tollgate_redis_outages_total"), 0.0);
        QCOMPARE(PrometheusText::sample(metrics, "tollgate_redis_errors_total"), 0.0);
        QVERIFY(PrometheusText::sample(metrics, "tollgate_redis_calls_total") > 0);
        QCOMPARE(PrometheusText::sample(metrics, "tollgate_ratelimit_fallback_admissions_total"),
                 0.0);
        QCOMPARE(PrometheusText::sample(metrics, "tollgate_redis_cache_errors_total"), 0.0);
        QCOMPARE(PrometheusText::sample(metrics, "tollgate_redis_spend_errors_total"), 0.0);
        QCOMPARE(PrometheusText::sample(metrics, "tollgate_redis_spend_pending"), 0.0);
        const double synced =
            PrometheusText::sample(metrics, "tollgate_redis_spend_last_sync_timestamp_seconds");
        QVERIFY2(synced > now / 1000.0 - 60 && synced <= now / 1000.0 + 60,
                 qPrintable(QString::number(synced, 'f', 3)));
        if (!PrometheusText::promtool().isEmpty())
            VERIFY_NO_PROBLEM(PrometheusText::lintProblem(metrics));
    }
    const QByteArray aMetrics = m_a.scrapeMetrics();
    QCOMPARE(PrometheusText::sample(aMetrics, "tollgate_redis_spend_sent_total"), 1.0);
}

void TestReplicas::passwordComesFromTheEnvironmentAndIsNeverPrinted()
{
    m_redis.stop();
    QVERIFY2(
        m_redis.start(0, {QStringLiteral("--requirepass"), QString::fromLatin1(kRedisPassword)}),
        qPrintable(m_redis.errorString()));
    START_REPLICAS(
        ", \"password_env\": \"TOLLGATE_REDIS_PASSWORD\"",
        {{QStringLiteral("TOLLGATE_REDIS_PASSWORD"), QString::fromLatin1(kRedisPassword)}});
    QCOMPARE(m_a.send(messages("authenticated", "carol")).status, 200);
    QCOMPARE(m_b.send(messages("authenticated too", "carol")).status, 200);
    QCOMPARE(redis({"HEXISTS", "rl:user:carol", "h"}, kRedisPassword).integer, 1);
    QCOMPARE(m_a.stop(), 0);
    QCOMPARE(m_b.stop(), 0);
    for (TollgatedProcess *gateway : {&m_a, &m_b})
        QVERIFY(!gateway->output().contains(kRedisPassword));

    // A wrong password: refused by Redis, said plainly (without either password), and the
    // replica still serves from its own limiter.
    START_REPLICAS(", \"password_env\": \"TOLLGATE_REDIS_PASSWORD\"",
                   {{QStringLiteral("TOLLGATE_REDIS_PASSWORD"),
                     QStringLiteral("wrong-pw-tollgate-replicas")}});
    QCOMPARE(m_a.send(messages("wrong password", "dan")).status, 200);
    QTRY_VERIFY_WITH_TIMEOUT(m_a.output().contains("is unreachable"), 10000);
    QVERIFY2(m_a.output().contains("WRONGPASS"), m_a.output().constData());
    QCOMPARE(m_a.stop(), 0);
    QCOMPARE(m_b.stop(), 0);
    for (TollgatedProcess *gateway : {&m_a, &m_b}) {
        QVERIFY(!gateway->output().contains(kRedisPassword));
        QVERIFY(!gateway->output().contains("wrong-pw-tollgate-replicas"));
    }

    // A password variable that is named but not set is a configuration error at start.
    TollgatedProcess::Options unset;
    unset.policy = R"({"state": {"redis": {"url": ")" + m_redis.url().toUtf8() +
                   R"(", "password_env": "TOLLGATE_REDIS_PASSWORD_UNSET"}}})";
    TollgatedProcess refused;
    QVERIFY(!refused.start(unset));
    QVERIFY2(refused.output().contains("TOLLGATE_REDIS_PASSWORD_UNSET is not set"),
             refused.output().constData());
}

void TestReplicas::replicasKeepAnsweringWhileRedisIsDown()
{
    START_REPLICAS();
    QCOMPARE(m_a.send(messages("before", "erin")).status, 200);
    QCOMPARE(redis({"EXISTS", "rl:user:erin"}).integer, 1);

    m_redis.stop(/*crash=*/true);
    QElapsedTimer clock;
    clock.start();
    for (int i = 0; i < 10; ++i) {
        TollgatedProcess &gateway = i % 2 == 0 ? m_a : m_b;
        const HttpTestResponse response =
            gateway.send(messages("during " + QByteArray::number(i), "erin", i % 4 == 1));
        QVERIFY2(response.status == 200 && response.complete, qPrintable(response.describe()));
        // Each replica now counts on its own: its own limit, in its own headers.
        QCOMPARE(response.header("x-ratelimit-limit-requests"), QByteArray("100"));
    }
    QVERIFY2(clock.elapsed() < 5000, qPrintable(QString::number(clock.elapsed())));
    QTRY_VERIFY_WITH_TIMEOUT(m_a.output().contains("is unreachable"), 10000);
    QTRY_VERIFY_WITH_TIMEOUT(m_b.output().contains("is unreachable"), 10000);

    // Redis is back (empty): after their next probe both replicas count there again.
    QVERIFY2(m_redis.start(m_redis.port()), qPrintable(m_redis.errorString()));
    QTRY_VERIFY_WITH_TIMEOUT((m_a.send(messages("after A", "frank")).status == 200 &&
                              m_b.send(messages("after B", "gina")).status == 200 &&
                              redis({"EXISTS", "rl:user:frank"}).integer == 1 &&
                              redis({"EXISTS", "rl:user:gina"}).integer == 1),
                             15000);
    QTRY_VERIFY_WITH_TIMEOUT(m_a.output().contains("is reachable again"), 10000);
    QTRY_VERIFY_WITH_TIMEOUT(m_b.output().contains("is reachable again"), 10000);
}

QTEST_GUILESS_MAIN(TestReplicas)
#include "tst_replicas.moc"
