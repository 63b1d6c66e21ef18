#pragma once

#include <QLatin1String>
#include <QList>
#include <QtGlobal>

#include <optional>

namespace tollgate::routing {

/// The `retries` section of the policy: how often and how patiently one target is retried before
/// the request moves to the next target of its chain. The member defaults are the reference
/// policy (docs/reliability.md).
struct RetryPolicy {
    int maxAttempts = 2;    ///< attempts per target, the first included (1: never retry)
    int baseDelayMs = 250;  ///< backoff before the 1st retry; doubles per retry
    int maxDelayMs = 8000;  ///< cap on the exponential term (jitter still spreads around it)
    double jitter = 0.2;    ///< +/- fraction of the backoff, from the caller's random value
    int deadlineMs = 60000; ///< no attempt (retry or fallback) starts this long after the first
    QList<int> retryOn = {408, 429, 500, 502, 503, 504, 529};
    bool honourRetryAfter = true;

    bool operator==(const RetryPolicy &other) const;
    bool operator!=(const RetryPolicy &other) const { return !(*this == other); }
};

/// Why decideRetry decided what it did; stable names for logs and the request log.
enum class RetryReason {
    Succeeded,                ///< not a failure: nothing to do
    Backoff,                  ///< retry the same target after the exponential backoff
    RetryAfter,               ///< retry the same target after the upstream's retry-after
    AttemptsExhausted,        ///< max_attempts used on this target: next target
    BackoffBeyondDeadline,    ///< the backoff would end past the deadline: next target now
    RetryAfterBeyondDeadline, ///< retry-after would end past the deadline: next target now
    NotRetryable,             ///< a 5xx outside retry_on: next target, no retry here
    StreamStarted,            ///< bytes already reached the client: give up
    ClientError,              ///< a 4xx the request itself caused: give up, no fallback
    AuthRejected,             ///< 401/403: the credential is wrong; give up, no fallback
    DeadlineExceeded,         ///< the total deadline has passed: give up
};

/// What to do after a failed upstream attempt. At most one of `retry` and `nextTarget` is set;
/// neither means the failure goes back to the client.
struct RetryDecision {
    bool retry = false; ///< try the same target again after delayMs
    qint64 delayMs = 0; ///< wait before the retry (0 unless retry)
    RetryReason reason = RetryReason::Succeeded;
    bool nextTarget = false; ///< try the next target of the chain now (if it has one)
};

/// HTTP statuses that are never retried nor sent to another target, whatever retry_on says: the
/// request is wrong (400, 404, 413) or the credential is (401, 403). See docs/reliability.md.
bool isNeverRetried(int status);

/// The backoff before retry number `attempt` (1: after the first attempt failed):
/// min(base * 2^(attempt-1), max) * (1 + jitter * (2 * random01 - 1)), rounded to the ms.
/// random01 is clamped to [0, 1]; injecting it keeps the decision pure and testable.
qint64 backoffDelayMs(const RetryPolicy &policy, int attempt, double random01);

/// Decides what follows a failed attempt on one target. Pure: no clock, no randomness of its own.
///  - attempt: the attempt on this target that just ended, from 1 (restart at 1 on a new target)
///  - status: the upstream's HTTP status, 0 for a transport failure (connect, timeout, broken)
///  - retryAfterSeconds: the upstream's retry-after, if it sent one
///  - bytesSentToClient: any byte of the response has already reached the client
///  - elapsedMs: time since the request's first upstream attempt started
///  - random01: a uniform random value in [0, 1) for the jitter
RetryDecision decideRetry(const RetryPolicy &policy, int attempt, int status,
                          std::optional<int> retryAfterSeconds, bool bytesSentToClient,
                          qint64 elapsedMs, double random01);

/// The reason's stable snake_case name ("backoff", "retry_after", ...).
QLatin1String retryReasonName(RetryReason reason);

/// A low-cardinality class of an attempt's outcome for metric labels such as
/// `tollgate_upstream_retries_total{model,reason}`: "ok", "transport", "timeout" (408),
/// "rate_limited" (429), "overloaded" (529), "server_error" (other 5xx), "auth" (401, 403),
/// "client_error" (other 4xx).
QLatin1String failureKind(int status);

} // namespace tollgate::routing
