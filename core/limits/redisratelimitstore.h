#pragma once

#include "limits/ratelimiter.h"
#include "limits/ratelimitstore.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QString>

#include <atomic>
#include <memory>
#include <mutex>

namespace tollgate::store {
class RedisClient;
}

namespace tollgate::limits {

/// The RateLimitStore of replicas: counters in Redis, so every replica sees the same limits.
///
/// Same semantics as the in-memory RateLimiter — sliding windows of requests per hour and per
/// minute and tokens per minute kept as at most 61 runs each, concurrent-stream slots, the same
/// Admission fields — but the counters of one principal live in one Redis hash,
/// `<prefix>rl:<keyFor(principal)>` (so `rl:user:alice`), with the fields `h` and `m` (requests
/// per hour and per minute), `i` and `o` (input and output tokens per minute) as
/// `start:amount,...` runs, and one `s:<lease>` field per open stream holding when its lease
/// expires. Each hash expires when everything in it has left its window, so idle users vanish.
///
/// One admission is one EVALSHA of a Lua script that expires, checks and counts atomically: two
/// replicas can never both let the 101st request of a free user through. It is the only Redis
/// round trip on the request path. Token charges and stream releases happen after the response,
/// so they are queued and sent by a background thread in one pipeline every flushIntervalMs.
///
/// A stream slot is a lease (streamLeaseMs): a replica that dies holding slots does not hold
/// them forever.
///
/// Redis unreachable (RedisClient reports it, with backoff): admissions, charges and releases go
/// to an in-process RateLimiter, so each replica limits on its own — a user may get up to
/// (replicas × limit) during the outage, but the gateway keeps answering. Counted in
/// Stats::fallbackAdmissions; the client logs the outage once and its end once. When Redis is
/// back, admissions go there again (counters restart from what Redis holds).
class RedisRateLimitStore final : public RateLimitStore {
public:
    struct Options {
        QByteArray keyPrefix;       ///< before "rl:", e.g. "tollgate:"; empty by default
        int flushIntervalMs = 50;   ///< longest a charge or release waits before it is sent
        int maxPendingKeys = 10000; ///< principals with queued charges; beyond, charges go local
        int maxBatch = 512;         ///< scripts per pipeline
        /// How long a stream slot holds without a release (a replica that died mid-stream).
        qint64 streamLeaseMs = 30LL * 60 * 1000;
    };

    struct Stats {
        quint64 redisAdmissions = 0;    ///< decided by the script in Redis
        quint64 fallbackAdmissions = 0; ///< decided locally: Redis unreachable or failing
        quint64 errors = 0;             ///< failed or unreadable script calls
        quint64 chargesSent = 0;        ///< charge scripts that ran in Redis
        quint64 chargesLocal = 0;       ///< charges counted locally (outage, queue full)
        quint64 releasesSent = 0;
    };

    RedisRateLimitStore(std::shared_ptr<store::RedisClient> client, Options options);
    ~RedisRateLimitStore() override; ///< sends what is queued (one attempt), then stops
    RedisRateLimitStore(const RedisRateLimitStore &) = delete;
    RedisRateLimitStore &operator=(const RedisRateLimitStore &) = delete;

    Admission admit(const QString &key, const Plan &plan, qint64 nowMs, RequestKind kind) override;
    void charge(const QString &key, const Plan &plan, qint64 inputTokens, qint64 outputTokens,
                qint64 nowMs) override;
    void release(const QString &key) override;

    /// Blocks until every charge and release queued before the call was sent (or failed).
    void flush();
    /// The Redis key of a counter key: prefix + "rl:" + key.
    QByteArray redisKey(const QString &key) const;

    Stats stats() const;

private:
    struct Flusher;

    std::optional<Admission> admitInRedis(const QString &key, const Plan &plan, qint64 nowMs,
                                          RequestKind kind);
    void holdLease(const QString &key, QByteArray lease);

    std::shared_ptr<store::RedisClient> m_client;
    const Options m_options;
    const QByteArray m_replicaId; ///< makes lease ids unique across replicas
    std::atomic<quint64> m_nextLease{0};
    RateLimiter m_fallback;

    // Leases this replica holds, per key; an empty lease is a slot of the fallback limiter.
    std::mutex m_leaseMutex;
    QHash<QString, QList<QByteArray>> m_leases;

    std::atomic<quint64> m_redisAdmissions{0};
    std::atomic<quint64> m_fallbackAdmissions{0};
    std::atomic<quint64> m_errors{0};
    std::atomic<quint64> m_chargesSent{0};
    std::atomic<quint64> m_chargesLocal{0};
    std::atomic<quint64> m_releasesSent{0};

    std::unique_ptr<Flusher> m_flusher; // last: it uses everything above
};

} // namespace tollgate::limits
