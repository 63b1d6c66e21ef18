#include "store/requestlog.h"

#include "store/sqlite.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QtDebug>

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>
#include <vector>

namespace tollgate::store {

namespace {

using Clock = std::chrono::steady_clock;

// Bumped whenever the schema changes; stored in PRAGMA user_version.
constexpr int kSchemaVersion = 2;

constexpr const char *kCreateSchema = R"sql(
CREATE TABLE IF NOT EXISTS requests (
    id TEXT NOT NULL,
    started_at_ms INTEGER NOT NULL,
    flavor TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    user TEXT NOT NULL,
    requested_model TEXT NOT NULL,
    used_model TEXT NOT NULL,
    status INTEGER NOT NULL,
    stream INTEGER NOT NULL,
    latency_ms REAL NOT NULL,
    ttft_ms REAL,
    upstream_ms REAL NOT NULL,
    overhead_ms REAL NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    priced INTEGER NOT NULL,
    cache_status TEXT NOT NULL,
    error TEXT NOT NULL,
    route TEXT NOT NULL DEFAULT '',
    plan TEXT NOT NULL DEFAULT '',
    retries INTEGER NOT NULL DEFAULT 0,
    saved_usd REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS requests_started_at ON requests (started_at_ms);
)sql";

// From version 1: the routing decision, the plan, retries and what a cache hit saved.
constexpr const char *kMigrateFrom1 = R"sql(
ALTER TABLE requests ADD COLUMN route TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN plan TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN saved_usd REAL NOT NULL DEFAULT 0;
)sql";

constexpr const char *kInsert =
    "INSERT INTO requests (id, started_at_ms, flavor, endpoint, user, requested_model, "
    "used_model, status, stream, latency_ms, ttft_ms, upstream_ms, overhead_ms, input_tokens, "
    "output_tokens, cache_write_tokens, cache_read_tokens, cost_usd, priced, cache_status, "
    "error, route, plan, retries, saved_usd) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
    "?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)";

using store::sqlite::exec;
using store::sqlite::lastError;
using store::sqlite::queryText;

std::optional<Error> prepareSchema(sqlite3 *db, const QString &path)
{
    auto fail = [&path](const QString &what) {
        return Error{QStringLiteral("cannot use request log %1: %2").arg(path, what)};
    };

    // Readers (the console's request view, exports) use their own connections; WAL lets them
    // read while the writer commits. NORMAL sync is durable across application crashes, which
    // is what a request log needs; a power cut may lose the last batches.
    QString mode;
    if (auto error = queryText(db, "PRAGMA journal_mode=WAL", mode))
        return fail(*error);
    if (mode.compare(QLatin1String("wal"), Qt::CaseInsensitive) != 0)
        qWarning("tollgate: request log %s cannot use WAL (journal mode %s); readers will wait "
                 "on writes",
                 qPrintable(path), qPrintable(mode));
    if (auto error = exec(db, "PRAGMA synchronous=NORMAL"))
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
        std::optional<QString> error = exec(db, version == 1 ? kMigrateFrom1 : kCreateSchema);
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

void bindText(sqlite3_stmt *stmt, int index, const QString &text)
{
    // The record outlives sqlite3_step, so SQLite may read the UTF-16 buffer in place.
    if (text.isEmpty())
        sqlite3_bind_text(stmt, index, "", 0, SQLITE_STATIC);
    else
        sqlite3_bind_text16(stmt, index, text.utf16(), int(text.size() * sizeof(char16_t)),
                            SQLITE_STATIC);
}

void bindRecord(sqlite3_stmt *stmt, const metering::RequestRecord &r)
{
    bindText(stmt, 1, r.id);
    sqlite3_bind_int64(stmt, 2, r.startedAtMs);
    bindText(stmt, 3, r.flavor);
    bindText(stmt, 4, r.endpoint);
    bindText(stmt, 5, r.user);
    bindText(stmt, 6, r.requestedModel);
    bindText(stmt, 7, r.usedModel);
    sqlite3_bind_int(stmt, 8, r.status);
    sqlite3_bind_int(stmt, 9, r.stream ? 1 : 0);
    sqlite3_bind_double(stmt, 10, r.latencyMs);
    if (r.ttftMs < 0)
        sqlite3_bind_null(stmt, 11);
    else
        sqlite3_bind_double(stmt, 11, r.ttftMs);
    sqlite3_bind_double(stmt, 12, r.upstreamMs);
    sqlite3_bind_double(stmt, 13, r.overheadMs);
    sqlite3_bind_int64(stmt, 14, r.usage.inputTokens);
    sqlite3_bind_int64(stmt, 15, r.usage.outputTokens);
    sqlite3_bind_int64(stmt, 16, r.usage.cacheWriteTokens);
    sqlite3_bind_int64(stmt, 17, r.usage.cacheReadTokens);
    sqlite3_bind_double(stmt, 18, r.costUsd);
    sqlite3_bind_int(stmt, 19, r.priced ? 1 : 0);
    bindText(stmt, 20, r.cacheStatus);
    bindText(stmt, 21, r.error);
    bindText(stmt, 22, r.route);
    bindText(stmt, 23, r.plan);
    sqlite3_bind_int(stmt, 24, r.retries);
    sqlite3_bind_double(stmt, 25, r.savedUsd);
}

} // namespace

// Owns the connection; only its thread touches `db` and `insert` after open() hands them over.
struct RequestLog::Writer {
    Writer(RequestLog &log, sqlite3 *database, sqlite3_stmt *statement)
        : owner(log)
        , db(database)
        , insert(statement)
        , capacity(size_t(std::max(1, log.m_options.queueCapacity)))
        , maxBatch(size_t(std::max(1, log.m_options.maxBatch)))
        , flushInterval(std::max(0, log.m_options.flushIntervalMs))
        , retentionInterval(std::max(1, log.m_options.retentionIntervalMs))
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
        sqlite3_finalize(insert);
        sqlite3_close_v2(db);
    }

    void run();
    void writeBatch(const std::vector<metering::RequestRecord> &batch);
    void runRetention();
    void reportFailure(const QString &what);

    RequestLog &owner;
    sqlite3 *db;
    sqlite3_stmt *insert;
    const size_t capacity;
    const size_t maxBatch;
    const std::chrono::milliseconds flushInterval;
    const std::chrono::milliseconds retentionInterval;
    bool failing = false; // writer thread only: warn once per outage, not once per batch

    std::mutex mutex;
    std::condition_variable wake;     // the writer sleeps on it
    std::condition_variable progress; // flush() and enforceRetention() sleep on it
    std::deque<metering::RequestRecord> queue;
    Clock::time_point oldestQueuedAt;
    quint64 accepted = 0;  // records ever queued
    quint64 processed = 0; // records taken off the queue and committed (or lost)
    quint64 flushTarget = 0;
    quint64 retentionRequested = 0;
    quint64 retentionDone = 0;
    bool stopping = false;
    std::thread thread;
};

void RequestLog::Writer::run()
{
    // Retention runs once at start, so a log that sat unused for weeks is trimmed right away.
    Clock::time_point nextRetention = Clock::now();
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
        const Clock::time_point now = Clock::now();
        const bool writeDue =
            !queue.empty() && (stopping || flushTarget > processed || queue.size() >= maxBatch ||
                               now >= oldestQueuedAt + flushInterval);
        if (writeDue) {
            const size_t count = std::min(queue.size(), maxBatch);
            std::vector<metering::RequestRecord> batch;
            batch.reserve(count);
            for (size_t i = 0; i < count; ++i) {
                batch.push_back(std::move(queue.front()));
                queue.pop_front();
            }
            // Records left behind are younger than oldestQueuedAt, so keeping that stamp writes
            // them no later than their own deadline.
            lock.unlock();
            writeBatch(batch);
            lock.lock();
            processed += count;
            progress.notify_all();
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
        if (!queue.empty())
            deadline = std::min(deadline, oldestQueuedAt + flushInterval);
        wake.wait_until(lock, deadline);
    }
}

void RequestLog::Writer::writeBatch(const std::vector<metering::RequestRecord> &batch)
{
    const quint64 count = batch.size();
    if (auto error = exec(db, "BEGIN IMMEDIATE")) {
        owner.m_dropped += count;
        reportFailure(*error);
        return;
    }
    quint64 failed = 0;
    QString firstError;
    for (const metering::RequestRecord &record : batch) {
        bindRecord(insert, record);
        if (sqlite3_step(insert) != SQLITE_DONE) {
            if (failed++ == 0)
                firstError = lastError(db);
        }
        sqlite3_reset(insert);
    }
    if (auto error = exec(db, "COMMIT")) {
        exec(db, "ROLLBACK");
        owner.m_dropped += count;
        reportFailure(*error);
        return;
    }
    owner.m_written += count - failed;
    owner.m_dropped += failed;
    ++owner.m_transactions;
    if (failed > 0) {
        reportFailure(firstError);
    } else if (failing) {
        failing = false;
        qInfo("tollgate: request log %s is writable again", qPrintable(owner.m_options.path));
    }
}

void RequestLog::Writer::runRetention()
{
    const RequestLog::Options &options = owner.m_options;
    if (options.retentionDays <= 0 && options.maxRows <= 0)
        return;
    if (auto error = exec(db, "BEGIN IMMEDIATE")) {
        reportFailure(*error);
        return;
    }
    std::optional<QString> error;
    auto run = [this, &error](const char *sql, qint64 parameter) {
        if (error)
            return;
        sqlite3_stmt *stmt = nullptr;
        if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
            error = lastError(db);
            return;
        }
        sqlite3_bind_int64(stmt, 1, parameter);
        if (sqlite3_step(stmt) != SQLITE_DONE)
            error = lastError(db);
        sqlite3_finalize(stmt);
    };

    if (options.retentionDays > 0) {
        const qint64 cutoff = QDateTime::currentMSecsSinceEpoch() -
                              qint64(options.retentionDays) * 24 * 60 * 60 * 1000;
        run("DELETE FROM requests WHERE started_at_ms < ?1", cutoff);
    }
    if (options.maxRows > 0 && !error) {
        QString countText;
        error = queryText(db, "SELECT COUNT(*) FROM requests", countText);
        const qint64 excess = countText.toLongLong() - options.maxRows;
        // Oldest by start time, not by insertion order: batches from workers interleave.
        if (excess > 0)
            run("DELETE FROM requests WHERE rowid IN (SELECT rowid FROM requests ORDER BY "
                "started_at_ms, rowid LIMIT ?1)",
                excess);
    }
    if (!error)
        error = exec(db, "COMMIT");
    if (error) {
        exec(db, "ROLLBACK");
        reportFailure(*error);
    }
}

void RequestLog::Writer::reportFailure(const QString &what)
{
    if (failing)
        return;
    failing = true;
    qWarning("tollgate: request log %s: write failed (%s); records are being dropped",
             qPrintable(owner.m_options.path), qPrintable(what));
}

RequestLog::RequestLog(const Options &options)
    : m_options(options)
{
}

RequestLog::~RequestLog()
{
    // Drain before the counters the writer updates are destroyed (they are declared after it).
    m_writer.reset();
}

Expected<std::unique_ptr<RequestLog>> RequestLog::open(const Options &options)
{
    if (options.path.isEmpty())
        return Error{QStringLiteral("the request log needs a database path")};

    const QFileInfo info(options.path);
    const QString folder = info.absolutePath();
    if (!QDir().mkpath(folder))
        return Error{QStringLiteral("cannot create folder %1 for the request log").arg(folder)};

    sqlite3 *db = nullptr;
    // NOMUTEX: after open() returns, the connection belongs to the writer thread alone.
    const int rc =
        sqlite3_open_v2(QFile::encodeName(info.absoluteFilePath()).constData(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        const QString reason = db ? lastError(db) : QString::fromUtf8(sqlite3_errstr(rc));
        sqlite3_close_v2(db);
        return Error{QStringLiteral("cannot open request log %1: %2").arg(options.path, reason)};
    }
    // Another process (a second tollgated on the same file, a backup) may hold the write lock
    // briefly; waiting beats dropping a batch.
    sqlite3_busy_timeout(db, 5000);

    if (auto error = prepareSchema(db, options.path)) {
        sqlite3_close_v2(db);
        return *error;
    }
    sqlite3_stmt *insert = nullptr;
    if (sqlite3_prepare_v3(db, kInsert, -1, SQLITE_PREPARE_PERSISTENT, &insert, nullptr) !=
        SQLITE_OK) {
        const QString reason = lastError(db);
        sqlite3_close_v2(db);
        return Error{QStringLiteral("cannot use request log %1: %2").arg(options.path, reason)};
    }

    std::unique_ptr<RequestLog> log(new RequestLog(options));
    log->m_writer = std::make_unique<Writer>(*log, db, insert);
    Expected<std::unique_ptr<RequestLog>> result(std::move(log));
    return result;
}

bool RequestLog::append(metering::RequestRecord record)
{
    Writer &w = *m_writer;
    bool notify = false;
    {
        std::lock_guard<std::mutex> lock(w.mutex);
        if (w.queue.size() >= w.capacity) {
            ++m_dropped;
            return false;
        }
        if (w.queue.empty()) {
            w.oldestQueuedAt = Clock::now();
            notify = true; // the writer sleeps until retention; tell it about the new deadline
        }
        w.queue.push_back(std::move(record));
        ++w.accepted;
        // Only the append that fills a batch wakes it again; appends in between stay cheap.
        notify = notify || w.queue.size() == w.maxBatch;
    }
    if (notify)
        w.wake.notify_one();
    return true;
}

void RequestLog::flush()
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

void RequestLog::enforceRetention()
{
    Writer &w = *m_writer;
    std::unique_lock<std::mutex> lock(w.mutex);
    // Rows queued before the call take part, as if they had already been written.
    w.flushTarget = std::max(w.flushTarget, w.accepted);
    const quint64 request = ++w.retentionRequested;
    w.wake.notify_one();
    w.progress.wait(lock, [&w, request] { return w.retentionDone >= request; });
}

} // namespace tollgate::store
