#include "store/spendstore.h"

#include "store/sqlite.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QtDebug>

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

namespace tollgate::store {

namespace {

using Clock = std::chrono::steady_clock;

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

using store::sqlite::exec;
using store::sqlite::lastError;
using store::sqlite::queryText;

std::optional<Error> prepareSchema(sqlite3 *db, const QString &path, bool fullSync)
{
    auto fail = [&path](const QString &what) {
        return Error{QStringLiteral("cannot use spend store %1: %2").arg(path, what)};
    };
    // WAL: a commit is an append to the -wal file, so a process killed at any point leaves
    // every committed batch readable at the next open. NORMAL skips the fsync per commit, which
    // only a power cut (not a crash of the process) can make matter.
    QString mode;
    if (auto error = queryText(db, "PRAGMA journal_mode=WAL", mode))
        return fail(*error);
    if (mode.compare(QLatin1String("wal"), Qt::CaseInsensitive) != 0)
        qWarning("tollgate: spend store %s cannot use WAL (journal mode %s)", qPrintable(path),
                 qPrintable(mode));
    if (auto error = exec(db, fullSync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"))
        return fail(*error);

    QString versionText;
    if (auto error = queryText(db, "PRAGMA user_version", versionText))
        return fail(*error);
    const int version = versionText.toInt();
    if (version > kSchemaVersion)
        return fail(QStringLiteral("its schema version %1 is newer than this build supports (%2)")
                        .arg(version)
                        .arg(kSchemaVersion));
    if (version < kSchemaVersion) {
        if (auto error = exec(db, "BEGIN IMMEDIATE"))
            return fail(*error);
        std::optional<QString> error = exec(db, kCreateSchema);
        if (!error)
            error =
                exec(db, ("PRAGMA user_version=" + QByteArray::number(kSchemaVersion)).constData());
        if (!error)
            error = exec(db, "COMMIT");
        if (error) {
            exec(db, "ROLLBACK");
            return fail(*error);
        }
    }
    if (sqlite3_db_readonly(db, "main") == 1)
        return fail(QStringLiteral("the file is read-only"));
    return std::nullopt;
}

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

// Owns the connection; only its thread touches `db` and `upsert` after open() hands them over.
struct SpendStore::Writer {
    Writer(SpendStore &store_, sqlite3 *database, sqlite3_stmt *statement)
        : store(store_)
        , db(database)
        , upsert(statement)
        , capacity(std::max(1, store_.m_options.maxPendingRows))
        , flushInterval(std::max(0, store_.m_options.flushIntervalMs))
        , retentionInterval(std::max(1, store_.m_options.retentionIntervalMs))
    {
        thread = std::thread([this] { run(); });
    }

    ~Writer()
    {
        {
            std::lock_guard<std::mutex> lock(mutex);
            stopping = true;
        }
        wake.notify_one();
        thread.join();
        sqlite3_finalize(upsert);
        sqlite3_close_v2(db);
    }

    void run();
    bool writeBatch(const Pending &batch);
    void runRetention();
    void reportFailure(const QString &what);

    SpendStore &store;
    sqlite3 *db;
    sqlite3_stmt *upsert;
    const qsizetype capacity;
    const std::chrono::milliseconds flushInterval;
    const std::chrono::milliseconds retentionInterval;
    bool failing = false; // writer thread only: warn once per outage

    std::mutex mutex;
    std::condition_variable wake;     // the writer sleeps on it
    std::condition_variable progress; // flush() and enforceRetention() sleep on it
    Pending pending;
    Clock::time_point oldestPendingAt;
    quint64 accepted = 0;  // appends that queued something
    quint64 processed = 0; // appends whose increments have been written (or tried)
    quint64 flushTarget = 0;
    quint64 retentionRequested = 0;
    quint64 retentionDone = 0;
    bool stopping = false;
    std::thread thread;
};

void SpendStore::Writer::run()
{
    Clock::time_point nextRetention = Clock::now();
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
        const Clock::time_point now = Clock::now();
        const bool writeDue = !pending.isEmpty() && (stopping || flushTarget > processed ||
                                                     now >= oldestPendingAt + flushInterval);
        if (writeDue) {
            Pending batch;
            batch.swap(pending);
            const quint64 covers = accepted;
            lock.unlock();
            const bool written = writeBatch(batch);
            lock.lock();
            if (!written) {
                if (stopping) {
                    store.m_dropped += quint64(batch.size());
                } else {
                    // Spend is money: keep it and try again next interval rather than lose it.
                    for (auto it = batch.cbegin(); it != batch.cend(); ++it)
                        pending[it.key()] += it.value();
                    oldestPendingAt = Clock::now();
                }
            }
            processed = std::max(processed, covers);
            progress.notify_all();
            if (!written && !stopping && flushTarget <= processed) {
                // Sleep out the interval instead of spinning on a failing disk.
                wake.wait_until(lock, oldestPendingAt + flushInterval,
                                [this] { return stopping || flushTarget > processed; });
            }
            continue;
        }
        if (stopping)
            return;
        if (retentionRequested > retentionDone || now >= nextRetention) {
            const quint64 request = retentionRequested;
            lock.unlock();
            runRetention();
            lock.lock();
            retentionDone = request;
            nextRetention = Clock::now() + retentionInterval;
            progress.notify_all();
            continue;
        }
        Clock::time_point deadline = nextRetention;
        if (!pending.isEmpty())
            deadline = std::min(deadline, oldestPendingAt + flushInterval);
        wake.wait_until(lock, deadline);
    }
}

bool SpendStore::Writer::writeBatch(const Pending &batch)
{
    if (auto error = exec(db, "BEGIN IMMEDIATE")) {
        reportFailure(*error);
        return false;
    }
    std::optional<QString> error;
    for (auto it = batch.cbegin(); it != batch.cend() && !error; ++it) {
        const QByteArray budget = it.key().budget.toUtf8();
        sqlite3_bind_text(upsert, 1, budget.constData(), int(budget.size()), SQLITE_STATIC);
        sqlite3_bind_int64(upsert, 2, it.key().windowStartMs);
        sqlite3_bind_int64(upsert, 3, it.key().bucketMs);
        sqlite3_bind_double(upsert, 4, it.value());
        if (sqlite3_step(upsert) != SQLITE_DONE)
            error = lastError(db);
        sqlite3_reset(upsert);
    }
    sqlite3_clear_bindings(upsert);
    if (!error)
        error = exec(db, "COMMIT");
    if (error) {
        // All or nothing: a half-written batch retried later would count its rows twice.
        exec(db, "ROLLBACK");
        reportFailure(*error);
        return false;
    }
    store.m_written += quint64(batch.size());
    ++store.m_transactions;
    if (failing) {
        failing = false;
        qInfo("tollgate: spend store %s is writable again", qPrintable(store.m_options.path));
    }
    return true;
}

void SpendStore::Writer::runRetention()
{
    if (store.m_options.retentionDays <= 0)
        return;
    const qint64 cutoff = QDateTime::currentMSecsSinceEpoch() -
                          qint64(store.m_options.retentionDays) * 24 * 60 * 60 * 1000;
    sqlite3_stmt *stmt = nullptr;
    if (sqlite3_prepare_v2(db, kRetention, -1, &stmt, nullptr) != SQLITE_OK) {
        reportFailure(lastError(db));
        return;
    }
    sqlite3_bind_int64(stmt, 1, cutoff);
    if (sqlite3_step(stmt) != SQLITE_DONE)
        reportFailure(lastError(db));
    sqlite3_finalize(stmt);
}

void SpendStore::Writer::reportFailure(const QString &what)
{
    if (failing)
        return;
    failing = true;
    qWarning("tollgate: spend store %s: write failed (%s); spend is kept in memory and retried",
             qPrintable(store.m_options.path), qPrintable(what));
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
    // Drain before the counters the writer updates are destroyed (they are declared after it).
    m_writer.reset();
}

Expected<std::unique_ptr<SpendStore>> SpendStore::open(const Options &options)
{
    if (options.path.isEmpty())
        return Error{QStringLiteral("the spend store needs a database path")};

    const QFileInfo info(options.path);
    const QString folder = info.absolutePath();
    if (!QDir().mkpath(folder))
        return Error{QStringLiteral("cannot create folder %1 for the spend store").arg(folder)};

    sqlite3 *db = nullptr;
    // NOMUTEX: after open() returns, the connection belongs to the writer thread alone.
    const int rc =
        sqlite3_open_v2(QFile::encodeName(info.absoluteFilePath()).constData(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        const QString reason = db ? lastError(db) : QString::fromUtf8(sqlite3_errstr(rc));
        sqlite3_close_v2(db);
        return Error{QStringLiteral("cannot open spend store %1: %2").arg(options.path, reason)};
    }
    sqlite3_busy_timeout(db, std::max(0, options.busyTimeoutMs));

    if (auto error = prepareSchema(db, options.path, options.fullSync)) {
        sqlite3_close_v2(db);
        return *error;
    }
    sqlite3_stmt *upsert = nullptr;
    if (sqlite3_prepare_v3(db, kUpsert, -1, SQLITE_PREPARE_PERSISTENT, &upsert, nullptr) !=
        SQLITE_OK) {
        const QString reason = lastError(db);
        sqlite3_close_v2(db);
        return Error{QStringLiteral("cannot use spend store %1: %2").arg(options.path, reason)};
    }

    std::unique_ptr<SpendStore> store(new SpendStore(options));
    store->m_options.path = info.absoluteFilePath();
    store->m_writer = std::make_unique<Writer>(*store, db, upsert);
    Expected<std::unique_ptr<SpendStore>> result(std::move(store));
    return result;
}

bool SpendStore::append(const QList<limits::SpendIncrement> &increments)
{
    if (increments.isEmpty())
        return true;
    Writer &w = *m_writer;
    bool notify = false;
    bool complete = true;
    {
        std::lock_guard<std::mutex> lock(w.mutex);
        const bool wasEmpty = w.pending.isEmpty();
        bool queued = false;
        for (const limits::SpendIncrement &increment : increments) {
            RowKey key{increment.budget, increment.windowStartMs, increment.bucketMs};
            auto it = w.pending.find(key);
            if (it == w.pending.end()) {
                if (w.pending.size() >= w.capacity) {
                    ++m_dropped;
                    complete = false;
                    continue;
                }
                it = w.pending.insert(std::move(key), 0.0);
            }
            *it += increment.usd;
            queued = true;
        }
        if (queued) {
            ++w.accepted;
            if (wasEmpty) {
                w.oldestPendingAt = Clock::now();
                notify = true; // the writer sleeps until retention; tell it about the deadline
            }
        }
    }
    if (notify)
        w.wake.notify_one();
    return complete;
}

void SpendStore::flush()
{
    Writer &w = *m_writer;
    std::unique_lock<std::mutex> lock(w.mutex);
    const quint64 target = w.accepted;
    if (w.processed >= target)
        return;
    w.flushTarget = std::max(w.flushTarget, target);
    w.wake.notify_one();
    w.progress.wait(lock, [&w, target] { return w.processed >= target; });
}

void SpendStore::enforceRetention()
{
    Writer &w = *m_writer;
    std::unique_lock<std::mutex> lock(w.mutex);
    const quint64 request = ++w.retentionRequested;
    w.wake.notify_one();
    w.progress.wait(lock, [&w, request] { return w.retentionDone >= request; });
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
