#include "routing/retrypolicy.h"

#include <cmath>

namespace tollgate::routing {

namespace {

RetryDecision giveUp(RetryReason reason)
{
    return RetryDecision{false, 0, reason, false};
}

RetryDecision moveOn(RetryReason reason)
{
    return RetryDecision{false, 0, reason, true};
}

} // namespace

bool RetryPolicy::operator==(const RetryPolicy &other) const
{
    return maxAttempts == other.maxAttempts && baseDelayMs == other.baseDelayMs &&
           maxDelayMs == other.maxDelayMs && jitter == other.jitter &&
           deadlineMs == other.deadlineMs && retryOn == other.retryOn &&
           honourRetryAfter == other.honourRetryAfter;
}

bool isNeverRetried(int status)
{
    switch (status) {
    case 400:
    case 401:
    case 403:
    case 404:
    case 413: return true;
    default: return false;
    }
}

qint64 backoffDelayMs(const RetryPolicy &policy, int attempt, double random01)
{
    const int doublings = qMax(attempt, 1) - 1;
    const double base = qMax(policy.baseDelayMs, 0);
    const double cap = qMax(policy.maxDelayMs, 0);
    // Beyond 2^62 the product only matters as "more than the cap"; ldexp saturates to inf safely.
    const double exponential = qMin(std::ldexp(base, qMin(doublings, 62)), cap);
    // NaN fails both comparisons and lands on the midpoint: no jitter rather than garbage.
    const double r = random01 >= 0 ? qMin(random01, 1.0) : (random01 < 0 ? 0.0 : 0.5);
    const double jitter = qBound(0.0, policy.jitter, 1.0);
    return std::llround(exponential * (1.0 + jitter * (2.0 * r - 1.0)));
}

RetryDecision decideRetry(const RetryPolicy &policy, int attempt, int status,
                          std::optional<int> retryAfterSeconds, bool bytesSentToClient,
                          qint64 elapsedMs, double random01)
{
    if (status > 0 && status < 400)
        return giveUp(RetryReason::Succeeded);
    // A retry would send the client a second response glued to the bytes it already has.
    if (bytesSentToClient)
        return giveUp(RetryReason::StreamStarted);
    // Same key, same answer; and a pass-through key must never be offered to another provider.
    if (status == 401 || status == 403)
        return giveUp(RetryReason::AuthRejected);
    if (isNeverRetried(status))
        return giveUp(RetryReason::ClientError);

    const bool transport = status <= 0;
    const bool retryable = transport || policy.retryOn.contains(status);
    // Any other 4xx is the request's own fault; another target would reject it too.
    if (!retryable && status < 500)
        return giveUp(RetryReason::ClientError);
    if (elapsedMs >= policy.deadlineMs)
        return giveUp(RetryReason::DeadlineExceeded);
    // A 5xx the operator chose not to retry still says nothing against the other targets.
    if (!retryable)
        return moveOn(RetryReason::NotRetryable);
    if (attempt >= policy.maxAttempts)
        return moveOn(RetryReason::AttemptsExhausted);

    qint64 delay = backoffDelayMs(policy, attempt, random01);
    RetryReason reason = RetryReason::Backoff;
    // retry-after is a floor, not a cap: retrying earlier than asked only earns another 429, and
    // max_delay_ms bounds our own patience, not the server's instruction.
    if (policy.honourRetryAfter && !transport && retryAfterSeconds && *retryAfterSeconds >= 0) {
        const qint64 retryAfterMs = qint64(*retryAfterSeconds) * 1000;
        if (retryAfterMs >= delay) {
            delay = retryAfterMs;
            reason = RetryReason::RetryAfter;
        }
    }
    // No attempt may start at or after the deadline; the next target can start right away.
    if (elapsedMs + delay >= policy.deadlineMs)
        return moveOn(reason == RetryReason::RetryAfter ? RetryReason::RetryAfterBeyondDeadline
                                                        : RetryReason::BackoffBeyondDeadline);
    return RetryDecision{true, delay, reason, false};
}

QLatin1String retryReasonName(RetryReason reason)
{
    switch (reason) {
    case RetryReason::Succeeded: return QLatin1String("succeeded");
    case RetryReason::Backoff: return QLatin1String("backoff");
    case RetryReason::RetryAfter: return QLatin1String("retry_after");
    case RetryReason::AttemptsExhausted: return QLatin1String("attempts_exhausted");
    case RetryReason::BackoffBeyondDeadline: return QLatin1String("backoff_beyond_deadline");
    case RetryReason::RetryAfterBeyondDeadline: return QLatin1String("retry_after_beyond_deadline");
    case RetryReason::NotRetryable: return QLatin1String("not_retryable");
    case RetryReason::StreamStarted: return QLatin1String("stream_started");
    case RetryReason::ClientError: return QLatin1String("client_error");
    case RetryReason::AuthRejected: return QLatin1String("auth_rejected");
    case RetryReason::DeadlineExceeded: return QLatin1String("deadline_exceeded");
    }
    return QLatin1String("unknown");
}

QLatin1String failureKind(int status)
{
    if (status <= 0)
        return QLatin1String("transport");
    if (status < 400)
        return QLatin1String("ok");
    switch (status) {
    case 401:
    case 403: return QLatin1String("auth");
    case 408: return QLatin1String("timeout");
    case 429: return QLatin1String("rate_limited");
    case 529: return QLatin1String("overloaded");
    default: return status >= 500 ? QLatin1String("server_error") : QLatin1String("client_error");
    }
}

} // namespace tollgate::routing
