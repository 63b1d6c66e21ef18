#pragma once

#include "cache/cachestore.h"
#include "common/expected.h"

#include <QString>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>

namespace tollgate::store {
class SqliteWriter;
} // namespace tollgate::store

namespace tollgate::cache {

/// The persistent tier (policy `cache.persistent`, off by default): entries survive a restart.
///
/// One table `cache_entries (key BLOB PRIMARY KEY, expires_at_ms INTEGER, payload BLOB)` in WAL
/// mode, the payload being CachedResponse::serialize(). store() and remove() only queue: one
/// writer thread serializes and commits them in batches, so a worker never waits on a disk
/// write. lookup() answers from that queue first (a store is visible at once) and otherwise
/// reads synchronously on a read-only connection from a small pool (one per concurrent reader),
/// which never waits for the writer. That read is the one piece of I/O a cache lookup can cost,
/// which is why the tier is optional and sits behind the memory tier: the pipeline asks it only
/// on a memory miss and promotes what it finds. Expired rows are never returned and are deleted
/// by the writer at start and then periodically.
class SqliteCacheStore final : public CacheStore {
public:
    struct Options {
        QString path; ///< database file, created with its folder if missing
        /// Writes waiting for the writer; beyond it stores are dropped (and counted).
        int queueCapacity = 10000;
        int maxBatch = 256;             ///< writes per transaction
        qint64 maxEntryBytes = 4194304; ///< policy cache.max_entry_bytes
        int purgeIntervalMs = 60000;    ///< how often expired rows are deleted
        std::function<qint64()> clock;  ///< for purging; empty: the system clock
    };

    struct Stats {
        quint64 written = 0;    ///< rows inserted or deleted
        quint64 dropped = 0;    ///< stores lost: queue full or a failed write
        quint64 rejected = 0;   ///< stores declined: not 2xx, already expired, too large
        quint64 readErrors = 0; ///< failed reads and unreadable rows (those are then deleted)
    };

    static Expected<std::unique_ptr<SqliteCacheStore>> open(const Options &options);
    ~SqliteCacheStore() override; ///< commits what is queued, then stops the writer

    std::shared_ptr<const CachedResponse> lookup(const QByteArray &key, qint64 nowMs) override;
    void store(const QByteArray &key, std::shared_ptr<const CachedResponse> response,
               qint64 nowMs) override;
    void remove(const QByteArray &key) override;

    /// Blocks until nothing is queued and every taken write is committed.
    void flush();
    /// Deletes rows expired at `nowMs` now (after queued writes); returns how many.
    qint64 purgeExpired(qint64 nowMs);

    Stats stats() const;
    QString path() const { return m_options.path; }

private:
    explicit SqliteCacheStore(const Options &options);
    /// Queues a store (or, with null, a remove) for the writer; false when the queue is full.
    bool enqueue(const QByteArray &key, std::shared_ptr<const CachedResponse> response);
    /// What the queue holds for `key`: nullopt when nothing, else the response (null: a remove).
    std::optional<std::shared_ptr<const CachedResponse>> queued(const QByteArray &key);

    struct Queue; // the stores and removes waiting for the writer
    struct ReaderPool;

    Options m_options;
    std::unique_ptr<ReaderPool> m_readers;
    std::unique_ptr<Queue> m_queue;
    std::unique_ptr<store::SqliteWriter> m_writer;
    std::atomic<quint64> m_written{0};
    std::atomic<quint64> m_dropped{0};
    std::atomic<quint64> m_rejected{0};
    std::atomic<quint64> m_readErrors{0};
};

} // namespace tollgate::cache
