#include "limits/ratelimiter.h"

#include "limits/slidingwindow.h"

#include <QHash>

#include <algorithm>
#include <limits>
#include <mutex>

namespace tollgate::limits {

namespace {

constexpr qint64 kHourMs = 3'600'000;
constexpr qint64 kMinuteMs = 60'000;
// A concurrency slot frees up when some stream ends, which no clock predicts; one second is the
// conventional retry hint for that.
constexpr qint64 kStreamRetryMs = 1000;

/// One limit of a plan applied to one of a key's windows during an admission.
struct WindowCheck {
    QLatin1String name;
    qint64 limit = 0;
    SlidingWindow *window = nullptr;
    bool countsRequests = false; ///< a requests window: the admission adds 1 to it
};

RequestQuota quotaOf(const WindowCheck &check, qint64 nowMs)
{
    return {check.limit, std::max<qint64>(0, check.limit - check.window->total()),
            check.window->emptyAtMs(nowMs)};
}

} // namespace

struct RateLimiter::KeyState {
    SlidingWindow requestsPerHour{kHourMs};
    SlidingWindow requestsPerMinute{kMinuteMs};
    SlidingWindow inputTokensPerMinute{kMinuteMs};
    SlidingWindow outputTokensPerMinute{kMinuteMs};
    int openStreams = 0;

    bool isIdle(qint64 nowMs)
    {
        if (openStreams > 0)
            return false;
        for (SlidingWindow *window : {&requestsPerHour, &requestsPerMinute, &inputTokensPerMinute,
                                      &outputTokensPerMinute}) {
            window->expire(nowMs);
            if (!window->isEmpty())
                return false;
        }
        return true;
    }
};

// Cache-line aligned so that workers locking neighbouring shards do not share a line.
struct alignas(64) RateLimiter::Shard {
    std::mutex mutex;
    QHash<QString, KeyState> states;
    qint64 nextSweepMs = std::numeric_limits<qint64>::min();
};

RateLimiter::RateLimiter()
    : m_shards(std::make_unique<Shard[]>(kShardCount))
{
}

RateLimiter::~RateLimiter() = default;

RateLimiter::Shard &RateLimiter::shardFor(const QString &key) const
{
    // QHash buckets use the low bits of the key's hash; the shard takes the high bits of a
    // differently seeded, remixed hash so that one shard's keys still spread over its buckets.
    const quint64 hash = quint64(qHash(key, size_t(0x5eed))) * 0x9e3779b97f4a7c15ULL;
    return m_shards[int(hash >> 58) % kShardCount];
}

qsizetype RateLimiter::sweep(Shard &shard, qint64 nowMs)
{
    shard.nextSweepMs = nowMs + kSweepIntervalMs;
    const qsizetype evicted = shard.states.removeIf(
        [nowMs](QHash<QString, KeyState>::iterator it) { return it->isIdle(nowMs); });
    // A hash keeps its buckets after removals; give them back after a crowd has left.
    if (shard.states.capacity() > 64 && shard.states.size() < shard.states.capacity() / 4)
        shard.states.squeeze();
    return evicted;
}

Admission RateLimiter::admit(const QString &key, const Plan &plan, qint64 nowMs, RequestKind kind)
{
    Admission admission;
    if (!plan.hasRateLimits())
        return admission; // the local owner's path: no lock, no state

    Shard &shard = shardFor(key);
    std::lock_guard<std::mutex> lock(shard.mutex);
    auto it = shard.states.find(key);
    if (it == shard.states.end()) {
        // Memory grows only here, so this is where idle keys are paid for.
        if (nowMs >= shard.nextSweepMs)
            sweep(shard, nowMs);
        it = shard.states.emplace(key);
    }
    KeyState &state = *it;

    WindowCheck checks[4];
    int checkCount = 0;
    if (plan.requestsPerHour)
        checks[checkCount++] = {kRequestsPerHour, *plan.requestsPerHour, &state.requestsPerHour,
                                true};
    if (plan.requestsPerMinute)
        checks[checkCount++] = {kRequestsPerMinute, *plan.requestsPerMinute,
                                &state.requestsPerMinute, true};
    if (plan.inputTokensPerMinute)
        checks[checkCount++] = {kInputTokensPerMinute, *plan.inputTokensPerMinute,
                                &state.inputTokensPerMinute, false};
    if (plan.outputTokensPerMinute)
        checks[checkCount++] = {kOutputTokensPerMinute, *plan.outputTokensPerMinute,
                                &state.outputTokensPerMinute, false};

    // A request passes while every window is below its limit. Tokens are charged after the
    // fact, so a token window may already be over its limit; it then blocks until it drains.
    qint64 passAtMs = nowMs;
    for (int i = 0; i < checkCount; ++i) {
        const WindowCheck &check = checks[i];
        check.window->expire(nowMs);
        if (check.window->total() < check.limit)
            continue;
        const qint64 atMs = check.window->belowLimitAtMs(check.limit, nowMs);
        if (admission.allowed || atMs > passAtMs) {
            // When several limits deny, name the one that frees up last: retrying earlier
            // would only be denied again.
            const RequestQuota quota = quotaOf(check, nowMs);
            admission.limitName = check.name;
            admission.limit = quota.limit;
            admission.remaining = quota.remaining;
            admission.resetAtMs = quota.resetAtMs;
            passAtMs = std::max(atMs, nowMs + 1);
        }
        admission.allowed = false;
    }
    const bool wantsSlot = kind == RequestKind::Stream && plan.maxConcurrentStreams;
    if (wantsSlot && state.openStreams >= *plan.maxConcurrentStreams) {
        const qint64 atMs = nowMs + kStreamRetryMs;
        if (admission.allowed || atMs > passAtMs) {
            admission.limitName = kMaxConcurrentStreams;
            admission.limit = *plan.maxConcurrentStreams;
            admission.remaining = 0;
            admission.resetAtMs = atMs;
            passAtMs = atMs;
        }
        admission.allowed = false;
    }

    if (admission.allowed) {
        for (int i = 0; i < checkCount; ++i) {
            if (checks[i].countsRequests)
                checks[i].window->add(1, nowMs);
        }
        if (wantsSlot) {
            ++state.openStreams;
            admission.holdsStreamSlot = true;
        }
    } else {
        admission.retryAfterSeconds = int((passAtMs - nowMs + 999) / 1000);
    }

    // The headers describe the requests window with the least left, allowed or not.
    const WindowCheck *tightest = nullptr;
    for (int i = 0; i < checkCount; ++i) {
        if (checks[i].countsRequests &&
            (!tightest || checks[i].limit - checks[i].window->total() <
                              tightest->limit - tightest->window->total()))
            tightest = &checks[i];
    }
    if (tightest) {
        admission.requests = quotaOf(*tightest, nowMs);
        if (admission.allowed) {
            admission.limitName = tightest->name;
            admission.limit = admission.requests.limit;
            admission.remaining = admission.requests.remaining;
            admission.resetAtMs = admission.requests.resetAtMs;
        }
    }
    return admission;
}

void RateLimiter::charge(const QString &key, const Plan &plan, qint64 inputTokens,
                         qint64 outputTokens, qint64 nowMs)
{
    const bool chargeInput = plan.inputTokensPerMinute && inputTokens > 0;
    const bool chargeOutput = plan.outputTokensPerMinute && outputTokens > 0;
    if (!chargeInput && !chargeOutput)
        return;

    Shard &shard = shardFor(key);
    std::lock_guard<std::mutex> lock(shard.mutex);
    auto it = shard.states.find(key);
    if (it == shard.states.end()) {
        if (nowMs >= shard.nextSweepMs)
            sweep(shard, nowMs);
        it = shard.states.emplace(key);
    }
    if (chargeInput)
        it->inputTokensPerMinute.add(inputTokens, nowMs);
    if (chargeOutput)
        it->outputTokensPerMinute.add(outputTokens, nowMs);
}

void RateLimiter::release(const QString &key)
{
    Shard &shard = shardFor(key);
    std::lock_guard<std::mutex> lock(shard.mutex);
    auto it = shard.states.find(key);
    if (it != shard.states.end() && it->openStreams > 0)
        --it->openStreams;
}

qsizetype RateLimiter::evictIdle(qint64 nowMs)
{
    qsizetype evicted = 0;
    for (int i = 0; i < kShardCount; ++i) {
        std::lock_guard<std::mutex> lock(m_shards[i].mutex);
        evicted += sweep(m_shards[i], nowMs);
    }
    return evicted;
}

qsizetype RateLimiter::trackedKeys() const
{
    qsizetype count = 0;
    for (int i = 0; i < kShardCount; ++i) {
        std::lock_guard<std::mutex> lock(m_shards[i].mutex);
        count += m_shards[i].states.size();
    }
    return count;
}

} // namespace tollgate::limits
