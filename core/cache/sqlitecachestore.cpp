#include "cache/sqlitecachestore.h"

#include "store/sqlite.h"
#include "store/sqlitewriter.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHash>

#include <sqlite3.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace tollgate::cache {

namespace {

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

// The stores and removes waiting for the writer, one per key under the writer's lock: a key
// stored again while it waits is overwritten in place, so a hot key never takes more than one
// slot. Written as soon as the writer gets to them, oldest key first.
struct SqliteCacheStore::Queue final : store::SqliteWriteQueue {
    // A queued write: a response to store, or null to delete the key.
    using Pending = std::shared_ptr<const CachedResponse>;

    Queue(SqliteCacheStore &store, sqlite3_stmt *upsertStatement, sqlite3_stmt *eraseStatement)
        : owner(store)
        , upsert(upsertStatement)
        , erase(eraseStatement)
        , capacity(qsizetype(std::max(1, store.m_options.queueCapacity)))
        , maxBatch(size_t(std::max(1, store.m_options.maxBatch)))
        , clock(store.m_options.clock ? store.m_options.clock : systemNowMs)
    {
    }

    bool batchDue(Clock::time_point, bool, Clock::time_point &) override { return !order.empty(); }

    quint64 takeBatch() override
    {
        while (!order.empty() && batch.size() < maxBatch) {
            QByteArray key = std::move(order.front());
            order.pop_front();
            Pending response = pending.take(key);
            inFlight.insert(key, response);
            batch.emplace_back(std::move(key), std::move(response));
        }
        // A key stored again while its batch is written is queued anew: only an empty queue
        // completes what was accepted.
        return order.empty() ? kEverythingAccepted : 0;
    }

    bool writeBatch(store::SqliteWriter &writer) override;
    void batchDone(bool, bool) override { inFlight.clear(); }

    qint64 maintain(store::SqliteWriter &writer, std::optional<qint64> nowMs) override
    {
        qint64 count = 0;
        if (auto error = writer.run(kPurge, nowMs ? *nowMs : clock(), &count))
            writer.reportFailure(*error);
        return count;
    }

    SqliteCacheStore &owner;
    sqlite3_stmt *upsert;
    sqlite3_stmt *erase;
    const qsizetype capacity;
    const size_t maxBatch;
    const std::function<qint64()> clock;
    // Under the writer's lock:
    QHash<QByteArray, Pending> pending;
    std::deque<QByteArray> order;                      // keys of `pending`, oldest first
    QHash<QByteArray, Pending> inFlight;               // taken by the writer, not yet committed
    std::vector<std::pair<QByteArray, Pending>> batch; // writer thread only
};

bool SqliteCacheStore::Queue::writeBatch(store::SqliteWriter &writer)
{
    const quint64 count = batch.size();
    quint64 failed = 0;
    QString firstError;
    const std::optional<QString> error = writer.transaction([&]() -> std::optional<QString> {
        for (const auto &[key, response] : batch) {
            sqlite3_stmt *stmt = response ? upsert : erase;
            QByteArray payload;
            sqlite3_bind_blob(stmt, 1, key.constData(), int(key.size()), SQLITE_STATIC);
            if (response) {
                payload = response->serialize();
                sqlite3_bind_int64(stmt, 2, response->expiresAtMs);
                sqlite3_bind_blob(stmt, 3, payload.constData(), int(payload.size()), SQLITE_STATIC);
            }
            if (sqlite3_step(stmt) != SQLITE_DONE && failed++ == 0)
                firstError = store::sqlite::lastError(writer.db());
            sqlite3_reset(stmt);
            sqlite3_clear_bindings(stmt);
        }
        return std::nullopt;
    });
    // Free the responses (possibly large) before the writer takes its lock again.
    batch.clear();
    if (error) {
        owner.m_dropped += count;
        writer.reportFailure(*error);
        return false;
    }
    owner.m_written += count - failed;
    owner.m_dropped += failed;
    if (failed > 0)
        writer.reportFailure(firstError);
    else
        writer.reportSuccess();
    return true;
}

SqliteCacheStore::SqliteCacheStore(const Options &options)
    : m_options(options)
{
}

SqliteCacheStore::~SqliteCacheStore()
{
    // The writer updates the queue and the counters: stop it first.
    m_writer.reset();
    m_queue.reset();
    m_readers.reset();
}

Expected<std::unique_ptr<SqliteCacheStore>> SqliteCacheStore::open(const Options &options)
{
    store::SqliteWriter::Options writerOptions;
    writerOptions.path = options.path;
    writerOptions.name = QStringLiteral("response cache");
    writerOptions.failureEffect = QStringLiteral("entries are not persisted");
    writerOptions.schemaVersion = kSchemaVersion;
    writerOptions.createSchema = kCreateSchema;
    writerOptions.maintenanceIntervalMs = options.purgeIntervalMs;
    auto writer = store::SqliteWriter::open(writerOptions);
    if (!writer)
        return writer.error();
    auto upsert = (*writer)->prepare(kUpsert);
    if (!upsert)
        return upsert.error();
    auto erase = (*writer)->prepare(kDelete);
    if (!erase)
        return erase.error();

    std::unique_ptr<SqliteCacheStore> cache(new SqliteCacheStore(options));
    cache->m_readers =
        std::make_unique<ReaderPool>(QFile::encodeName(QFileInfo(options.path).absoluteFilePath()));
    cache->m_queue = std::make_unique<Queue>(*cache, *upsert, *erase);
    cache->m_writer = std::move(*writer);
    cache->m_writer->start(*cache->m_queue);
    Expected<std::unique_ptr<SqliteCacheStore>> result(std::move(cache));
    return result;
}

std::shared_ptr<const CachedResponse> SqliteCacheStore::lookup(const QByteArray &key, qint64 nowMs)
{
    if (std::optional<Queue::Pending> queued = this->queued(key)) {
        const Queue::Pending &response = *queued;
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
    if (!enqueue(key, std::move(response)))
        ++m_dropped;
}

void SqliteCacheStore::remove(const QByteArray &key)
{
    // A delete that cannot be queued leaves a row that expires on its own.
    if (!enqueue(key, nullptr))
        ++m_dropped;
}

void SqliteCacheStore::flush()
{
    m_writer->flush();
}

qint64 SqliteCacheStore::purgeExpired(qint64 nowMs)
{
    return m_writer->maintain(nowMs, true);
}

bool SqliteCacheStore::enqueue(const QByteArray &key,
                               std::shared_ptr<const CachedResponse> response)
{
    Queue &queue = *m_queue;
    {
        const auto lock = m_writer->lock();
        auto found = queue.pending.find(key);
        if (found != queue.pending.end()) {
            found.value() = std::move(response);
        } else {
            if (queue.pending.size() >= queue.capacity)
                return false;
            queue.pending.insert(key, std::move(response));
            queue.order.push_back(key);
        }
        m_writer->accepted();
    }
    m_writer->wake();
    return true;
}

std::optional<std::shared_ptr<const CachedResponse>> SqliteCacheStore::queued(const QByteArray &key)
{
    const Queue &queue = *m_queue;
    const auto lock = m_writer->lock();
    auto found = queue.pending.constFind(key);
    if (found != queue.pending.cend())
        return found.value();
    found = queue.inFlight.constFind(key);
    if (found != queue.inFlight.cend())
        return found.value();
    return std::nullopt;
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
