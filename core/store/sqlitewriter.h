#pragma once

#include "common/expected.h"
#include "store/sqlitewritequeue.h"

#include <QHash>
#include <QString>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace tollgate::store {

/// One SQLite connection and the one thread that writes through it: WAL, a schema version in
/// PRAGMA user_version, a store's queued writes committed in batches of one transaction each,
/// upkeep on a timer, flush, and a stop that first writes everything still queued. Readers use
/// connections of their own. The request log, the spend store and the cache's SQLite tier each
/// run one.
class SqliteWriter {
public:
    using Clock = SqliteWriteQueue::Clock;

    struct Options {
        QString path;          ///< database file, created with its folder if missing
        QString name;          ///< what the file is, in errors and warnings: "request log"
        QString failureEffect; ///< what a failed write means, for the warning
        int schemaVersion = 1;
        const char *createSchema = ""; ///< makes the current schema in an empty file
        /// SQL that brings a file at version N (the key) to N + 1, applied step by step up to
        /// schemaVersion; a new file (version 0) gets createSchema instead.
        QHash<int, const char *> migrations;
        /// The version createSchema makes (0: schemaVersion); the migrations from it on follow.
        int createdVersion = 0;
        bool fullSync = false; ///< synchronous=FULL (survives a power cut) instead of NORMAL
        int busyTimeoutMs = 5000;
        int maintenanceIntervalMs = 60000; ///< upkeep runs at start, then this often
    };

    /// Opens the file (creating it and its folder if needed) and brings its schema up to date.
    static Expected<std::unique_ptr<SqliteWriter>> open(const Options &options);
    ~SqliteWriter(); ///< writes what is queued, stops the thread, closes the connection
    SqliteWriter(const SqliteWriter &) = delete;
    SqliteWriter &operator=(const SqliteWriter &) = delete;

    /// Before start(): a statement kept (and finalized) with the connection.
    Expected<sqlite3_stmt *> prepare(const char *sql);
    /// Starts the writer thread over `queue`, which must outlive this writer.
    void start(SqliteWriteQueue &queue);

    // A store's side, from any thread.

    /// Guards the queue's state: hold it while changing the queue.
    std::unique_lock<std::mutex> lock() { return std::unique_lock<std::mutex>(m_mutex); }
    /// Lock held: one more write accepted, so that flush() waits for it.
    void accepted() { ++m_accepted; }
    /// Lock not held: the writer looks at the queue now (a batch filled, a nearer deadline).
    void wake() { m_wake.notify_one(); }
    /// Blocks until every write accepted before the call is written (or its write failed).
    void flush();
    /// Runs the queue's maintain(argument) on the writer thread and returns its result; with
    /// flushFirst, the writes accepted before the call are written first.
    qint64 maintain(qint64 argument = 0, bool flushFirst = false);

    // The writer thread's side.

    sqlite3 *db() const { return m_db; }
    const Options &options() const { return m_options; }
    /// BEGIN IMMEDIATE, `statements`, COMMIT; on any error ROLLBACK and that error.
    std::optional<QString> transaction(const std::function<std::optional<QString>()> &statements);
    /// Runs a statement that returns no rows, with one integer parameter (?1); `changes` gets
    /// the number of rows it changed.
    std::optional<QString> run(const char *sql, qint64 parameter, qint64 *changes = nullptr);
    /// Warns once per outage, not once per batch.
    void reportFailure(const QString &what);
    /// A write succeeded: says so once if writes had been failing.
    void reportSuccess();

private:
    SqliteWriter(const Options &options, sqlite3 *db);
    void run();

    const Options m_options;
    sqlite3 *m_db;
    std::vector<sqlite3_stmt *> m_statements;
    SqliteWriteQueue *m_queue = nullptr;
    bool m_failing = false; // writer thread only

    std::mutex m_mutex;
    std::condition_variable m_wake;     // the writer sleeps on it
    std::condition_variable m_progress; // flush() and maintain() sleep on it
    quint64 m_accepted = 0;             // writes ever accepted
    quint64 m_completed = 0;            // of those, written or failed
    quint64 m_flushTarget = 0;
    quint64 m_maintenanceRequested = 0;
    quint64 m_maintenanceDone = 0;
    qint64 m_maintenanceArgument = 0;
    qint64 m_maintenanceResult = 0;
    bool m_stopping = false;
    std::thread m_thread;
};

} // namespace tollgate::store
