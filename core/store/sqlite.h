#pragma once

#include <QString>

#include <optional>

struct sqlite3;

/// The few SQLite calls every store makes, with errors as values (the message, or nothing).
namespace tollgate::store::sqlite {

QString lastError(sqlite3 *db);
/// Runs statements that return no rows.
std::optional<QString> exec(sqlite3 *db, const char *sql);
/// Runs a statement that returns one row with one column (PRAGMA reads, COUNT).
std::optional<QString> queryText(sqlite3 *db, const char *sql, QString &result);
std::optional<QString> queryInt(sqlite3 *db, const char *sql, qint64 &result);

} // namespace tollgate::store::sqlite
