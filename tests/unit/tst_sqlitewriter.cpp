// The SQLite writer the stores share: schema and WAL at open, batches of one transaction each,
// flush, upkeep on the writer's thread, and a stop that writes everything still queued. The
// queue here is a plain FIFO of numbers, the smallest store that exercises all of it.

#include "store/sqlitewriter.h"

#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <sqlite3.h>

#include <atomic>
#include <deque>
#include <thread>

using tollgate::store::SqliteWriteQueue;
using tollgate::store::SqliteWriter;

namespace {

constexpr const char *kSchema = "CREATE TABLE numbers (n INTEGER NOT NULL);";

/// Numbers to insert, written in batches of at most maxBatch once a flush or a stop asks.
struct NumberQueue final : SqliteWriteQueue {
    bool batchDue(Clock::time_point, bool urgent, Clock::time_point &) override
    {
        return !numbers.empty() && (urgent || numbers.size() >= maxBatch);
    }
    quint64 takeBatch() override
    {
        while (!numbers.empty() && batch.size() < maxBatch) {
            batch.push_back(numbers.front());
            numbers.pop_front();
        }
        return batch.size();
    }
    bool writeBatch(SqliteWriter &writer) override
    {
        writerThread = std::this_thread::get_id();
        const auto error = writer.transaction([&]() -> std::optional<QString> {
            for (qint64 n : batch) {
                if (auto failure = writer.run("INSERT INTO numbers (n) VALUES (?1)", n))
                    return failure;
            }
            return std::nullopt;
        });
        ++transactions;
        if (error)
            writer.reportFailure(*error);
        else
            writer.reportSuccess();
        return !error;
    }
    void batchDone(bool written, bool) override
    {
        if (!written)
            failed += batch.size();
        batch.clear();
    }
    qint64 maintain(SqliteWriter &writer, std::optional<qint64> argument) override
    {
        if (!argument) {
            ++periodicRuns;
            return 0;
        }
        qint64 deleted = 0;
        if (writer.run("DELETE FROM numbers WHERE n < ?1", *argument, &deleted))
            return -1;
        return deleted;
    }

    size_t maxBatch = 4;
    std::deque<qint64> numbers; // under the writer's lock
    std::vector<qint64> batch;
    std::atomic<int> transactions{0};
    std::atomic<int> periodicRuns{0};
    std::atomic<size_t> failed{0};
    std::thread::id writerThread;
};

qint64 queryInt(const QString &path, const char *sql)
{
    sqlite3 *db = nullptr;
    qint64 value = -1;
    if (sqlite3_open_v2(QFile::encodeName(path).constData(), &db, SQLITE_OPEN_READONLY, nullptr) ==
        SQLITE_OK) {
        sqlite3_stmt *stmt = nullptr;
        if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK &&
            sqlite3_step(stmt) == SQLITE_ROW)
            value = sqlite3_column_int64(stmt, 0);
        sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    return value;
}

void accept(SqliteWriter &writer, NumberQueue &queue, qint64 from, qint64 to)
{
    {
        const auto lock = writer.lock();
        for (qint64 n = from; n <= to; ++n) {
            queue.numbers.push_back(n);
            writer.accepted();
        }
    }
    writer.wake();
}

} // namespace

class TestSqliteWriter : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void createsSchemaInWalMode();
    void migratesAnOlderFile();
    void refusesANewerFileAndNamesTheStore();
    void flushWritesAcceptedWritesInBatches();
    void stopWritesWhatIsQueued();
    void maintenanceRunsOnTheWriterThread();
    void failedBatchesAreReported();

private:
    SqliteWriter::Options options() const;

    std::unique_ptr<QTemporaryDir> m_dir;
};

void TestSqliteWriter::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

SqliteWriter::Options TestSqliteWriter::options() const
{
    SqliteWriter::Options options;
    options.path = m_dir->filePath(QStringLiteral("sub/numbers.sqlite"));
    options.name = QStringLiteral("number store");
    options.failureEffect = QStringLiteral("numbers are lost");
    options.schemaVersion = 3;
    options.createSchema = kSchema;
    options.maintenanceIntervalMs = 3'600'000;
    return options;
}

void TestSqliteWriter::createsSchemaInWalMode()
{
    auto writer = SqliteWriter::open(options());
    QVERIFY2(writer.ok(), qPrintable(writer.ok() ? QString() : writer.error().message));
    const QString path = options().path;
    QCOMPARE(queryInt(path, "PRAGMA user_version"), 3);
    QCOMPARE(queryInt(path, "SELECT COUNT(*) FROM numbers"), 0);
    sqlite3 *db = nullptr;
    QCOMPARE(sqlite3_open(QFile::encodeName(path).constData(), &db), SQLITE_OK);
    sqlite3_stmt *stmt = nullptr;
    QCOMPARE(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
    QCOMPARE(sqlite3_step(stmt), SQLITE_ROW);
    QCOMPARE(QByteArray(reinterpret_cast<const char *>(sqlite3_column_text(stmt, 0))),
             QByteArray("wal"));
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

void TestSqliteWriter::migratesAnOlderFile()
{
    SqliteWriter::Options old = options();
    old.schemaVersion = 2;
    {
        NumberQueue queue; // outlives the writer, which drains it when it stops
        auto writer = SqliteWriter::open(old);
        QVERIFY(writer.ok());
        (*writer)->start(queue);
        accept(**writer, queue, 1, 3);
        (*writer)->flush();
    }
    SqliteWriter::Options current = options();
    current.migrations.insert(2, "ALTER TABLE numbers ADD COLUMN note TEXT NOT NULL DEFAULT 'x';");
    auto writer = SqliteWriter::open(current);
    QVERIFY2(writer.ok(), qPrintable(writer.ok() ? QString() : writer.error().message));
    QCOMPARE(queryInt(current.path, "PRAGMA user_version"), 3);
    QCOMPARE(queryInt(current.path, "SELECT COUNT(*) FROM numbers WHERE note = 'x'"), 3);
}

void TestSqliteWriter::refusesANewerFileAndNamesTheStore()
{
    QVERIFY(SqliteWriter::open(options()).ok());
    SqliteWriter::Options older = options();
    older.schemaVersion = 2;
    auto writer = SqliteWriter::open(older);
    QVERIFY(!writer.ok());
    const QString message = writer.error().message;
    QVERIFY2(message.startsWith(QStringLiteral("cannot use number store ") + older.path),
             qPrintable(message));
    QVERIFY2(message.contains(QLatin1String("newer")), qPrintable(message));

    SqliteWriter::Options nowhere = options();
    nowhere.path.clear();
    QCOMPARE(SqliteWriter::open(nowhere).error().message,
             QStringLiteral("the number store needs a database path"));
}

void TestSqliteWriter::flushWritesAcceptedWritesInBatches()
{
    NumberQueue queue; // outlives the writer, which drains it when it stops
    auto writer = SqliteWriter::open(options());
    QVERIFY(writer.ok());
    queue.maxBatch = 1000; // nothing is due until a flush asks
    (*writer)->start(queue);
    accept(**writer, queue, 1, 10);
    QTest::qWait(100);
    QCOMPARE(queryInt(options().path, "SELECT COUNT(*) FROM numbers"), 0);

    {
        const auto lock = (*writer)->lock();
        queue.maxBatch = 4; // from now on: three batches for ten numbers
    }
    (*writer)->flush();
    QCOMPARE(queryInt(options().path, "SELECT COUNT(*) FROM numbers"), 10);
    QCOMPARE(queryInt(options().path, "SELECT SUM(n) FROM numbers"), 55);
    QCOMPARE(queue.transactions.load(), 3);
    (*writer)->flush(); // nothing pending: returns at once
}

void TestSqliteWriter::stopWritesWhatIsQueued()
{
    {
        NumberQueue queue; // outlives the writer, which drains it when it stops
        auto writer = SqliteWriter::open(options());
        QVERIFY(writer.ok());
        queue.maxBatch = 1000;
        (*writer)->start(queue);
        accept(**writer, queue, 1, 250);
    } // no flush: the writer's destructor writes the queue before it stops
    QCOMPARE(queryInt(options().path, "SELECT COUNT(*) FROM numbers"), 250);
}

void TestSqliteWriter::maintenanceRunsOnTheWriterThread()
{
    NumberQueue queue; // outlives the writer, which drains it when it stops
    auto writer = SqliteWriter::open(options());
    QVERIFY(writer.ok());
    queue.maxBatch = 1000;
    (*writer)->start(queue);
    // Upkeep runs once at start (then hourly here) without an argument.
    QTRY_COMPARE(queue.periodicRuns.load(), 1);

    accept(**writer, queue, 1, 10);
    // flushFirst: the numbers queued before the call are written, then 1..6 deleted.
    QCOMPARE((*writer)->maintain(7, true), qint64(6));
    QCOMPARE(queryInt(options().path, "SELECT COUNT(*) FROM numbers"), 4);
    QVERIFY(queue.writerThread != std::this_thread::get_id());
    QCOMPARE(queue.periodicRuns.load(), 1);
}

void TestSqliteWriter::failedBatchesAreReported()
{
    SqliteWriter::Options path = options();
    path.busyTimeoutMs = 50;
    NumberQueue queue; // outlives the writer, which drains it when it stops
    auto writer = SqliteWriter::open(path);
    QVERIFY(writer.ok());
    (*writer)->start(queue);
    // Another connection holds the write lock past the busy timeout: the batch fails whole.
    sqlite3 *other = nullptr;
    QCOMPARE(sqlite3_open(QFile::encodeName(path.path).constData(), &other), SQLITE_OK);
    char *message = nullptr;
    QCOMPARE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, &message), SQLITE_OK);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral(
                                           "number store .*: write failed .*; numbers are lost")));
    accept(**writer, queue, 1, 4);
    (*writer)->flush();
    QCOMPARE(queue.failed.load(), size_t(4));
    sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, &message);
    sqlite3_close(other);

    QTest::ignoreMessage(QtInfoMsg,
                         QRegularExpression(QStringLiteral("number store .* is writable again")));
    accept(**writer, queue, 5, 8);
    (*writer)->flush();
    QCOMPARE(queryInt(path.path, "SELECT SUM(n) FROM numbers"), 5 + 6 + 7 + 8);
}

QTEST_GUILESS_MAIN(TestSqliteWriter)
#include "tst_sqlitewriter.moc"
