// The cache's SQLite tier as a writer of queued stores: a bounded queue that counts what it
// drops, one slot per key, flush, and a close that commits everything still queued.
// (Lookups, expiry and what is declined: tst_responsecache.)

#include "cache/sqlitecachestore.h"

#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <sqlite3.h>

using tollgate::cache::CachedResponse;
using tollgate::cache::SqliteCacheStore;

namespace {

constexpr qint64 kNow = 1'700'000'000'000;

std::shared_ptr<const CachedResponse> entry(const QByteArray &body)
{
    auto response = std::make_shared<CachedResponse>();
    response->status = 200;
    response->body = body;
    response->expiresAtMs = kNow + 3'600'000;
    return response;
}

/// Holds the database's write lock from another connection, as a backup or a second process
/// would, until release().
class WriteLock {
public:
    explicit WriteLock(const QString &path)
    {
        sqlite3_open(QFile::encodeName(path).constData(), &m_db);
        sqlite3_exec(m_db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    }
    ~WriteLock() { release(); }
    void release()
    {
        if (!m_db)
            return;
        sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
        sqlite3_close(m_db);
        m_db = nullptr;
    }

private:
    sqlite3 *m_db = nullptr;
};

} // namespace

class TestSqliteCacheStore : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void fullQueueDropsAndCountsWhileTheWriterWaits();
    void aKeyStoredAgainTakesOneSlot();
    void closeCommitsEverythingQueued();

private:
    SqliteCacheStore::Options options() const;

    std::unique_ptr<QTemporaryDir> m_dir;
};

void TestSqliteCacheStore::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

SqliteCacheStore::Options TestSqliteCacheStore::options() const
{
    SqliteCacheStore::Options options;
    options.path = m_dir->filePath(QStringLiteral("cache.sqlite"));
    options.clock = [] { return kNow; };
    return options;
}

void TestSqliteCacheStore::fullQueueDropsAndCountsWhileTheWriterWaits()
{
    SqliteCacheStore::Options small = options();
    small.queueCapacity = 2;
    auto opened = SqliteCacheStore::open(small);
    QVERIFY(opened.ok());
    SqliteCacheStore &store = **opened;
    store.flush();
    WriteLock lock(small.path);
    // The writer takes at most one of these and then waits for the lock; two more fit the
    // queue; the rest are dropped, and the request path never waits for any of it.
    for (int i = 0; i < 6; ++i)
        store.store("key-" + QByteArray::number(i), entry("answer"), kNow);
    QVERIFY2(store.stats().dropped >= 3, qPrintable(QString::number(store.stats().dropped)));
    lock.release();
    store.flush();
    const SqliteCacheStore::Stats stats = store.stats();
    QCOMPARE(stats.written + stats.dropped, 6u);
    int found = 0;
    for (int i = 0; i < 6; ++i)
        found += store.lookup("key-" + QByteArray::number(i), kNow) ? 1 : 0;
    QCOMPARE(quint64(found), stats.written);
}

void TestSqliteCacheStore::aKeyStoredAgainTakesOneSlot()
{
    SqliteCacheStore::Options small = options();
    small.queueCapacity = 1;
    auto opened = SqliteCacheStore::open(small);
    QVERIFY(opened.ok());
    SqliteCacheStore &store = **opened;
    store.flush();
    {
        WriteLock lock(small.path);
        for (int i = 0; i < 50; ++i)
            store.store("hot", entry("answer " + QByteArray::number(i)), kNow);
        QCOMPARE(store.stats().dropped, 0u);
        // The newest answer is the one a lookup sees while it waits.
        QCOMPARE(store.lookup("hot", kNow)->body, QByteArray("answer 49"));
    }
    store.flush();
    QCOMPARE(store.lookup("hot", kNow)->body, QByteArray("answer 49"));
}

void TestSqliteCacheStore::closeCommitsEverythingQueued()
{
    {
        auto opened = SqliteCacheStore::open(options());
        QVERIFY(opened.ok());
        for (int i = 0; i < 500; ++i)
            (*opened)->store("key-" + QByteArray::number(i), entry("answer"), kNow);
    } // no flush
    auto reopened = SqliteCacheStore::open(options());
    QVERIFY(reopened.ok());
    for (int i = 0; i < 500; ++i)
        QVERIFY((*reopened)->lookup("key-" + QByteArray::number(i), kNow));
    QCOMPARE((*reopened)->stats().readErrors, 0u);
}

QTEST_GUILESS_MAIN(TestSqliteCacheStore)
#include "tst_sqlitecachestore.moc"
