#pragma once

#include "cache/cachestore.h"

#include <QByteArray>

#include <atomic>
#include <memory>
#include <vector>

namespace tollgate::cache {

/// The memory tier: an LRU bounded by bytes with a TTL per entry, shared by every worker.
///
/// Keys are spread over shards, each with its own mutex, hash and LRU list, so workers rarely
/// meet on a lock, and a lock is only ever held for hash and list operations — never for I/O,
/// serialization or freeing an evicted entry. Each shard gets an equal part of the byte budget
/// and evicts its own least recently used entries, so eviction order is exact within a shard and
/// approximate across the cache (as in any sharded LRU). Expired entries are never returned;
/// they are dropped when a lookup meets them, when eviction reaches them, or by purgeExpired().
class ResponseCache final : public CacheStore {
public:
    struct Options {
        qint64 maxBytes = 64LL * 1024 * 1024;     ///< policy cache.max_bytes
        qint64 maxEntryBytes = 4LL * 1024 * 1024; ///< policy cache.max_entry_bytes
        /// Shards to spread keys over; fewer are used when the budget is small, so that every
        /// shard can hold at least one entry of maxEntryBytes.
        int shards = 16;
    };

    struct Stats {
        quint64 hits = 0;
        quint64 misses = 0;      ///< lookups that found nothing live (expired entries included)
        quint64 stores = 0;      ///< entries accepted
        quint64 rejected = 0;    ///< stores declined: not 2xx, already expired, or too large
        quint64 evictions = 0;   ///< live entries dropped to make room
        quint64 expirations = 0; ///< expired entries dropped
        qint64 entries = 0;
        qint64 bytes = 0; ///< charged bytes held (CachedResponse::sizeBytes() plus the key)
    };

    /// With the reference limits (a default argument cannot name Options inside the class).
    ResponseCache();
    explicit ResponseCache(const Options &options);
    ~ResponseCache() override;

    std::shared_ptr<const CachedResponse> lookup(const QByteArray &key, qint64 nowMs) override;
    void store(const QByteArray &key, std::shared_ptr<const CachedResponse> response,
               qint64 nowMs) override;
    void remove(const QByteArray &key) override;

    /// Applies new limits from a reloaded policy, evicting at once down to the new budget. The
    /// shard count stays as constructed.
    void setLimits(qint64 maxBytes, qint64 maxEntryBytes);
    /// Drops every entry expired at `nowMs`; returns how many. Lookups already skip expired
    /// entries: this only gives their memory back sooner (call it on a slow timer if at all).
    qint64 purgeExpired(qint64 nowMs);
    void clear();

    Stats stats() const;
    int shardCount() const { return int(m_shards.size()); }
    qint64 maxBytes() const { return m_maxBytes.load(std::memory_order_relaxed); }
    qint64 maxEntryBytes() const { return m_maxEntryBytes.load(std::memory_order_relaxed); }

private:
    struct Shard;
    Shard &shardFor(const QByteArray &key) const;

    std::vector<std::unique_ptr<Shard>> m_shards;
    std::atomic<qint64> m_maxBytes;
    std::atomic<qint64> m_maxEntryBytes;
};

} // namespace tollgate::cache
