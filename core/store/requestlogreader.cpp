#include "store/requestlogreader.h"

#include "store/sqlite.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QVariant>

#include <sqlite3.h>

#include <limits>
#include <utility>

namespace tollgate::store {

namespace {

// The columns recordOf() reads, in its order.
constexpr const char *kRecordColumns =
    "id, started_at_ms, flavor, endpoint, user, requested_model, used_model, status, "
    "stream, latency_ms, ttft_ms, upstream_ms, overhead_ms, input_tokens, output_tokens, "
    "cache_write_tokens, cache_read_tokens, cost_usd, priced, cache_status, error, route, plan, "
    "retries, saved_usd, routing_saved_usd, queue_ms, connect_ms";
// Where a page query puts the rowid, after the record's columns.
constexpr int kRowIdColumn = 28;

constexpr const char *kSelectFinished =
    "SELECT %1 FROM requests WHERE started_at_ms >= ?1 - 86400000 "
    "AND started_at_ms + latency_ms >= ?1 AND started_at_ms + latency_ms < ?2 "
    "ORDER BY started_at_ms";

QString columnText(sqlite3_stmt *stmt, int column)
{
    return QString::fromUtf8(reinterpret_cast<const char *>(sqlite3_column_text(stmt, column)),
                             sqlite3_column_bytes(stmt, column));
}

// A duration column that may be NULL (unknown) as the record keeps it: negative.
double durationOf(sqlite3_stmt *stmt, int column)
{
    return sqlite3_column_type(stmt, column) == SQLITE_NULL ? -1
                                                            : sqlite3_column_double(stmt, column);
}

// A row starting with kRecordColumns as the record it was written from.
metering::RequestRecord recordOf(sqlite3_stmt *stmt)
{
    metering::RequestRecord r;
    r.id = columnText(stmt, 0);
    r.startedAtMs = sqlite3_column_int64(stmt, 1);
    r.flavor = columnText(stmt, 2);
    r.endpoint = columnText(stmt, 3);
    r.user = columnText(stmt, 4);
    r.requestedModel = columnText(stmt, 5);
    r.usedModel = columnText(stmt, 6);
    r.status = sqlite3_column_int(stmt, 7);
    r.stream = sqlite3_column_int(stmt, 8) != 0;
    r.latencyMs = sqlite3_column_double(stmt, 9);
    r.ttftMs = durationOf(stmt, 10);
    r.upstreamMs = sqlite3_column_double(stmt, 11);
    r.overheadMs = sqlite3_column_double(stmt, 12);
    r.usage.inputTokens = sqlite3_column_int64(stmt, 13);
    r.usage.outputTokens = sqlite3_column_int64(stmt, 14);
    r.usage.cacheWriteTokens = sqlite3_column_int64(stmt, 15);
    r.usage.cacheReadTokens = sqlite3_column_int64(stmt, 16);
    r.costUsd = sqlite3_column_double(stmt, 17);
    r.priced = sqlite3_column_int(stmt, 18) != 0;
    r.cacheStatus = columnText(stmt, 19);
    r.error = columnText(stmt, 20);
    r.route = columnText(stmt, 21);
    r.plan = columnText(stmt, 22);
    r.retries = sqlite3_column_int(stmt, 23);
    r.savedUsd = sqlite3_column_double(stmt, 24);
    r.routingSavedUsd = sqlite3_column_double(stmt, 25);
    r.queueMs = durationOf(stmt, 26);
    r.connectMs = durationOf(stmt, 27);
    return r;
}

// A filter's values as its parameters ?1..?n. Text is copied: toString() hands out a temporary.
void bindFilterValues(sqlite3_stmt *stmt, const QVariantList &values)
{
    for (int i = 0; i < values.size(); ++i) {
        const QVariant &value = values.at(i);
        const int index = i + 1;
        if (value.typeId() == QMetaType::Double) {
            sqlite3_bind_double(stmt, index, value.toDouble());
        } else if (value.typeId() == QMetaType::QString) {
            const QString text = value.toString();
            // Empty, not NULL: a NULL pattern would make LIKE, and NOT around it, unknown.
            if (text.isEmpty())
                sqlite3_bind_text(stmt, index, "", 0, SQLITE_STATIC);
            else
                sqlite3_bind_text16(stmt, index, text.utf16(), int(text.size() * sizeof(char16_t)),
                                    SQLITE_TRANSIENT);
        } else {
            sqlite3_bind_int64(stmt, index, value.toLongLong());
        }
    }
}

// One read on a connection of its own, as WAL readers use, so the writer thread is never held
// up. `bind` sets the parameters and `row` sees each result row; returns how many rows there were.
Expected<qint64> readRows(const QString &path, const QString &sql,
                          const std::function<void(sqlite3_stmt *)> &bind,
                          const std::function<void(sqlite3_stmt *)> &row)
{
    sqlite3 *db = nullptr;
    const int rc = sqlite3_open_v2(QFile::encodeName(path).constData(), &db,
                                   SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    sqlite3_stmt *stmt = nullptr;
    auto fail = [&path, &db, &stmt](const QString &what) {
        sqlite3_finalize(stmt);
        sqlite3_close_v2(db);
        return Error{QStringLiteral("cannot read request log %1: %2").arg(path, what)};
    };
    if (rc != SQLITE_OK)
        return fail(db ? sqlite::lastError(db) : QString::fromUtf8(sqlite3_errstr(rc)));
    sqlite3_busy_timeout(db, 5000);
    const QByteArray utf8 = sql.toUtf8();
    if (sqlite3_prepare_v2(db, utf8.constData(), int(utf8.size()), &stmt, nullptr) != SQLITE_OK)
        return fail(sqlite::lastError(db));
    bind(stmt);
    qint64 rows = 0;
    int step = SQLITE_ROW;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        row(stmt);
        ++rows;
    }
    if (step != SQLITE_DONE)
        return fail(sqlite::lastError(db));
    sqlite3_finalize(stmt);
    sqlite3_close_v2(db);
    return rows;
}

// A read's conditions beyond the filter's, numbering their parameters after the filter's.
struct ScopeSql {
    QString where;
    std::function<void(sqlite3_stmt *)> bind;
    int nextParameter;
};

ScopeSql scopeSql(const RequestLogReader::Scope &scope, int firstParameter)
{
    ScopeSql sql;
    int n = firstParameter;
    const int upTo = scope.upToRowId > 0 ? n++ : 0;
    const bool completed = scope.completedToMs > scope.completedFromMs;
    const int from = completed ? n++ : 0;
    const int to = completed ? n++ : 0;
    if (upTo)
        sql.where += QStringLiteral(" AND rowid <= ?%1").arg(upTo);
    if (completed) {
        // RequestRecord::completedAtMs(): a latency that is not a finite non-negative number
        // counts as instant, and it rounds half away from zero, as SQLite's round() does. The
        // start-time bounds make it a range of the start-time index.
        sql.where +=
            QStringLiteral(" AND started_at_ms >= ?%1 - 86400000 AND started_at_ms < ?%2"
                           " AND started_at_ms + (CASE WHEN latency_ms >= 0 AND latency_ms < 1e15"
                           " THEN CAST(round(latency_ms) AS INTEGER) ELSE 0 END) >= ?%1"
                           " AND started_at_ms + (CASE WHEN latency_ms >= 0 AND latency_ms < 1e15"
                           " THEN CAST(round(latency_ms) AS INTEGER) ELSE 0 END) < ?%2")
                .arg(from)
                .arg(to);
    }
    sql.bind = [scope, upTo, from, to, completed](sqlite3_stmt *stmt) {
        if (upTo)
            sqlite3_bind_int64(stmt, upTo, scope.upToRowId);
        if (completed) {
            sqlite3_bind_int64(stmt, from, scope.completedFromMs);
            sqlite3_bind_int64(stmt, to, scope.completedToMs);
        }
    };
    sql.nextParameter = n;
    return sql;
}

constexpr const char *kSelectExchange =
    "SELECT id, started_at_ms, method, target, request_headers, request_body, request_bytes, "
    "status, response_headers, response_body, response_bytes, streamed FROM exchanges "
    "WHERE id = ?1 ORDER BY rowid DESC LIMIT 1";
// The ids come as one JSON array; the newest row of an id comes last.
constexpr const char *kSelectExchanges =
    "SELECT id, started_at_ms, method, target, request_headers, request_body, request_bytes, "
    "status, response_headers, response_body, response_bytes, streamed FROM exchanges "
    "WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY rowid";

QByteArray columnBytes(sqlite3_stmt *stmt, int column)
{
    return QByteArray(static_cast<const char *>(sqlite3_column_blob(stmt, column)),
                      sqlite3_column_bytes(stmt, column));
}

CapturedExchange exchangeOf(sqlite3_stmt *stmt)
{
    CapturedExchange e;
    e.id = columnText(stmt, 0);
    e.startedAtMs = sqlite3_column_int64(stmt, 1);
    e.method = columnBytes(stmt, 2);
    e.target = columnBytes(stmt, 3);
    e.requestHeaders = headersFromJson(columnBytes(stmt, 4));
    e.requestBody = columnBytes(stmt, 5);
    e.requestBytes = sqlite3_column_int64(stmt, 6);
    e.status = sqlite3_column_int(stmt, 7);
    e.responseHeaders = headersFromJson(columnBytes(stmt, 8));
    e.responseBody = columnBytes(stmt, 9);
    e.responseBytes = sqlite3_column_int64(stmt, 10);
    e.streamed = sqlite3_column_int(stmt, 11) != 0;
    return e;
}

} // namespace

RequestLogReader::RequestLogReader(QString path)
    : m_path(std::move(path))
{
}

Expected<qint64> RequestLogReader::lastRowId() const
{
    qint64 last = 0;
    const auto rows = readRows(
        m_path, QStringLiteral("SELECT COALESCE(MAX(rowid), 0) FROM requests"),
        [](sqlite3_stmt *) {}, [&](sqlite3_stmt *stmt) { last = sqlite3_column_int64(stmt, 0); });
    if (!rows)
        return rows.error();
    return last;
}

Expected<qint64> RequestLogReader::readFinished(
    qint64 fromMs, qint64 toMs,
    const std::function<void(const metering::RequestRecord &)> &visit) const
{
    return readRows(
        m_path, QString::fromLatin1(kSelectFinished).arg(QLatin1String(kRecordColumns)),
        [&](sqlite3_stmt *stmt) {
            sqlite3_bind_int64(stmt, 1, fromMs);
            sqlite3_bind_int64(stmt, 2, toMs);
        },
        [&](sqlite3_stmt *stmt) { visit(recordOf(stmt)); });
}

Expected<RequestLogReader::Page> RequestLogReader::page(const metering::RequestFilter &filter,
                                                        const Scope &scope, int limit,
                                                        const std::optional<PageCursor> &after,
                                                        qint64 skip, bool oldestFirst) const
{
    if (limit < 1)
        return Error{QStringLiteral("a page holds at least one request, not %1").arg(limit)};
    if (skip < 0)
        return Error{QStringLiteral("a page cannot skip %1 requests").arg(skip)};
    const metering::RequestFilter::Sql condition = filter.toSql();
    const ScopeSql scoped = scopeSql(scope, int(condition.values.size()) + 1);
    int n = scoped.nextParameter;
    // Along the start-time index, whose entries end in the rowid, so both the order and the
    // keyset condition (started_at_ms, rowid) < cursor are walks of that one index.
    QString sql = QStringLiteral("SELECT %1, rowid FROM requests WHERE (%2)%3")
                      .arg(QLatin1String(kRecordColumns), condition.where, scoped.where);
    const int cursorStart = after ? n : 0;
    if (after) {
        sql += QStringLiteral(" AND (started_at_ms, rowid) %1 (?%2, ?%3)")
                   .arg(oldestFirst ? QLatin1Char('>') : QLatin1Char('<'))
                   .arg(n)
                   .arg(n + 1);
        n += 2;
    }
    const QLatin1String direction = oldestFirst ? QLatin1String("ASC") : QLatin1String("DESC");
    sql += QStringLiteral(" ORDER BY started_at_ms %1, rowid %1 LIMIT ?%2 OFFSET ?%3")
               .arg(direction)
               .arg(n)
               .arg(n + 1);

    Page page;
    const auto rows = readRows(
        m_path, sql,
        [&](sqlite3_stmt *stmt) {
            bindFilterValues(stmt, condition.values);
            scoped.bind(stmt);
            if (after) {
                sqlite3_bind_int64(stmt, cursorStart, after->startedAtMs);
                sqlite3_bind_int64(stmt, cursorStart + 1, after->rowId);
            }
            // One row beyond the page tells whether another page follows.
            sqlite3_bind_int64(stmt, n, qint64(limit) + 1);
            sqlite3_bind_int64(stmt, n + 1, skip);
        },
        [&](sqlite3_stmt *stmt) {
            if (page.records.size() == limit) {
                page.next =
                    PageCursor{page.records.constLast().startedAtMs, page.rowIds.constLast()};
                return;
            }
            page.records.append(recordOf(stmt));
            page.rowIds.append(sqlite3_column_int64(stmt, kRowIdColumn));
        });
    if (!rows)
        return rows.error();
    return page;
}

Expected<qint64> RequestLogReader::count(const metering::RequestFilter &filter,
                                         const Scope &scope) const
{
    if (filter.matchesAll() && scope.completedToMs <= scope.completedFromMs) {
        // SQLite counts a whole table from its smallest index, but "rowid <= ?" would make it
        // scan the table; the rows written after a snapshot are few and a rowid range. One
        // statement, so both counts see the same state of the log.
        qint64 rows = 0;
        const auto read = readRows(
            m_path,
            QStringLiteral("SELECT (SELECT COUNT(*) FROM requests) - "
                           "(SELECT COUNT(*) FROM requests WHERE rowid > ?1)"),
            [&](sqlite3_stmt *stmt) {
                sqlite3_bind_int64(stmt, 1,
                                   scope.upToRowId > 0 ? scope.upToRowId
                                                       : std::numeric_limits<qint64>::max());
            },
            [&](sqlite3_stmt *stmt) { rows = sqlite3_column_int64(stmt, 0); });
        if (!read)
            return read.error();
        return rows;
    }
    const metering::RequestFilter::Sql condition = filter.toSql();
    const ScopeSql scoped = scopeSql(scope, int(condition.values.size()) + 1);
    qint64 matching = 0;
    const auto rows = readRows(
        m_path,
        QStringLiteral("SELECT COUNT(*) FROM requests WHERE (%1)%2")
            .arg(condition.where, scoped.where),
        [&](sqlite3_stmt *stmt) {
            bindFilterValues(stmt, condition.values);
            scoped.bind(stmt);
        },
        [&](sqlite3_stmt *stmt) { matching = sqlite3_column_int64(stmt, 0); });
    if (!rows)
        return rows.error();
    return matching;
}

Expected<RequestLogReader::BlockIndex>
RequestLogReader::blockIndex(const metering::RequestFilter &filter, const Scope &scope,
                             int blockRows) const
{
    if (blockRows < 1)
        return Error{QStringLiteral("a block holds at least one request, not %1").arg(blockRows)};
    const metering::RequestFilter::Sql condition = filter.toSql();
    const ScopeSql scoped = scopeSql(scope, int(condition.values.size()) + 1);
    BlockIndex index;
    const auto rows = readRows(
        m_path,
        QStringLiteral("SELECT started_at_ms, rowid FROM requests WHERE (%1)%2 "
                       "ORDER BY started_at_ms DESC, rowid DESC")
            .arg(condition.where, scoped.where),
        [&](sqlite3_stmt *stmt) {
            bindFilterValues(stmt, condition.values);
            scoped.bind(stmt);
        },
        [&](sqlite3_stmt *stmt) {
            if (++index.count % blockRows == 0)
                index.blockStarts.append(
                    {sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 1)});
        });
    if (!rows)
        return rows.error();
    // A start after the last match begins no block.
    if (!index.blockStarts.isEmpty() && index.count % blockRows == 0)
        index.blockStarts.removeLast();
    return index;
}

Expected<QStringList> RequestLogReader::idsWritten(qint64 afterRowId, qint64 upToRowId) const
{
    QStringList ids;
    const auto rows = readRows(
        m_path, QStringLiteral("SELECT id FROM requests WHERE rowid > ?1 AND rowid <= ?2"),
        [&](sqlite3_stmt *stmt) {
            sqlite3_bind_int64(stmt, 1, afterRowId);
            sqlite3_bind_int64(stmt, 2, upToRowId);
        },
        [&](sqlite3_stmt *stmt) { ids.append(columnText(stmt, 0)); });
    if (!rows)
        return rows.error();
    return ids;
}

Expected<RequestLogReader::Spend> RequestLogReader::spendBetween(qint64 fromMs, qint64 toMs) const
{
    Spend spend;
    const auto rows = readRows(
        m_path,
        QStringLiteral("SELECT COUNT(*), TOTAL(cost_usd), TOTAL(saved_usd) FROM requests "
                       "WHERE started_at_ms >= ?1 AND started_at_ms < ?2"),
        [&](sqlite3_stmt *stmt) {
            sqlite3_bind_int64(stmt, 1, fromMs);
            sqlite3_bind_int64(stmt, 2, toMs);
        },
        [&](sqlite3_stmt *stmt) {
            spend.requests = sqlite3_column_int64(stmt, 0);
            spend.costUsd = sqlite3_column_double(stmt, 1);
            spend.savedUsd = sqlite3_column_double(stmt, 2);
        });
    if (!rows)
        return rows.error();
    return spend;
}

Expected<std::optional<CapturedExchange>> RequestLogReader::exchange(const QString &id) const
{
    std::optional<CapturedExchange> found;
    const QByteArray key = id.toUtf8();
    const auto rows = readRows(
        m_path, QString::fromLatin1(kSelectExchange),
        [&](sqlite3_stmt *stmt) {
            sqlite3_bind_text(stmt, 1, key.constData(), int(key.size()), SQLITE_STATIC);
        },
        [&](sqlite3_stmt *stmt) { found = exchangeOf(stmt); });
    if (!rows)
        return rows.error();
    return found;
}

Expected<QHash<QString, CapturedExchange>> RequestLogReader::exchanges(const QStringList &ids) const
{
    QHash<QString, CapturedExchange> found;
    if (ids.isEmpty())
        return found;
    const QByteArray list =
        QJsonDocument(QJsonArray::fromStringList(ids)).toJson(QJsonDocument::Compact);
    const auto rows = readRows(
        m_path, QString::fromLatin1(kSelectExchanges),
        [&](sqlite3_stmt *stmt) {
            sqlite3_bind_text(stmt, 1, list.constData(), int(list.size()), SQLITE_STATIC);
        },
        [&](sqlite3_stmt *stmt) {
            CapturedExchange exchange = exchangeOf(stmt);
            found.insert(exchange.id, std::move(exchange));
        });
    if (!rows)
        return rows.error();
    return found;
}

} // namespace tollgate::store
