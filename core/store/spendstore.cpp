#include "store/spendstore.h"

#include "store/sqlite.h"
#include "store/sqlitewriter.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHash>

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>

namespace tollgate::store {

namespace {

// Bumped whenever the schema changes; stored in PRAGMA user_version.
constexpr int kSchemaVersion = 1;

constexpr const char *kCreateSchema = R"sql(
CREATE TABLE IF NOT EXISTS spend (
    budget TEXT NOT NULL,
    window_start_ms INTEGER NOT NULL,
    bucket_ms INTEGER NOT NULL,
    usd REAL NOT NULL,
    PRIMARY KEY (budget, window_start_ms, bucket_ms)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS spend_bucket ON spend (bucket_ms);
)sql";

// Increments add up in SQLite too, so two processes (or a restart racing a shutdown) sharing
// the file never overwrite each other's spend.
constexpr const char *kUpsert =
    "INSERT INTO spend (budget, window_start_ms, bucket_ms, usd) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (budget, window_start_ms, bucket_ms) DO UPDATE SET usd = usd + excluded.usd";

constexpr const char *kSelect = "SELECT budget, window_start_ms, bucket_ms, usd FROM spend "
                                "WHERE bucket_ms >= ?1 ORDER BY bucket_ms, budget";

constexpr const char *kRetention = "DELETE FROM spend WHERE bucket_ms < ?1";

using Clock = SqliteWriteQueue::Clock;
using sqlite::lastError;

/// Where an increment goes: one row of the table.
struct RowKey {
    QString budget;
    qint64 windowStartMs = 0;
    qint64 bucketMs = 0;

    bool operator==(const RowKey &other) const
    {
        return windowStartMs == other.windowStartMs && bucketMs == other.bucketMs &&
               budget == other.budget;
    }
};

size_t qHash(const RowKey &key, size_t seed = 0)
{
    return qHashMulti(seed, key.budget, key.windowStartMs, key.bucketMs);
}

using Pending = QHash<RowKey, double>;

} // namespace

// The increments waiting for the writer, summed per row under the writer's lock, and written
// as one upsert per row once the oldest has waited flushIntervalMs (or a flush waits). A batch
// that fails is put back and retried: spend is money.
struct SpendStore::Queue final : SqliteWriteQueue {
    Queue(SpendStore &store_, sqlite3_stmt *statement)
        : store(store_)
        , upsert(statement)
        , capacity(std::max(1, store_.m_options.maxPendingRows))
        , flushInterval(std::max(0, store_.m_options.flushIntervalMs))
    {
    }

    bool batchDue(Clock::time_point now, bool urgent, Clock::time_point &wakeAt) override
    {
        if (pending.isEmpty())
            return false;
        const Clock::time_point deadline = oldestPendingAt + flushInterval;
        if (urgent || now >= deadline)
            return true;
        // After a failed batch this also sleeps out the interval instead of spinning on a
        // failing disk.
        wakeAt = std::min(wakeAt, deadline);
        return false;
    }

    quint64 takeBatch() override
    {
        batch.swap(pending);
        return kEverythingAccepted;
    }

    bool writeBatch(SqliteWriter &writer) override;

    void batchDone(bool written, bool stopping) override
    {
        if (!written) {
            if (stopping) {
                store.m_dropped += quint64(batch.size());
            } else {
                // Keep it and try again next interval rather than lose it.
                for (auto it = batch.cbegin(); it != batch.cend(); ++it)
                    pending[it.key()] += it.value();
                oldestPendingAt = Clock::now();
            }
        }
        batch.clear();
    }

    qint64 maintain(SqliteWriter &writer, std::optional<qint64>) override
    {
        if (store.m_options.retentionDays <= 0)
            return 0;
        const qint64 cutoff = QDateTime::currentMSecsSinceEpoch() -
                              qint64(store.m_options.retentionDays) * 24 * 60 * 60 * 1000;
        if (auto error = writer.run(kRetention, cutoff))
            writer.reportFailure(*error);
        return 0;
    }

    SpendStore &store;
    sqlite3_stmt *upsert;
    const qsizetype capacity;
    const std::chrono::milliseconds flushInterval;
    Pending pending; // under the writer's lock
    Clock::time_point oldestPendingAt;
    Pending batch; // writer thread only
};

bool SpendStore::Queue::writeBatch(SqliteWriter &writer)
{
    // All or nothing: a half-written batch retried later would count its rows twice.
    const std::optional<QString> error = writer.transaction([&]() -> std::optional<QString> {
        std::optional<QString> failure;
        for (auto it = batch.cbegin(); it != batch.cend() && !failure; ++it) {
            const QByteArray budget = it.key().budget.toUtf8();
            sqlite3_bind_text(upsert, 1, budget.constData(), int(budget.size()), SQLITE_STATIC);
            sqlite3_bind_int64(upsert, 2, it.key().windowStartMs);
            sqlite3_bind_int64(upsert, 3, it.key().bucketMs);
            sqlite3_bind_double(upsert, 4, it.value());
            if (sqlite3_step(upsert) != SQLITE_DONE)
                failure = lastError(writer.db());
            sqlite3_reset(upsert);
        }
        sqlite3_clear_bindings(upsert);
        return failure;
    });
    if (error) {
        writer.reportFailure(*error);
        return false;
    }
    store.m_written += quint64(batch.size());
    ++store.m_transactions;
    writer.reportSuccess();
    return true;
}

QString SpendStore::defaultPath(const QString &dataDir)
{
    return QDir(dataDir).filePath(QStringLiteral("spend.sqlite"));
}

SpendStore::SpendStore(const Options &options)
    : m_options(options)
{
}

SpendStore::~SpendStore()
{
    // Drain before the queue and the counters the writer updates are destroyed.
    m_writer.reset();
    m_queue.reset();
}

Expected<std::unique_ptr<SpendStore>> SpendStore::open(const Options &options)
{
    SqliteWriter::Options writerOptions;
    writerOptions.path = options.path;
    writerOptions.name = QStringLiteral("spend store");
    writerOptions.failureEffect = QStringLiteral("spend is kept in memory and retried");
    writerOptions.schemaVersion = kSchemaVersion;
    writerOptions.createSchema = kCreateSchema;
    writerOptions.fullSync = options.fullSync;
    writerOptions.busyTimeoutMs = options.busyTimeoutMs;
    writerOptions.maintenanceIntervalMs = options.retentionIntervalMs;
    auto writer = SqliteWriter::open(writerOptions);
    if (!writer)
        return writer.error();
    auto upsert = (*writer)->prepare(kUpsert);
    if (!upsert)
        return upsert.error();

    std::unique_ptr<SpendStore> store(new SpendStore(options));
    store->m_options.path = QFileInfo(options.path).absoluteFilePath();
    store->m_queue = std::make_unique<Queue>(*store, *upsert);
    store->m_writer = std::move(*writer);
    store->m_writer->start(*store->m_queue);
    Expected<std::unique_ptr<SpendStore>> result(std::move(store));
    return result;
}

bool SpendStore::append(const QList<limits::SpendIncrement> &increments)
{
    if (increments.isEmpty())
        return true;
    Queue &queue = *m_queue;
    bool notify = false;
    bool complete = true;
    {
        const auto lock = m_writer->lock();
        const bool wasEmpty = queue.pending.isEmpty();
        bool queued = false;
        for (const limits::SpendIncrement &increment : increments) {
            RowKey key{increment.budget, increment.windowStartMs, increment.bucketMs};
            auto it = queue.pending.find(key);
            if (it == queue.pending.end()) {
                if (queue.pending.size() >= queue.capacity) {
                    ++m_dropped;
                    complete = false;
                    continue;
                }
                it = queue.pending.insert(std::move(key), 0.0);
            }
            *it += increment.usd;
            queued = true;
        }
        if (queued) {
            m_writer->accepted();
            if (wasEmpty) {
                queue.oldestPendingAt = Clock::now();
                notify = true; // the writer sleeps until retention; tell it about the deadline
            }
        }
    }
    if (notify)
        m_writer->wake();
    return complete;
}

void SpendStore::flush()
{
    m_writer->flush();
}

void SpendStore::enforceRetention()
{
    m_writer->maintain();
}

Expected<QList<limits::SpendIncrement>> SpendStore::load(qint64 sinceMs) const
{
    sqlite3 *db = nullptr;
    // A connection of its own, as WAL readers use; the writer thread keeps its own.
    const int rc = sqlite3_open_v2(QFile::encodeName(m_options.path).constData(), &db,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    auto fail = [this, &db](const QString &what) {
        sqlite3_close_v2(db);
        return Error{QStringLiteral("cannot read spend store %1: %2").arg(m_options.path, what)};
    };
    if (rc != SQLITE_OK)
        return fail(db ? lastError(db) : QString::fromUtf8(sqlite3_errstr(rc)));
    sqlite3_busy_timeout(db, 5000);

    sqlite3_stmt *stmt = nullptr;
    if (sqlite3_prepare_v2(db, kSelect, -1, &stmt, nullptr) != SQLITE_OK)
        return fail(lastError(db));
    sqlite3_bind_int64(stmt, 1, sinceMs);
    QList<limits::SpendIncrement> rows;
    int step = SQLITE_ROW;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        limits::SpendIncrement row;
        row.budget = QString::fromUtf8(reinterpret_cast<const char *>(sqlite3_column_text(stmt, 0)),
                                       sqlite3_column_bytes(stmt, 0));
        row.windowStartMs = sqlite3_column_int64(stmt, 1);
        row.bucketMs = sqlite3_column_int64(stmt, 2);
        row.usd = sqlite3_column_double(stmt, 3);
        rows.append(std::move(row));
    }
    if (step != SQLITE_DONE) {
        const QString reason = lastError(db);
        sqlite3_finalize(stmt);
        return fail(reason);
    }
    sqlite3_finalize(stmt);
    sqlite3_close_v2(db);
    Expected<QList<limits::SpendIncrement>> result(std::move(rows));
    return result;
}

} // namespace tollgate::store
