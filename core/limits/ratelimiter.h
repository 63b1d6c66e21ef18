#pragma once

#include "limits/ratelimitstore.h"

#include <memory>

namespace tollgate::limits {

/// The in-memory RateLimitStore: one instance shared by all worker threads of a process.
///
/// Keys are spread over kShardCount shards, each a mutex and a hash, so an admission takes one
/// short uncontended lock and does no I/O. Requests per hour and per minute and tokens per
/// minute are SlidingWindows (exact for bursts, bounded memory). Keys with nothing left in any
/// window and no open stream are evicted, so memory follows the keys active in the last hour.
class RateLimiter final : public RateLimitStore {
public:
    static constexpr int kShardCount = 64;
    /// How often admitting a new key also sweeps its shard for idle keys.
    static constexpr qint64 kSweepIntervalMs = 60'000;

    RateLimiter();
    ~RateLimiter() override;
    RateLimiter(const RateLimiter &) = delete;
    RateLimiter &operator=(const RateLimiter &) = delete;

    Admission admit(const QString &key, const Plan &plan, qint64 nowMs, RequestKind kind) override;
    void charge(const QString &key, const Plan &plan, qint64 inputTokens, qint64 outputTokens,
                qint64 nowMs) override;
    void release(const QString &key) override;

    /// Forgets every idle key now and returns how many; for a timer off the request path.
    /// Admissions of new keys do the same for their own shard at most every kSweepIntervalMs.
    qsizetype evictIdle(qint64 nowMs);
    /// Keys currently held (idle ones included until they are swept).
    qsizetype trackedKeys() const;

private:
    struct KeyState;
    struct Shard;

    Shard &shardFor(const QString &key) const;
    static qsizetype sweep(Shard &shard, qint64 nowMs);

    std::unique_ptr<Shard[]> m_shards;
};

} // namespace tollgate::limits
