#pragma once

#include "limits/spendledger.h"

#include <QByteArray>
#include <QList>
#include <QString>

#include <atomic>
#include <functional>
#include <memory>

namespace tollgate::store {
class RedisClient;
}

namespace tollgate::limits {

/// Budget spend shared by replicas through Redis, so that every replica's budget decisions see
/// what all of them have spent.
///
/// Layout: one hash per budget, `<prefix>spend:<budget>`, with one field per calendar window or
/// rolling bucket (the SpendIncrement's bucketMs, in decimal) holding the USD spent there. The
/// hash expires a window length plus one bucket after the start of its newest field; fields
/// that no longer count are deleted as new spend arrives.
///
/// Writes never happen on the request path: append() merges a charge's increments into a
/// bounded map (one short lock), and a thread of its own sends them every flushIntervalMs,
/// one script per budget in one pipeline. The script adds the increments (HINCRBYFLOAT), drops
/// fields that left the window, lengthens the TTL and returns the whole hash, atomically.
///
/// Reads never happen on the request path either: BudgetGuard keeps reading the ledger's
/// snapshot(). The same thread sets the ledger's spend of every budget (SpendLedger::setSpend)
/// to the shared totals plus this replica's unsent increments, from each script's answer and
/// from an HGETALL of every budget each refreshIntervalMs. So a replica sees its own charges at
/// once and other replicas' within about flushIntervalMs + refreshIntervalMs (1.2 s).
///
/// Thresholds: because each script sees the global total right after its own increments, the
/// batch that takes a budget across a threshold is known, and only the replica that sent it
/// reports the crossing: once across replicas (onCrossing).
///
/// Redis unreachable: increments stay queued (merged, bounded by maxPendingRows), the ledger
/// keeps counting this replica's charges on top of the last shared totals, append() returns
/// false (the caller then reports the ledger's own crossings, as a single process would), and
/// the outage is logged once. When Redis is back the queue is sent, the outage's end is logged,
/// and the next answer sets the ledger to the global totals again.
class RedisSpendStore {
public:
    struct Options {
        QByteArray keyPrefix;         ///< before "spend:", e.g. "tollgate:"; empty by default
        int flushIntervalMs = 200;    ///< longest an increment waits before it is sent
        int refreshIntervalMs = 1000; ///< how often every budget's shared total is read
        int maxPendingRows = 100000;  ///< (budget, bucket) rows waiting; beyond, dropped
        int maxBatch = 256;           ///< budgets per pipeline
        /// Called on the store's thread for each threshold that a batch of this replica took
        /// the global total across. Empty: logged as a warning, like the ledger's own.
        std::function<void(const ThresholdCrossing &)> onCrossing;
    };

    struct Stats {
        quint64 sent = 0;      ///< increments (merged rows) that Redis took
        quint64 errors = 0;    ///< calls that failed, and error replies
        quint64 dropped = 0;   ///< increments lost: queue full, or refused by Redis
        quint64 refreshes = 0; ///< successful reads of every budget's total
        quint64 crossings = 0; ///< thresholds reported from global totals
        quint64 pending = 0;   ///< rows waiting to be sent now
        qint64 lastSyncMs = 0; ///< when the ledger last got shared totals; 0: never
        bool sharing = false;  ///< the last call to Redis worked
    };

    /// Starts the thread, which reads the shared totals at once. `ledger` must outlive the
    /// store.
    RedisSpendStore(std::shared_ptr<store::RedisClient> client, SpendLedger &ledger,
                    Options options);
    ~RedisSpendStore(); ///< sends what is queued (one attempt), then stops
    RedisSpendStore(const RedisSpendStore &) = delete;
    RedisSpendStore &operator=(const RedisSpendStore &) = delete;

    /// Queues a charge's increments (ChargeOutcome::increments) for Redis. Never blocks on I/O.
    /// Returns true while spend is shared, when this store reports threshold crossings from the
    /// global totals; false during an outage, when the caller reports the ledger's.
    bool append(const QList<SpendIncrement> &increments);
    /// Blocks until everything appended before the call was sent (or failed) and the ledger
    /// holds the totals Redis answered with.
    void flush();
    /// Blocks until the ledger holds the shared totals of every budget read after the call
    /// (or the read failed).
    void refresh();

    /// The Redis key of a budget: prefix + "spend:" + name.
    QByteArray redisKey(const QString &budget) const;
    Stats stats() const;

private:
    struct Worker;

    std::shared_ptr<store::RedisClient> m_client;
    SpendLedger &m_ledger;
    const Options m_options;
    std::atomic<quint64> m_sent{0};
    std::atomic<quint64> m_errors{0};
    std::atomic<quint64> m_dropped{0};
    std::atomic<quint64> m_refreshes{0};
    std::atomic<quint64> m_crossings{0};
    std::atomic<qint64> m_lastSyncMs{0};
    std::atomic<bool> m_sharing{false};
    std::unique_ptr<Worker> m_worker; // last: it uses everything above
};

} // namespace tollgate::limits
