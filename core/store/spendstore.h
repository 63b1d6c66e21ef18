#pragma once

#include "common/expected.h"
#include "limits/spendledger.h"

#include <QList>
#include <QString>

#include <atomic>
#include <limits>
#include <memory>

namespace tollgate::store {

class SqliteWriter;

/// Persists budget spend in SQLite so that it survives a restart and a crash: one writer
/// thread, WAL, increments summed in memory and upserted in one transaction every
/// flushIntervalMs. A kill -9 loses at most the increments of the last interval (and of a
/// batch being written at that instant); everything committed before survives.
///
/// Table `spend(budget, window_start_ms, bucket_ms, usd)`, primary key (budget,
/// window_start_ms, bucket_ms): one row per calendar window or rolling bucket of a budget,
/// holding the sum of its increments (see limits::SpendIncrement).
class SpendStore {
public:
    struct Options {
        QString path; ///< database file, created with its folder if missing (see defaultPath)
        /// Longest time an increment waits in memory before it is committed: the most spend
        /// a crash can lose.
        int flushIntervalMs = 200;
        /// Distinct (budget, window, bucket) rows waiting to be written; increments for a row
        /// already waiting always merge into it. Beyond it, increments for new rows are dropped
        /// and counted, so the request path never waits on the disk.
        int maxPendingRows = 100000;
        /// Rows whose bucket is older than this are deleted; longer than any window (a
        /// calendar month is at most 31 days, a rolling one 30 d plus a 12 h bucket).
        int retentionDays = 40;
        int retentionIntervalMs = 3'600'000; ///< how often retention runs (also once at open)
        /// synchronous=FULL: committed spend also survives a power cut, at one fsync per batch.
        /// The default, NORMAL, survives any crash of the process.
        bool fullSync = false;
        /// How long a write waits for another connection's lock (a backup, a second process)
        /// before the batch is kept for the next interval.
        int busyTimeoutMs = 5000;
    };

    /// `spend.sqlite` in `dataDir`: a file of its own, apart from the request log, so that its
    /// small frequent commits never queue behind the log's large batches and retention.
    static QString defaultPath(const QString &dataDir);

    static Expected<std::unique_ptr<SpendStore>> open(const Options &options);
    ~SpendStore(); ///< writes what is pending, then stops the writer

    /// Queues increments (ChargeOutcome::increments). Never blocks on I/O; returns false when
    /// some were dropped because maxPendingRows rows are already waiting.
    bool append(const QList<limits::SpendIncrement> &increments);
    /// Blocks until every increment appended before the call has been written (or its write
    /// has failed; failed batches are kept and retried on the next interval).
    void flush();
    /// The persisted rows with bucketMs >= sinceMs (SpendLedger::oldestNeededMs() at start),
    /// read on the caller's thread through a connection of its own. Sees what is committed:
    /// call flush() first to include what is still pending.
    Expected<QList<limits::SpendIncrement>>
    load(qint64 sinceMs = std::numeric_limits<qint64>::min()) const;
    /// Runs retention now (also runs on its own timer); blocks until done.
    void enforceRetention();

    /// Increments lost: pending rows full, or a write still failing at shutdown.
    quint64 dropped() const { return m_dropped.load(); }
    /// Row upserts committed (one per distinct row per batch, not per increment).
    quint64 written() const { return m_written.load(); }
    quint64 transactions() const { return m_transactions.load(); }
    QString path() const { return m_options.path; }

private:
    explicit SpendStore(const Options &options);
    struct Queue; // the increments waiting for the writer
    Options m_options;
    std::unique_ptr<Queue> m_queue;
    std::unique_ptr<SqliteWriter> m_writer;
    std::atomic<quint64> m_dropped{0};
    std::atomic<quint64> m_written{0};
    std::atomic<quint64> m_transactions{0};
};

} // namespace tollgate::store
