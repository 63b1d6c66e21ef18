#include "limits/planpolicy.h"
#include "limits/ratelimiter.h"
#include "limits/slidingwindow.h"

#include <QTest>

#include <atomic>
#include <thread>
#include <vector>

using tollgate::limits::Admission;
using tollgate::limits::Plan;
using tollgate::limits::PlanPolicy;
using tollgate::limits::RateLimiter;
using tollgate::limits::RateLimitStore;
using tollgate::limits::RequestKind;
using tollgate::limits::SlidingWindow;
using tollgate::policy::Principal;

namespace {

constexpr qint64 kSecond = 1000;
constexpr qint64 kMinute = 60 * kSecond;
constexpr qint64 kHour = 60 * kMinute;
// A fake clock: any fixed instant works, this one is not aligned to an hour on purpose.
constexpr qint64 kT0 = 1'700'000'123'456;

Principal identified(const QString &user, const QString &plan = {})
{
    Principal principal;
    principal.user = user;
    principal.plan = plan;
    principal.localOwner = false;
    return principal;
}

Plan planWith(qint64 perHour = 0, qint64 perMinute = 0)
{
    Plan plan;
    plan.name = QStringLiteral("test");
    if (perHour)
        plan.requestsPerHour = perHour;
    if (perMinute)
        plan.requestsPerMinute = perMinute;
    return plan;
}

Admission admit(RateLimiter &limiter, const QString &key, const Plan &plan, qint64 nowMs)
{
    return limiter.admit(key, plan, nowMs, RequestKind::Plain);
}

/// Admits `count` requests at `nowMs` and returns how many passed.
int admitMany(RateLimiter &limiter, const QString &key, const Plan &plan, qint64 nowMs, int count)
{
    int allowed = 0;
    for (int i = 0; i < count; ++i)
        allowed += admit(limiter, key, plan, nowMs).allowed ? 1 : 0;
    return allowed;
}

QByteArray header(const tollgate::http::HeaderList &headers, const char *name)
{
    return tollgate::http::headerValue(headers, name);
}

} // namespace

class TestRateLimiter : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void freeUserHundredthAllowedHundredFirstDenied();
    void allowedAgainAfterTheHour();
    void proAndEnterpriseHourlyLimits();
    void windowSlides();
    void deniedRequestsDoNotConsume();
    void perMinuteLimit();
    void tokensPerMinuteChargedAfterTheFact();
    void outputTokensPerMinute();
    void laterLimitNamedWhenSeveralDeny();
    void concurrentStreams();
    void localOwnerNeverLimitedByDefault();
    void unknownPlanGetsDefaultPlan();
    void keysOfPrincipals();
    void usersAreIndependent();
    void downgradedPlanSeesUsage();
    void headersOnEveryResponse();
    void resetDurationFormat();
    void evictionBoundsMemory();
    void openStreamKeepsKey();
    void concurrentAdmitsNeverOverAdmit();
    void slidingWindowRunsBounded();
    void slidingWindowOutOfOrderTime();
};

void TestRateLimiter::freeUserHundredthAllowedHundredFirstDenied()
{
    const PlanPolicy policy = PlanPolicy::reference();
    const Principal alice = identified(QStringLiteral("alice"));
    const Plan &free = policy.resolvePlan(alice);
    const QString key = RateLimitStore::keyFor(alice);
    RateLimiter limiter;

    // A burst spread over the first ten seconds.
    for (int i = 1; i <= 100; ++i) {
        const Admission a = admit(limiter, key, free, kT0 + i * 100);
        QVERIFY2(a.allowed, qPrintable(QStringLiteral("request %1").arg(i)));
        QCOMPARE(a.limitName, QLatin1String("requests_per_hour"));
        QCOMPARE(a.limit, qint64(100));
        QCOMPARE(a.remaining, qint64(100 - i));
    }
    const qint64 now = kT0 + 20 * kSecond + 250;
    const Admission denied = admit(limiter, key, free, now);
    QVERIFY(!denied.allowed);
    QCOMPARE(denied.limitName, QLatin1String("requests_per_hour"));
    QCOMPARE(denied.limit, qint64(100));
    QCOMPARE(denied.remaining, qint64(0));
    // The first request (at kT0 + 100 ms) leaves the window one hour after it was made.
    QCOMPARE(denied.resetAtMs, kT0 + 100 + kHour);
    QCOMPARE(denied.retryAfterSeconds, int((kT0 + 100 + kHour - now + 999) / 1000));
    QCOMPARE(denied.retryAfterSeconds, 3580);
    QVERIFY(!denied.holdsStreamSlot);
    QCOMPARE(QByteArray(tollgate::limits::kRateLimitExceededMessage),
             QByteArray("Rate limit exceeded. Upgrade for higher limits."));

    const auto headers = tollgate::limits::rateLimitHeaders(denied, now);
    QCOMPARE(header(headers, "retry-after"), QByteArray("3580"));
    QCOMPARE(header(headers, "x-ratelimit-limit-requests"), QByteArray("100"));
    QCOMPARE(header(headers, "x-ratelimit-remaining-requests"), QByteArray("0"));
    QCOMPARE(header(headers, "x-ratelimit-reset-requests"), QByteArray("59m40s"));
    QCOMPARE(header(headers, "x-tollgate-rate-limit"), QByteArray("requests_per_hour"));
}

void TestRateLimiter::allowedAgainAfterTheHour()
{
    RateLimiter limiter;
    const Plan free = *PlanPolicy::reference().plan(QStringLiteral("free"));
    const QString key = QStringLiteral("user:bob");
    QCOMPARE(admitMany(limiter, key, free, kT0, 100), 100);

    const Admission lastMs = admit(limiter, key, free, kT0 + kHour - 1);
    QVERIFY(!lastMs.allowed);
    QCOMPARE(lastMs.retryAfterSeconds, 1); // never 0: a client must wait a little

    const Admission again = admit(limiter, key, free, kT0 + kHour);
    QVERIFY(again.allowed);
    QCOMPARE(again.remaining, qint64(99));
    QCOMPARE(admitMany(limiter, key, free, kT0 + kHour, 100), 99);
}

void TestRateLimiter::proAndEnterpriseHourlyLimits()
{
    const PlanPolicy policy = PlanPolicy::reference();
    RateLimiter limiter;
    const Plan &pro = policy.resolvePlan(identified(QStringLiteral("p"), QStringLiteral("pro")));
    const Plan &enterprise =
        policy.resolvePlan(identified(QStringLiteral("e"), QStringLiteral("enterprise")));

    QCOMPARE(admitMany(limiter, QStringLiteral("user:p"), pro, kT0, 1000), 1000);
    Admission denied = admit(limiter, QStringLiteral("user:p"), pro, kT0 + kMinute);
    QVERIFY(!denied.allowed);
    QCOMPARE(denied.limit, qint64(1000));
    QCOMPARE(denied.retryAfterSeconds, 3540);

    QCOMPARE(admitMany(limiter, QStringLiteral("user:e"), enterprise, kT0, 10000), 10000);
    denied = admit(limiter, QStringLiteral("user:e"), enterprise, kT0 + 30 * kMinute);
    QVERIFY(!denied.allowed);
    QCOMPARE(denied.limit, qint64(10000));
    QCOMPARE(denied.retryAfterSeconds, 1800);
    QVERIFY(admit(limiter, QStringLiteral("user:e"), enterprise, kT0 + kHour).allowed);
}

void TestRateLimiter::windowSlides()
{
    // Not a fixed window: 100 requests across a window boundary are still 100 in an hour.
    RateLimiter limiter;
    const Plan free = planWith(100);
    const QString key = QStringLiteral("user:s");
    QCOMPARE(admitMany(limiter, key, free, kT0, 50), 50);
    QCOMPARE(admitMany(limiter, key, free, kT0 + 30 * kMinute, 50), 50);
    QVERIFY(!admit(limiter, key, free, kT0 + 59 * kMinute).allowed);

    // At kT0 + 1 h the first fifty leave; the second fifty stay until kT0 + 1.5 h.
    QCOMPARE(admitMany(limiter, key, free, kT0 + kHour, 60), 50);
    const Admission denied = admit(limiter, key, free, kT0 + kHour + kMinute);
    QVERIFY(!denied.allowed);
    QCOMPARE(denied.retryAfterSeconds, 29 * 60);
    QCOMPARE(denied.resetAtMs, kT0 + 2 * kHour);
}

void TestRateLimiter::deniedRequestsDoNotConsume()
{
    RateLimiter limiter;
    const Plan free = planWith(100);
    const QString key = QStringLiteral("user:d");
    QCOMPARE(admitMany(limiter, key, free, kT0, 100), 100);
    // A client hammering the 429 does not push its reset further out.
    for (int minute = 1; minute < 60; ++minute)
        QCOMPARE(admitMany(limiter, key, free, kT0 + minute * kMinute, 50), 0);
    QCOMPARE(admitMany(limiter, key, free, kT0 + kHour, 150), 100);

    // A denial by the per-minute limit does not use up the hourly allowance either.
    RateLimiter both;
    const Plan perMinute = planWith(100, 10);
    QCOMPARE(admitMany(both, key, perMinute, kT0, 50), 10);
    const Admission a = admit(both, key, perMinute, kT0 + kMinute);
    QVERIFY(a.allowed);
    QCOMPARE(a.limitName, QLatin1String("requests_per_minute"));
    QCOMPARE(a.remaining, qint64(9));
    QCOMPARE(a.requests.remaining, qint64(9));
}

void TestRateLimiter::perMinuteLimit()
{
    RateLimiter limiter;
    const Plan plan = planWith(1000, 10);
    const QString key = QStringLiteral("user:m");
    for (int i = 0; i < 10; ++i)
        QVERIFY(admit(limiter, key, plan, kT0 + i * kSecond).allowed);
    const Admission denied = admit(limiter, key, plan, kT0 + 15 * kSecond);
    QVERIFY(!denied.allowed);
    QCOMPARE(denied.limitName, QLatin1String("requests_per_minute"));
    QCOMPARE(denied.limit, qint64(10));
    QCOMPARE(denied.retryAfterSeconds, 45);
    QCOMPARE(denied.resetAtMs, kT0 + 9 * kSecond + kMinute);
    // The headers follow the window with the least left: the minute.
    QCOMPARE(denied.requests.limit, qint64(10));

    // Slides by the second: the first request leaves at kT0 + 60 s, the second at + 61 s.
    QVERIFY(admit(limiter, key, plan, kT0 + kMinute).allowed);
    QVERIFY(!admit(limiter, key, plan, kT0 + kMinute + 500).allowed);
    QVERIFY(admit(limiter, key, plan, kT0 + kMinute + kSecond).allowed);

    // Allowed: the headers name the tighter window.
    const Admission a = admit(limiter, key, plan, kT0 + 2 * kMinute);
    QVERIFY(a.allowed);
    QCOMPARE(a.limitName, QLatin1String("requests_per_minute"));
    QCOMPARE(a.remaining, qint64(8));
}

void TestRateLimiter::tokensPerMinuteChargedAfterTheFact()
{
    RateLimiter limiter;
    Plan plan = planWith(100);
    plan.inputTokensPerMinute = 10000;
    const QString key = QStringLiteral("user:t");

    // Usage is known only when a response is done, so admissions before it all pass.
    QVERIFY(admit(limiter, key, plan, kT0).allowed);
    QVERIFY(admit(limiter, key, plan, kT0 + 1).allowed);
    limiter.charge(key, plan, 7000, 500, kT0 + 2 * kSecond);
    QVERIFY(admit(limiter, key, plan, kT0 + 3 * kSecond).allowed);
    limiter.charge(key, plan, 6000, 500, kT0 + 5 * kSecond);

    // 13,000 of 10,000: blocked until the first charge leaves the minute.
    const Admission denied = admit(limiter, key, plan, kT0 + 10 * kSecond);
    QVERIFY(!denied.allowed);
    QCOMPARE(denied.limitName, QLatin1String("input_tokens_per_minute"));
    QCOMPARE(denied.limit, qint64(10000));
    QCOMPARE(denied.remaining, qint64(0));
    QCOMPARE(denied.retryAfterSeconds, 52);
    QCOMPARE(denied.resetAtMs, kT0 + 5 * kSecond + kMinute);
    // The requests headers still tell the hourly allowance, untouched by the denial.
    QCOMPARE(denied.requests.limit, qint64(100));
    QCOMPARE(denied.requests.remaining, qint64(97));
    const auto headers = tollgate::limits::rateLimitHeaders(denied, kT0 + 10 * kSecond);
    QCOMPARE(header(headers, "x-tollgate-rate-limit"), QByteArray("input_tokens_per_minute"));
    QCOMPARE(header(headers, "x-ratelimit-remaining-requests"), QByteArray("97"));

    const Admission after = admit(limiter, key, plan, kT0 + 2 * kSecond + kMinute);
    QVERIFY(after.allowed);
    QCOMPARE(after.requests.remaining, qint64(96));

    // Output tokens do not count against an input limit.
    RateLimiter other;
    other.charge(key, plan, 0, 1'000'000, kT0);
    QVERIFY(admit(other, key, plan, kT0 + 1).allowed);
}

void TestRateLimiter::outputTokensPerMinute()
{
    RateLimiter limiter;
    Plan plan;
    plan.outputTokensPerMinute = 1000;
    const QString key = QStringLiteral("key:ci");
    const Admission first = admit(limiter, key, plan, kT0);
    QVERIFY(first.allowed);
    // No requests limit: no request headers.
    QCOMPARE(first.requests.limit, qint64(0));
    QVERIFY(tollgate::limits::rateLimitHeaders(first, kT0).isEmpty());

    limiter.charge(key, plan, 50, 999, kT0 + kSecond);
    QVERIFY(admit(limiter, key, plan, kT0 + 2 * kSecond).allowed); // 999 < 1000
    limiter.charge(key, plan, 50, 1, kT0 + 3 * kSecond);
    const Admission denied = admit(limiter, key, plan, kT0 + 4 * kSecond);
    QVERIFY(!denied.allowed);
    QCOMPARE(denied.limitName, QLatin1String("output_tokens_per_minute"));
    // Dropping the first charge (999) brings it below the limit.
    QCOMPARE(denied.retryAfterSeconds, 57);
    QVERIFY(admit(limiter, key, plan, kT0 + kSecond + kMinute).allowed);
}

void TestRateLimiter::laterLimitNamedWhenSeveralDeny()
{
    RateLimiter limiter;
    Plan plan = planWith(10, 10);
    const QString key = QStringLiteral("user:x");
    QCOMPARE(admitMany(limiter, key, plan, kT0, 10), 10);
    // Both windows are full; the minute frees first, but retrying then meets the hour.
    const Admission denied = admit(limiter, key, plan, kT0 + kSecond);
    QVERIFY(!denied.allowed);
    QCOMPARE(denied.limitName, QLatin1String("requests_per_hour"));
    QCOMPARE(denied.retryAfterSeconds, 3599);
}

void TestRateLimiter::concurrentStreams()
{
    RateLimiter limiter;
    Plan plan = planWith(100);
    plan.maxConcurrentStreams = 2;
    const QString key = QStringLiteral("user:c");

    const Admission s1 = limiter.admit(key, plan, kT0, RequestKind::Stream);
    const Admission s2 = limiter.admit(key, plan, kT0, RequestKind::Stream);
    QVERIFY(s1.allowed && s1.holdsStreamSlot);
    QVERIFY(s2.allowed && s2.holdsStreamSlot);

    const Admission s3 = limiter.admit(key, plan, kT0 + 1, RequestKind::Stream);
    QVERIFY(!s3.allowed);
    QVERIFY(!s3.holdsStreamSlot);
    QCOMPARE(s3.limitName, QLatin1String("max_concurrent_streams"));
    QCOMPARE(s3.limit, qint64(2));
    QCOMPARE(s3.retryAfterSeconds, 1);
    QCOMPARE(s3.requests.remaining, qint64(98)); // the denied stream did not count

    // A non-streaming request holds no slot and is not blocked by the streams.
    const Admission plain = limiter.admit(key, plan, kT0 + 2, RequestKind::Plain);
    QVERIFY(plain.allowed);
    QVERIFY(!plain.holdsStreamSlot);

    limiter.release(key);
    const Admission s4 = limiter.admit(key, plan, kT0 + 3, RequestKind::Stream);
    QVERIFY(s4.allowed && s4.holdsStreamSlot);
    QCOMPARE(s4.remaining, qint64(96));

    // Releasing more than was taken cannot open extra slots.
    for (int i = 0; i < 5; ++i)
        limiter.release(key);
    QVERIFY(limiter.admit(key, plan, kT0 + 4, RequestKind::Stream).allowed);
    QVERIFY(limiter.admit(key, plan, kT0 + 4, RequestKind::Stream).allowed);
    QVERIFY(!limiter.admit(key, plan, kT0 + 4, RequestKind::Stream).allowed);
    limiter.release(QStringLiteral("user:nobody")); // unknown key: nothing happens
}

void TestRateLimiter::localOwnerNeverLimitedByDefault()
{
    const PlanPolicy policy = PlanPolicy::reference();
    const Principal owner; // no key, no x-tollgate-user
    QVERIFY(owner.localOwner);
    const QString key = RateLimitStore::keyFor(owner);
    QCOMPARE(key, QStringLiteral("local"));
    const Plan &plan = policy.resolvePlan(owner);
    QCOMPARE(plan.name, QStringLiteral("local"));

    RateLimiter limiter;
    for (int i = 0; i < 20000; ++i) {
        const Admission a =
            limiter.admit(key, plan, kT0 + i, i % 2 ? RequestKind::Stream : RequestKind::Plain);
        QVERIFY(a.allowed);
        QVERIFY(!a.holdsStreamSlot);
        QVERIFY(a.limitName.isNull());
        QVERIFY(tollgate::limits::rateLimitHeaders(a, kT0 + i).isEmpty());
    }
    limiter.charge(key, plan, 1'000'000, 1'000'000, kT0);
    // Nothing was tracked for the local owner at all.
    QCOMPARE(limiter.trackedKeys(), qsizetype(0));
}

void TestRateLimiter::unknownPlanGetsDefaultPlan()
{
    const PlanPolicy policy = PlanPolicy::reference();
    const Principal mallory = identified(QStringLiteral("mallory"), QStringLiteral("gold"));
    const Plan &plan = policy.resolvePlan(mallory);
    QCOMPARE(plan.name, QStringLiteral("free"));
    RateLimiter limiter;
    QCOMPARE(admitMany(limiter, RateLimitStore::keyFor(mallory), plan, kT0, 150), 100);
}

void TestRateLimiter::keysOfPrincipals()
{
    QCOMPARE(RateLimitStore::keyFor(Principal()), QStringLiteral("local"));
    QCOMPARE(RateLimitStore::keyFor(identified(QStringLiteral("alice"))),
             QStringLiteral("user:alice"));
    // A user called "local" is not the local owner.
    QCOMPARE(RateLimitStore::keyFor(identified(QStringLiteral("local"))),
             QStringLiteral("user:local"));

    Principal keyed;
    keyed.localOwner = false;
    keyed.keyName = QStringLiteral("ci");
    QCOMPARE(RateLimitStore::keyFor(keyed), QStringLiteral("key:ci"));
    // A key that names a user counts as that user, whichever key they use.
    keyed.user = QStringLiteral("alice");
    QCOMPARE(RateLimitStore::keyFor(keyed), QStringLiteral("user:alice"));
}

void TestRateLimiter::usersAreIndependent()
{
    RateLimiter limiter;
    const Plan free = planWith(100);
    QCOMPARE(admitMany(limiter, QStringLiteral("user:a"), free, kT0, 120), 100);
    QCOMPARE(admitMany(limiter, QStringLiteral("user:b"), free, kT0, 120), 100);
    QCOMPARE(admitMany(limiter, QStringLiteral("key:a"), free, kT0, 120), 100);
}

void TestRateLimiter::downgradedPlanSeesUsage()
{
    // Counters belong to the key, not the plan: a plan change keeps what was used.
    RateLimiter limiter;
    const QString key = QStringLiteral("user:u");
    QCOMPARE(admitMany(limiter, key, planWith(1000), kT0, 300), 300);
    const Admission denied = admit(limiter, key, planWith(100), kT0 + kSecond);
    QVERIFY(!denied.allowed);
    QCOMPARE(denied.remaining, qint64(0));
    const Admission upgraded = admit(limiter, key, planWith(10000), kT0 + kSecond);
    QVERIFY(upgraded.allowed);
    QCOMPARE(upgraded.remaining, qint64(10000 - 301));
}

void TestRateLimiter::headersOnEveryResponse()
{
    RateLimiter limiter;
    const Plan free = planWith(100);
    const Admission a = admit(limiter, QStringLiteral("user:h"), free, kT0);
    const auto headers = tollgate::limits::rateLimitHeaders(a, kT0);
    QCOMPARE(headers.size(), 3);
    QCOMPARE(header(headers, "x-ratelimit-limit-requests"), QByteArray("100"));
    QCOMPARE(header(headers, "x-ratelimit-remaining-requests"), QByteArray("99"));
    QCOMPARE(header(headers, "x-ratelimit-reset-requests"), QByteArray("1h0m0s"));
    QVERIFY(header(headers, "retry-after").isEmpty());

    const Admission later = admit(limiter, QStringLiteral("user:h"), free, kT0 + 10 * kMinute);
    const auto laterHeaders = tollgate::limits::rateLimitHeaders(later, kT0 + 10 * kMinute);
    QCOMPARE(header(laterHeaders, "x-ratelimit-remaining-requests"), QByteArray("98"));
    // Back to full once the newest request leaves: an hour after it.
    QCOMPARE(header(laterHeaders, "x-ratelimit-reset-requests"), QByteArray("1h0m0s"));
}

void TestRateLimiter::resetDurationFormat()
{
    using tollgate::limits::formatResetDuration;
    QCOMPARE(formatResetDuration(0), QByteArray("0s"));
    QCOMPARE(formatResetDuration(-5), QByteArray("0s"));
    QCOMPARE(formatResetDuration(1), QByteArray("1s"));
    QCOMPARE(formatResetDuration(36 * kSecond), QByteArray("36s"));
    QCOMPARE(formatResetDuration(6 * kMinute), QByteArray("6m0s"));
    QCOMPARE(formatResetDuration(59 * kMinute + 50 * kSecond), QByteArray("59m50s"));
    QCOMPARE(formatResetDuration(kHour), QByteArray("1h0m0s"));
    QCOMPARE(formatResetDuration(kHour + 1), QByteArray("1h0m1s"));
}

void TestRateLimiter::evictionBoundsMemory()
{
    RateLimiter limiter;
    const Plan free = planWith(100);
    const int users = 100000;
    for (int i = 0; i < users; ++i)
        QVERIFY(admit(limiter, QStringLiteral("user:%1").arg(i), free, kT0 + i / 100).allowed);
    QCOMPARE(limiter.trackedKeys(), qsizetype(users));

    // Half an hour on, nobody may be forgotten: all still have a request in the window.
    QCOMPARE(limiter.evictIdle(kT0 + 30 * kMinute), qsizetype(0));

    // An hour on, new users arriving sweep the idle ones out of the shards they land in.
    const qint64 later = kT0 + kHour + kMinute;
    for (int i = 0; i < 1000; ++i)
        QVERIFY(admit(limiter, QStringLiteral("new:%1").arg(i), free, later).allowed);
    QVERIFY2(limiter.trackedKeys() <= 1000 + users / 10,
             qPrintable(QString::number(limiter.trackedKeys())));

    // A timer sweep catches any shard no new user reached.
    limiter.evictIdle(later);
    QCOMPARE(limiter.trackedKeys(), qsizetype(1000));
    limiter.evictIdle(later + kHour);
    QCOMPARE(limiter.trackedKeys(), qsizetype(0));

    // Forgotten users start afresh.
    QVERIFY(admit(limiter, QStringLiteral("user:1"), free, later + kHour).remaining == 99);
}

void TestRateLimiter::openStreamKeepsKey()
{
    RateLimiter limiter;
    Plan plan;
    plan.maxConcurrentStreams = 1;
    const QString key = QStringLiteral("user:long");
    QVERIFY(limiter.admit(key, plan, kT0, RequestKind::Stream).holdsStreamSlot);
    // A stream longer than every window must not lose its slot to eviction.
    QCOMPARE(limiter.evictIdle(kT0 + 2 * kHour), qsizetype(0));
    QVERIFY(!limiter.admit(key, plan, kT0 + 2 * kHour, RequestKind::Stream).allowed);
    limiter.release(key);
    QCOMPARE(limiter.evictIdle(kT0 + 2 * kHour), qsizetype(1));
}

void TestRateLimiter::concurrentAdmitsNeverOverAdmit()
{
    RateLimiter limiter;
    Plan plan = planWith(1000, 0);
    plan.maxConcurrentStreams = 1'000'000;
    plan.inputTokensPerMinute = 1'000'000'000; // charged concurrently, never reached
    const int threads = 8;
    const int perThread = 400; // 3,200 attempts for 1,000 slots per key
    const QStringList keys = {QStringLiteral("user:shared"), QStringLiteral("user:other")};
    std::atomic<int> allowed[2] = {0, 0};
    std::atomic<bool> go{false};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            while (!go.load())
                std::this_thread::yield();
            for (int i = 0; i < perThread; ++i) {
                for (int k = 0; k < 2; ++k) {
                    // Threads read their clocks at slightly different times.
                    const Admission a =
                        limiter.admit(keys[k], plan, kT0 + i + t, RequestKind::Stream);
                    if (a.allowed) {
                        ++allowed[k];
                        limiter.release(keys[k]);
                    }
                }
                limiter.charge(keys[0], plan, 10, 10, kT0 + i);
            }
        });
    }
    go = true;
    for (std::thread &worker : workers)
        worker.join();
    QCOMPARE(allowed[0].load(), 1000);
    QCOMPARE(allowed[1].load(), 1000);
    QVERIFY(!admit(limiter, keys[0], plan, kT0 + kMinute).allowed);
}

void TestRateLimiter::slidingWindowRunsBounded()
{
    SlidingWindow window(kHour);
    // One request a second for three hours: the window never holds more than 61 runs and
    // always counts between 59 and 60 minutes of requests.
    for (qint64 s = 0; s < 3 * 3600; ++s) {
        window.add(1, kT0 + s * kSecond);
        QVERIFY(window.runCount() <= SlidingWindow::kRunsPerWindow + 1);
        if (s >= 3600) {
            QVERIFY2(window.total() >= 59 * 60 && window.total() <= 3600,
                     qPrintable(QString::number(window.total())));
        }
    }
    window.expire(kT0 + 4 * kHour);
    QVERIFY(window.isEmpty());
    QCOMPARE(window.total(), qint64(0));
    QCOMPARE(window.emptyAtMs(kT0 + 4 * kHour), kT0 + 4 * kHour);
}

void TestRateLimiter::slidingWindowOutOfOrderTime()
{
    // A worker that read the clock just before another one took the lock.
    SlidingWindow window(kMinute);
    window.add(5, kT0 + 10 * kSecond);
    window.add(3, kT0 + 10 * kSecond - 2);
    QCOMPARE(window.total(), qint64(8));
    QCOMPARE(window.runCount(), qsizetype(1));
    QCOMPARE(window.belowLimitAtMs(8, kT0 + 11 * kSecond), kT0 + 70 * kSecond);
    QCOMPARE(window.belowLimitAtMs(9, kT0 + 11 * kSecond), kT0 + 11 * kSecond);
}

QTEST_GUILESS_MAIN(TestRateLimiter)
#include "tst_ratelimiter.moc"
