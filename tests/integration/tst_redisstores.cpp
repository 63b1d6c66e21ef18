// The Redis implementations of the shared-state stores against a real redis-server started by
// the test: two store instances with clients of their own stand for two replicas. Rate limits
// (the same decisions as the in-memory limiter, one limit across replicas, charges, stream
// slots, key layout and TTLs), the cache tier (entries and streams shared, PX expiry), budget
// spend (seen by the other replica's ledger, key layout and TTLs, thresholds reported once),
// and what happens when Redis dies and comes back (fail open, then shared again). No tollgated
// here; see tst_replicas for the end to end run.

#include "redisserver.h"

#include "cache/cachedresponse.h"
#include "cache/rediscachestore.h"
#include "limits/planpolicy.h"
#include "limits/ratelimiter.h"
#include "limits/redisratelimitstore.h"
#include "limits/redisspendstore.h"
#include "limits/spendledger.h"
#include "store/redisclient.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QJsonDocument>
#include <QMutex>
#include <QRandomGenerator>
#include <QtTest/QtTest>

#include <memory>
#include <thread>

using namespace tollgate;
using tollgate::testsupport::RedisServer;

namespace {

/// The stores of one replica over a client (and so connections) of its own.
struct Replica {
    std::shared_ptr<store::RedisClient> client;
    std::unique_ptr<limits::RedisRateLimitStore> limits;
    std::unique_ptr<cache::RedisCacheStore> cache;
};

/// The crossings one spend store reported, from its own thread.
struct Crossings {
    void add(const limits::ThresholdCrossing &crossing)
    {
        QMutexLocker lock(&mutex);
        list.append(crossing);
    }
    QList<limits::ThresholdCrossing> all()
    {
        QMutexLocker lock(&mutex);
        return list;
    }
    QMutex mutex;
    QList<limits::ThresholdCrossing> list;
};

/// One replica's budgets: its ledger, and the store that shares the ledger's spend. Declared
/// in this order so that the store stops before the ledger goes.
struct SpendReplica {
    std::shared_ptr<store::RedisClient> client;
    std::unique_ptr<limits::SpendLedger> ledger;
    std::unique_ptr<Crossings> crossings;
    std::unique_ptr<limits::RedisSpendStore> spend;

    /// What the pipeline does when a response is done: charge the ledger, queue the
    /// increments.
    bool charge(double usd, qint64 atMs)
    {
        const limits::ChargeOutcome outcome = ledger->charge(
            policy::Principal(), QStringLiteral("claude-3-haiku-20240307"), usd, atMs);
        return spend->append(outcome.increments);
    }
    double spent(const QString &budget, qint64 atMs) const
    {
        return ledger->snapshot(atMs).spentAt(budget, atMs);
    }
};

limits::BudgetPolicy budgets(const QByteArray &json)
{
    const auto parsed = limits::BudgetPolicy::fromJson(
        QJsonDocument::fromJson(R"({"budgets": [)" + json + "]}").object());
    if (!parsed)
        qFatal("bad test budgets: %s", qPrintable(parsed.error().toString()));
    return *parsed;
}

/// A day budget and a rolling hour budget, both over everyone.
const QByteArray kSpendBudgets =
    R"({"name": "team-day", "window": "day", "limit_usd": 10, "actions": []},)"
    R"({"name": "hourly", "window": "hour", "alignment": "rolling", "limit_usd": 10,)"
    R"( "actions": []})";

bool sameUsd(double a, double b)
{
    return std::abs(a - b) < 1e-9;
}

/// Calendar days end at UTC midnight: a spend test does not straddle one.
void awayFromMidnight()
{
    const qint64 day = 24 * 3'600'000LL;
    const qint64 left = day - QDateTime::currentMSecsSinceEpoch() % day;
    if (left < 10'000)
        QTest::qWait(int(left) + 200);
}

qint64 nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

limits::Plan freePlan()
{
    return *limits::PlanPolicy::reference().plan(QStringLiteral("free"));
}

QString describe(const limits::Admission &a)
{
    return QStringLiteral("allowed=%1 limit=%2 %3 remaining=%4 reset=%5 retry=%6 requests=%7/%8/%9 "
                          "slot=%10")
        .arg(a.allowed)
        .arg(QString(a.limitName))
        .arg(a.limit)
        .arg(a.remaining)
        .arg(a.resetAtMs)
        .arg(a.retryAfterSeconds)
        .arg(a.requests.limit)
        .arg(a.requests.remaining)
        .arg(a.requests.resetAtMs)
        .arg(a.holdsStreamSlot);
}

std::shared_ptr<cache::CachedResponse> bodyEntry(qint64 now, qint64 ttlMs)
{
    auto entry = std::make_shared<cache::CachedResponse>();
    entry->flavor = api::Flavor::Anthropic;
    entry->status = 200;
    entry->contentType = "application/json";
    entry->body =
        R"({"id":"msg_1","type":"message","role":"assistant","model":"claude-3-haiku-20240307","content":[{"type":"text","text":"Shared."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":11,"output_tokens":7}})";
    entry->usage.inputTokens = 11;
    entry->usage.outputTokens = 7;
    entry->model = QStringLiteral("claude-3-haiku-20240307");
    entry->createdAtMs = now;
    entry->expiresAtMs = now + ttlMs;
    return entry;
}

std::shared_ptr<cache::CachedResponse> streamEntry(qint64 now, qint64 ttlMs)
{
    auto entry = bodyEntry(now, ttlMs);
    entry->contentType = "text/event-stream; charset=utf-8";
    entry->body.clear();
    entry->events = {
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\","
        "\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-3-haiku-20240307\","
        "\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":"
        "11,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
        "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"text_delta\",\"text\":\"Streamed.\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
        "\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":7}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"};
    return entry;
}

} // namespace

class TestRedisStores : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanupTestCase();

    // Rate limits
    void twoReplicasShareOneLimit();
    void keysCarryThePrefixAndATtl();
    void idleKeysVanish();
    void decisionsMatchTheMemoryLimiter();
    void tokenChargesReachOtherReplicas();
    void streamSlotsAreSharedAndReleased();
    void streamLeasesExpire();
    void lostScriptsAreLoadedAgain();

    // Cache
    void cacheEntriesAreSharedBetweenReplicas();
    void cacheEntriesExpireWithTheirTtl();
    void cacheDeclinesWhatItMustNotStore();

    // Budget spend
    void spendChargedOnOneReplicaIsSeenByTheOther();
    void spendKeysCarryThePrefixAndATtl();
    void spendThresholdsAreReportedOnceAcrossReplicas();
    void spendOutageCountsLocallyThenCatchesUp();

    // Outage
    void redisOutageFailsOpenAndRecovers();

private:
    Replica replica(const QByteArray &keyPrefix = {}, qint64 streamLeaseMs = 30LL * 60 * 1000);
    SpendReplica spendReplica(const QByteArray &budgetsJson, const QByteArray &keyPrefix = {});
    store::RedisReply redis(const QList<QByteArray> &command);

    RedisServer m_server;
    std::shared_ptr<store::RedisClient> m_admin; ///< the test's own look into Redis
};

void TestRedisStores::initTestCase()
{
    if (RedisServer::program().isEmpty())
        QSKIP("redis-server is not installed (scripts/setup.sh installs it)");
    QVERIFY2(m_server.start(), qPrintable(m_server.errorString()));
    store::RedisClient::Options options;
    options.endpoint = *store::RedisEndpoint::parse(m_server.url());
    options.timeoutMs = 2000;
    m_admin = std::make_shared<store::RedisClient>(options);
}

void TestRedisStores::init()
{
    if (!m_server.isRunning())
        QVERIFY2(m_server.start(m_server.port()), qPrintable(m_server.errorString()));
    QCOMPARE(redis({"FLUSHALL"}).string, QByteArray("OK"));
}

void TestRedisStores::cleanupTestCase()
{
    m_admin.reset();
    m_server.stop();
}

Replica TestRedisStores::replica(const QByteArray &keyPrefix, qint64 streamLeaseMs)
{
    Replica r;
    store::RedisClient::Options options;
    options.endpoint = *store::RedisEndpoint::parse(m_server.url());
    options.timeoutMs = 200; // generous for a loaded CI machine; tollgated's default is 50
    options.minBackoffMs = 50;
    options.maxBackoffMs = 400;
    r.client = std::make_shared<store::RedisClient>(options);
    limits::RedisRateLimitStore::Options limitOptions;
    limitOptions.keyPrefix = keyPrefix;
    limitOptions.streamLeaseMs = streamLeaseMs;
    r.limits = std::make_unique<limits::RedisRateLimitStore>(r.client, limitOptions);
    cache::RedisCacheStore::Options cacheOptions;
    cacheOptions.keyPrefix = keyPrefix;
    r.cache = std::make_unique<cache::RedisCacheStore>(r.client, cacheOptions);
    return r;
}

SpendReplica TestRedisStores::spendReplica(const QByteArray &budgetsJson,
                                           const QByteArray &keyPrefix)
{
    SpendReplica r;
    store::RedisClient::Options options;
    options.endpoint = *store::RedisEndpoint::parse(m_server.url());
    options.timeoutMs = 200;
    options.minBackoffMs = 50;
    options.maxBackoffMs = 400;
    r.client = std::make_shared<store::RedisClient>(options);
    r.ledger = std::make_unique<limits::SpendLedger>(budgets(budgetsJson));
    r.crossings = std::make_unique<Crossings>();
    limits::RedisSpendStore::Options spendOptions;
    spendOptions.keyPrefix = keyPrefix;
    Crossings *crossings = r.crossings.get();
    spendOptions.onCrossing = [crossings](const limits::ThresholdCrossing &crossing) {
        crossings->add(crossing);
    };
    r.spend = std::make_unique<limits::RedisSpendStore>(r.client, *r.ledger, spendOptions);
    r.spend->refresh(); // as at a replica's start: shared totals read before the first request
    return r;
}

store::RedisReply TestRedisStores::redis(const QList<QByteArray> &command)
{
    const Expected<store::RedisReply> reply = m_admin->command(command);
    if (!reply) {
        QTest::qFail(qPrintable(reply.error().message), __FILE__, __LINE__);
        return {};
    }
    return *reply;
}

// ---------------------------------------------------------------------------------------------
// Rate limits

void TestRedisStores::twoReplicasShareOneLimit()
{
    Replica a = replica();
    Replica b = replica();
    const limits::Plan free = freePlan();
    const QString key = QStringLiteral("user:alice");
    const qint64 start = nowMs();
    for (int i = 0; i < 100; ++i) {
        Replica &r = i % 2 == 0 ? a : b;
        const limits::Admission admission =
            r.limits->admit(key, free, start + i, limits::RequestKind::Plain);
        QVERIFY2(admission.allowed,
                 qPrintable(QStringLiteral("request %1: ").arg(i + 1) + describe(admission)));
        QCOMPARE(admission.requests.limit, 100);
        QCOMPARE(admission.requests.remaining, 99 - i);
    }
    // The 101st is refused whichever replica it reaches, until an hour after the first.
    for (Replica *r : {&a, &b}) {
        const limits::Admission denied =
            r->limits->admit(key, free, start + 100, limits::RequestKind::Plain);
        QVERIFY2(!denied.allowed, qPrintable(describe(denied)));
        QCOMPARE(denied.limitName, limits::kRequestsPerHour);
        QCOMPARE(denied.remaining, 0);
        // All 100 fell within one minute, so they leave together, an hour after the first.
        QCOMPARE(denied.resetAtMs, start + 3'600'000);
        QCOMPARE(denied.retryAfterSeconds, 3600);
    }
    // Another user has limits of their own.
    QVERIFY(
        a.limits->admit(QStringLiteral("user:bob"), free, start + 101, limits::RequestKind::Plain)
            .allowed);
    // An hour after the first request, the first one has left the window.
    QVERIFY(b.limits->admit(key, free, start + 3'600'000, limits::RequestKind::Plain).allowed);
    QCOMPARE(a.limits->stats().redisAdmissions + b.limits->stats().redisAdmissions, 104u);
    QCOMPARE(a.limits->stats().fallbackAdmissions + b.limits->stats().fallbackAdmissions, 0u);
}

void TestRedisStores::keysCarryThePrefixAndATtl()
{
    Replica plain = replica();
    const qint64 now = nowMs();
    QVERIFY(plain.limits
                ->admit(QStringLiteral("user:alice"), freePlan(), now, limits::RequestKind::Plain)
                .allowed);
    QCOMPARE(redis({"TYPE", "rl:user:alice"}).string, QByteArray("hash"));
    const qint64 hourTtl = redis({"PTTL", "rl:user:alice"}).integer;
    QVERIFY2(hourTtl > 3'590'000 && hourTtl <= 3'600'000, qPrintable(QString::number(hourTtl)));

    // A plan limited per minute only keeps its key for a minute.
    limits::Plan perMinute;
    perMinute.name = QStringLiteral("burst");
    perMinute.requestsPerMinute = 5;
    QVERIFY(
        plain.limits->admit(QStringLiteral("key:batch"), perMinute, now, limits::RequestKind::Plain)
            .allowed);
    const qint64 minuteTtl = redis({"PTTL", "rl:key:batch"}).integer;
    QVERIFY2(minuteTtl > 50'000 && minuteTtl <= 60'000, qPrintable(QString::number(minuteTtl)));

    // The local owner's unlimited plan never touches Redis.
    const limits::Plan local = *limits::PlanPolicy::reference().plan(QStringLiteral("local"));
    QVERIFY(plain.limits->admit(QStringLiteral("local"), local, now, limits::RequestKind::Stream)
                .allowed);
    QCOMPARE(redis({"EXISTS", "rl:local"}).integer, 0);

    // A key prefix goes before everything.
    Replica prefixed = replica("tollgate:");
    QVERIFY(prefixed.limits
                ->admit(QStringLiteral("user:carol"), freePlan(), now, limits::RequestKind::Plain)
                .allowed);
    QCOMPARE(redis({"EXISTS", "tollgate:rl:user:carol"}).integer, 1);
    QCOMPARE(redis({"EXISTS", "rl:user:carol"}).integer, 0);
}

void TestRedisStores::idleKeysVanish()
{
    // Every key expires once nothing in it counts any more: here a stream lease of 300 ms that
    // nobody released (its replica died), on a plan that limits only streams.
    Replica r = replica({}, 300);
    limits::Plan streams;
    streams.name = QStringLiteral("streams");
    streams.maxConcurrentStreams = 1;
    QVERIFY(
        r.limits->admit(QStringLiteral("user:idle"), streams, nowMs(), limits::RequestKind::Stream)
            .holdsStreamSlot);
    const qint64 ttl = redis({"PTTL", "rl:user:idle"}).integer;
    QVERIFY2(ttl > 0 && ttl <= 300, qPrintable(QString::number(ttl)));
    QTRY_COMPARE_WITH_TIMEOUT(redis({"EXISTS", "rl:user:idle"}).integer, 0, 3000);
}

void TestRedisStores::decisionsMatchTheMemoryLimiter()
{
    // The same pseudo-random run of admissions, charges and releases under a fake clock through
    // both stores: every Admission must be identical, field by field.
    Replica r = replica({}, 365LL * 24 * 3'600'000); // leases outlive the run, as memory slots do
    limits::RateLimiter memory;
    limits::Plan plan;
    plan.name = QStringLiteral("mixed");
    plan.requestsPerHour = 40;
    plan.requestsPerMinute = 6;
    plan.inputTokensPerMinute = 3000;
    plan.outputTokensPerMinute = 900;
    plan.maxConcurrentStreams = 2;
    const QStringList keys = {QStringLiteral("user:ann"), QStringLiteral("key:ci")};
    QHash<QString, int> slots;
    QRandomGenerator random(20240611);
    qint64 now = 1'750'000'000'000;
    int denied = 0;
    int tokenDenials = 0;
    int streamDenials = 0;
    for (int step = 0; step < 600; ++step) {
        const int jump = random.bounded(100);
        now += jump < 3 ? random.bounded(20 * 60'000) : random.bounded(4000);
        const QString &key = keys.at(random.bounded(keys.size()));
        const int op = random.bounded(10);
        if (op < 6) {
            const auto kind =
                random.bounded(2) ? limits::RequestKind::Stream : limits::RequestKind::Plain;
            const limits::Admission expected = memory.admit(key, plan, now, kind);
            const limits::Admission actual = r.limits->admit(key, plan, now, kind);
            const QString where = QStringLiteral("step %1 %2 at %3:\n  memory %4\n  redis  %5")
                                      .arg(step)
                                      .arg(key)
                                      .arg(now)
                                      .arg(describe(expected), describe(actual));
            QVERIFY2(expected.allowed == actual.allowed, qPrintable(where));
            QVERIFY2(expected.limitName == actual.limitName, qPrintable(where));
            QVERIFY2(expected.limit == actual.limit, qPrintable(where));
            QVERIFY2(expected.remaining == actual.remaining, qPrintable(where));
            QVERIFY2(expected.resetAtMs == actual.resetAtMs, qPrintable(where));
            QVERIFY2(expected.retryAfterSeconds == actual.retryAfterSeconds, qPrintable(where));
            QVERIFY2(expected.requests.limit == actual.requests.limit, qPrintable(where));
            QVERIFY2(expected.requests.remaining == actual.requests.remaining, qPrintable(where));
            QVERIFY2(expected.requests.resetAtMs == actual.requests.resetAtMs, qPrintable(where));
            QVERIFY2(expected.holdsStreamSlot == actual.holdsStreamSlot, qPrintable(where));
            if (!expected.allowed) {
                ++denied;
                tokenDenials += expected.limitName.endsWith(QLatin1String("tokens_per_minute"));
                streamDenials += expected.limitName == limits::kMaxConcurrentStreams;
            }
            if (expected.holdsStreamSlot)
                ++slots[key];
        } else if (op < 8) {
            const qint64 input = random.bounded(1500);
            const qint64 output = random.bounded(500);
            memory.charge(key, plan, input, output, now);
            r.limits->charge(key, plan, input, output, now);
            r.limits->flush();
        } else if (slots.value(key) > 0) {
            --slots[key];
            memory.release(key);
            r.limits->release(key);
            r.limits->flush();
        }
    }
    // The run must have exercised every kind of denial, or it proves little.
    QVERIFY2(denied > 20, qPrintable(QString::number(denied)));
    QVERIFY2(tokenDenials > 0, qPrintable(QString::number(tokenDenials)));
    QVERIFY2(streamDenials > 0, qPrintable(QString::number(streamDenials)));
    QCOMPARE(r.limits->stats().fallbackAdmissions, 0u);
    QCOMPARE(r.limits->stats().errors, 0u);
}

void TestRedisStores::tokenChargesReachOtherReplicas()
{
    Replica a = replica();
    Replica b = replica();
    limits::Plan plan;
    plan.name = QStringLiteral("tokens");
    plan.inputTokensPerMinute = 1000;
    const QString key = QStringLiteral("user:dora");
    const qint64 now = nowMs();
    QVERIFY(a.limits->admit(key, plan, now, limits::RequestKind::Plain).allowed);
    // Charged after the response on A, without waiting for anything: the background flush
    // takes it to Redis, where B's next admission sees it.
    a.limits->charge(key, plan, 1200, 50, now + 10);
    QTRY_VERIFY_WITH_TIMEOUT(
        !b.limits->admit(key, plan, now + 20, limits::RequestKind::Plain).allowed, 2000);
    const limits::Admission denied =
        b.limits->admit(key, plan, now + 30, limits::RequestKind::Plain);
    QCOMPARE(denied.limitName, limits::kInputTokensPerMinute);
    QCOMPARE(denied.resetAtMs, now + 10 + 60'000);
    // The script has run in Redis before the flusher reads its reply and counts it.
    a.limits->flush();
    QCOMPARE(a.limits->stats().chargesSent, 1u);
    // Output tokens are not limited by this plan, so they were not stored.
    QCOMPARE(redis({"HEXISTS", "rl:user:dora", "o"}).integer, 0);
    QVERIFY(b.limits->admit(key, plan, now + 10 + 60'000, limits::RequestKind::Plain).allowed);
}

void TestRedisStores::streamSlotsAreSharedAndReleased()
{
    Replica a = replica();
    Replica b = replica();
    limits::Plan plan;
    plan.name = QStringLiteral("streams");
    plan.maxConcurrentStreams = 2;
    const QString key = QStringLiteral("user:eve");
    const qint64 now = nowMs();
    QVERIFY(a.limits->admit(key, plan, now, limits::RequestKind::Stream).holdsStreamSlot);
    QVERIFY(b.limits->admit(key, plan, now, limits::RequestKind::Stream).holdsStreamSlot);
    const limits::Admission third = a.limits->admit(key, plan, now, limits::RequestKind::Stream);
    QVERIFY(!third.allowed);
    QCOMPARE(third.limitName, limits::kMaxConcurrentStreams);
    QCOMPARE(third.retryAfterSeconds, 1);
    // A request that does not stream needs no slot.
    QVERIFY(a.limits->admit(key, plan, now, limits::RequestKind::Plain).allowed);
    // The stream on B ends: its slot is free for A.
    b.limits->release(key);
    b.limits->flush();
    QVERIFY(a.limits->admit(key, plan, now + 1, limits::RequestKind::Stream).holdsStreamSlot);
    QCOMPARE(b.limits->stats().releasesSent, 1u);
}

void TestRedisStores::streamLeasesExpire()
{
    // A replica that died mid-stream never releases: its lease lapses instead.
    Replica dead = replica({}, 10'000);
    Replica alive = replica({}, 10'000);
    limits::Plan plan;
    plan.name = QStringLiteral("one-stream");
    plan.maxConcurrentStreams = 1;
    const QString key = QStringLiteral("user:fay");
    const qint64 now = nowMs();
    QVERIFY(dead.limits->admit(key, plan, now, limits::RequestKind::Stream).holdsStreamSlot);
    const qint64 ttl = redis({"PTTL", "rl:user:fay"}).integer;
    QVERIFY2(ttl > 9'000 && ttl <= 10'000, qPrintable(QString::number(ttl)));
    QVERIFY(!alive.limits->admit(key, plan, now + 9'999, limits::RequestKind::Stream).allowed);
    QVERIFY(
        alive.limits->admit(key, plan, now + 10'000, limits::RequestKind::Stream).holdsStreamSlot);
}

void TestRedisStores::lostScriptsAreLoadedAgain()
{
    Replica r = replica();
    const limits::Plan free = freePlan();
    const qint64 now = nowMs();
    QVERIFY(
        r.limits->admit(QStringLiteral("user:gil"), free, now, limits::RequestKind::Plain).allowed);
    // What a restarted server looks like to EVALSHA: NOSCRIPT.
    QCOMPARE(redis({"SCRIPT", "FLUSH"}).string, QByteArray("OK"));
    const limits::Admission second =
        r.limits->admit(QStringLiteral("user:gil"), free, now + 1, limits::RequestKind::Plain);
    QVERIFY(second.allowed);
    QCOMPARE(second.requests.remaining, 98);
    QCOMPARE(r.limits->stats().redisAdmissions, 2u);
    QCOMPARE(r.limits->stats().errors, 0u);
}

// ---------------------------------------------------------------------------------------------
// Cache

void TestRedisStores::cacheEntriesAreSharedBetweenReplicas()
{
    Replica a = replica();
    Replica b = replica();
    const qint64 now = nowMs();
    const auto body = bodyEntry(now, 60'000);
    const auto stream = streamEntry(now, 60'000);

    a.cache->store("k-body", body, now);
    a.cache->store("k-stream", stream, now);
    // Visible at once on the replica that stored it, before the writer sent anything.
    QVERIFY(a.cache->lookup("k-body", now));
    a.cache->flush();
    QCOMPARE(a.cache->stats().written, 2u);

    const auto gotBody = b.cache->lookup("k-body", now + 1);
    QVERIFY(gotBody);
    QCOMPARE(gotBody->serialize(), body->serialize());
    QCOMPARE(gotBody->toJsonBody(), body->body);

    const auto gotStream = b.cache->lookup("k-stream", now + 1);
    QVERIFY(gotStream);
    QVERIFY(gotStream->isStream());
    QCOMPARE(gotStream->events, stream->events);
    QCOMPARE(gotStream->serialize(), stream->serialize());
    QCOMPARE(b.cache->stats().hits, 2u);

    QVERIFY(!b.cache->lookup("k-unknown", now));
    QCOMPARE(b.cache->stats().misses, 1u);

    // One replica removes, the other sees it gone.
    b.cache->remove("k-body");
    b.cache->flush();
    QVERIFY(!a.cache->lookup("k-body", now + 2));
    QCOMPARE(redis({"EXISTS", "cache:k-body"}).integer, 0);
}

void TestRedisStores::cacheEntriesExpireWithTheirTtl()
{
    Replica a = replica("tollgate:");
    Replica b = replica("tollgate:");
    const qint64 now = nowMs();
    a.cache->store("k-ttl", bodyEntry(now, 60'000), now);
    a.cache->flush();
    const qint64 ttl = redis({"PTTL", "tollgate:cache:k-ttl"}).integer;
    QVERIFY2(ttl > 55'000 && ttl <= 60'000, qPrintable(QString::number(ttl)));
    // The entry's own expiry decides, whatever Redis's clock says.
    QVERIFY(b.cache->lookup("k-ttl", now + 59'999));
    QVERIFY(!b.cache->lookup("k-ttl", now + 60'000));

    // Redis drops it by itself at expiry.
    a.cache->store("k-short", bodyEntry(now, 300), now);
    a.cache->flush();
    QCOMPARE(redis({"EXISTS", "tollgate:cache:k-short"}).integer, 1);
    QTRY_COMPARE_WITH_TIMEOUT(redis({"EXISTS", "tollgate:cache:k-short"}).integer, 0, 3000);
}

void TestRedisStores::cacheDeclinesWhatItMustNotStore()
{
    Replica a = replica();
    const qint64 now = nowMs();
    auto failed = bodyEntry(now, 60'000);
    failed->status = 500;
    a.cache->store("k-500", failed, now);
    a.cache->store("k-expired", bodyEntry(now - 10, 5), now);
    auto huge = bodyEntry(now, 60'000);
    huge->body = QByteArray(5 * 1024 * 1024, 'x');
    a.cache->store("k-huge", huge, now);
    a.cache->flush();
    QCOMPARE(a.cache->stats().rejected, 3u);
    QCOMPARE(redis({"DBSIZE"}).integer, 0);

    // A value that is not an entry is a miss, and is removed.
    redis({"SET", "cache:k-garbage", "not an entry"});
    QVERIFY(!a.cache->lookup("k-garbage", now));
    a.cache->flush();
    QCOMPARE(redis({"EXISTS", "cache:k-garbage"}).integer, 0);
}

// ---------------------------------------------------------------------------------------------
// Budget spend

void TestRedisStores::spendChargedOnOneReplicaIsSeenByTheOther()
{
    awayFromMidnight();
    SpendReplica a = spendReplica(kSpendBudgets);
    SpendReplica b = spendReplica(kSpendBudgets);
    const qint64 now = nowMs();

    // Charged on A: A's ledger has it at once, without waiting for Redis.
    QVERIFY(a.charge(1.25, now));
    QCOMPARE(a.spent("team-day", now), 1.25);
    QCOMPARE(b.spent("team-day", now), 0.0);
    a.spend->flush();
    QCOMPARE(a.spend->stats().sent, 2u); // one row per budget
    // B's ledger sees it after its next read of the shared totals (at most a second).
    b.spend->refresh();
    QVERIFY(sameUsd(b.spent("team-day", nowMs()), 1.25));
    QVERIFY(sameUsd(b.spent("hourly", nowMs()), 1.25));

    // Both charge: each ledger ends with the sum, and reading it again does not add it twice.
    QVERIFY(b.charge(0.5, nowMs()));
    QVERIFY(a.charge(0.25, nowMs()));
    a.spend->flush();
    b.spend->flush();
    for (SpendReplica *r : {&a, &b}) {
        r->spend->refresh();
        r->spend->refresh();
        QVERIFY2(sameUsd(r->spent("team-day", nowMs()), 2.0),
                 qPrintable(QString::number(r->spent("team-day", nowMs()), 'g', 17)));
        QVERIFY(sameUsd(r->spent("hourly", nowMs()), 2.0));
    }
    // The background read keeps them current without being asked: B charges, A sees it.
    QVERIFY(b.charge(1.0, nowMs()));
    QTRY_VERIFY_WITH_TIMEOUT(sameUsd(a.spent("team-day", nowMs()), 3.0), 5000);
    QCOMPARE(a.spend->stats().errors + b.spend->stats().errors, 0u);
    QVERIFY(a.spend->stats().refreshes > 0);
    QVERIFY(a.spend->stats().lastSyncMs >= now);
}

void TestRedisStores::spendKeysCarryThePrefixAndATtl()
{
    awayFromMidnight();
    SpendReplica r = spendReplica(kSpendBudgets, "tollgate:");
    const qint64 now = nowMs();
    const qint64 dayStart = now - now % (24 * 3'600'000LL);
    const qint64 minuteStart = now - now % 60'000;
    // A field of the rolling hour two hours old: nothing counts it any more.
    const QByteArray stale = QByteArray::number(minuteStart - 2 * 3'600'000);
    redis({"HSET", "tollgate:spend:hourly", stale, "9"});
    QVERIFY(r.charge(0.75, now));
    r.spend->flush();

    // One hash per budget, one field per calendar window or rolling bucket.
    QCOMPARE(redis({"TYPE", "tollgate:spend:team-day"}).string, QByteArray("hash"));
    QCOMPARE(redis({"EXISTS", "spend:team-day"}).integer, 0);
    QCOMPARE(redis({"HGET", "tollgate:spend:team-day", QByteArray::number(dayStart)}).string,
             QByteArray("0.75"));
    QCOMPARE(redis({"HGET", "tollgate:spend:hourly", QByteArray::number(minuteStart)}).string,
             QByteArray("0.75"));
    QCOMPARE(redis({"HEXISTS", "tollgate:spend:hourly", stale}).integer, 0);
    QCOMPARE(redis({"HLEN", "tollgate:spend:hourly"}).integer, 1);

    // The day's hash lives to the end of the day plus one bucket (24 min); the rolling hour's
    // until its bucket leaves the window: an hour and one bucket (1 min) after the bucket began.
    const qint64 dayTtl = redis({"PTTL", "tollgate:spend:team-day"}).integer;
    const qint64 dayWanted = dayStart + 24 * 3'600'000LL + 24 * 60'000 - now;
    QVERIFY2(dayTtl > dayWanted - 5000 && dayTtl <= dayWanted, qPrintable(QString::number(dayTtl)));
    const qint64 hourTtl = redis({"PTTL", "tollgate:spend:hourly"}).integer;
    const qint64 hourWanted = minuteStart + 3'600'000 + 60'000 - now;
    QVERIFY2(hourTtl > hourWanted - 5000 && hourTtl <= hourWanted,
             qPrintable(QString::number(hourTtl)));

    // A TTL is only ever lengthened: a longer one set elsewhere stays.
    redis({"PEXPIRE", "tollgate:spend:team-day", "90000000"});
    QVERIFY(r.charge(0.25, nowMs()));
    r.spend->flush();
    QVERIFY(redis({"PTTL", "tollgate:spend:team-day"}).integer > 89'000'000);

    // A hash whose spend has all left its window expires by itself (here a 300 ms TTL stands
    // for the end of a window).
    redis({"PEXPIRE", "tollgate:spend:hourly", "300"});
    QTRY_COMPARE_WITH_TIMEOUT(redis({"EXISTS", "tollgate:spend:hourly"}).integer, 0, 3000);
    r.spend->refresh();
    QCOMPARE(r.spent("hourly", nowMs()), 0.0);
    QVERIFY(sameUsd(r.spent("team-day", nowMs()), 1.0));
}

void TestRedisStores::spendThresholdsAreReportedOnceAcrossReplicas()
{
    awayFromMidnight();
    const QByteArray budget =
        R"({"name": "shared", "window": "day", "limit_usd": 1, "actions": [)"
        R"({"at_percent": 50, "action": "alert"}, {"at_percent": 100, "action": "block"}]})";
    SpendReplica a = spendReplica(budget);
    SpendReplica b = spendReplica(budget);

    QVERIFY(a.charge(0.3, nowMs()));
    a.spend->flush();
    // B's ledger alone has never seen 50 %, but the batch from B takes the global total there.
    QVERIFY(b.charge(0.3, nowMs()));
    b.spend->flush();
    QCOMPARE(a.crossings->all().size(), 0);
    QCOMPARE(b.crossings->all().size(), 1);
    const limits::ThresholdCrossing half = b.crossings->all().constFirst();
    QCOMPARE(half.budget, QStringLiteral("shared"));
    QCOMPARE(half.atPercent, 50.0);
    QCOMPARE(half.action, limits::BudgetAction::Alert);
    QVERIFY(sameUsd(half.spentUsd, 0.6));
    QCOMPARE(half.limitUsd, 1.0);

    // Both replicas charge at the same moment past 100 %: exactly one of them reports it.
    QVERIFY(a.charge(0.25, nowMs()));
    QVERIFY(b.charge(0.25, nowMs()));
    std::thread flushA([&] { a.spend->flush(); });
    std::thread flushB([&] { b.spend->flush(); });
    flushA.join();
    flushB.join();
    QList<limits::ThresholdCrossing> full;
    for (SpendReplica *r : {&a, &b}) {
        for (const limits::ThresholdCrossing &crossing : r->crossings->all()) {
            if (crossing.atPercent == 100)
                full.append(crossing);
        }
    }
    QCOMPARE(full.size(), 1);
    QCOMPARE(full.constFirst().action, limits::BudgetAction::Block);
    QVERIFY(sameUsd(full.constFirst().spentUsd, 1.1));
    QCOMPARE(a.spend->stats().crossings + b.spend->stats().crossings, 2u);
    // Both ledgers now hold the global total, so both replicas block.
    a.spend->refresh();
    b.spend->refresh();
    QVERIFY(sameUsd(a.spent("shared", nowMs()), 1.1));
    QVERIFY(sameUsd(b.spent("shared", nowMs()), 1.1));
}

void TestRedisStores::spendOutageCountsLocallyThenCatchesUp()
{
    awayFromMidnight();
    SpendReplica a = spendReplica(kSpendBudgets);
    SpendReplica b = spendReplica(kSpendBudgets);
    QVERIFY(a.charge(1.0, nowMs()));
    a.spend->flush();
    b.spend->refresh();
    QVERIFY(sameUsd(b.spent("team-day", nowMs()), 1.0));
    // Written to disk, so the Redis that comes back still has it, as a Redis with persistence
    // would.
    QCOMPARE(redis({"SAVE"}).string, QByteArray("OK"));

    m_server.stop(/*crash=*/true);

    // A keeps charging its own ledger on top of the last shared total, and never waits.
    QElapsedTimer clock;
    clock.start();
    const qint64 during = nowMs();
    a.charge(0.5, during);
    a.spend->flush(); // the send fails: the outage starts
    QVERIFY(!a.spend->stats().sharing);
    QVERIFY(!a.charge(0.25, during)); // the caller now reports the ledger's own crossings
    a.spend->flush();
    b.spend->refresh();
    QVERIFY2(clock.elapsed() < 2000, qPrintable(QString::number(clock.elapsed())));
    QVERIFY(sameUsd(a.spent("team-day", nowMs()), 1.75));
    QVERIFY(sameUsd(a.spent("hourly", nowMs()), 1.75));
    QVERIFY(sameUsd(b.spent("team-day", nowMs()), 1.0)); // what B last read
    QCOMPARE(a.spend->stats().pending, 2u);              // merged: one row per budget
    QVERIFY(a.spend->stats().errors > 0);

    // Redis is back: the held increments are sent, and both ledgers hold the global total.
    QVERIFY2(m_server.start(m_server.port()), qPrintable(m_server.errorString()));
    QTRY_VERIFY_WITH_TIMEOUT(a.spend->stats().pending == 0 && a.spend->stats().sharing, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(sameUsd(b.spent("team-day", nowMs()), 1.75), 10000);
    QVERIFY(sameUsd(a.spent("team-day", nowMs()), 1.75));
    QVERIFY(sameUsd(b.spent("hourly", nowMs()), 1.75));
    QCOMPARE(a.spend->stats().dropped, 0u);
    QVERIFY(a.charge(0.25, nowMs()));
    // Later restarts in this suite start from an empty Redis again.
    redis({"FLUSHALL"});
    QCOMPARE(redis({"SAVE"}).string, QByteArray("OK"));
}

// ---------------------------------------------------------------------------------------------
// Outage

void TestRedisStores::redisOutageFailsOpenAndRecovers()
{
    Replica a = replica();
    Replica b = replica();
    const limits::Plan free = freePlan();
    const QString key = QStringLiteral("user:hal");
    const qint64 start = nowMs();
    for (int i = 0; i < 10; ++i)
        QVERIFY(a.limits->admit(key, free, start, limits::RequestKind::Plain).allowed);
    a.cache->store("k-outage", bodyEntry(start, 60'000), start);
    a.cache->flush();
    QVERIFY(b.cache->lookup("k-outage", start));

    m_server.stop(/*crash=*/true);

    // Every call still answers, and quickly: one failure starts the outage, then calls skip
    // Redis until a probe is due.
    QElapsedTimer clock;
    clock.start();
    for (int i = 0; i < 50; ++i) {
        const limits::Admission admission =
            (i % 2 ? a : b).limits->admit(key, free, start + 1, limits::RequestKind::Plain);
        QVERIFY2(admission.allowed, qPrintable(describe(admission)));
    }
    QVERIFY(!b.cache->lookup("k-outage", start + 1)); // a miss, not an error or a wait
    a.cache->store("k-during", bodyEntry(start, 60'000), start + 1);
    a.cache->flush();
    a.limits->charge(key, free, 10, 10, start + 1);
    QVERIFY2(clock.elapsed() < 2000, qPrintable(QString::number(clock.elapsed())));
    QCOMPARE(a.limits->stats().fallbackAdmissions + b.limits->stats().fallbackAdmissions, 50u);
    // One failure started each client's outage; later calls skipped Redis instead of each
    // paying for a failed connect.
    QVERIFY(a.client->stats().outages >= 1);
    QVERIFY(b.client->stats().outages >= 1);
    QVERIFY2(a.client->stats().failures + b.client->stats().failures < 10,
             qPrintable(QString::number(a.client->stats().failures + b.client->stats().failures)));
    QVERIFY(b.cache->stats().errors > 0);

    // Each replica now limits on its own: A alone refuses the 101st it sees.
    int allowedLocally = 25; // A's share of the 50 above
    for (int i = 0; i < 100; ++i) {
        if (a.limits->admit(key, free, start + 2, limits::RequestKind::Plain).allowed)
            ++allowedLocally;
    }
    QCOMPARE(allowedLocally, 100);

    // Redis comes back on the same address (empty: it kept nothing), and both replicas share
    // again after their next probe.
    QVERIFY2(m_server.start(m_server.port()), qPrintable(m_server.errorString()));
    const quint64 aBefore = a.limits->stats().redisAdmissions;
    const quint64 bBefore = b.limits->stats().redisAdmissions;
    QTRY_VERIFY_WITH_TIMEOUT((a.limits->admit(key, free, start + 3, limits::RequestKind::Plain),
                              b.limits->admit(key, free, start + 3, limits::RequestKind::Plain),
                              a.limits->stats().redisAdmissions > aBefore &&
                                  b.limits->stats().redisAdmissions > bBefore),
                             10000);
    QCOMPARE(redis({"EXISTS", "rl:user:hal"}).integer, 1);
    const quint64 fallbackAfter =
        a.limits->stats().fallbackAdmissions + b.limits->stats().fallbackAdmissions;
    QVERIFY(a.limits->admit(key, free, start + 4, limits::RequestKind::Plain).allowed);
    QVERIFY(b.limits->admit(key, free, start + 4, limits::RequestKind::Plain).allowed);
    QCOMPARE(a.limits->stats().fallbackAdmissions + b.limits->stats().fallbackAdmissions,
             fallbackAfter);

    a.cache->store("k-after", bodyEntry(start, 60'000), start + 5);
    a.cache->flush();
    QTRY_VERIFY_WITH_TIMEOUT(b.cache->lookup("k-after", start + 5) != nullptr, 5000);
}

QTEST_GUILESS_MAIN(TestRedisStores)
#include "tst_redisstores.moc"
