#include "routing/reliabilitypolicy.h"
#include "routing/retrypolicy.h"

#include <QJsonDocument>
#include <QTest>

#include <cmath>
#include <limits>

using tollgate::Error;
using tollgate::routing::backoffDelayMs;
using tollgate::routing::decideRetry;
using tollgate::routing::failureKind;
using tollgate::routing::isNeverRetried;
using tollgate::routing::ReliabilityPolicy;
using tollgate::routing::RetryDecision;
using tollgate::routing::RetryPolicy;
using tollgate::routing::RetryReason;
using tollgate::routing::retryReasonName;

Q_DECLARE_METATYPE(RetryReason)

namespace {

QJsonObject object(const QByteArray &json)
{
    return QJsonDocument::fromJson(json).object();
}

QStringList problemLines(const QList<Error> &problems)
{
    QStringList lines;
    for (const Error &problem : problems)
        lines.append(problem.toString());
    return lines;
}

/// The reference decision for one failure, with the arguments that rarely vary defaulted.
RetryDecision decide(int status, int attempt = 1, std::optional<int> retryAfter = std::nullopt,
                     qint64 elapsedMs = 0, bool bytesSent = false, double random01 = 0.5,
                     const RetryPolicy &policy = RetryPolicy{})
{
    return decideRetry(policy, attempt, status, retryAfter, bytesSent, elapsedMs, random01);
}

} // namespace

class TestRetryPolicy : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // Backoff and decisions.
    void backoffExact_data();
    void backoffExact();
    void backoffWithoutJitter();
    void backoffHugeValuesSaturate();
    void retryableStatusesRetry_data();
    void retryableStatusesRetry();
    void attemptsExhaustedMovesOn();
    void attemptsFollowTheBackoffSequence();
    void retryAfterHonoured();
    void retryAfterIsAFloor();
    void retryAfterBeyondMaxDelayStillHonoured();
    void retryAfterIgnoredWhenDisabled();
    void retryAfterIgnoredForTransportAndNegative();
    void retryAfterBeyondDeadlineMovesOn();
    void backoffBeyondDeadlineMovesOn();
    void deadlineExceededGivesUp();
    void neverAfterBytesSent_data();
    void neverAfterBytesSent();
    void neverRetriedStatuses_data();
    void neverRetriedStatuses();
    void neverRetriedEvenIfListed();
    void otherClientErrorsGiveUp();
    void serverErrorOutsideRetryOnMovesOn();
    void rateLimitRemovedFromRetryOnGivesUp();
    void successIsNotAFailure();
    void decisionInvariants();
    void reasonNames();
    void failureKinds();

    // The policy sections.
    void referenceValues();
    void referenceJson();
    void emptyDocumentIsReference();
    void briefDocumentIsReference();
    void customValues();
    void otherSectionsIgnored();
    void roundTrip();
    void validationErrors_data();
    void validationErrors();
    void fromJsonListsEveryProblem();
};

void TestRetryPolicy::backoffExact_data()
{
    QTest::addColumn<int>("attempt");
    QTest::addColumn<double>("random01");
    QTest::addColumn<qint64>("expected");

    // Reference: base 250, max 8000, jitter 0.2 -> base * 2^(attempt-1) capped, times
    // 1 + 0.2 * (2r - 1).
    QTest::newRow("1st, r=0.5 (no jitter)") << 1 << 0.5 << qint64(250);
    QTest::newRow("1st, r=0 (-20%)") << 1 << 0.0 << qint64(200);
    QTest::newRow("1st, r=1 (+20%)") << 1 << 1.0 << qint64(300);
    QTest::newRow("1st, r=0.25 (-10%)") << 1 << 0.25 << qint64(225);
    QTest::newRow("1st, r=0.999") << 1 << 0.999 << qint64(300); // 299.9 rounds up
    QTest::newRow("2nd, r=0.5") << 2 << 0.5 << qint64(500);
    QTest::newRow("3rd, r=0") << 3 << 0.0 << qint64(800);
    QTest::newRow("4th, r=1") << 4 << 1.0 << qint64(2400);
    QTest::newRow("5th, r=0.75 (+10%)") << 5 << 0.75 << qint64(4400);
    QTest::newRow("6th reaches the cap exactly") << 6 << 0.5 << qint64(8000);
    QTest::newRow("7th capped, r=0.5") << 7 << 0.5 << qint64(8000);
    QTest::newRow("7th capped, r=0") << 7 << 0.0 << qint64(6400);
    QTest::newRow("7th capped, r=1") << 7 << 1.0 << qint64(9600);
    QTest::newRow("100th capped") << 100 << 0.5 << qint64(8000);
    QTest::newRow("attempt 0 reads as 1") << 0 << 0.5 << qint64(250);
    QTest::newRow("random below 0 clamps to 0") << 1 << -3.0 << qint64(200);
    QTest::newRow("random above 1 clamps to 1") << 1 << 2.0 << qint64(300);
    QTest::newRow("NaN random means no jitter")
        << 1 << std::numeric_limits<double>::quiet_NaN() << qint64(250);
}

void TestRetryPolicy::backoffExact()
{
    QFETCH(int, attempt);
    QFETCH(double, random01);
    QFETCH(qint64, expected);
    QCOMPARE(backoffDelayMs(RetryPolicy{}, attempt, random01), expected);
    // decideRetry uses the same delay (attempt below max_attempts, far from the deadline).
    RetryPolicy policy;
    policy.maxAttempts = 1000;
    policy.deadlineMs = std::numeric_limits<int>::max();
    const RetryDecision decision = decideRetry(policy, attempt, 503, {}, false, 0, random01);
    QVERIFY(decision.retry);
    QCOMPARE(decision.delayMs, expected);
    QCOMPARE(decision.reason, RetryReason::Backoff);
}

void TestRetryPolicy::backoffWithoutJitter()
{
    RetryPolicy policy;
    policy.jitter = 0;
    for (double r : {0.0, 0.3, 0.999})
        QCOMPARE(backoffDelayMs(policy, 3, r), qint64(1000));
    policy.baseDelayMs = 0;
    QCOMPARE(backoffDelayMs(policy, 5, 1.0), qint64(0));
}

void TestRetryPolicy::backoffHugeValuesSaturate()
{
    RetryPolicy policy;
    policy.baseDelayMs = std::numeric_limits<int>::max();
    policy.maxDelayMs = std::numeric_limits<int>::max();
    policy.jitter = 0;
    QCOMPARE(backoffDelayMs(policy, std::numeric_limits<int>::max(), 0.5),
             qint64(std::numeric_limits<int>::max()));
}

void TestRetryPolicy::retryableStatusesRetry_data()
{
    QTest::addColumn<int>("status");
    for (int status : {0, 408, 429, 500, 502, 503, 504, 529})
        QTest::newRow(qPrintable(QString::number(status))) << status;
}

void TestRetryPolicy::retryableStatusesRetry()
{
    QFETCH(int, status);
    const RetryDecision decision = decide(status);
    QVERIFY(decision.retry);
    QVERIFY(!decision.nextTarget);
    QCOMPARE(decision.delayMs, qint64(250));
    QCOMPARE(decision.reason, RetryReason::Backoff);
}

void TestRetryPolicy::attemptsExhaustedMovesOn()
{
    // Reference max_attempts 2: one retry on the same target, then the next target.
    for (int status : {0, 429, 503, 529}) {
        const RetryDecision decision = decide(status, 2);
        QVERIFY(!decision.retry);
        QVERIFY(decision.nextTarget);
        QCOMPARE(decision.delayMs, qint64(0));
        QCOMPARE(decision.reason, RetryReason::AttemptsExhausted);
    }
}

void TestRetryPolicy::attemptsFollowTheBackoffSequence()
{
    RetryPolicy policy;
    policy.maxAttempts = 4;
    const qint64 expected[] = {250, 500, 1000};
    qint64 elapsed = 0;
    for (int attempt = 1; attempt <= 3; ++attempt) {
        const RetryDecision decision = decide(503, attempt, {}, elapsed, false, 0.5, policy);
        QVERIFY(decision.retry);
        QCOMPARE(decision.delayMs, expected[attempt - 1]);
        elapsed += decision.delayMs + 100;
    }
    const RetryDecision last = decide(503, 4, {}, elapsed, false, 0.5, policy);
    QVERIFY(!last.retry);
    QVERIFY(last.nextTarget);
    QCOMPARE(last.reason, RetryReason::AttemptsExhausted);
}

void TestRetryPolicy::retryAfterHonoured()
{
    const RetryDecision decision = decide(429, 1, 3);
    QVERIFY(decision.retry);
    QVERIFY(!decision.nextTarget);
    QCOMPARE(decision.delayMs, qint64(3000));
    QCOMPARE(decision.reason, RetryReason::RetryAfter);

    // Any retryable status may carry it (503 and 529 do in practice).
    QCOMPARE(decide(529, 1, 2).delayMs, qint64(2000));
    QCOMPARE(decide(503, 1, 1).delayMs, qint64(1000));
}

void TestRetryPolicy::retryAfterIsAFloor()
{
    // retry-after: 0 asks for nothing longer than our own backoff.
    RetryDecision decision = decide(429, 1, 0, 0, false, 1.0);
    QCOMPARE(decision.delayMs, qint64(300));
    QCOMPARE(decision.reason, RetryReason::Backoff);

    // A 1 s retry-after is shorter than the 4th backoff (2000 ms): the backoff wins.
    RetryPolicy policy;
    policy.maxAttempts = 10;
    decision = decide(429, 4, 1, 0, false, 0.5, policy);
    QCOMPARE(decision.delayMs, qint64(2000));
    QCOMPARE(decision.reason, RetryReason::Backoff);
}

void TestRetryPolicy::retryAfterBeyondMaxDelayStillHonoured()
{
    // max_delay_ms bounds our own backoff; the server's instruction is not shortened.
    const RetryDecision decision = decide(429, 1, 20);
    QVERIFY(decision.retry);
    QCOMPARE(decision.delayMs, qint64(20000));
    QCOMPARE(decision.reason, RetryReason::RetryAfter);
}

void TestRetryPolicy::retryAfterIgnoredWhenDisabled()
{
    RetryPolicy policy;
    policy.honourRetryAfter = false;
    const RetryDecision decision = decide(429, 1, 30, 0, false, 0.5, policy);
    QVERIFY(decision.retry);
    QCOMPARE(decision.delayMs, qint64(250));
    QCOMPARE(decision.reason, RetryReason::Backoff);
}

void TestRetryPolicy::retryAfterIgnoredForTransportAndNegative()
{
    // A transport failure has no response and so no retry-after; a stale value is ignored.
    QCOMPARE(decide(0, 1, 30).delayMs, qint64(250));
    QCOMPARE(decide(503, 1, -5).delayMs, qint64(250));
    QCOMPARE(decide(503, 1, -5).reason, RetryReason::Backoff);
}

void TestRetryPolicy::retryAfterBeyondDeadlineMovesOn()
{
    // Deadline 60000. A retry must start strictly before it.
    RetryDecision decision = decide(429, 1, 10, 49999);
    QVERIFY(decision.retry);
    QCOMPARE(decision.delayMs, qint64(10000)); // starts at 59999

    decision = decide(429, 1, 10, 50000); // would start at 60000
    QVERIFY(!decision.retry);
    QVERIFY(decision.nextTarget);
    QCOMPARE(decision.delayMs, qint64(0));
    QCOMPARE(decision.reason, RetryReason::RetryAfterBeyondDeadline);

    // A retry-after far past the deadline (e.g. a daily quota) moves on right away.
    decision = decide(429, 1, 3600, 0);
    QVERIFY(decision.nextTarget);
    QCOMPARE(decision.reason, RetryReason::RetryAfterBeyondDeadline);
}

void TestRetryPolicy::backoffBeyondDeadlineMovesOn()
{
    RetryDecision decision = decide(503, 1, {}, 59749); // 59749 + 250 = 59999
    QVERIFY(decision.retry);
    QCOMPARE(decision.delayMs, qint64(250));

    decision = decide(503, 1, {}, 59750); // 59750 + 250 = 60000
    QVERIFY(!decision.retry);
    QVERIFY(decision.nextTarget);
    QCOMPARE(decision.reason, RetryReason::BackoffBeyondDeadline);
}

void TestRetryPolicy::deadlineExceededGivesUp()
{
    // Neither a retry nor the next target may start once the deadline has passed...
    for (int status : {0, 429, 501, 503}) {
        for (qint64 elapsed : {qint64(60000), qint64(60001), qint64(600000)}) {
            const RetryDecision decision = decide(status, 1, {}, elapsed);
            QVERIFY(!decision.retry);
            QVERIFY(!decision.nextTarget);
            QCOMPARE(decision.reason, RetryReason::DeadlineExceeded);
        }
    }
    // ...but one millisecond before it the next target still may.
    const RetryDecision decision = decide(503, 2, {}, 59999);
    QVERIFY(decision.nextTarget);
    QCOMPARE(decision.reason, RetryReason::AttemptsExhausted);
}

void TestRetryPolicy::neverAfterBytesSent_data()
{
    QTest::addColumn<int>("status");
    for (int status : {0, 408, 429, 500, 503, 529, 501, 400})
        QTest::newRow(qPrintable(QString::number(status))) << status;
}

void TestRetryPolicy::neverAfterBytesSent()
{
    QFETCH(int, status);
    for (int attempt : {1, 2}) {
        const RetryDecision decision = decide(status, attempt, 1, 0, true);
        QVERIFY(!decision.retry);
        QVERIFY(!decision.nextTarget);
        QCOMPARE(decision.delayMs, qint64(0));
        QCOMPARE(decision.reason, RetryReason::StreamStarted);
    }
}

void TestRetryPolicy::neverRetriedStatuses_data()
{
    QTest::addColumn<int>("status");
    QTest::addColumn<RetryReason>("reason");
    QTest::newRow("400") << 400 << RetryReason::ClientError;
    QTest::newRow("401") << 401 << RetryReason::AuthRejected;
    QTest::newRow("403") << 403 << RetryReason::AuthRejected;
    QTest::newRow("404") << 404 << RetryReason::ClientError;
    QTest::newRow("413") << 413 << RetryReason::ClientError;
}

void TestRetryPolicy::neverRetriedStatuses()
{
    QFETCH(int, status);
    QFETCH(RetryReason, reason);
    QVERIFY(isNeverRetried(status));
    const RetryDecision decision = decide(status, 1, 1);
    QVERIFY(!decision.retry);
    QVERIFY(!decision.nextTarget);
    QCOMPARE(decision.delayMs, qint64(0));
    QCOMPARE(decision.reason, reason);
}

void TestRetryPolicy::neverRetriedEvenIfListed()
{
    // fromJson rejects these in retry_on; a policy built in code cannot sneak them in either.
    RetryPolicy policy;
    policy.retryOn = {400, 401, 403, 404, 413};
    for (int status : {400, 401, 403, 404, 413}) {
        const RetryDecision decision = decide(status, 1, {}, 0, false, 0.5, policy);
        QVERIFY(!decision.retry);
        QVERIFY(!decision.nextTarget);
    }
}

void TestRetryPolicy::otherClientErrorsGiveUp()
{
    for (int status : {402, 405, 409, 415, 422, 451}) {
        const RetryDecision decision = decide(status);
        QVERIFY(!decision.retry);
        QVERIFY(!decision.nextTarget);
        QCOMPARE(decision.reason, RetryReason::ClientError);
    }
    // An operator may opt a 4xx in (409: a conflict that clears on its own).
    RetryPolicy policy;
    policy.retryOn.append(409);
    QVERIFY(decide(409, 1, {}, 0, false, 0.5, policy).retry);
}

void TestRetryPolicy::serverErrorOutsideRetryOnMovesOn()
{
    for (int status : {501, 505, 599}) {
        const RetryDecision decision = decide(status);
        QVERIFY(!decision.retry);
        QVERIFY(decision.nextTarget);
        QCOMPARE(decision.reason, RetryReason::NotRetryable);
    }
    RetryPolicy policy;
    policy.retryOn.removeAll(503);
    const RetryDecision decision = decide(503, 1, {}, 0, false, 0.5, policy);
    QVERIFY(!decision.retry);
    QVERIFY(decision.nextTarget);
}

void TestRetryPolicy::rateLimitRemovedFromRetryOnGivesUp()
{
    RetryPolicy policy;
    policy.retryOn = {500, 502, 503, 504, 529};
    const RetryDecision decision = decide(429, 1, 1, 0, false, 0.5, policy);
    QVERIFY(!decision.retry);
    QVERIFY(!decision.nextTarget);
    QCOMPARE(decision.reason, RetryReason::ClientError);
}

void TestRetryPolicy::successIsNotAFailure()
{
    for (int status : {200, 201, 204, 301, 304}) {
        const RetryDecision decision = decide(status);
        QVERIFY(!decision.retry);
        QVERIFY(!decision.nextTarget);
        QCOMPARE(decision.reason, RetryReason::Succeeded);
    }
}

void TestRetryPolicy::decisionInvariants()
{
    // Over a grid of inputs: retry and nextTarget never both; a delay only with a retry; a retry
    // always starts before the deadline; nothing at all once bytes reached the client.
    const RetryPolicy policy;
    for (int status = 0; status < 600; ++status) {
        for (int attempt : {1, 2, 3}) {
            for (qint64 elapsed : {qint64(0), qint64(30000), qint64(59990), qint64(70000)}) {
                for (std::optional<int> retryAfter :
                     {std::optional<int>(), std::optional<int>(5), std::optional<int>(100)}) {
                    for (bool sent : {false, true}) {
                        const RetryDecision d =
                            decideRetry(policy, attempt, status, retryAfter, sent, elapsed, 0.7);
                        QVERIFY(!(d.retry && d.nextTarget));
                        QVERIFY(d.retry || d.delayMs == 0);
                        QVERIFY(!d.retry || elapsed + d.delayMs < policy.deadlineMs);
                        QVERIFY(!d.retry || attempt < policy.maxAttempts);
                        QVERIFY(!sent || (!d.retry && !d.nextTarget));
                    }
                }
            }
        }
    }
}

void TestRetryPolicy::reasonNames()
{
    QCOMPARE(retryReasonName(RetryReason::Succeeded), QLatin1String("succeeded"));
    QCOMPARE(retryReasonName(RetryReason::Backoff), QLatin1String("backoff"));
    QCOMPARE(retryReasonName(RetryReason::RetryAfter), QLatin1String("retry_after"));
    QCOMPARE(retryReasonName(RetryReason::AttemptsExhausted), QLatin1String("attempts_exhausted"));
    QCOMPARE(retryReasonName(RetryReason::BackoffBeyondDeadline),
             QLatin1String("backoff_beyond_deadline"));
    QCOMPARE(retryReasonName(RetryReason::RetryAfterBeyondDeadline),
             QLatin1String("retry_after_beyond_deadline"));
    QCOMPARE(retryReasonName(RetryReason::NotRetryable), QLatin1String("not_retryable"));
    QCOMPARE(retryReasonName(RetryReason::StreamStarted), QLatin1String("stream_started"));
    QCOMPARE(retryReasonName(RetryReason::ClientError), QLatin1String("client_error"));
    QCOMPARE(retryReasonName(RetryReason::AuthRejected), QLatin1String("auth_rejected"));
    QCOMPARE(retryReasonName(RetryReason::DeadlineExceeded), QLatin1String("deadline_exceeded"));
}

void TestRetryPolicy::failureKinds()
{
    QCOMPARE(failureKind(0), QLatin1String("transport"));
    QCOMPARE(failureKind(200), QLatin1String("ok"));
    QCOMPARE(failureKind(400), QLatin1String("client_error"));
    QCOMPARE(failureKind(401), QLatin1String("auth"));
    QCOMPARE(failureKind(403), QLatin1String("auth"));
    QCOMPARE(failureKind(408), QLatin1String("timeout"));
    QCOMPARE(failureKind(429), QLatin1String("rate_limited"));
    QCOMPARE(failureKind(500), QLatin1String("server_error"));
    QCOMPARE(failureKind(503), QLatin1String("server_error"));
    QCOMPARE(failureKind(529), QLatin1String("overloaded"));
}

void TestRetryPolicy::referenceValues()
{
    const ReliabilityPolicy policy = ReliabilityPolicy::reference();
    QCOMPARE(policy.retries.maxAttempts, 2);
    QCOMPARE(policy.retries.baseDelayMs, 250);
    QCOMPARE(policy.retries.maxDelayMs, 8000);
    QCOMPARE(policy.retries.jitter, 0.2);
    QCOMPARE(policy.retries.deadlineMs, 60000);
    QCOMPARE(policy.retries.retryOn, QList<int>({408, 429, 500, 502, 503, 504, 529}));
    QCOMPARE(policy.retries.honourRetryAfter, true);
    QCOMPARE(policy.breakers.consecutiveFailures, 5);
    QCOMPARE(policy.breakers.errorRate, 0.5);
    QCOMPARE(policy.breakers.windowMs, 60000);
    QCOMPARE(policy.breakers.minRequests, 20);
    QCOMPARE(policy.breakers.cooldownMs, 30000);
    QCOMPARE(policy.breakers.halfOpenProbes, 1);
}

void TestRetryPolicy::referenceJson()
{
    const QByteArray expected =
        R"({"breakers":{"consecutive_failures":5,"cooldown_ms":30000,"error_rate":0.5,)"
        R"("half_open_probes":1,"min_requests":20,"window_ms":60000},)"
        R"("retries":{"base_delay_ms":250,"deadline_ms":60000,"honour_retry_after":true,)"
        R"("jitter":0.2,"max_attempts":2,"max_delay_ms":8000,)"
        R"("retry_on":[408,429,500,502,503,504,529]}})";
    QCOMPARE(QJsonDocument(ReliabilityPolicy::reference().toJson()).toJson(QJsonDocument::Compact),
             expected);
}

void TestRetryPolicy::emptyDocumentIsReference()
{
    const auto parsed = ReliabilityPolicy::fromJson(QJsonObject());
    QVERIFY(parsed.ok());
    QVERIFY(*parsed == ReliabilityPolicy::reference());
    QVERIFY(ReliabilityPolicy::validate(QJsonObject()).isEmpty());

    const auto emptySections =
        ReliabilityPolicy::fromJson(object(R"({"retries":{},"breakers":{}})"));
    QVERIFY(emptySections.ok());
    QVERIFY(*emptySections == ReliabilityPolicy::reference());
}

void TestRetryPolicy::briefDocumentIsReference()
{
    const auto parsed = ReliabilityPolicy::fromJson(object(R"({
        "retries": {"max_attempts": 2, "base_delay_ms": 250, "max_delay_ms": 8000, "jitter": 0.2,
                    "deadline_ms": 60000, "retry_on": [408, 429, 500, 502, 503, 504, 529],
                    "honour_retry_after": true},
        "breakers": {"consecutive_failures": 5, "error_rate": 0.5, "window_ms": 60000,
                     "min_requests": 20, "cooldown_ms": 30000, "half_open_probes": 1}})"));
    QVERIFY2(parsed.ok(), qPrintable(parsed ? QString() : parsed.error().toString()));
    QVERIFY(*parsed == ReliabilityPolicy::reference());
}

void TestRetryPolicy::customValues()
{
    const auto parsed = ReliabilityPolicy::fromJson(object(R"({
        "retries": {"max_attempts": 4, "base_delay_ms": 100, "max_delay_ms": 100, "jitter": 0,
                    "deadline_ms": 1e4, "retry_on": [503, 529, 409],
                    "honour_retry_after": false},
        "breakers": {"consecutive_failures": 3, "error_rate": 1, "window_ms": 1000,
                     "min_requests": 1, "cooldown_ms": 5, "half_open_probes": 3}})"));
    QVERIFY2(parsed.ok(), qPrintable(parsed ? QString() : parsed.error().toString()));
    QCOMPARE(parsed->retries.maxAttempts, 4);
    QCOMPARE(parsed->retries.baseDelayMs, 100);
    QCOMPARE(parsed->retries.maxDelayMs, 100);
    QCOMPARE(parsed->retries.jitter, 0.0);
    QCOMPARE(parsed->retries.deadlineMs, 10000);
    QCOMPARE(parsed->retries.retryOn, QList<int>({503, 529, 409}));
    QCOMPARE(parsed->retries.honourRetryAfter, false);
    QCOMPARE(parsed->breakers.consecutiveFailures, 3);
    QCOMPARE(parsed->breakers.errorRate, 1.0);
    QCOMPARE(parsed->breakers.windowMs, 1000);
    QCOMPARE(parsed->breakers.minRequests, 1);
    QCOMPARE(parsed->breakers.cooldownMs, 5);
    QCOMPARE(parsed->breakers.halfOpenProbes, 3);

    // A partial section keeps the reference for the rest; an empty retry_on retries only
    // transport failures.
    const auto partial = ReliabilityPolicy::fromJson(
        object(R"({"retries":{"retry_on":[]},"breakers":{"cooldown_ms":1}})"));
    QVERIFY(partial.ok());
    QVERIFY(partial->retries.retryOn.isEmpty());
    QCOMPARE(partial->retries.maxAttempts, 2);
    QCOMPARE(partial->breakers.cooldownMs, 1);
    QCOMPARE(partial->breakers.consecutiveFailures, 5);
}

void TestRetryPolicy::otherSectionsIgnored()
{
    const auto parsed = ReliabilityPolicy::fromJson(
        object(R"({"version":1,"routes":[],"cache":{"ttl_s":3600},"retries":{"max_attempts":3}})"));
    QVERIFY(parsed.ok());
    QCOMPARE(parsed->retries.maxAttempts, 3);
}

void TestRetryPolicy::roundTrip()
{
    ReliabilityPolicy policy;
    policy.retries.maxAttempts = 5;
    policy.retries.jitter = 0.35;
    policy.retries.retryOn = {429, 529};
    policy.retries.honourRetryAfter = false;
    policy.breakers.errorRate = 0.25;
    policy.breakers.halfOpenProbes = 2;
    const auto parsed = ReliabilityPolicy::fromJson(policy.toJson());
    QVERIFY(parsed.ok());
    QVERIFY(*parsed == policy);
    QVERIFY(*parsed != ReliabilityPolicy::reference());
}

void TestRetryPolicy::validationErrors_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QStringList>("expected");

    auto row = [](const char *name, const char *json, QStringList expected) {
        QTest::newRow(name) << QByteArray(json) << expected;
    };
    row("max_attempts 0", R"({"retries":{"max_attempts":0}})",
        {"retries.max_attempts: expected an integer >= 1"});
    row("max_attempts fraction", R"({"retries":{"max_attempts":1.5}})",
        {"retries.max_attempts: expected an integer >= 1"});
    row("max_attempts string", R"({"retries":{"max_attempts":"2"}})",
        {"retries.max_attempts: expected an integer >= 1"});
    row("max_attempts huge", R"({"retries":{"max_attempts":1e10}})",
        {"retries.max_attempts: expected an integer >= 1"});
    row("base_delay_ms negative", R"({"retries":{"base_delay_ms":-1}})",
        {"retries.base_delay_ms: expected an integer >= 0"});
    row("max below base", R"({"retries":{"base_delay_ms":500,"max_delay_ms":499}})",
        {"retries.max_delay_ms: expected an integer >= base_delay_ms (500)"});
    row("max below default base", R"({"retries":{"max_delay_ms":100}})",
        {"retries.max_delay_ms: expected an integer >= base_delay_ms (250)"});
    row("base above default max", R"({"retries":{"base_delay_ms":10000}})",
        {"retries.base_delay_ms: expected an integer <= max_delay_ms (8000)"});
    row("bad base, no comparison", R"({"retries":{"base_delay_ms":"x","max_delay_ms":100}})",
        {"retries.base_delay_ms: expected an integer >= 0"});
    row("jitter above 1", R"({"retries":{"jitter":1.5}})",
        {"retries.jitter: expected a number from 0 to 1"});
    row("jitter negative", R"({"retries":{"jitter":-0.1}})",
        {"retries.jitter: expected a number from 0 to 1"});
    row("jitter string", R"({"retries":{"jitter":"0.2"}})",
        {"retries.jitter: expected a number from 0 to 1"});
    row("deadline 0", R"({"retries":{"deadline_ms":0}})",
        {"retries.deadline_ms: expected an integer >= 1"});
    row("retry_on not an array", R"({"retries":{"retry_on":"503"}})",
        {"retries.retry_on: expected an array of HTTP statuses"});
    row("retry_on elements", R"({"retries":{"retry_on":[503,200,"x",401,503.5,600]}})",
        {"retries.retry_on[1]: expected an HTTP status from 400 to 599",
         "retries.retry_on[2]: expected an HTTP status from 400 to 599",
         "retries.retry_on[3]: 401 is never retried: the request or its credential would be "
         "wrong for every target",
         "retries.retry_on[4]: expected an HTTP status from 400 to 599",
         "retries.retry_on[5]: expected an HTTP status from 400 to 599"});
    row("honour_retry_after string", R"({"retries":{"honour_retry_after":"yes"}})",
        {"retries.honour_retry_after: expected true or false"});
    row("unknown retries field", R"({"retries":{"max_attempt":3}})",
        {"retries.max_attempt: unknown setting"});
    row("retries not an object", R"({"retries":[]})", {"retries: expected an object"});
    row("breakers not an object", R"({"breakers":5})", {"breakers: expected an object"});
    row("consecutive_failures 0", R"({"breakers":{"consecutive_failures":0}})",
        {"breakers.consecutive_failures: expected an integer >= 1"});
    row("error_rate 0", R"({"breakers":{"error_rate":0}})",
        {"breakers.error_rate: expected a number > 0 and <= 1"});
    row("error_rate above 1", R"({"breakers":{"error_rate":1.01}})",
        {"breakers.error_rate: expected a number > 0 and <= 1"});
    row("error_rate percent", R"({"breakers":{"error_rate":50}})",
        {"breakers.error_rate: expected a number > 0 and <= 1"});
    row("window_ms 0", R"({"breakers":{"window_ms":0}})",
        {"breakers.window_ms: expected an integer >= 1"});
    row("min_requests 0", R"({"breakers":{"min_requests":0}})",
        {"breakers.min_requests: expected an integer >= 1"});
    row("cooldown_ms negative", R"({"breakers":{"cooldown_ms":-30000}})",
        {"breakers.cooldown_ms: expected an integer >= 1"});
    row("half_open_probes 0", R"({"breakers":{"half_open_probes":0}})",
        {"breakers.half_open_probes: expected an integer >= 1"});
    row("unknown breakers field", R"({"breakers":{"cooldown":30000}})",
        {"breakers.cooldown: unknown setting"});
    // Every problem at once, in schema order per section (retries first), unknown keys last.
    row("many",
        R"({"breakers":{"zzz":1,"half_open_probes":0,"error_rate":2},)"
        R"("retries":{"typo":true,"max_attempts":0,"jitter":3}})",
        {"retries.max_attempts: expected an integer >= 1",
         "retries.jitter: expected a number from 0 to 1", "retries.typo: unknown setting",
         "breakers.error_rate: expected a number > 0 and <= 1",
         "breakers.half_open_probes: expected an integer >= 1", "breakers.zzz: unknown setting"});
}

void TestRetryPolicy::validationErrors()
{
    QFETCH(QByteArray, json);
    QFETCH(QStringList, expected);
    const QJsonObject document = object(json);
    QVERIFY2(!document.isEmpty(), json.constData());
    QCOMPARE(problemLines(ReliabilityPolicy::validate(document)), expected);
    const auto parsed = ReliabilityPolicy::fromJson(document);
    QVERIFY(!parsed.ok());
    QCOMPARE(parsed.error().toString(), expected.join(QLatin1Char('\n')));
}

void TestRetryPolicy::fromJsonListsEveryProblem()
{
    const auto parsed = ReliabilityPolicy::fromJson(
        object(R"({"retries":{"max_attempts":0},"breakers":{"min_requests":0}})"));
    QVERIFY(!parsed.ok());
    QCOMPARE(parsed.error().message,
             QStringLiteral("retries.max_attempts: expected an integer >= 1\n"
                            "breakers.min_requests: expected an integer >= 1"));
    const QList<Error> problems = ReliabilityPolicy::validate(
        object(R"({"retries":{"max_attempts":0},"breakers":{"min_requests":0}})"));
    QCOMPARE(problems.size(), 2);
    QCOMPARE(problems.at(0).path, QStringLiteral("retries.max_attempts"));
    QCOMPARE(problems.at(0).message, QStringLiteral("expected an integer >= 1"));
    QCOMPARE(problems.at(1).path, QStringLiteral("breakers.min_requests"));
}

QTEST_GUILESS_MAIN(TestRetryPolicy)
#include "tst_retrypolicy.moc"
