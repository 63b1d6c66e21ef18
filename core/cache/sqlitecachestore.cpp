#include "cache/sqlitecachestore.h"

#include "store/sqlite.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QtDebug>

#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace tollgate::cache {

namespace {

using Clock = std::chrono::steady_clock;

// Bumped whenever the table changes; stored in PRAGMA user_version. The payload carries its own
// format version (CachedResponse::serialize), so a payload change needs no schema change.
constexpr int kSchemaVersion = 1;

constexpr const char *kCreateSchema = R"sql(
CREATE TABLE IF NOT EXISTS cache_entries (
    key BLOB PRIMARY KEY,
    expires_at_ms INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS cache_entries_expiry ON cache_entries (expires_at_ms);
)sql";

constexpr const char *kUpsert =
    "INSERT OR REPLACE INTO cache_entries (key, expires_at_ms, payload) VALUES (?1, ?2, ?3)";
constexpr const char *kDelete = "DELETE FROM cache_entries WHERE key = ?1";
constexpr const char *kPurge = "DELETE FROM cache_entries WHERE expires_at_ms <= ?1";
constexpr const char *kSelect =
    "SELECT payload FROM cache_entries WHERE key = ?1 AND expires_at_ms > ?2";

using store::sqlite::exec;
using store::sqlite::lastError;
using store::sqlite::queryInt;

std::optional<QString> prepareSchema(sqlite3 *db)
{
    // WAL lets the read-only connections read while the writer commits.
    sqlite3_stmt *stmt = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &stmt, nullptr) != SQLITE_OK)
        return lastError(db);
    sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    // A cache may lose its last writes in a power cut; it must not slow every commit for that.
    if (auto error = exec(db, "PRAGMA synchronous=NORMAL"))
        return error;
    qint64 version = 0;
    if (auto error = queryInt(db, "PRAGMA user_version", version))
        return error;
    if (version > kSchemaVersion)
        return QStringLiteral("its schema version %1 is newer than this build supports (%2)")
            .arg(version)
            .arg(kSchemaVersion);
    if (version < kSchemaVersion) {
        if (auto error = exec(db, "BEGIN IMMEDIATE"))
            return error;
        std::optional<QString> error = exec(db, kCreateSchema);
        if (!error)
            error =
                exec(db, ("PRAGMA user_version=" + QByteArray::number(kSchemaVersion)).constData());
        if (!error)
            error = exec(db, "COMMIT");
        if (error) {
            exec(db, "ROLLBACK");
            return error;
        }
    }
    if (sqlite3_db_readonly(db, "main") == 1)
        return QStringLiteral("the file is read-only");
    return std::nullopt;
}

qint64 systemNowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

bool isSuccess(int status)
{
    return status >= 200 && status < 300;
}

} // namespace

// Read-only connections, each used by one thread at a time; a reader takes an idle one or opens
// another, so concurrent lookups never queue behind each other.
struct SqliteCacheStore::ReaderPool {
    struct Connection {
        sqlite3 *db = nullptr;
        sqlite3_stmt *select = nullptr;
    };

    explicit ReaderPool(QByteArray file)
        : fileName(std::move(file))
    {
    }

    ~ReaderPool()
    {
        for (const Connection &c : idle) {
            sqlite3_finalize(c.select);
            sqlite3_close_v2(c.db);
        }
    }

    std::optional<Connection> acquire()
    {
        {
            std::lock_guard<std::mutex> lock(mutex);
            if (!idle.empty()) {
                const Connection c = idle.back();
                idle.pop_back();
                return c;
            }
        }
        Connection c;
        if (sqlite3_open_v2(fileName.constData(), &c.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                            nullptr) != SQLITE_OK ||
            sqlite3_prepare_v3(c.db, kSelect, -1, SQLITE_PREPARE_PERSISTENT, &c.select, nullptr) !=
                SQLITE_OK) {
            sqlite3_close_v2(c.db);
            return std::nullopt;
        }
        sqlite3_busy_timeout(c.db, 1000);
        return c;
    }

    void release(const Connection &c)
    {
        sqlite3_reset(c.select);
        sqlite3_clear_bindings(c.select);
        std::lock_guard<std::mutex> lock(mutex);
        idle.push_back(c);
    }

    const QByteArray fileName;
    std::mutex mutex;
    std::vector<Connection> idle;
};

// Owns the read-write connection; only its thread touches `db` after open() hands it over.
struct SqliteCacheStore::Writer {
    // A queued write: a response to store, or null to delete the key.
    using Pending = std::shared_ptr<const CachedResponse>;

    Writer(SqliteCacheStore &store, sqlite3 *database)
        : owner(store)
        , db(database)
        , capacity(qsizetype(std::max(1, store.m_options.queueCapacity)))
        , maxBatch(size_t(std::max(1, store.m_options.maxBatch)))
        , purgeInterval(std::max(1, store.m_options.purgeIntervalMs))
        , clock(store.m_options.clock ? store.m_options.clock : systemNowMs)
    {
        sqlite3_prepare_v3(db, kUpsert, -1, SQLITE_PREPARE_PERSISTENT, &upsert, nullptr);
        sqlite3_prepare_v3(db, kDelete, -1, SQLITE_PREPARE_PERSISTENT, &erase, nullptr);
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
        sqlite3_finalize(erase);
        sqlite3_close_v2(db);
    }

    // Queues a write; false when the queue is full. A key already queued is overwritten in
    // place, so a hot key never takes more than one slot.
    bool enqueue(const QByteArray &key, Pending response)
    {
        {
            std::lock_guard<std::mutex> lock(mutex);
            auto found = pending.find(key);
            if (found != pending.end()) {
                found.value() = std::move(response);
            } else {
                if (pending.size() >= capacity)
                    return false;
                pending.insert(key, std::move(response));
                order.push_back(key);
            }
        }
        wake.notify_one();
        return true;
    }

    // What the queue says about `key`: nullopt when nothing is queued for it, else the queued
    // response (null for a queued delete).
    std::optional<Pending> queued(const QByteArray &key)
    {
        std::lock_guard<std::mutex> lock(mutex);
        auto found = pending.constFind(key);
        if (found != pending.cend())
            return found.value();
        found = inFlight.constFind(key);
        if (found != inFlight.cend())
            return found.value();
        return std::nullopt;
    }

    void run();
    void writeBatch(const std::vector<std::pair<QByteArray, Pending>> &batch);
    qint64 purge(qint64 nowMs);
    void reportFailure(const QString &what);

    SqliteCacheStore &owner;
    sqlite3 *db;
    sqlite3_stmt *upsert = nullptr; // null when preparing failed: every write then fails
    sqlite3_stmt *erase = nullptr;
    const qsizetype capacity;
    const size_t maxBatch;
    const std::chrono::milliseconds purgeInterval;
    const std::function<qint64()> clock;
    bool failing = false; // writer thread only: warn once per outage

    std::mutex mutex;
    std::condition_variable wake;     // the writer sleeps on it
    std::condition_variable progress; // flush() and purgeExpired() sleep on it
    QHash<QByteArray, Pending> pending;
    std::deque<QByteArray> order;        // keys of `pending`, oldest first
    QHash<QByteArray, Pending> inFlight; // taken by the writer, not yet committed
    quint64 purgeRequested = 0;
    quint64 purgeDone = 0;
    qint64 purgeAtMs = 0;
    qint64 purgeCount = 0;
    bool stopping = false;
    std::thread thread;
};

void SqliteCacheStore::Writer::run()
{
    // Purge once at start: a cache file that sat unused for a day is mostly expired rows.
    Clock::time_point nextPurge = Clock::now();
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
        if (!order.empty()) {
            std::vector<std::pair<QByteArray, Pending>> batch;
            while (!order.empty() && batch.size() < maxBatch) {
                QByteArray key = std::move(order.front());
                order.pop_front();
                Pending response = pending.take(key);
                inFlight.insert(key, response);
                batch.emplace_back(std::move(key), std::move(response));
            }
            lock.unlock();
            writeBatch(batch);
            // Free the responses (possibly large) before taking the lock again.
            batch.clear();
            lock.lock();
            inFlight.clear();
            progress.notify_all();
            continue;
        }
        if (stopping)
            return;
        if (purgeRequested > purgeDone || Clock::now() >= nextPurge) {
            const quint64 request = purgeRequested;
            const qint64 at = request > purgeDone ? purgeAtMs : clock();
            lock.unlock();
            const qint64 count = purge(at);
            lock.lock();
            if (request > purgeDone) {
                purgeDone = request;
                purgeCount = count;
            }
            nextPurge = Clock::now() + purgeInterval;
            progress.notify_all();
            continue;
        }
        wake.wait_until(lock, nextPurge);
    }
}

void SqliteCacheStore::Writer::writeBatch(const std::vector<std::pair<QByteArray, Pending>> &batch)
{
    const quint64 count = batch.size();
    if (auto error = exec(db, "BEGIN IMMEDIATE")) {
        owner.m_dropped += count;
        reportFailure(*error);
        return;
    }
    quint64 failed = 0;
    QString firstError;
    for (const auto &[key, response] : batch) {
        sqlite3_stmt *stmt = response ? upsert : erase;
        QByteArray payload;
        if (stmt) {
            sqlite3_bind_blob(stmt, 1, key.constData(), int(key.size()), SQLITE_STATIC);
            if (response) {
                payload = response->serialize();
                sqlite3_bind_int64(stmt, 2, response->expiresAtMs);
                sqlite3_bind_blob(stmt, 3, payload.constData(), int(payload.size()), SQLITE_STATIC);
            }
        }
        if (!stmt || sqlite3_step(stmt) != SQLITE_DONE) {
            if (failed++ == 0)
                firstError = lastError(db);
        }
        if (stmt) {
            sqlite3_reset(stmt);
            sqlite3_clear_bindings(stmt);
        }
    }
    if (auto error = exec(db, "COMMIT")) {
        exec(db, "ROLLBACK");
        owner.m_dropped += count;
        reportFailure(*error);
        return;
    }
    owner.m_written += count - failed;
    owner.m_dropped += failed;
    if (failed > 0) {
        reportFailure(firstError);
    } else if (failing) {
        failing = false;
        qInfo("tollgate: response cache %s is writable again", qPrintable(owner.m_options.path));
    }
}

qint64 SqliteCacheStore::Writer::purge(qint64 nowMs)
{
    sqlite3_stmt *stmt = nullptr;
    if (sqlite3_prepare_v2(db, kPurge, -1, &stmt, nullptr) != SQLITE_OK) {
        reportFailure(lastError(db));
        return 0;
    }
    sqlite3_bind_int64(stmt, 1, nowMs);
    qint64 count = 0;
    if (sqlite3_step(stmt) == SQLITE_DONE)
        count = sqlite3_changes64(db);
    else
        reportFailure(lastError(db));
    sqlite3_finalize(stmt);
    return count;
}

void SqliteCacheStore::Writer::reportFailure(const QString &what)
{
    if (failing)
        return;
    failing = true;
    qWarning("tollgate: response cache %s: write failed (%s); entries are not persisted",
             qPrintable(owner.m_options.path), qPrintable(what));
}

SqliteCacheStore::SqliteCacheStore(const Options &options)
    : m_options(options)
{
}

SqliteCacheStore::~SqliteCacheStore()
{
    // The writer updates the counters declared after it: stop it first.
    m_writer.reset();
    m_readers.reset();
}

Expected<std::unique_ptr<SqliteCacheStore>> SqliteCacheStore::open(const Options &options)
{
    if (options.path.isEmpty())
        return Error{QStringLiteral("the response cache needs a database path")};
    const QFileInfo info(options.path);
    const QString folder = info.absolutePath();
    if (!QDir().mkpath(folder))
        return Error{QStringLiteral("cannot create folder %1 for the response cache").arg(folder)};

    const QByteArray fileName = QFile::encodeName(info.absoluteFilePath());
    sqlite3 *db = nullptr;
    // NOMUTEX: after open() returns, the connection belongs to the writer thread alone.
    const int rc =
        sqlite3_open_v2(fileName.constData(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        const QString reason = db ? lastError(db) : QString::fromUtf8(sqlite3_errstr(rc));
        sqlite3_close_v2(db);
        return Error{QStringLiteral("cannot open response cache %1: %2").arg(options.path, reason)};
    }
    sqlite3_busy_timeout(db, 5000);
    if (auto error = prepareSchema(db)) {
        sqlite3_close_v2(db);
        return Error{QStringLiteral("cannot use response cache %1: %2").arg(options.path, *error)};
    }

    std::unique_ptr<SqliteCacheStore> store(new SqliteCacheStore(options));
    store->m_readers = std::make_unique<ReaderPool>(fileName);
    store->m_writer = std::make_unique<Writer>(*store, db);
    Expected<std::unique_ptr<SqliteCacheStore>> result(std::move(store));
    return result;
}

std::shared_ptr<const CachedResponse> SqliteCacheStore::lookup(const QByteArray &key, qint64 nowMs)
{
    if (std::optional<Writer::Pending> queued = m_writer->queued(key)) {
        const Writer::Pending &response = *queued;
        return response && !response->isExpiredAt(nowMs) ? response : nullptr;
    }
    std::optional<ReaderPool::Connection> connection = m_readers->acquire();
    if (!connection) {
        ++m_readErrors;
        return nullptr;
    }
    sqlite3_stmt *select = connection->select;
    sqlite3_bind_blob(select, 1, key.constData(), int(key.size()), SQLITE_STATIC);
    sqlite3_bind_int64(select, 2, nowMs);
    const int rc = sqlite3_step(select);
    QByteArray payload;
    if (rc == SQLITE_ROW) {
        payload = QByteArray(static_cast<const char *>(sqlite3_column_blob(select, 0)),
                             sqlite3_column_bytes(select, 0));
    }
    m_readers->release(*connection);
    if (rc != SQLITE_ROW) {
        if (rc != SQLITE_DONE)
            ++m_readErrors;
        return nullptr;
    }
    Expected<CachedResponse> response = CachedResponse::deserialize(payload);
    if (!response) {
        // Written by a build with another payload format, or damaged: it can never be served.
        ++m_readErrors;
        remove(key);
        return nullptr;
    }
    return std::make_shared<const CachedResponse>(std::move(*response));
}

void SqliteCacheStore::store(const QByteArray &key, std::shared_ptr<const CachedResponse> response,
                             qint64 nowMs)
{
    if (!response || !isSuccess(response->status) || response->isExpiredAt(nowMs) ||
        response->sizeBytes() + key.size() > m_options.maxEntryBytes) {
        ++m_rejected;
        return;
    }
    if (!m_writer->enqueue(key, std::move(response)))
        ++m_dropped;
}

void SqliteCacheStore::remove(const QByteArray &key)
{
    // A delete that cannot be queued leaves a row that expires on its own.
    if (!m_writer->enqueue(key, nullptr))
        ++m_dropped;
}

void SqliteCacheStore::flush()
{
    std::unique_lock<std::mutex> lock(m_writer->mutex);
    m_writer->progress.wait(
        lock, [this] { return m_writer->pending.isEmpty() && m_writer->inFlight.isEmpty(); });
}

qint64 SqliteCacheStore::purgeExpired(qint64 nowMs)
{
    flush();
    std::unique_lock<std::mutex> lock(m_writer->mutex);
    const quint64 request = ++m_writer->purgeRequested;
    m_writer->purgeAtMs = nowMs;
    m_writer->wake.notify_one();
    m_writer->progress.wait(lock, [&] { return m_writer->purgeDone >= request; });
    return m_writer->purgeCount;
}

SqliteCacheStore::Stats SqliteCacheStore::stats() const
{
    Stats s;
    s.written = m_written.load();
    s.dropped = m_dropped.load();
    s.rejected = m_rejected.load();
    s.readErrors = m_readErrors.load();
    return s;
}

} // namespace tollgate::cache
