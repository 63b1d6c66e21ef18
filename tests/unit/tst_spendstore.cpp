#include "limits/spendledger.h"
#include "store/spendstore.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <sqlite3.h>

#include <cstdio>
#include <thread>
#include <vector>

using tollgate::limits::BudgetPolicy;
using tollgate::limits::SpendIncrement;
using tollgate::limits::SpendLedger;
using tollgate::policy::Principal;
using tollgate::store::SpendStore;

namespace {

constexpr qint64 kMinuteMs = 60'000;
constexpr qint64 kDayMs = 24 * 60 * kMinuteMs;

// The crash test runs this binary again as a child, selecting crashChild() by name and
// passing these through the environment.
const char kChildDatabase[] = "TOLLGATE_SPENDSTORE_CHILD_DB";
const char kChildNow[] = "TOLLGATE_SPENDSTORE_CHILD_NOW";
const char kChargedMarker[] = "SPEND-CHARGED";
constexpr int kChildCharges = 40;

BudgetPolicy crashPolicy()
{
    const auto parsed = BudgetPolicy::fromJson(
        QJsonDocument::fromJson(
            R"({"budgets": [{"name": "daily", "window": "day", "limit_usd": 100},)"
            R"( {"name": "rolling", "window": "hour", "alignment": "rolling", "limit_usd": 10}]})")
            .object());
    if (!parsed.ok())
        qFatal("bad test policy");
    return *parsed;
}

Principal someone()
{
    Principal p;
    p.user = QStringLiteral("alice");
    p.localOwner = false;
    return p;
}

double sumOf(const QList<SpendIncrement> &rows, const QString &budget = {})
{
    double total = 0;
    for (const SpendIncrement &row : rows) {
        if (budget.isEmpty() || row.budget == budget)
            total += row.usd;
    }
    return total;
}

// Noon today, so that rows are recent enough for retention and inside today's window.
qint64 noonToday()
{
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    return now - now % kDayMs + kDayMs / 2;
}

/// A connection of its own, as another process would have.
class Db {
public:
    explicit Db(const QString &path)
    {
        if (sqlite3_open_v2(QFile::encodeName(path).constData(), &m_db, SQLITE_OPEN_READWRITE,
                            nullptr) != SQLITE_OK) {
            sqlite3_close(m_db);
            m_db = nullptr;
        }
    }
    ~Db() { sqlite3_close(m_db); }
    Db(const Db &) = delete;
    Db &operator=(const Db &) = delete;

    bool exec(const char *sql) const
    {
        return m_db && sqlite3_exec(m_db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
    }
    QString text(const char *sql) const
    {
        sqlite3_stmt *stmt = nullptr;
        QString value;
        if (m_db && sqlite3_prepare_v2(m_db, sql, -1, &stmt, nullptr) == SQLITE_OK &&
            sqlite3_step(stmt) == SQLITE_ROW)
            value = QString::fromUtf8(reinterpret_cast<const char *>(sqlite3_column_text(stmt, 0)));
        sqlite3_finalize(stmt);
        return value;
    }

private:
    sqlite3 *m_db = nullptr;
};

} // namespace

class TestSpendStore : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void defaultPathInDataDir();
    void walModeAndSchema();
    void flushWritesAndLoadReads();
    void upsertAddsAcrossBatches();
    void writesOnIntervalWithoutFlush();
    void loadSince();
    void persistsAcrossCloseAndReopen();
    void survivesKillNine();
    void crashChild();
    void boundedPendingRows();
    void concurrentAppendsSumExactly();
    void lockedDatabaseKeepsAndRetries();
    void retention();
    void unusablePathIsAnError();

private:
    SpendStore::Options options() const;
    std::unique_ptr<SpendStore> openStore(const SpendStore::Options &options);

    std::unique_ptr<QTemporaryDir> m_dir;
};

void TestSpendStore::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

SpendStore::Options TestSpendStore::options() const
{
    SpendStore::Options options;
    options.path = SpendStore::defaultPath(m_dir->path());
    return options;
}

std::unique_ptr<SpendStore> TestSpendStore::openStore(const SpendStore::Options &options)
{
    auto opened = SpendStore::open(options);
    if (!opened.ok()) {
        qWarning("open failed: %s", qPrintable(opened.error().toString()));
        return nullptr;
    }
    return std::move(*opened);
}

void TestSpendStore::defaultPathInDataDir()
{
    QCOMPARE(SpendStore::defaultPath(QStringLiteral("/var/lib/tollgate")),
             QStringLiteral("/var/lib/tollgate/spend.sqlite"));
}

void TestSpendStore::walModeAndSchema()
{
    auto store = openStore(options());
    QVERIFY(store);
    Db db(store->path());
    QCOMPARE(db.text("PRAGMA journal_mode"), QStringLiteral("wal"));
    QCOMPARE(db.text("PRAGMA user_version"), QStringLiteral("1"));
    // The brief's table, keyed by (budget, window_start_ms, bucket_ms).
    QCOMPARE(db.text("SELECT group_concat(name || ':' || type || ':' || pk, ' ') FROM "
                     "pragma_table_info('spend')"),
             QStringLiteral("budget:TEXT:1 window_start_ms:INTEGER:2 bucket_ms:INTEGER:3 "
                            "usd:REAL:0"));
}

void TestSpendStore::flushWritesAndLoadReads()
{
    auto store = openStore(options());
    QVERIFY(store);
    const qint64 day = noonToday() - kDayMs / 2;
    QVERIFY(store->append({{QStringLiteral("daily"), day, day, 1.25},
                           {QStringLiteral("rolling"), 0, day + kMinuteMs, 0.5},
                           {QStringLiteral("daily"), day, day, 2.5}}));
    store->flush();
    const auto rows = store->load();
    QVERIFY(rows.ok());
    QCOMPARE(rows->size(), 2); // increments of one row are summed before they are written
    QCOMPARE(rows->at(0).budget, QStringLiteral("daily"));
    QCOMPARE(rows->at(0).windowStartMs, day);
    QCOMPARE(rows->at(0).bucketMs, day);
    QCOMPARE(rows->at(0).usd, 3.75);
    QCOMPARE(rows->at(1).budget, QStringLiteral("rolling"));
    QCOMPARE(rows->at(1).windowStartMs, 0);
    QCOMPARE(rows->at(1).bucketMs, day + kMinuteMs);
    QCOMPARE(rows->at(1).usd, 0.5);
    QCOMPARE(store->written(), 2);
    QCOMPARE(store->transactions(), 1);
    QCOMPARE(store->dropped(), 0);
}

void TestSpendStore::upsertAddsAcrossBatches()
{
    auto store = openStore(options());
    QVERIFY(store);
    const qint64 day = noonToday() - kDayMs / 2;
    for (int i = 0; i < 5; ++i) {
        QVERIFY(store->append({{QStringLiteral("daily"), day, day, 0.25}}));
        store->flush();
    }
    const auto rows = store->load();
    QVERIFY(rows.ok());
    QCOMPARE(rows->size(), 1);
    QCOMPARE(rows->at(0).usd, 1.25);
    QCOMPARE(store->transactions(), 5);
}

void TestSpendStore::writesOnIntervalWithoutFlush()
{
    SpendStore::Options opts = options();
    opts.flushIntervalMs = 200;
    auto store = openStore(opts);
    QVERIFY(store);
    const qint64 day = noonToday() - kDayMs / 2;
    QElapsedTimer timer;
    timer.start();
    QVERIFY(store->append({{QStringLiteral("daily"), day, day, 4}}));
    QTRY_COMPARE_WITH_TIMEOUT(sumOf(*store->load()), 4.0, 5000);
    QVERIFY2(timer.elapsed() < 2000, qPrintable(QString::number(timer.elapsed())));
    // Appends within one interval share a transaction.
    const quint64 before = store->transactions();
    for (int i = 0; i < 50; ++i)
        QVERIFY(store->append({{QStringLiteral("daily"), day, day, 0.5}}));
    QTRY_COMPARE_WITH_TIMEOUT(sumOf(*store->load()), 29.0, 5000);
    QVERIFY(store->transactions() - before <= 2);
}

void TestSpendStore::loadSince()
{
    auto store = openStore(options());
    QVERIFY(store);
    const qint64 day = noonToday() - kDayMs / 2;
    QVERIFY(store->append({{QStringLiteral("d"), day - kDayMs, day - kDayMs, 1},
                           {QStringLiteral("d"), day, day, 2},
                           {QStringLiteral("r"), 0, day + 5 * kMinuteMs, 4}}));
    store->flush();
    QCOMPARE(sumOf(*store->load()), 7.0);
    QCOMPARE(sumOf(*store->load(day)), 6.0);
    QCOMPARE(sumOf(*store->load(day + kMinuteMs)), 4.0);
}

void TestSpendStore::persistsAcrossCloseAndReopen()
{
    const qint64 now = noonToday();
    {
        auto store = openStore(options());
        QVERIFY(store);
        SpendLedger ledger(crashPolicy());
        for (int i = 0; i < 10; ++i)
            QVERIFY(
                store->append(ledger.charge(someone(), QStringLiteral("m"), 0.75, now).increments));
        // No flush: closing writes what is pending.
    }
    auto store = openStore(options());
    QVERIFY(store);
    SpendLedger ledger(crashPolicy());
    const auto rows = store->load(ledger.oldestNeededMs(now));
    QVERIFY(rows.ok());
    ledger.restore(*rows, now);
    const auto state = ledger.snapshot(now);
    QCOMPARE(state.spentAt(QStringLiteral("daily"), now), 7.5);
    QCOMPARE(state.spentAt(QStringLiteral("rolling"), now), 7.5);
}

void TestSpendStore::survivesKillNine()
{
    const QString path = options().path;
    const qint64 now = noonToday();
    QProcess child;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QLatin1String(kChildDatabase), path);
    environment.insert(QLatin1String(kChildNow), QString::number(now));
    child.setProcessEnvironment(environment);
    child.setProcessChannelMode(QProcess::SeparateChannels);
    child.start(QCoreApplication::applicationFilePath(), {QStringLiteral("crashChild")});
    QVERIFY2(child.waitForStarted(10000), qPrintable(child.errorString()));

    // Wait for the child to say it has charged, then for longer than the batching interval.
    QByteArray output;
    QElapsedTimer timer;
    timer.start();
    while (!output.contains(kChargedMarker) && timer.elapsed() < 20000 &&
           child.state() == QProcess::Running) {
        child.waitForReadyRead(200);
        output += child.readAllStandardOutput();
    }
    QVERIFY2(output.contains(kChargedMarker), output.constData());
    QTest::qWait(1000);                          // five times the 200 ms interval
    QVERIFY(child.state() == QProcess::Running); // no destructor, no flush has run
    child.kill();                                // SIGKILL
    QVERIFY(child.waitForFinished(10000));
    QCOMPARE(child.exitStatus(), QProcess::CrashExit);

    auto store = openStore(options());
    QVERIFY(store);
    SpendLedger ledger(crashPolicy());
    const auto rows = store->load(ledger.oldestNeededMs(now));
    QVERIFY2(rows.ok(), rows.ok() ? "" : qPrintable(rows.error().toString()));
    ledger.restore(*rows, now);
    const double expected = kChildCharges * 0.125;
    QCOMPARE(ledger.snapshot(now).spentAt(QStringLiteral("daily"), now), expected);
    QCOMPARE(ledger.snapshot(now).spentAt(QStringLiteral("rolling"), now), expected);
}

void TestSpendStore::crashChild()
{
    const QByteArray path = qgetenv(kChildDatabase);
    if (path.isEmpty())
        QSKIP("runs only as the child process of survivesKillNine");
    SpendStore::Options opts;
    opts.path = QString::fromLocal8Bit(path);
    opts.flushIntervalMs = 200;
    auto store = openStore(opts);
    QVERIFY(store);
    const qint64 now = qgetenv(kChildNow).toLongLong();
    SpendLedger ledger(crashPolicy());
    for (int i = 0; i < kChildCharges; ++i)
        QVERIFY(
            store->append(ledger.charge(someone(), QStringLiteral("m"), 0.125, now).increments));
    std::printf("%s\n", kChargedMarker);
    std::fflush(stdout);
    // The parent kills this process with SIGKILL long before this ends.
    QThread::sleep(60);
    QFAIL("the parent did not kill the child");
}

void TestSpendStore::boundedPendingRows()
{
    SpendStore::Options opts = options();
    opts.maxPendingRows = 3;
    opts.flushIntervalMs = 60'000; // nothing is written until flush()
    auto store = openStore(opts);
    QVERIFY(store);
    const qint64 day = noonToday() - kDayMs / 2;
    QVERIFY(store->append({{QStringLiteral("a"), day, day, 1},
                           {QStringLiteral("b"), day, day, 1},
                           {QStringLiteral("c"), day, day, 1}}));
    // A fourth row does not fit; more for a waiting row always does.
    QVERIFY(
        !store->append({{QStringLiteral("d"), day, day, 1}, {QStringLiteral("a"), day, day, 1}}));
    QCOMPARE(store->dropped(), 1);
    QVERIFY(store->append({{QStringLiteral("b"), day, day, 2}}));
    store->flush();
    const auto rows = store->load();
    QVERIFY(rows.ok());
    QCOMPARE(rows->size(), 3);
    QCOMPARE(sumOf(*rows, QStringLiteral("a")), 2.0);
    QCOMPARE(sumOf(*rows, QStringLiteral("b")), 3.0);
    QCOMPARE(sumOf(*rows, QStringLiteral("d")), 0.0);
    // Once written there is room again.
    QVERIFY(store->append({{QStringLiteral("d"), day, day, 1}}));
}

void TestSpendStore::concurrentAppendsSumExactly()
{
    SpendStore::Options opts = options();
    opts.flushIntervalMs = 5; // many small batches interleave with the appends
    auto store = openStore(opts);
    QVERIFY(store);
    const qint64 now = noonToday();
    SpendLedger ledger(crashPolicy());
    constexpr int kThreads = 6;
    constexpr int kCharges = 5000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kCharges; ++i)
                store->append(ledger
                                  .charge(someone(), QStringLiteral("m"),
                                          0.0625 * (1 + (i + t) % 3), now + (i % 100) * 1000)
                                  .increments);
        });
    }
    for (std::thread &thread : threads)
        thread.join();
    store->flush();
    double expected = 0;
    for (int t = 0; t < kThreads; ++t) {
        for (int i = 0; i < kCharges; ++i)
            expected += 0.0625 * (1 + (i + t) % 3);
    }
    const auto rows = store->load();
    QVERIFY(rows.ok());
    QVERIFY2(sumOf(*rows, QStringLiteral("daily")) == expected,
             qPrintable(QString::number(sumOf(*rows, QStringLiteral("daily")), 'f', 6)));
    QVERIFY(sumOf(*rows, QStringLiteral("rolling")) == expected);
    QCOMPARE(store->dropped(), 0);
    QVERIFY(store->transactions() >= 1);
}

void TestSpendStore::lockedDatabaseKeepsAndRetries()
{
    SpendStore::Options opts = options();
    opts.flushIntervalMs = 50;
    opts.busyTimeoutMs = 20;
    auto store = openStore(opts);
    QVERIFY(store);
    const qint64 day = noonToday() - kDayMs / 2;
    Db other(store->path());
    QVERIFY(other.exec("BEGIN EXCLUSIVE"));
    QVERIFY(store->append({{QStringLiteral("daily"), day, day, 1.5}}));
    QTest::qWait(400); // several failed attempts
    QCOMPARE(sumOf(*store->load()), 0.0);
    QVERIFY(store->append({{QStringLiteral("daily"), day, day, 0.5}}));
    QVERIFY(other.exec("COMMIT"));
    // Kept, written once the lock is gone, never twice.
    QTRY_COMPARE_WITH_TIMEOUT(sumOf(*store->load()), 2.0, 5000);
    QTest::qWait(200);
    QCOMPARE(sumOf(*store->load()), 2.0);
    QCOMPARE(store->dropped(), 0);
}

void TestSpendStore::retention()
{
    SpendStore::Options opts = options();
    opts.retentionDays = 40;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const qint64 old = now - 41 * kDayMs;
    {
        // Retention also runs at open: a store that sat unused for weeks is trimmed at once.
        SpendStore::Options keepAll = opts;
        keepAll.retentionDays = 0;
        auto store = openStore(keepAll);
        QVERIFY(store);
        QVERIFY(store->append({{QStringLiteral("m"), old, old, 8}}));
    }
    auto store = openStore(opts);
    QVERIFY(store);
    store->enforceRetention(); // after the run at open, so the timer stays quiet below
    QCOMPARE(sumOf(*store->load()), 0.0);
    const qint64 recent = now - 39 * kDayMs;
    QVERIFY(store->append(
        {{QStringLiteral("m"), old, old, 1}, {QStringLiteral("m"), recent, recent, 2}}));
    store->flush();
    QCOMPARE(sumOf(*store->load()), 3.0);
    store->enforceRetention();
    QCOMPARE(sumOf(*store->load()), 2.0);
}

void TestSpendStore::unusablePathIsAnError()
{
    QVERIFY(!SpendStore::open(SpendStore::Options()).ok());
    QFile file(m_dir->filePath(QStringLiteral("a-file")));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.close();
    SpendStore::Options opts;
    opts.path = m_dir->filePath(QStringLiteral("a-file/spend.sqlite"));
    const auto opened = SpendStore::open(opts);
    QVERIFY(!opened.ok());
    QVERIFY(opened.error().message.contains(QStringLiteral("spend store")));
    // A directory where the database should be.
    opts.path = m_dir->path();
    QVERIFY(!SpendStore::open(opts).ok());
}

QTEST_GUILESS_MAIN(TestSpendStore)
#include "tst_spendstore.moc"
