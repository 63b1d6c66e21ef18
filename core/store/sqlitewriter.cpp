#include "store/sqlitewriter.h"

#include "store/sqlite.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QtDebug>

#include <sqlite3.h>

#include <algorithm>

namespace tollgate::store {

namespace {

using sqlite::exec;
using sqlite::lastError;
using sqlite::queryText;

// A new file (version 0) gets createSchema, which makes it createdVersion; a file from there or
// older takes each migration step up to schemaVersion.
std::optional<QString> migrate(sqlite3 *db, const SqliteWriter::Options &options, int version)
{
    if (version == 0) {
        if (auto error = exec(db, options.createSchema))
            return error;
        version = options.createdVersion > 0 ? options.createdVersion : options.schemaVersion;
    }
    for (int step = version; step < options.schemaVersion; ++step) {
        const char *sql = options.migrations.value(step, nullptr);
        if (!sql)
            return QStringLiteral("no migration from schema version %1").arg(step);
        if (auto error = exec(db, sql))
            return error;
    }
    return std::nullopt;
}

std::optional<QString> prepareSchema(sqlite3 *db, const SqliteWriter::Options &options)
{
    // WAL: readers (the console, exports, the cache's lookups) read while the writer commits,
    // and a process killed at any point leaves every committed batch readable at the next open.
    // NORMAL skips the fsync per commit, which only a power cut can make matter.
    QString mode;
    if (auto error = queryText(db, "PRAGMA journal_mode=WAL", mode))
        return error;
    if (mode.compare(QLatin1String("wal"), Qt::CaseInsensitive) != 0)
        qWarning("tollgate: %s %s cannot use WAL (journal mode %s); readers will wait on writes",
                 qPrintable(options.name), qPrintable(options.path), qPrintable(mode));
    if (auto error =
            exec(db, options.fullSync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"))
        return error;

    QString versionText;
    if (auto error = queryText(db, "PRAGMA user_version", versionText))
        return error;
    const int version = versionText.toInt();
    if (version > options.schemaVersion)
        return QStringLiteral("its schema version %1 is newer than this build supports (%2)")
            .arg(version)
            .arg(options.schemaVersion);
    if (version < options.schemaVersion) {
        if (auto error = exec(db, "BEGIN IMMEDIATE"))
            return error;
        std::optional<QString> error = migrate(db, options, version);
        if (!error)
            error = exec(
                db,
                ("PRAGMA user_version=" + QByteArray::number(options.schemaVersion)).constData());
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

} // namespace

Expected<std::unique_ptr<SqliteWriter>> SqliteWriter::open(const Options &options)
{
    if (options.path.isEmpty())
        return Error{QStringLiteral("the %1 needs a database path").arg(options.name)};
    const QFileInfo info(options.path);
    const QString folder = info.absolutePath();
    if (!QDir().mkpath(folder))
        return Error{
            QStringLiteral("cannot create folder %1 for the %2").arg(folder, options.name)};

    sqlite3 *db = nullptr;
    // NOMUTEX: after open() returns, the connection belongs to the writer thread alone.
    const int rc =
        sqlite3_open_v2(QFile::encodeName(info.absoluteFilePath()).constData(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        const QString reason = db ? lastError(db) : QString::fromUtf8(sqlite3_errstr(rc));
        sqlite3_close_v2(db);
        return Error{
            QStringLiteral("cannot open %1 %2: %3").arg(options.name, options.path, reason)};
    }
    // Another process (a second tollgated on the same file, a backup) may hold the write lock
    // briefly; waiting beats failing a batch.
    sqlite3_busy_timeout(db, std::max(0, options.busyTimeoutMs));
    if (auto error = prepareSchema(db, options)) {
        sqlite3_close_v2(db);
        return Error{
            QStringLiteral("cannot use %1 %2: %3").arg(options.name, options.path, *error)};
    }
    std::unique_ptr<SqliteWriter> writer(new SqliteWriter(options, db));
    Expected<std::unique_ptr<SqliteWriter>> result(std::move(writer));
    return result;
}

SqliteWriter::SqliteWriter(const Options &options, sqlite3 *db)
    : m_options(options)
    , m_db(db)
{
}

SqliteWriter::~SqliteWriter()
{
    if (m_thread.joinable()) {
        {
            std::lock_guard<std::mutex> guard(m_mutex);
            m_stopping = true;
        }
        m_wake.notify_one();
        m_thread.join();
    }
    for (sqlite3_stmt *statement : m_statements)
        sqlite3_finalize(statement);
    sqlite3_close_v2(m_db);
}

Expected<sqlite3_stmt *> SqliteWriter::prepare(const char *sql)
{
    sqlite3_stmt *statement = nullptr;
    if (sqlite3_prepare_v3(m_db, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, nullptr) !=
        SQLITE_OK)
        return Error{QStringLiteral("cannot use %1 %2: %3")
                         .arg(m_options.name, m_options.path, lastError(m_db))};
    m_statements.push_back(statement);
    return statement;
}

void SqliteWriter::start(SqliteWriteQueue &queue)
{
    m_queue = &queue;
    m_thread = std::thread([this] { run(); });
}

void SqliteWriter::run()
{
    const std::chrono::milliseconds interval(std::max(1, m_options.maintenanceIntervalMs));
    // Upkeep runs once at start, so a file that sat unused for weeks is trimmed right away.
    Clock::time_point nextMaintenance = Clock::now();
    std::unique_lock<std::mutex> lock(m_mutex);
    for (;;) {
        const Clock::time_point now = Clock::now();
        Clock::time_point wakeAt = nextMaintenance;
        const bool urgent = m_stopping || m_flushTarget > m_completed;
        if (m_queue->batchDue(now, urgent, wakeAt)) {
            const quint64 covers = m_queue->takeBatch();
            const quint64 target =
                covers >= m_accepted - m_completed ? m_accepted : m_completed + covers;
            lock.unlock();
            const bool written = m_queue->writeBatch(*this);
            lock.lock();
            m_queue->batchDone(written, m_stopping);
            m_completed = std::max(m_completed, target);
            m_progress.notify_all();
            continue;
        }
        if (m_stopping)
            return;
        if (m_maintenanceRequested > m_maintenanceDone || now >= nextMaintenance) {
            const quint64 request = m_maintenanceRequested;
            std::optional<qint64> argument;
            if (request > m_maintenanceDone)
                argument = m_maintenanceArgument;
            lock.unlock();
            const qint64 result = m_queue->maintain(*this, argument);
            lock.lock();
            if (request > m_maintenanceDone) {
                m_maintenanceDone = request;
                m_maintenanceResult = result;
            }
            nextMaintenance = Clock::now() + interval;
            m_progress.notify_all();
            continue;
        }
        m_wake.wait_until(lock, wakeAt);
    }
}

void SqliteWriter::flush()
{
    std::unique_lock<std::mutex> lock(m_mutex);
    const quint64 target = m_accepted;
    if (m_completed >= target)
        return;
    m_flushTarget = std::max(m_flushTarget, target);
    m_wake.notify_one();
    m_progress.wait(lock, [this, target] { return m_completed >= target; });
}

qint64 SqliteWriter::maintain(qint64 argument, bool flushFirst)
{
    std::unique_lock<std::mutex> lock(m_mutex);
    // Writes accepted before the call take part, as if they had already been written.
    if (flushFirst)
        m_flushTarget = std::max(m_flushTarget, m_accepted);
    const quint64 request = ++m_maintenanceRequested;
    m_maintenanceArgument = argument;
    m_wake.notify_one();
    m_progress.wait(lock, [this, request] { return m_maintenanceDone >= request; });
    return m_maintenanceResult;
}

std::optional<QString>
SqliteWriter::transaction(const std::function<std::optional<QString>()> &statements)
{
    if (auto error = exec(m_db, "BEGIN IMMEDIATE"))
        return error;
    std::optional<QString> error = statements();
    if (!error)
        error = exec(m_db, "COMMIT");
    if (error)
        exec(m_db, "ROLLBACK");
    return error;
}

std::optional<QString> SqliteWriter::run(const char *sql, qint64 parameter, qint64 *changes)
{
    sqlite3_stmt *statement = nullptr;
    if (sqlite3_prepare_v2(m_db, sql, -1, &statement, nullptr) != SQLITE_OK)
        return lastError(m_db);
    sqlite3_bind_int64(statement, 1, parameter);
    std::optional<QString> error;
    if (sqlite3_step(statement) != SQLITE_DONE)
        error = lastError(m_db);
    else if (changes)
        *changes = sqlite3_changes64(m_db);
    sqlite3_finalize(statement);
    return error;
}

void SqliteWriter::reportFailure(const QString &what)
{
    if (m_failing)
        return;
    m_failing = true;
    qWarning("tollgate: %s %s: write failed (%s); %s", qPrintable(m_options.name),
             qPrintable(m_options.path), qPrintable(what), qPrintable(m_options.failureEffect));
}

void SqliteWriter::reportSuccess()
{
    if (!m_failing)
        return;
    m_failing = false;
    qInfo("tollgate: %s %s is writable again", qPrintable(m_options.name),
          qPrintable(m_options.path));
}

} // namespace tollgate::store
