#include "routing/breakerregistry.h"
#include "routing/circuitbreaker.h"

#include <QTest>

#include <atomic>
#include <thread>
#include <vector>

using tollgate::routing::BreakerOutcome;
using tollgate::routing::breakerOutcome;
using tollgate::routing::BreakerPolicy;
using tollgate::routing::BreakerRegistry;
using tollgate::routing::BreakerState;
using tollgate::routing::breakerStateName;
using tollgate::routing::CircuitBreaker;
using tollgate::routing::TargetState;

namespace {

const QString kPrimary = QStringLiteral("anthropic:https://api.anthropic.com");
const QString kFallback = QStringLiteral("anthropic:https://eu.anthropic.example");

/// Only the consecutive-failure trigger: the error-rate trigger needs more requests than any
/// test here makes.
BreakerPolicy consecutiveOnly(int failures = 5, int cooldownMs = 30000, int probes = 1)
{
    BreakerPolicy policy;
    policy.consecutiveFailures = failures;
    policy.minRequests = 1'000'000;
    policy.cooldownMs = cooldownMs;
    policy.halfOpenProbes = probes;
    return policy;
}

/// Only the error-rate trigger.
BreakerPolicy rateOnly(double rate, int minRequests, int windowMs = 60000)
{
    BreakerPolicy policy;
    policy.consecutiveFailures = 1'000'000;
    policy.errorRate = rate;
    policy.minRequests = minRequests;
    policy.windowMs = windowMs;
    return policy;
}

/// Runs `body(threadIndex)` on `count` threads that start together.
template <typename Body> void runTogether(int count, Body body)
{
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < count; ++i) {
        threads.emplace_back([&, i] {
            ready.fetch_add(1);
            while (!go.load())
                std::this_thread::yield();
            body(i);
        });
    }
    while (ready.load() < count)
        std::this_thread::yield();
    go.store(true);
    for (std::thread &thread : threads)
        thread.join();
}

} // namespace

class TestCircuitBreaker : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // CircuitBreaker, the state machine.
    void startsClosed();
    void opensAfterConsecutiveFailures();
    void successResetsConsecutiveFailures();
    void opensOnErrorRate();
    void errorRateNeedsMinRequests();
    void errorRateBelowThresholdStaysClosed();
    void errorRateExactDecimalThreshold();
    void windowSlides();
    void windowBucketBoundaries();
    void cooldownBoundaryExact();
    void halfOpenProbeBudget();
    void halfOpenProbeBudgetOfThree();
    void probeSuccessCloses();
    void probeFailureReopens();
    void neutralFreesProbe();
    void lostProbeIsReclaimedAfterCooldown();
    void outcomesWhileOpenIgnored();
    void lateOutcomeInHalfOpenDecides();
    void inspectReportsEverything();
    void setPolicyAppliesAndRestartsWindow();
    void outcomeOfStatus_data();
    void outcomeOfStatus();
    void rateLimitNeverOpens();
    void stateNamesAndGaugeValues();

    // BreakerRegistry, shared by the workers.
    void registryUnknownTargetIsClosed();
    void registryTargetsAreIndependent();
    void registrySnapshotSorted();
    void registrySetPolicy();
    void registryRetainOnly();
    void registryNeutralDoesNotCreate();
    void concurrentRecordAndAllowCount();
    void concurrentProbesRespectBudget();
    void concurrentFailuresOpenOnce();
    void concurrentFirstRecordCreatesOneBreaker();
};

void TestCircuitBreaker::startsClosed()
{
    CircuitBreaker breaker;
    QCOMPARE(breaker.state(0), BreakerState::Closed);
    QVERIFY(breaker.allow(0));
    const TargetState state = breaker.inspect(0);
    QCOMPARE(state.consecutiveFailures, 0);
    QCOMPARE(state.windowRequests, 0);
    QCOMPARE(state.errorRate, 0.0);
    QVERIFY(!state.openedAtMs);
    QVERIFY(!state.nextProbeAtMs);
}

void TestCircuitBreaker::opensAfterConsecutiveFailures()
{
    CircuitBreaker breaker(consecutiveOnly(5));
    for (int i = 0; i < 4; ++i) {
        breaker.recordFailure(100 + i);
        QCOMPARE(breaker.state(100 + i), BreakerState::Closed);
        QVERIFY(breaker.allow(100 + i));
    }
    breaker.recordFailure(104);
    QCOMPARE(breaker.state(104), BreakerState::Open);
    QVERIFY(!breaker.allow(104));
    QCOMPARE(breaker.inspect(104).consecutiveFailures, 5);
    QCOMPARE(breaker.inspect(104).openedAtMs, std::optional<qint64>(104));
    QCOMPARE(breaker.inspect(104).timesOpened, qint64(1));
}

void TestCircuitBreaker::successResetsConsecutiveFailures()
{
    CircuitBreaker breaker(consecutiveOnly(5));
    for (int i = 0; i < 4; ++i)
        breaker.recordFailure(0);
    breaker.recordSuccess(0);
    QCOMPARE(breaker.inspect(0).consecutiveFailures, 0);
    for (int i = 0; i < 4; ++i)
        breaker.recordFailure(0);
    QCOMPARE(breaker.state(0), BreakerState::Closed);
    breaker.recordFailure(0);
    QCOMPARE(breaker.state(0), BreakerState::Open);
}

void TestCircuitBreaker::opensOnErrorRate()
{
    // Reference-like: 50 % over the window once 20 outcomes are in it. Alternate so the
    // consecutive trigger could never fire even at its reference value.
    BreakerPolicy policy = rateOnly(0.5, 20);
    policy.consecutiveFailures = 5;
    CircuitBreaker breaker(policy);
    for (int i = 0; i < 9; ++i) {
        breaker.recordSuccess(i);
        breaker.recordFailure(i);
    }
    breaker.recordSuccess(9); // 19 outcomes, 9 failures
    QCOMPARE(breaker.state(9), BreakerState::Closed);
    breaker.recordFailure(10); // 20 outcomes, 10 failures: 0.5, at the threshold
    QCOMPARE(breaker.state(10), BreakerState::Open);
    QCOMPARE(breaker.inspect(10).consecutiveFailures, 1);
    QCOMPARE(breaker.inspect(10).windowRequests, 20);
    QCOMPARE(breaker.inspect(10).windowFailures, 10);
    QCOMPARE(breaker.inspect(10).errorRate, 0.5);
}

void TestCircuitBreaker::errorRateNeedsMinRequests()
{
    CircuitBreaker breaker(rateOnly(0.5, 20));
    // 19 failures in a row is a 100 % error rate, but not yet 20 outcomes.
    for (int i = 0; i < 19; ++i)
        breaker.recordFailure(i);
    QCOMPARE(breaker.state(19), BreakerState::Closed);
    breaker.recordFailure(19);
    QCOMPARE(breaker.state(19), BreakerState::Open);
}

void TestCircuitBreaker::errorRateBelowThresholdStaysClosed()
{
    CircuitBreaker breaker(rateOnly(0.5, 20));
    for (int i = 0; i < 11; ++i)
        breaker.recordSuccess(0);
    for (int i = 0; i < 9; ++i)
        breaker.recordFailure(0); // 9 / 20
    QCOMPARE(breaker.state(0), BreakerState::Closed);
    breaker.recordFailure(0); // 10 / 21
    QCOMPARE(breaker.state(0), BreakerState::Closed);
    breaker.recordFailure(0); // 11 / 22 = 0.5
    QCOMPARE(breaker.state(0), BreakerState::Open);
}

void TestCircuitBreaker::errorRateExactDecimalThreshold()
{
    // 3 of 10 is exactly 30 %; a multiplication (0.3 * 10 = 3.0000000000000004) would miss it.
    CircuitBreaker breaker(rateOnly(0.3, 10));
    for (int i = 0; i < 7; ++i)
        breaker.recordSuccess(0);
    breaker.recordFailure(0);
    breaker.recordFailure(0);
    QCOMPARE(breaker.state(0), BreakerState::Closed);
    breaker.recordFailure(0);
    QCOMPARE(breaker.state(0), BreakerState::Open);
}

void TestCircuitBreaker::windowSlides()
{
    // A 10 s window in ten 1 s buckets; 4 outcomes needed, all failures.
    const BreakerPolicy policy = rateOnly(1.0, 4, 10000);

    // Three failures at t=0, the fourth 9999 ms later: all four in the window -> open.
    CircuitBreaker inside(policy);
    for (int i = 0; i < 3; ++i)
        inside.recordFailure(0);
    inside.recordFailure(9999);
    QCOMPARE(inside.state(9999), BreakerState::Open);

    // The same at 10000 ms: the first three have slid out -> one outcome, closed.
    CircuitBreaker outside(policy);
    for (int i = 0; i < 3; ++i)
        outside.recordFailure(0);
    QCOMPARE(outside.inspect(9999).windowRequests, 3);
    QCOMPARE(outside.inspect(10000).windowRequests, 0);
    outside.recordFailure(10000);
    QCOMPARE(outside.state(10000), BreakerState::Closed);
    QCOMPARE(outside.inspect(10000).windowRequests, 1);
    QCOMPARE(outside.inspect(10000).windowFailures, 1);

    // Successes slide out too, which can raise the rate: 2 old successes + 2 failures later.
    CircuitBreaker mixed(rateOnly(0.75, 3, 10000));
    mixed.recordSuccess(0);
    mixed.recordSuccess(0);
    mixed.recordFailure(5000);
    mixed.recordFailure(5000); // 2 / 4
    QCOMPARE(mixed.state(5000), BreakerState::Closed);
    mixed.recordFailure(12000); // successes gone: 3 / 3
    QCOMPARE(mixed.state(12000), BreakerState::Open);
}

void TestCircuitBreaker::windowBucketBoundaries()
{
    // An outcome counts until the end of the window that starts at its bucket: one at 999 ms
    // (bucket 0) leaves at 10000 like one at 0; one at 1000 (bucket 1) stays until 10999.
    CircuitBreaker breaker(rateOnly(1.0, 1'000'000, 10000));
    breaker.recordFailure(999);
    breaker.recordSuccess(1000);
    QCOMPARE(breaker.inspect(9999).windowRequests, 2);
    QCOMPARE(breaker.inspect(10000).windowRequests, 1);
    QCOMPARE(breaker.inspect(10000).windowFailures, 0);
    QCOMPARE(breaker.inspect(10999).windowRequests, 1);
    QCOMPARE(breaker.inspect(11000).windowRequests, 0);

    // A window that is not a multiple of ten rounds its buckets up (15 ms -> 2 ms buckets).
    CircuitBreaker odd(rateOnly(1.0, 1'000'000, 15));
    odd.recordFailure(0);
    QCOMPARE(odd.inspect(19).windowRequests, 1);
    QCOMPARE(odd.inspect(20).windowRequests, 0);
}

void TestCircuitBreaker::cooldownBoundaryExact()
{
    CircuitBreaker breaker(consecutiveOnly(1, 30000));
    breaker.recordFailure(1000);
    QCOMPARE(breaker.state(1000), BreakerState::Open);
    QCOMPARE(breaker.inspect(1000).nextProbeAtMs, std::optional<qint64>(31000));
    QCOMPARE(breaker.state(30999), BreakerState::Open);
    QVERIFY(!breaker.allow(30999));
    QCOMPARE(breaker.state(31000), BreakerState::HalfOpen);
    QVERIFY(breaker.allow(31000));
}

void TestCircuitBreaker::halfOpenProbeBudget()
{
    CircuitBreaker breaker(consecutiveOnly(1, 100, 1));
    breaker.recordFailure(0);
    QVERIFY(breaker.allow(100));
    QCOMPARE(breaker.state(100), BreakerState::HalfOpen);
    QCOMPARE(breaker.inspect(100).probesInFlight, 1);
    // The probe is out: everyone else is refused until it reports.
    QVERIFY(!breaker.allow(100));
    QVERIFY(!breaker.allow(150));
    QCOMPARE(breaker.state(150), BreakerState::HalfOpen);
}

void TestCircuitBreaker::halfOpenProbeBudgetOfThree()
{
    CircuitBreaker breaker(consecutiveOnly(1, 100, 3));
    breaker.recordFailure(0);
    QVERIFY(breaker.allow(100));
    QVERIFY(breaker.allow(101));
    QVERIFY(breaker.allow(102));
    QVERIFY(!breaker.allow(103));
    QCOMPARE(breaker.inspect(103).probesInFlight, 3);
}

void TestCircuitBreaker::probeSuccessCloses()
{
    CircuitBreaker breaker(consecutiveOnly(2, 100));
    breaker.recordSuccess(0);
    breaker.recordFailure(0);
    breaker.recordFailure(0);
    QVERIFY(breaker.allow(100));
    breaker.recordSuccess(120);
    QCOMPARE(breaker.state(120), BreakerState::Closed);
    QVERIFY(breaker.allow(120));
    const TargetState state = breaker.inspect(120);
    QCOMPARE(state.consecutiveFailures, 0);
    QCOMPARE(state.probesInFlight, 0);
    // The outcomes that opened it are forgotten: the recovered target starts clean.
    QCOMPARE(state.windowRequests, 0);
    QVERIFY(!state.openedAtMs);
    QVERIFY(!state.nextProbeAtMs);
    // And it takes the full count of failures to open again.
    breaker.recordFailure(130);
    QCOMPARE(breaker.state(130), BreakerState::Closed);
    breaker.recordFailure(131);
    QCOMPARE(breaker.state(131), BreakerState::Open);
}

void TestCircuitBreaker::probeFailureReopens()
{
    CircuitBreaker breaker(consecutiveOnly(1, 100));
    breaker.recordFailure(0);
    QVERIFY(breaker.allow(100));
    breaker.recordFailure(140);
    QCOMPARE(breaker.state(140), BreakerState::Open);
    QVERIFY(!breaker.allow(140));
    const TargetState state = breaker.inspect(140);
    QCOMPARE(state.openedAtMs, std::optional<qint64>(140));
    QCOMPARE(state.nextProbeAtMs, std::optional<qint64>(240));
    QCOMPARE(state.timesOpened, qint64(2));
    QCOMPARE(state.probesInFlight, 0);
    // The new cooldown runs from the failed probe, to the millisecond.
    QVERIFY(!breaker.allow(239));
    QVERIFY(breaker.allow(240));
}

void TestCircuitBreaker::neutralFreesProbe()
{
    CircuitBreaker breaker(consecutiveOnly(1, 100));
    breaker.recordFailure(0);
    QVERIFY(breaker.allow(100));
    QVERIFY(!breaker.allow(101));
    // The probe was rate-limited (or its client hung up): no verdict, the slot is free again.
    breaker.recordNeutral(102);
    QCOMPARE(breaker.state(102), BreakerState::HalfOpen);
    QVERIFY(breaker.allow(103));
    QVERIFY(!breaker.allow(104));
    // Neutral in the closed state changes nothing.
    CircuitBreaker closed;
    closed.recordNeutral(0);
    QCOMPARE(closed.inspect(0).windowRequests, 0);
}

void TestCircuitBreaker::lostProbeIsReclaimedAfterCooldown()
{
    CircuitBreaker breaker(consecutiveOnly(1, 100));
    breaker.recordFailure(0);
    QVERIFY(breaker.allow(100)); // a probe that never reports
    QVERIFY(!breaker.allow(199));
    QCOMPARE(breaker.inspect(150).nextProbeAtMs, std::optional<qint64>(200));
    QVERIFY(breaker.allow(200));
    QVERIFY(!breaker.allow(201));
}

void TestCircuitBreaker::outcomesWhileOpenIgnored()
{
    CircuitBreaker breaker(consecutiveOnly(1, 100));
    breaker.recordFailure(0);
    // Calls admitted before it opened finish now; they neither close it nor extend it.
    breaker.recordSuccess(50);
    QCOMPARE(breaker.state(50), BreakerState::Open);
    breaker.recordFailure(60);
    QCOMPARE(breaker.inspect(60).openedAtMs, std::optional<qint64>(0));
    QCOMPARE(breaker.inspect(60).timesOpened, qint64(1));
    QVERIFY(breaker.allow(100));
}

void TestCircuitBreaker::lateOutcomeInHalfOpenDecides()
{
    // After the cooldown any outcome is evidence about the target, probe or not.
    CircuitBreaker healthy(consecutiveOnly(1, 100));
    healthy.recordFailure(0);
    healthy.recordSuccess(100);
    QCOMPARE(healthy.state(100), BreakerState::Closed);

    CircuitBreaker sick(consecutiveOnly(1, 100));
    sick.recordFailure(0);
    sick.recordFailure(100);
    QCOMPARE(sick.state(100), BreakerState::Open);
    QCOMPARE(sick.inspect(100).nextProbeAtMs, std::optional<qint64>(200));
}

void TestCircuitBreaker::inspectReportsEverything()
{
    BreakerPolicy policy = rateOnly(0.5, 4);
    policy.consecutiveFailures = 3;
    policy.cooldownMs = 1000;
    CircuitBreaker breaker(policy);
    breaker.recordSuccess(10);
    breaker.recordFailure(20);
    breaker.recordFailure(30);
    TargetState state = breaker.inspect(30);
    QCOMPARE(state.state, BreakerState::Closed);
    QCOMPARE(state.consecutiveFailures, 2);
    QCOMPARE(state.windowRequests, 3);
    QCOMPARE(state.windowFailures, 2);
    QCOMPARE(state.errorRate, 2.0 / 3.0);
    QCOMPARE(state.timesOpened, qint64(0));

    breaker.recordFailure(40); // 3 in a row
    state = breaker.inspect(40);
    QCOMPARE(state.state, BreakerState::Open);
    QCOMPARE(state.openedAtMs, std::optional<qint64>(40));
    QCOMPARE(state.nextProbeAtMs, std::optional<qint64>(1040));
    QCOMPARE(state.windowRequests, 4);
    QCOMPARE(state.errorRate, 0.75);

    state = breaker.inspect(1040); // reads as half-open without changing the breaker
    QCOMPARE(state.state, BreakerState::HalfOpen);
    QCOMPARE(state.probesInFlight, 0);
    QCOMPARE(breaker.state(1039), BreakerState::Open);
}

void TestCircuitBreaker::setPolicyAppliesAndRestartsWindow()
{
    CircuitBreaker breaker(consecutiveOnly(5));
    breaker.recordFailure(0);
    breaker.recordFailure(0);
    breaker.setPolicy(consecutiveOnly(3));
    QCOMPARE(breaker.inspect(0).windowRequests, 2); // same window: kept
    breaker.recordFailure(0);
    QCOMPARE(breaker.state(0), BreakerState::Open);

    CircuitBreaker other(rateOnly(1.0, 100, 60000));
    other.recordFailure(0);
    other.setPolicy(rateOnly(1.0, 100, 10000));
    QCOMPARE(other.inspect(0).windowRequests, 0); // buckets no longer line up: restarted
}

void TestCircuitBreaker::outcomeOfStatus_data()
{
    QTest::addColumn<int>("status");
    QTest::addColumn<int>("outcome");
    const int failure = int(BreakerOutcome::Failure);
    const int success = int(BreakerOutcome::Success);
    const int neutral = int(BreakerOutcome::Neutral);
    QTest::newRow("transport") << 0 << failure;
    QTest::newRow("408") << 408 << failure;
    QTest::newRow("500") << 500 << failure;
    QTest::newRow("502") << 502 << failure;
    QTest::newRow("503") << 503 << failure;
    QTest::newRow("504") << 504 << failure;
    QTest::newRow("529") << 529 << failure;
    QTest::newRow("429") << 429 << neutral;
    QTest::newRow("200") << 200 << success;
    QTest::newRow("400") << 400 << success;
    QTest::newRow("401") << 401 << success;
    QTest::newRow("404") << 404 << success;
    QTest::newRow("413") << 413 << success;
}

void TestCircuitBreaker::outcomeOfStatus()
{
    QFETCH(int, status);
    QFETCH(int, outcome);
    QCOMPARE(int(breakerOutcome(status)), outcome);
}

void TestCircuitBreaker::rateLimitNeverOpens()
{
    CircuitBreaker breaker(BreakerPolicy{});
    for (int i = 0; i < 100; ++i)
        breaker.record(breakerOutcome(429), i);
    QCOMPARE(breaker.state(100), BreakerState::Closed);
    QCOMPARE(breaker.inspect(100).windowRequests, 0);
    for (int i = 0; i < 5; ++i)
        breaker.record(breakerOutcome(529), 100);
    QCOMPARE(breaker.state(100), BreakerState::Open);
}

void TestCircuitBreaker::stateNamesAndGaugeValues()
{
    QCOMPARE(int(BreakerState::Closed), 0);
    QCOMPARE(int(BreakerState::HalfOpen), 1);
    QCOMPARE(int(BreakerState::Open), 2);
    QCOMPARE(breakerStateName(BreakerState::Closed), QLatin1String("closed"));
    QCOMPARE(breakerStateName(BreakerState::HalfOpen), QLatin1String("half_open"));
    QCOMPARE(breakerStateName(BreakerState::Open), QLatin1String("open"));
}

void TestCircuitBreaker::registryUnknownTargetIsClosed()
{
    BreakerRegistry registry;
    QVERIFY(registry.allow(kPrimary, 0));
    QCOMPARE(registry.state(kPrimary, 0), BreakerState::Closed);
    const TargetState state = registry.targetState(kPrimary, 0);
    QCOMPARE(state.target, kPrimary);
    QCOMPARE(state.state, BreakerState::Closed);
    // Asking does not create: metrics list only targets that saw traffic.
    QVERIFY(registry.snapshot(0).isEmpty());
}

void TestCircuitBreaker::registryTargetsAreIndependent()
{
    BreakerRegistry registry(consecutiveOnly(2, 1000));
    registry.recordFailure(kPrimary, 0);
    registry.recordFailure(kPrimary, 1);
    registry.recordSuccess(kFallback, 1);
    QCOMPARE(registry.state(kPrimary, 1), BreakerState::Open);
    QVERIFY(!registry.allow(kPrimary, 1));
    QVERIFY(registry.allow(kFallback, 1));

    // The whole cycle through the registry: cooldown, one probe, success closes.
    QVERIFY(!registry.allow(kPrimary, 1000));
    QVERIFY(registry.allow(kPrimary, 1001));
    QVERIFY(!registry.allow(kPrimary, 1001));
    registry.recordSuccess(kPrimary, 1200);
    QCOMPARE(registry.state(kPrimary, 1200), BreakerState::Closed);
    QVERIFY(registry.allow(kPrimary, 1200));

    // Through record() with statuses.
    registry.record(kFallback, breakerOutcome(503), 2000);
    registry.record(kFallback, breakerOutcome(0), 2000);
    QCOMPARE(registry.state(kFallback, 2000), BreakerState::Open);
}

void TestCircuitBreaker::registrySnapshotSorted()
{
    BreakerRegistry registry(consecutiveOnly(1, 500));
    registry.recordSuccess(QStringLiteral("openai:https://api.openai.com"), 0);
    registry.recordFailure(kPrimary, 10);
    registry.recordSuccess(kFallback, 0);
    const QList<TargetState> snapshot = registry.snapshot(20);
    QCOMPARE(snapshot.size(), 3);
    QCOMPARE(snapshot.at(0).target, kPrimary);
    QCOMPARE(snapshot.at(1).target, kFallback);
    QCOMPARE(snapshot.at(2).target, QStringLiteral("openai:https://api.openai.com"));
    QCOMPARE(snapshot.at(0).state, BreakerState::Open);
    QCOMPARE(snapshot.at(0).consecutiveFailures, 1);
    QCOMPARE(snapshot.at(0).errorRate, 1.0);
    QCOMPARE(snapshot.at(0).openedAtMs, std::optional<qint64>(10));
    QCOMPARE(snapshot.at(0).nextProbeAtMs, std::optional<qint64>(510));
    QCOMPARE(snapshot.at(1).state, BreakerState::Closed);
    QCOMPARE(snapshot.at(1).windowRequests, 1);
    QCOMPARE(registry.snapshot(510).at(0).state, BreakerState::HalfOpen);
}

void TestCircuitBreaker::registrySetPolicy()
{
    BreakerRegistry registry(consecutiveOnly(5));
    registry.recordFailure(kPrimary, 0);
    registry.recordFailure(kPrimary, 0);
    registry.setPolicy(consecutiveOnly(3));
    QCOMPARE(registry.policy().consecutiveFailures, 3);
    registry.recordFailure(kPrimary, 0);
    QCOMPARE(registry.state(kPrimary, 0), BreakerState::Open);
    // New targets get the new policy too.
    for (int i = 0; i < 3; ++i)
        registry.recordFailure(kFallback, 0);
    QCOMPARE(registry.state(kFallback, 0), BreakerState::Open);
}

void TestCircuitBreaker::registryRetainOnly()
{
    BreakerRegistry registry(consecutiveOnly(1));
    registry.recordFailure(kPrimary, 0);
    registry.recordSuccess(kFallback, 0);
    registry.retainOnly({kFallback});
    const QList<TargetState> snapshot = registry.snapshot(0);
    QCOMPARE(snapshot.size(), 1);
    QCOMPARE(snapshot.at(0).target, kFallback);
    QVERIFY(registry.allow(kPrimary, 0)); // forgotten, so closed again
}

void TestCircuitBreaker::registryNeutralDoesNotCreate()
{
    BreakerRegistry registry;
    registry.recordNeutral(kPrimary, 0);
    registry.record(kPrimary, BreakerOutcome::Neutral, 0);
    QVERIFY(registry.snapshot(0).isEmpty());
}

void TestCircuitBreaker::concurrentRecordAndAllowCount()
{
    // Never opens; every outcome must be counted exactly once while readers run alongside.
    BreakerPolicy policy;
    policy.consecutiveFailures = 1'000'000'000;
    policy.minRequests = 1'000'000'000;
    policy.windowMs = 1'000'000'000;
    BreakerRegistry registry(policy);
    const QStringList targets = {QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c")};
    constexpr int kThreads = 6;
    constexpr int kIterations = 20000;
    std::atomic<int> refused{0};
    runTogether(kThreads, [&](int index) {
        for (int i = 0; i < kIterations; ++i) {
            const QString &target = targets.at((index + i) % targets.size());
            if (!registry.allow(target, 1000))
                refused.fetch_add(1);
            if (i % 2 == 0)
                registry.recordSuccess(target, 1000);
            else
                registry.recordFailure(target, 1000);
            if (i % 1000 == 0)
                (void)registry.snapshot(1000);
        }
    });
    QCOMPARE(refused.load(), 0);
    const QList<TargetState> snapshot = registry.snapshot(1000);
    QCOMPARE(snapshot.size(), 3);
    int requests = 0;
    int failures = 0;
    for (const TargetState &state : snapshot) {
        QCOMPARE(state.state, BreakerState::Closed);
        requests += state.windowRequests;
        failures += state.windowFailures;
    }
    QCOMPARE(requests, kThreads * kIterations);
    QCOMPARE(failures, kThreads * kIterations / 2);
}

void TestCircuitBreaker::concurrentProbesRespectBudget()
{
    for (int round = 0; round < 50; ++round) {
        BreakerRegistry registry(consecutiveOnly(1, 100, 2));
        registry.recordFailure(kPrimary, 0);
        std::atomic<int> admitted{0};
        runTogether(8, [&](int) {
            for (int i = 0; i < 10; ++i) {
                if (registry.allow(kPrimary, 100))
                    admitted.fetch_add(1);
            }
        });
        QCOMPARE(admitted.load(), 2);
        QCOMPARE(registry.targetState(kPrimary, 100).probesInFlight, 2);
    }
}

void TestCircuitBreaker::concurrentFailuresOpenOnce()
{
    for (int round = 0; round < 20; ++round) {
        BreakerRegistry registry(consecutiveOnly(5, 1000));
        std::atomic<int> admitted{0};
        runTogether(8, [&](int) {
            for (int i = 0; i < 200; ++i) {
                if (registry.allow(kPrimary, 10))
                    admitted.fetch_add(1);
                registry.recordFailure(kPrimary, 10);
            }
        });
        const TargetState state = registry.targetState(kPrimary, 10);
        QCOMPARE(state.state, BreakerState::Open);
        QCOMPARE(state.timesOpened, qint64(1));
        QCOMPARE(state.consecutiveFailures, 5);
        QVERIFY(admitted.load() >= 5);
        QVERIFY(!registry.allow(kPrimary, 10));
    }
}

void TestCircuitBreaker::concurrentFirstRecordCreatesOneBreaker()
{
    for (int round = 0; round < 50; ++round) {
        BreakerRegistry registry;
        runTogether(8, [&](int) { registry.recordSuccess(kPrimary, 0); });
        const QList<TargetState> snapshot = registry.snapshot(0);
        QCOMPARE(snapshot.size(), 1);
        QCOMPARE(snapshot.at(0).windowRequests, 8);
    }
}

QTEST_GUILESS_MAIN(TestCircuitBreaker)
#include "tst_circuitbreaker.moc"
