#pragma once

#include "cache/cachestore.h"

#include <QByteArray>

#include <atomic>
#include <memory>

namespace tollgate::store {
class RedisClient;
}

namespace tollgate::cache {

/// The Redis tier of the response cache, shared by replicas: an answer stored by one replica is
/// a hit on every other.
///
/// One Redis string per entry, `<prefix>cache:<key>`, holding CachedResponse::serialize() (the
/// SQLite tier's format, streams included) with a PX expiry taken from expiresAtMs, so Redis
/// drops entries when they expire. store() and remove() only queue (bounded; a key already
/// queued is overwritten in place): a writer thread serializes the entries and sends each batch
/// as one pipeline of SET ... PX / DEL, so the request path never waits for a write. lookup()
/// answers from that queue first (a store is visible at once on this replica), otherwise it is
/// one GET with the client's short timeout; any error, an unreachable Redis or an unreadable
/// value is a miss. The pipeline asks this tier only after the memory tier missed, and promotes
/// what it finds into memory.
class RedisCacheStore final : public CacheStore {
public:
    struct Options {
        QByteArray keyPrefix;           ///< before "cache:", e.g. "tollgate:"
        int queueCapacity = 10000;      ///< writes waiting; beyond it stores are dropped
        int maxBatch = 128;             ///< commands per pipeline
        qint64 maxEntryBytes = 4194304; ///< policy cache.max_entry_bytes
    };

    struct Stats {
        quint64 hits = 0;
        quint64 misses = 0;   ///< nothing stored, or expired
        quint64 errors = 0;   ///< lookups that failed or were skipped in an outage, bad values
        quint64 written = 0;  ///< SETs and DELs that Redis took
        quint64 dropped = 0;  ///< writes lost: queue full, Redis unreachable or failing
        quint64 rejected = 0; ///< stores declined: not 2xx, already expired, too large
    };

    RedisCacheStore(std::shared_ptr<store::RedisClient> client, Options options);
    ~RedisCacheStore() override; ///< sends what is queued (one attempt), then stops the writer

    std::shared_ptr<const CachedResponse> lookup(const QByteArray &key, qint64 nowMs) override;
    void store(const QByteArray &key, std::shared_ptr<const CachedResponse> response,
               qint64 nowMs) override;
    void remove(const QByteArray &key) override;

    /// Blocks until every write queued before the call was sent (or failed).
    void flush();
    /// The Redis key of a cache key: prefix + "cache:" + key.
    QByteArray redisKey(const QByteArray &key) const;

    Stats stats() const;

private:
    struct Writer;

    std::shared_ptr<store::RedisClient> m_client;
    const Options m_options;
    std::atomic<quint64> m_hits{0};
    std::atomic<quint64> m_misses{0};
    std::atomic<quint64> m_errors{0};
    std::atomic<quint64> m_written{0};
    std::atomic<quint64> m_dropped{0};
    std::atomic<quint64> m_rejected{0};
    std::unique_ptr<Writer> m_writer; // last: it updates the counters above
};

} // namespace tollgate::cache
