#include "store/requestlog.h"

#include "store/sqlite.h"
#include "store/sqlitewriter.h"

#include <QDateTime>
#include <QFile>
#include <QVariant>

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

namespace tollgate::store {

namespace {

using Clock = SqliteWriteQueue::Clock;

// Bumped whenever the schema changes; stored in PRAGMA user_version.
constexpr int kSchemaVersion = 5;

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
    saved_usd REAL NOT NULL DEFAULT 0,
    routing_saved_usd REAL NOT NULL DEFAULT 0
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

// From version 2: what routing saved against the requested or strongest model.
constexpr const char *kMigrateFrom2 = R"sql(
ALTER TABLE requests ADD COLUMN routing_saved_usd REAL NOT NULL DEFAULT 0;
)sql";

// From version 3: the captured requests and responses behind the console's request detail.
constexpr const char *kMigrateFrom3 = R"sql(
CREATE TABLE IF NOT EXISTS exchanges (
    id TEXT NOT NULL,
    started_at_ms INTEGER NOT NULL,
    method TEXT NOT NULL,
    target TEXT NOT NULL,
    request_headers TEXT NOT NULL,
    request_body BLOB NOT NULL,
    request_bytes INTEGER NOT NULL,
    status INTEGER NOT NULL,
    response_headers TEXT NOT NULL,
    response_body BLOB NOT NULL,
    response_bytes INTEGER NOT NULL,
    streamed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS exchanges_id ON exchanges (id);
CREATE INDEX IF NOT EXISTS exchanges_started_at ON exchanges (started_at_ms);
)sql";

// From version 4: where the time before the upstream answered went (NULL: no upstream call).
constexpr const char *kMigrateFrom4 = R"sql(
ALTER TABLE requests ADD COLUMN queue_ms REAL;
ALTER TABLE requests ADD COLUMN connect_ms REAL;
)sql";

constexpr const char *kInsertExchange =
    "INSERT INTO exchanges (id, started_at_ms, method, target, request_headers, request_body, "
    "request_bytes, status, response_headers, response_body, response_bytes, streamed) VALUES "
    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
constexpr const char *kInsert =
    "INSERT INTO requests (id, started_at_ms, flavor, endpoint, user, requested_model, "
    "used_model, status, stream, latency_ms, ttft_ms, upstream_ms, overhead_ms, input_tokens, "
    "output_tokens, cache_write_tokens, cache_read_tokens, cost_usd, priced, cache_status, "
    "error, route, plan, retries, saved_usd, routing_saved_usd, queue_ms, connect_ms) VALUES "
    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, "
    "?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)";

void bindText(sqlite3_stmt *stmt, int index, const QString &text)
{
    // The record outlives sqlite3_step, so SQLite may read the UTF-16 buffer in place.
    if (text.isEmpty())
        sqlite3_bind_text(stmt, index, "", 0, SQLITE_STATIC);
    else
        sqlite3_bind_text16(stmt, index, text.utf16(), int(text.size() * sizeof(char16_t)),
                            SQLITE_STATIC);
}

// A duration that may be unknown (negative in the record) as NULL.
void bindDuration(sqlite3_stmt *stmt, int index, double ms)
{
    if (ms < 0)
        sqlite3_bind_null(stmt, index);
    else
        sqlite3_bind_double(stmt, index, ms);
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
    bindDuration(stmt, 11, r.ttftMs);
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
    sqlite3_bind_double(stmt, 26, r.routingSavedUsd);
    bindDuration(stmt, 27, r.queueMs);
    bindDuration(stmt, 28, r.connectMs);
}

void bindBytes(sqlite3_stmt *stmt, int index, const QByteArray &bytes)
{
    // Bound as a blob even when empty: the columns are NOT NULL.
    sqlite3_bind_blob64(stmt, index, bytes.isEmpty() ? "" : bytes.constData(),
                        sqlite3_uint64(bytes.size()), SQLITE_STATIC);
}

// The JSON of the headers must outlive sqlite3_step: the caller keeps it.
struct ExchangeHeads {
    QByteArray request;
    QByteArray response;
};

void bindExchange(sqlite3_stmt *stmt, const CapturedExchange &e, const ExchangeHeads &heads)
{
    bindText(stmt, 1, e.id);
    sqlite3_bind_int64(stmt, 2, e.startedAtMs);
    bindBytes(stmt, 3, e.method);
    bindBytes(stmt, 4, e.target);
    bindBytes(stmt, 5, heads.request);
    bindBytes(stmt, 6, e.requestBody);
    sqlite3_bind_int64(stmt, 7, e.requestBytes);
    sqlite3_bind_int(stmt, 8, e.status);
    bindBytes(stmt, 9, heads.response);
    bindBytes(stmt, 10, e.responseBody);
    sqlite3_bind_int64(stmt, 11, e.responseBytes);
    sqlite3_bind_int(stmt, 12, e.streamed ? 1 : 0);
}

// Deletes the oldest exchanges until their bodies hold at most maxBytes (<= 0: no cap).
std::optional<QString> trimExchanges(SqliteWriter &writer, qint64 maxBytes)
{
    if (maxBytes <= 0)
        return std::nullopt;
    qint64 total = 0;
    if (auto failure = sqlite::queryInt(
            writer.db(),
            "SELECT COALESCE(SUM(length(request_body) + length(response_body)), 0) FROM exchanges",
            total))
        return failure;
    if (total <= maxBytes)
        return std::nullopt;
    // Newest first, a running total: what lies beyond the cap goes.
    return writer.run("DELETE FROM exchanges WHERE rowid IN (SELECT rowid FROM (SELECT rowid, "
                      "SUM(length(request_body) + length(response_body)) OVER (ORDER BY "
                      "started_at_ms DESC, rowid DESC) AS kept FROM exchanges) WHERE kept > ?1)",
                      maxBytes);
}

} // namespace

// The records and captured exchanges waiting for the writer: one FIFO under the writer's lock, so
// a batch completes the oldest accepted writes; written in batches of at most maxBatch once the
// oldest has waited flushIntervalMs (or a batch is full, or a flush waits).
struct RequestLog::Queue final : SqliteWriteQueue {
    using Entry = std::variant<metering::RequestRecord, CapturedExchange>;

    Queue(RequestLog &log, sqlite3_stmt *records, sqlite3_stmt *exchanges)
        : owner(log)
        , insert(records)
        , insertExchange(exchanges)
        , capacity(size_t(std::max(1, log.m_options.queueCapacity)))
        , exchangeCapacity(size_t(std::max(1, log.m_options.exchangeQueueCapacity)))
        , maxBatch(size_t(std::max(1, log.m_options.maxBatch)))
        , flushInterval(std::max(0, log.m_options.flushIntervalMs))
    {
    }

    bool batchDue(Clock::time_point now, bool urgent, Clock::time_point &wakeAt) override
    {
        if (entries.empty())
            return false;
        const Clock::time_point deadline = oldestQueuedAt + flushInterval;
        if (urgent || entries.size() >= maxBatch || now >= deadline)
            return true;
        wakeAt = std::min(wakeAt, deadline);
        return false;
    }

    quint64 takeBatch() override
    {
        const size_t count = std::min(entries.size(), maxBatch);
        batch.reserve(count);
        for (size_t i = 0; i < count; ++i) {
            if (std::holds_alternative<CapturedExchange>(entries.front()))
                --queuedExchanges;
            else
                --queuedRecords;
            batch.push_back(std::move(entries.front()));
            entries.pop_front();
        }
        // Entries left behind are younger than oldestQueuedAt, so keeping that stamp writes
        // them no later than their own deadline.
        return count;
    }

    bool writeBatch(SqliteWriter &writer) override;
    void batchDone(bool, bool) override { batch.clear(); }
    qint64 maintain(SqliteWriter &writer, std::optional<qint64>) override;
    // Writes one entry; false when SQLite refused it.
    bool write(const Entry &entry);

    RequestLog &owner;
    sqlite3_stmt *insert;
    sqlite3_stmt *insertExchange;
    const size_t capacity;
    const size_t exchangeCapacity;
    const size_t maxBatch;
    const std::chrono::milliseconds flushInterval;
    std::deque<Entry> entries; // under the writer's lock
    size_t queuedRecords = 0;
    size_t queuedExchanges = 0;
    Clock::time_point oldestQueuedAt;
    std::vector<Entry> batch; // writer thread only
};

bool RequestLog::Queue::write(const Entry &entry)
{
    sqlite3_stmt *statement = insert;
    ExchangeHeads heads;
    if (const auto *exchange = std::get_if<CapturedExchange>(&entry)) {
        statement = insertExchange;
        heads = {headersToJson(exchange->requestHeaders), headersToJson(exchange->responseHeaders)};
        bindExchange(statement, *exchange, heads);
    } else {
        bindRecord(statement, std::get<metering::RequestRecord>(entry));
    }
    const bool done = sqlite3_step(statement) == SQLITE_DONE;
    sqlite3_reset(statement);
    return done;
}

bool RequestLog::Queue::writeBatch(SqliteWriter &writer)
{
    const quint64 count = batch.size();
    quint64 failed = 0;
    QString firstError;
    // A row that fails (a constraint, say) is counted and the rest of the batch still commits.
    const std::optional<QString> error = writer.transaction([&]() -> std::optional<QString> {
        for (const Entry &entry : batch) {
            if (!write(entry) && failed++ == 0)
                firstError = sqlite::lastError(writer.db());
        }
        return std::nullopt;
    });
    if (error) {
        owner.m_dropped += count;
        writer.reportFailure(*error);
        return false;
    }
    owner.m_written += count - failed;
    owner.m_dropped += failed;
    ++owner.m_transactions;
    if (failed > 0)
        writer.reportFailure(firstError);
    else
        writer.reportSuccess();
    return true;
}

qint64 RequestLog::Queue::maintain(SqliteWriter &writer, std::optional<qint64>)
{
    const RequestLog::Options &options = owner.m_options;
    if (options.retentionDays <= 0 && options.maxRows <= 0 && options.maxExchangeBytes <= 0)
        return 0;
    const std::optional<QString> error = writer.transaction([&]() -> std::optional<QString> {
        if (options.retentionDays > 0) {
            const qint64 cutoff = QDateTime::currentMSecsSinceEpoch() -
                                  qint64(options.retentionDays) * 24 * 60 * 60 * 1000;
            if (auto failure = writer.run("DELETE FROM requests WHERE started_at_ms < ?1", cutoff))
                return failure;
            if (auto failure = writer.run("DELETE FROM exchanges WHERE started_at_ms < ?1", cutoff))
                return failure;
        }
        if (auto failure = trimExchanges(writer, options.maxExchangeBytes))
            return failure;
        if (options.maxRows <= 0)
            return std::nullopt;
        qint64 rows = 0;
        if (auto failure = sqlite::queryInt(writer.db(), "SELECT COUNT(*) FROM requests", rows))
            return failure;
        const qint64 excess = rows - options.maxRows;
        // Oldest by start time, not by insertion order: batches from workers interleave.
        if (excess <= 0)
            return std::nullopt;
        if (auto failure =
                writer.run("DELETE FROM requests WHERE rowid IN (SELECT rowid FROM requests "
                           "ORDER BY started_at_ms, rowid LIMIT ?1)",
                           excess))
            return failure;
        // The exchanges of requests that left go with them.
        return writer.run("DELETE FROM exchanges WHERE started_at_ms < "
                          "(SELECT COALESCE(MIN(started_at_ms), 0) FROM requests)",
                          qint64(0));
    });
    if (error)
        writer.reportFailure(*error);
    return 0;
}

RequestLog::RequestLog(const Options &options)
    : m_options(options)
{
}

RequestLog::~RequestLog()
{
    // Drain before the queue and the counters the writer updates are destroyed.
    m_writer.reset();
    m_queue.reset();
}

Expected<std::unique_ptr<RequestLog>> RequestLog::open(const Options &options)
{
    SqliteWriter::Options writerOptions;
    writerOptions.path = options.path;
    writerOptions.name = QStringLiteral("request log");
    writerOptions.failureEffect = QStringLiteral("records are being dropped");
    writerOptions.schemaVersion = kSchemaVersion;
    writerOptions.createSchema = kCreateSchema;
    writerOptions.createdVersion = 3; // then kMigrateFrom3 adds the exchanges
    writerOptions.migrations.insert(1, kMigrateFrom1);
    writerOptions.migrations.insert(2, kMigrateFrom2);
    writerOptions.migrations.insert(3, kMigrateFrom3);
    writerOptions.migrations.insert(4, kMigrateFrom4);
    writerOptions.maintenanceIntervalMs = options.retentionIntervalMs;
    auto writer = SqliteWriter::open(writerOptions);
    if (!writer)
        return writer.error();
    auto insert = (*writer)->prepare(kInsert);
    if (!insert)
        return insert.error();
    auto insertExchange = (*writer)->prepare(kInsertExchange);
    if (!insertExchange)
        return insertExchange.error();

    std::unique_ptr<RequestLog> log(new RequestLog(options));
    log->m_queue = std::make_unique<Queue>(*log, *insert, *insertExchange);
    log->m_writer = std::move(*writer);
    log->m_writer->start(*log->m_queue);
    Expected<std::unique_ptr<RequestLog>> result(std::move(log));
    return result;
}

bool RequestLog::append(metering::RequestRecord record)
{
    return enqueue(std::move(record));
}

bool RequestLog::appendExchange(CapturedExchange exchange)
{
    return enqueue(std::move(exchange));
}

bool RequestLog::enqueue(std::variant<metering::RequestRecord, CapturedExchange> entry)
{
    Queue &queue = *m_queue;
    const bool isExchange = std::holds_alternative<CapturedExchange>(entry);
    bool notify = false;
    {
        const auto lock = m_writer->lock();
        if (isExchange ? queue.queuedExchanges >= queue.exchangeCapacity
                       : queue.queuedRecords >= queue.capacity) {
            ++m_dropped;
            return false;
        }
        if (queue.entries.empty()) {
            queue.oldestQueuedAt = Clock::now();
            notify = true; // the writer sleeps until retention; tell it about the new deadline
        }
        queue.entries.push_back(std::move(entry));
        ++(isExchange ? queue.queuedExchanges : queue.queuedRecords);
        m_writer->accepted();
        // Only the append that fills a batch wakes it again; appends in between stay cheap.
        notify = notify || queue.entries.size() == queue.maxBatch;
    }
    if (notify)
        m_writer->wake();
    return true;
}

void RequestLog::flush()
{
    m_writer->flush();
}

void RequestLog::enforceRetention()
{
    // Rows queued before the call take part, as if they had already been written.
    m_writer->maintain(0, true);
}

RequestLogReader RequestLog::reader() const
{
    return RequestLogReader(m_options.path);
}

Expected<qint64>
RequestLog::readFinished(qint64 fromMs, qint64 toMs,
                         const std::function<void(const metering::RequestRecord &)> &visit) const
{
    return reader().readFinished(fromMs, toMs, visit);
}

Expected<RequestLog::Page> RequestLog::page(const metering::RequestFilter &filter, int limit,
                                            const std::optional<PageCursor> &after) const
{
    return reader().page(filter, {}, limit, after);
}

Expected<qint64> RequestLog::count(const metering::RequestFilter &filter) const
{
    return reader().count(filter);
}

Expected<RequestLog::Spend> RequestLog::spendBetween(qint64 fromMs, qint64 toMs) const
{
    return reader().spendBetween(fromMs, toMs);
}

Expected<std::optional<CapturedExchange>> RequestLog::exchange(const QString &id) const
{
    return reader().exchange(id);
}

} // namespace tollgate::store
