#include "store/sqlite.h"

#include <sqlite3.h>

namespace tollgate::store::sqlite {

namespace {

/// Steps a one-row, one-column statement and hands the row to `read`.
template <typename Read> std::optional<QString> queryOne(sqlite3 *db, const char *sql, Read read)
{
    sqlite3_stmt *stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK)
        return lastError(db);
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        read(stmt);
    std::optional<QString> error;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        error = lastError(db);
    sqlite3_finalize(stmt);
    return error;
}

} // namespace

QString lastError(sqlite3 *db)
{
    return QString::fromUtf8(sqlite3_errmsg(db));
}

std::optional<QString> exec(sqlite3 *db, const char *sql)
{
    char *message = nullptr;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
    if (rc == SQLITE_OK)
        return std::nullopt;
    const QString text = QString::fromUtf8(message ? message : sqlite3_errstr(rc));
    sqlite3_free(message);
    return text;
}

std::optional<QString> queryText(sqlite3 *db, const char *sql, QString &result)
{
    return queryOne(db, sql, [&](sqlite3_stmt *stmt) {
        result = QString::fromUtf8(reinterpret_cast<const char *>(sqlite3_column_text(stmt, 0)));
    });
}

std::optional<QString> queryInt(sqlite3 *db, const char *sql, qint64 &result)
{
    return queryOne(db, sql, [&](sqlite3_stmt *stmt) { result = sqlite3_column_int64(stmt, 0); });
}

} // namespace tollgate::store::sqlite
