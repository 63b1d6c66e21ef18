#include "requestlogreader.h"

#include <sqlite3.h>

namespace tollgate::testsupport {

bool readRequestLog(const QString &path, QHash<QString, QVariantMap> *rows, QString *error)
{
    sqlite3 *db = nullptr;
    if (sqlite3_open_v2(path.toUtf8().constData(), &db, SQLITE_OPEN_READONLY, nullptr) !=
        SQLITE_OK) {
        *error = QString::fromUtf8(db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return false;
    }
    sqlite3_stmt *stmt = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT * FROM requests", -1, &stmt, nullptr) != SQLITE_OK) {
        *error = QString::fromUtf8(sqlite3_errmsg(db));
        sqlite3_close(db);
        return false;
    }
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        QVariantMap row;
        for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
            const QString name = QString::fromUtf8(sqlite3_column_name(stmt, i));
            switch (sqlite3_column_type(stmt, i)) {
            case SQLITE_INTEGER: row.insert(name, qint64(sqlite3_column_int64(stmt, i))); break;
            case SQLITE_FLOAT: row.insert(name, sqlite3_column_double(stmt, i)); break;
            case SQLITE_NULL: row.insert(name, QVariant()); break;
            default:
                row.insert(name, QString::fromUtf8(
                                     reinterpret_cast<const char *>(sqlite3_column_text(stmt, i))));
                break;
            }
        }
        const QString id = row.value(QStringLiteral("id")).toString();
        if (rows->contains(id)) {
            *error = QStringLiteral("two rows with id %1").arg(id);
            rc = SQLITE_ERROR;
            break;
        }
        rows->insert(id, row);
    }
    if (rc != SQLITE_DONE && error->isEmpty())
        *error = QString::fromUtf8(sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return rc == SQLITE_DONE;
}

} // namespace tollgate::testsupport
