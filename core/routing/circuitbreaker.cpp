#include "routing/circuitbreaker.h"

namespace tollgate::routing {

namespace {

qint64 floorDiv(qint64 a, qint64 b)
{
    const qint64 q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

} // namespace

bool BreakerPolicy::operator==(const BreakerPolicy &other) const
{
    return consecutiveFailures == other.consecutiveFailures && errorRate == other.errorRate &&
           windowMs == other.windowMs && minRequests == other.minRequests &&
           cooldownMs == other.cooldownMs && halfOpenProbes == other.halfOpenProbes;
}

QLatin1String breakerStateName(BreakerState state)
{
    switch (state) {
    case BreakerState::Closed: return QLatin1String("closed");
    case BreakerState::HalfOpen: return QLatin1String("half_open");
    case BreakerState::Open: return QLatin1String("open");
    }
    return QLatin1String("unknown");
}

BreakerOutcome breakerOutcome(int status)
{
    if (status <= 0 || status == 408 || status >= 500)
        return BreakerOutcome::Failure;
    if (status == 429)
        return BreakerOutcome::Neutral;
    // A 400 or 401 proves the target is up and answering; it is the request that is wrong.
    return BreakerOutcome::Success;
}

CircuitBreaker::CircuitBreaker(const BreakerPolicy &policy)
{
    setPolicy(policy);
}

void CircuitBreaker::setPolicy(const BreakerPolicy &policy)
{
    const bool windowChanged = policy.windowMs != m_policy.windowMs;
    m_policy = policy;
    // Ceiling, so the window is never shorter than configured.
    m_bucketMs = qMax<qint64>(1, (qint64(qMax(policy.windowMs, 1)) + kBuckets - 1) / kBuckets);
    if (windowChanged)
        m_buckets.fill(Bucket{});
}

qint64 CircuitBreaker::slotOf(qint64 nowMs) const
{
    return floorDiv(nowMs, m_bucketMs);
}

void CircuitBreaker::advance(qint64 nowMs)
{
    if (m_state == BreakerState::Open && nowMs >= m_openedAtMs + m_policy.cooldownMs) {
        m_state = BreakerState::HalfOpen;
        m_probesInFlight = 0;
    }
}

void CircuitBreaker::open(qint64 nowMs)
{
    m_state = BreakerState::Open;
    m_openedAtMs = nowMs;
    m_probesInFlight = 0;
    ++m_timesOpened;
}

void CircuitBreaker::close()
{
    m_state = BreakerState::Closed;
    m_consecutiveFailures = 0;
    m_probesInFlight = 0;
    // The failures that opened the breaker must not count against the recovered target.
    m_buckets.fill(Bucket{});
}

void CircuitBreaker::addToWindow(qint64 nowMs, bool failure)
{
    const qint64 slot = slotOf(nowMs);
    Bucket &bucket = m_buckets[size_t(slot - floorDiv(slot, kBuckets) * kBuckets)];
    if (bucket.slot > slot)
        return; // older than the whole window (a caller's clock lagging behind another's)
    if (bucket.slot < slot)
        bucket = Bucket{slot, 0, 0};
    ++bucket.requests;
    if (failure)
        ++bucket.failures;
}

void CircuitBreaker::windowCounts(qint64 nowMs, int *requests, int *failures) const
{
    const qint64 current = slotOf(nowMs);
    *requests = 0;
    *failures = 0;
    for (const Bucket &bucket : m_buckets) {
        if (bucket.slot > current - kBuckets && bucket.slot <= current) {
            *requests += bucket.requests;
            *failures += bucket.failures;
        }
    }
}

bool CircuitBreaker::allow(qint64 nowMs)
{
    advance(nowMs);
    switch (m_state) {
    case BreakerState::Closed: return true;
    case BreakerState::Open: return false;
    case BreakerState::HalfOpen: break;
    }
    // A probe that never reported (a caller that lost track of it) must not keep the target
    // half-open forever: after a cooldown without any verdict its slot is presumed free.
    if (m_probesInFlight >= m_policy.halfOpenProbes &&
        nowMs >= m_lastProbeAtMs + m_policy.cooldownMs)
        m_probesInFlight = 0;
    if (m_probesInFlight >= m_policy.halfOpenProbes)
        return false;
    ++m_probesInFlight;
    m_lastProbeAtMs = nowMs;
    return true;
}

void CircuitBreaker::recordSuccess(qint64 nowMs)
{
    advance(nowMs);
    switch (m_state) {
    case BreakerState::Closed:
        m_consecutiveFailures = 0;
        addToWindow(nowMs, false);
        break;
    case BreakerState::HalfOpen: close(); break;
    // A call admitted before the breaker opened says nothing about the target after it did.
    case BreakerState::Open: break;
    }
}

void CircuitBreaker::recordFailure(qint64 nowMs)
{
    advance(nowMs);
    switch (m_state) {
    case BreakerState::Closed: {
        ++m_consecutiveFailures;
        addToWindow(nowMs, true);
        if (m_consecutiveFailures >= m_policy.consecutiveFailures) {
            open(nowMs);
            break;
        }
        int requests = 0;
        int failures = 0;
        windowCounts(nowMs, &requests, &failures);
        // A division, not failures >= rate * requests: 0.3 * 10 is 3.0000000000000004 in
        // doubles, while 3 / 10 rounds to the same double as the literal 0.3.
        if (requests >= m_policy.minRequests && double(failures) / requests >= m_policy.errorRate)
            open(nowMs);
        break;
    }
    case BreakerState::HalfOpen:
        ++m_consecutiveFailures;
        open(nowMs);
        break;
    case BreakerState::Open: break;
    }
}

void CircuitBreaker::recordNeutral(qint64 nowMs)
{
    advance(nowMs);
    if (m_state == BreakerState::HalfOpen && m_probesInFlight > 0)
        --m_probesInFlight;
}

void CircuitBreaker::record(BreakerOutcome outcome, qint64 nowMs)
{
    switch (outcome) {
    case BreakerOutcome::Success: recordSuccess(nowMs); break;
    case BreakerOutcome::Failure: recordFailure(nowMs); break;
    case BreakerOutcome::Neutral: recordNeutral(nowMs); break;
    }
}

BreakerState CircuitBreaker::state(qint64 nowMs) const
{
    if (m_state == BreakerState::Open && nowMs >= m_openedAtMs + m_policy.cooldownMs)
        return BreakerState::HalfOpen;
    return m_state;
}

TargetState CircuitBreaker::inspect(qint64 nowMs) const
{
    CircuitBreaker current = *this;
    current.advance(nowMs);

    TargetState result;
    result.state = current.m_state;
    result.consecutiveFailures = current.m_consecutiveFailures;
    current.windowCounts(nowMs, &result.windowRequests, &result.windowFailures);
    result.errorRate =
        result.windowRequests > 0 ? double(result.windowFailures) / result.windowRequests : 0.0;
    result.probesInFlight = current.m_probesInFlight;
    result.timesOpened = current.m_timesOpened;
    if (current.m_state != BreakerState::Closed) {
        result.openedAtMs = current.m_openedAtMs;
        qint64 nextProbe = current.m_openedAtMs + m_policy.cooldownMs;
        if (current.m_state == BreakerState::HalfOpen &&
            current.m_probesInFlight >= m_policy.halfOpenProbes)
            nextProbe = qMax(nextProbe, current.m_lastProbeAtMs + m_policy.cooldownMs);
        result.nextProbeAtMs = nextProbe;
    }
    return result;
}

} // namespace tollgate::routing
