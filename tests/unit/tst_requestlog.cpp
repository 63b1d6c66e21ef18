#include "store/requestlog.h"

#include "metering/requestfilter.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTest>

#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <thread>
#include <vector>

using tollgate::metering::RequestFilter;
using tollgate::metering::RequestRecord;
using tollgate::store::RequestLog;

namespace {

constexpr qint64 kDayMs = 24LL * 60 * 60 * 1000;

RequestRecord makeRecord(const QString &id, qint64 startedAtMs)
{
    RequestRecord r;
    r.id = id;
    r.startedAtMs = startedAtMs;
    r.flavor = QStringLiteral("openai");
    r.endpoint = QStringLiteral("/v1/chat/completions");
    r.requestedModel = QStringLiteral("gpt-4o");
    r.usedModel = QStringLiteral("gpt-4o-2024-08-06");
    r.status = 200;
    r.latencyMs = 12.5;
    r.cacheStatus = QStringLiteral("miss");
    return r;
}

// A reader connection of its own, as the console's request view would use.
class Db {
public:
    explicit Db(const QString &path)
    {
        if (sqlite3_open_v2(QFile::encodeName(path).constData(), &m_db, SQLITE_OPEN_READWRITE,
                            nullptr) != SQLITE_OK) {
            qWarning("cannot open %s: %s", qPrintable(path), sqlite3_errmsg(m_db));
            sqlite3_close(m_db);
            m_db = nullptr;
        } else {
            sqlite3_busy_timeout(m_db, 5000);
        }
    }
    ~Db() { sqlite3_close(m_db); }
    Db(const Db &) = delete;
    Db &operator=(const Db &) = delete;

    bool isOpen() const { return m_db != nullptr; }
    sqlite3 *handle() const { return m_db; }

    qint64 integer(const char *sql) const
    {
        sqlite3_stmt *stmt = prepare(sql);
        const qint64 value =
            stmt && sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
        sqlite3_finalize(stmt);
        return value;
    }
    QString text(const char *sql) const
    {
        sqlite3_stmt *stmt = prepare(sql);
        QString value;
        if (stmt && sqlite3_step(stmt) == SQLITE_ROW)
            value = QString::fromUtf8(reinterpret_cast<const char *>(sqlite3_column_text(stmt, 0)));
        sqlite3_finalize(stmt);
        return value;
    }
    QStringList column(const char *sql) const
    {
        sqlite3_stmt *stmt = prepare(sql);
        QStringList values;
        while (stmt && sqlite3_step(stmt) == SQLITE_ROW)
            values.append(
                QString::fromUtf8(reinterpret_cast<const char *>(sqlite3_column_text(stmt, 0))));
        sqlite3_finalize(stmt);
        return values;
    }
    bool exec(const char *sql) const
    {
        return sqlite3_exec(m_db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
    }
    sqlite3_stmt *prepare(const char *sql) const
    {
        sqlite3_stmt *stmt = nullptr;
        if (sqlite3_prepare_v2(m_db, sql, -1, &stmt, nullptr) != SQLITE_OK)
            qWarning("prepare failed: %s", sqlite3_errmsg(m_db));
        return stmt;
    }

private:
    sqlite3 *m_db = nullptr;
};

qint64 rowCount(const QString &path)
{
    return Db(path).integer("SELECT COUNT(*) FROM requests");
}

template <typename T, size_t N> const T &pick(QRandomGenerator &random, const T (&choices)[N])
{
    return choices[random.bounded(int(N))];
}

// Records that reach the corners of the filter: ties on start time, no first byte, status 0,
// empty and non-ASCII text, and LIKE's own special characters in the data.
QList<RequestRecord> generatedRecords(int count)
{
    static const char *const users[] = {"",    "alice",   "Bob",         "zoë",
                                        "ZOË", "o'brien", "back\\slash", "under_score"};
    static const char *const models[] = {"claude-sonnet-4", "gpt-4o", "claude-haiku-3.5",
                                         "GPT-4o-mini"};
    static const int statuses[] = {200, 200, 201, 0, 400, 404, 429, 500, 529, 503};
    static const char *const routes[] = {"", "cheap-first", "fall back"};
    static const char *const plans[] = {"", "free", "team pro"};
    static const char *const caches[] = {"hit", "miss", "bypass"};
    static const char *const errors[] = {
        "", "", "", "upstream overloaded", "stream cut short", "timeout after 30s", "100% _busy_"};
    QRandomGenerator random(4242);
    const qint64 t0 = 1'760'000'000'000;
    QList<RequestRecord> records;
    for (int i = 0; i < count; ++i) {
        RequestRecord r;
        r.id = i % 10 == 3 ? QStringLiteral("r%1_x%y").arg(i) : QStringLiteral("r%1").arg(i);
        r.startedAtMs = t0 + qint64(random.bounded(count / 2)) * 1000; // about two per stamp
        r.flavor = QLatin1String(random.bounded(2) ? "anthropic" : "openai");
        r.endpoint = QLatin1String(r.flavor == u"openai" ? "/v1/chat/completions" : "/v1/messages");
        r.user = QString::fromUtf8(pick(random, users));
        r.requestedModel = QLatin1String(pick(random, models));
        const int served = int(random.bounded(3));
        r.usedModel = served == 0   ? QString()
                      : served == 1 ? r.requestedModel
                                    : r.requestedModel + QStringLiteral("-20250514");
        r.status = pick(random, statuses);
        r.stream = random.bounded(2) == 1;
        r.latencyMs = i % 17 == 0 ? 2000 : random.bounded(20000) / 4.0;
        r.ttftMs = i % 5 == 0 ? -1 : (i % 7 == 0 ? 300 : random.bounded(4000) / 8.0);
        r.upstreamMs = r.latencyMs * 0.9;
        r.overheadMs = r.latencyMs - r.upstreamMs;
        r.queueMs = i % 6 == 0 ? -1 : random.bounded(400) / 8.0;
        r.connectMs = r.queueMs < 0 ? -1 : (i % 4 == 0 ? 0 : random.bounded(800) / 8.0);
        r.usage.inputTokens = random.bounded(3000);
        r.usage.outputTokens = random.bounded(1500);
        r.usage.cacheReadTokens = random.bounded(2) ? random.bounded(4000) : 0;
        r.usage.cacheWriteTokens = random.bounded(4) == 0 ? random.bounded(1000) : 0;
        r.costUsd = i % 13 == 0 ? 0.05 : random.bounded(1000) / 10000.0;
        r.route = QLatin1String(pick(random, routes));
        r.plan = QLatin1String(pick(random, plans));
        r.cacheStatus = QLatin1String(pick(random, caches));
        r.error = QLatin1String(pick(random, errors));
        r.retries = int(random.bounded(4));
        records.append(r);
    }
    return records;
}

// Filters over every field, operator and combinator, and over the corners generatedRecords()
// reaches.
QStringList equivalenceFilters()
{
    return {QString(),
            QStringLiteral("status=5xx"),
            QStringLiteral("status!=2xx"),
            QStringLiteral("status=0"),
            QStringLiteral("status<400"),
            QStringLiteral("status>4xx"),
            QStringLiteral("model=gpt*"),
            QStringLiteral("model=GPT-4O"),
            QStringLiteral("model!=claude-*"),
            QStringLiteral("requested=*mini"),
            QStringLiteral("used=\"\""),
            QStringLiteral("used=*2025*"),
            QStringLiteral("provider=openai"),
            QStringLiteral("endpoint=/v1/messages"),
            QStringLiteral("user=zoë"),
            QStringLiteral("user=ZOË"),
            QStringLiteral("user=zo?"),
            QStringLiteral("user=*_*"),
            QStringLiteral("user=*\\*"),
            QStringLiteral("user=\"\""),
            QStringLiteral("user!=\"\""),
            QStringLiteral("id=*%*"),
            QStringLiteral("id=*_x*"),
            QStringLiteral("id=r1?"),
            QStringLiteral("ttft<500"),
            QStringLiteral("ttft>=300"),
            QStringLiteral("ttft!=300"),
            QStringLiteral("ttft=300ms"),
            QStringLiteral("not(ttft<500)"),
            QStringLiteral("latency>=2s"),
            QStringLiteral("latency<2000"),
            QStringLiteral("latency=2s"),
            QStringLiteral("cost>0.05"),
            QStringLiteral("cost<=$0.05"),
            QStringLiteral("cost=0.05"),
            QStringLiteral("tokens>2k"),
            QStringLiteral("in<100"),
            QStringLiteral("out>=1000"),
            QStringLiteral("retries>=2"),
            QStringLiteral("overhead>50"),
            QStringLiteral("queue>10ms"),
            QStringLiteral("not(queue<=10)"),
            QStringLiteral("connect=0"),
            QStringLiteral("connect>0.05s"),
            QStringLiteral("upstream<1s"),
            QStringLiteral("cache=hit"),
            QStringLiteral("cache!=bypass"),
            QStringLiteral("stream=yes"),
            QStringLiteral("stream=no"),
            QStringLiteral("error=yes"),
            QStringLiteral("error=no"),
            QStringLiteral("error=busy"),
            QStringLiteral("error=100%"),
            QStringLiteral("error=*cut*short*"),
            QStringLiteral("alice"),
            QStringLiteral("%"),
            QStringLiteral("_"),
            QStringLiteral("zoë"),
            QStringLiteral("529"),
            QStringLiteral("\"fall back\""),
            QStringLiteral("plan=\"team pro\""),
            QStringLiteral("route=\"\""),
            QStringLiteral("provider=openai status>=500 or cache=hit"),
            QStringLiteral("not(user=alice or user=bob) latency>1s"),
            QStringLiteral("!(cache=hit) error=no"),
            QStringLiteral("status>=500 model=claude-* not(user=bob) cost>0.05 latency>2s")};
}

// Random compositions of the filters above with and, or, not and parentheses.
QStringList composedFilters(int count)
{
    const QStringList atoms = equivalenceFilters().mid(1);
    QRandomGenerator random(777);
    const auto atom = [&] { return atoms.at(int(random.bounded(atoms.size()))); };
    QStringList filters;
    for (int i = 0; i < count; ++i) {
        QString a = atom();
        QString b = atom();
        switch (random.bounded(5)) {
        case 0: filters.append(a + u' ' + b); break;
        case 1: filters.append(a + QStringLiteral(" or ") + b); break;
        case 2: filters.append(QStringLiteral("not(%1 or %2) ").arg(a, b) + atom()); break;
        case 3: filters.append(QStringLiteral("(%1 or %2) ").arg(a, b) + atom()); break;
        default: filters.append(QStringLiteral("!(%1) or not(%2 %3)").arg(a, b, atom())); break;
        }
    }
    return filters;
}

// The ids `filter` accepts, in the log's page order: newest start first, later write first.
QStringList expectedIds(const QList<RequestRecord> &records, const RequestFilter &filter)
{
    QList<int> order;
    for (int i = 0; i < records.size(); ++i) {
        if (filter.matches(records.at(i)))
            order.append(i);
    }
    std::sort(order.begin(), order.end(), [&](int a, int b) {
        const qint64 sa = records.at(a).startedAtMs;
        const qint64 sb = records.at(b).startedAtMs;
        return sa != sb ? sa > sb : a > b;
    });
    QStringList ids;
    for (int i : order)
        ids.append(records.at(i).id);
    return ids;
}

QStringList idsOf(const QList<RequestRecord> &records)
{
    QStringList ids;
    for (const RequestRecord &r : records)
        ids.append(r.id);
    return ids;
}

} // namespace

class TestRequestLog : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void writesExactValues();
    void createsParentFolder();
    void walModeAndSchemaVersion();
    void flushWaitsForEverythingQueued();
    void writesOnIntervalWithoutFlush();
    void batchesAppendsFromTwoThreads();
    void boundedQueueDropsAndCounts();
    void retentionByAge();
    void retentionByCount();
    void retentionRunsOnItsTimer();
    void destructorDrainsAndReopenKeepsRows();
    void readerDoesNotBlockWriter();
    void unwritablePathIsAnError();
    void directoryAsPathIsAnError();
    void notADatabaseIsAnError();
    void newerSchemaIsAnError();
    void migratesVersionOneKeepingRows();
    void readsBackRequestsFinishedInARange();
    void filteredPagesAgreeWithFilterInMemory();
    void pagingVisitsEveryMatchOnceInOrder();
    void pagesStayPutWhenNewerRequestsArrive();
    void pageNeedsAPositiveLimit();
    void sumsSpendByStartTime();
    void keepsCapturedExchanges();
    void capturedBodiesStayUnderTheirCap();
    void snapshotsSkipsAndBackwardPages();
    void completedRangeAgreesWithCompletedAt();

private:
    RequestLog::Options options(const QString &name = QStringLiteral("requests.db")) const;
    std::unique_ptr<RequestLog> openLog(const RequestLog::Options &options);

    std::unique_ptr<QTemporaryDir> m_dir;
};

void TestRequestLog::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

RequestLog::Options TestRequestLog::options(const QString &name) const
{
    RequestLog::Options o;
    o.path = m_dir->filePath(name);
    // Tests write fixed timestamps far in the past; only the retention tests turn it on.
    o.retentionDays = 0;
    o.maxRows = 0;
    // Long enough that only batch size, flush() and shutdown trigger writes unless a test
    // says otherwise.
    o.flushIntervalMs = 60000;
    return o;
}

std::unique_ptr<RequestLog> TestRequestLog::openLog(const RequestLog::Options &o)
{
    auto opened = RequestLog::open(o);
    if (!opened) {
        qWarning("open failed: %s", qPrintable(opened.error().toString()));
        return nullptr;
    }
    return std::move(opened.value());
}

void TestRequestLog::writesExactValues()
{
    auto log = openLog(options());
    QVERIFY(log);

    RequestRecord full = makeRecord(QStringLiteral("req-1"), 1'760'000'000'123);
    full.flavor = QStringLiteral("anthropic");
    full.endpoint = QStringLiteral("/v1/messages");
    full.user = QStringLiteral("alice@example.com");
    full.requestedModel = QStringLiteral("claude-sonnet-4-0");
    full.usedModel = QStringLiteral("claude-sonnet-4-20250514");
    full.status = 200;
    full.stream = true;
    full.latencyMs = 1234.5;
    full.ttftMs = 321.25;
    full.upstreamMs = 1234.375;
    full.overheadMs = 0.125;
    full.queueMs = 2.5;
    full.connectMs = 40.75;
    full.usage.inputTokens = 1500;
    full.usage.outputTokens = 420;
    full.usage.cacheWriteTokens = 2048;
    full.usage.cacheReadTokens = 8'000'000'000; // beyond 32 bits
    full.costUsd = 0.0123456789;
    full.priced = true;
    full.cacheStatus = QStringLiteral("miss");
    full.error = QStringLiteral("upstream reset \"mid\"-stream ü");
    full.route = QStringLiteral("priority-high");
    full.plan = QStringLiteral("pro");
    full.retries = 2;
    full.savedUsd = 0.5;
    QVERIFY(log->append(full));

    RequestRecord bare = makeRecord(QStringLiteral("req-2"), 1'760'000'000'456);
    bare.user.clear();
    bare.status = 0;
    bare.ttftMs = -1;
    bare.priced = false;
    bare.cacheStatus = QStringLiteral("bypass");
    QVERIFY(log->append(bare));
    log->flush();
    QCOMPARE(log->written(), quint64(2));
    QCOMPARE(log->dropped(), quint64(0));

    Db db(log->path());
    QVERIFY(db.isOpen());
    sqlite3_stmt *stmt = db.prepare(
        "SELECT id, started_at_ms, flavor, endpoint, user, requested_model, used_model, status, "
        "stream, latency_ms, ttft_ms, upstream_ms, overhead_ms, input_tokens, output_tokens, "
        "cache_write_tokens, cache_read_tokens, cost_usd, priced, cache_status, error, route, "
        "plan, retries, saved_usd, queue_ms, connect_ms FROM requests ORDER BY rowid");
    QVERIFY(stmt);
    auto text = [stmt](int column) {
        return QString::fromUtf8(reinterpret_cast<const char *>(sqlite3_column_text(stmt, column)));
    };

    QCOMPARE(sqlite3_step(stmt), SQLITE_ROW);
    QCOMPARE(text(0), QStringLiteral("req-1"));
    QCOMPARE(sqlite3_column_int64(stmt, 1), Q_INT64_C(1'760'000'000'123));
    QCOMPARE(text(2), QStringLiteral("anthropic"));
    QCOMPARE(text(3), QStringLiteral("/v1/messages"));
    QCOMPARE(text(4), QStringLiteral("alice@example.com"));
    QCOMPARE(text(5), QStringLiteral("claude-sonnet-4-0"));
    QCOMPARE(text(6), QStringLiteral("claude-sonnet-4-20250514"));
    QCOMPARE(sqlite3_column_int(stmt, 7), 200);
    QCOMPARE(sqlite3_column_int(stmt, 8), 1);
    QCOMPARE(sqlite3_column_double(stmt, 9), 1234.5);
    QCOMPARE(sqlite3_column_type(stmt, 10), SQLITE_FLOAT);
    QCOMPARE(sqlite3_column_double(stmt, 10), 321.25);
    QCOMPARE(sqlite3_column_double(stmt, 11), 1234.375);
    QCOMPARE(sqlite3_column_double(stmt, 12), 0.125);
    QCOMPARE(sqlite3_column_int64(stmt, 13), Q_INT64_C(1500));
    QCOMPARE(sqlite3_column_int64(stmt, 14), Q_INT64_C(420));
    QCOMPARE(sqlite3_column_int64(stmt, 15), Q_INT64_C(2048));
    QCOMPARE(sqlite3_column_int64(stmt, 16), Q_INT64_C(8'000'000'000));
    QCOMPARE(sqlite3_column_double(stmt, 17), 0.0123456789);
    QCOMPARE(sqlite3_column_int(stmt, 18), 1);
    QCOMPARE(text(19), QStringLiteral("miss"));
    QCOMPARE(text(20), QStringLiteral("upstream reset \"mid\"-stream ü"));
    QCOMPARE(text(21), QStringLiteral("priority-high"));
    QCOMPARE(text(22), QStringLiteral("pro"));
    QCOMPARE(sqlite3_column_int(stmt, 23), 2);
    QCOMPARE(sqlite3_column_double(stmt, 24), 0.5);
    QCOMPARE(sqlite3_column_double(stmt, 25), 2.5);
    QCOMPARE(sqlite3_column_double(stmt, 26), 40.75);

    QCOMPARE(sqlite3_step(stmt), SQLITE_ROW);
    QCOMPARE(text(0), QStringLiteral("req-2"));
    QCOMPARE(sqlite3_column_int64(stmt, 1), Q_INT64_C(1'760'000'000'456));
    QCOMPARE(sqlite3_column_type(stmt, 4), SQLITE_TEXT);
    QCOMPARE(text(4), QString());
    QCOMPARE(sqlite3_column_int(stmt, 7), 0);
    QCOMPARE(sqlite3_column_int(stmt, 8), 0);
    QCOMPARE(sqlite3_column_type(stmt, 10), SQLITE_NULL); // no first byte: NULL, not -1
    QCOMPARE(sqlite3_column_type(stmt, 25), SQLITE_NULL); // no upstream call: no queue
    QCOMPARE(sqlite3_column_type(stmt, 26), SQLITE_NULL);
    QCOMPARE(sqlite3_column_int(stmt, 18), 0);
    QCOMPARE(text(19), QStringLiteral("bypass"));
    QCOMPARE(text(20), QString());

    QCOMPARE(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);

    // Exactly the record's fields, nothing more.
    QCOMPARE(db.integer("SELECT COUNT(*) FROM pragma_table_info('requests')"), Q_INT64_C(28));
    QCOMPARE(db.integer("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND "
                        "tbl_name = 'requests' AND sql LIKE '%started_at_ms%'"),
             Q_INT64_C(1));
}

void TestRequestLog::createsParentFolder()
{
    auto o = options(QStringLiteral("a/b/c/requests.db"));
    auto log = openLog(o);
    QVERIFY(log);
    QVERIFY(QFile::exists(o.path));
    QCOMPARE(log->path(), o.path);
}

void TestRequestLog::walModeAndSchemaVersion()
{
    auto log = openLog(options());
    QVERIFY(log);
    QVERIFY(log->append(makeRecord(QStringLiteral("x"), 1)));
    log->flush();
    Db db(log->path());
    QCOMPARE(db.text("PRAGMA journal_mode"), QStringLiteral("wal"));
    QCOMPARE(db.integer("PRAGMA user_version"), Q_INT64_C(5));
    QVERIFY(QFile::exists(log->path() + QStringLiteral("-wal")));
}

void TestRequestLog::flushWaitsForEverythingQueued()
{
    auto o = options();
    o.maxBatch = 100;
    auto log = openLog(o);
    QVERIFY(log);
    for (int i = 0; i < 1050; ++i)
        QVERIFY(log->append(makeRecord(QString::number(i), 1000 + i)));
    log->flush();
    QCOMPARE(log->written(), quint64(1050));
    QCOMPARE(rowCount(log->path()), Q_INT64_C(1050));
    // Ten full batches and the 50 that flush() pushed out.
    QCOMPARE(log->transactions(), quint64(11));
    // A flush with nothing queued returns at once.
    log->flush();
    QCOMPARE(log->transactions(), quint64(11));
}

void TestRequestLog::writesOnIntervalWithoutFlush()
{
    auto o = options();
    o.flushIntervalMs = 50;
    auto log = openLog(o);
    QVERIFY(log);
    QVERIFY(log->append(makeRecord(QStringLiteral("lonely"), 1)));
    QTRY_COMPARE_WITH_TIMEOUT(log->written(), quint64(1), 5000);
    QCOMPARE(rowCount(log->path()), Q_INT64_C(1));
}

void TestRequestLog::batchesAppendsFromTwoThreads()
{
    auto o = options();
    o.maxBatch = 100;
    auto log = openLog(o);
    QVERIFY(log);

    constexpr int kPerThread = 5000;
    std::vector<std::thread> workers;
    for (int t = 0; t < 2; ++t) {
        workers.emplace_back([&log, t] {
            for (int i = 0; i < kPerThread; ++i)
                log->append(
                    makeRecord(QStringLiteral("t%1-%2").arg(t).arg(i, 5, 10, QLatin1Char('0')),
                               qint64(t) * 1'000'000 + i));
        });
    }
    for (std::thread &worker : workers)
        worker.join();
    log->flush();

    QCOMPARE(log->dropped(), quint64(0));
    QCOMPARE(log->written(), quint64(2 * kPerThread));
    // The writer only wakes when a batch is full (the interval is a minute here), so 10,000
    // records take exactly 100 transactions of 100, not one each.
    QCOMPARE(log->transactions(), quint64(2 * kPerThread / 100));

    Db db(log->path());
    QCOMPARE(db.integer("SELECT COUNT(*) FROM requests"), Q_INT64_C(10000));
    QCOMPARE(db.integer("SELECT COUNT(DISTINCT id) FROM requests"), Q_INT64_C(10000));
    // Each thread's records keep their order.
    for (const char *sql : {"SELECT id FROM requests WHERE id LIKE 't0-%' ORDER BY rowid",
                            "SELECT id FROM requests WHERE id LIKE 't1-%' ORDER BY rowid"}) {
        const QStringList ids = db.column(sql);
        QCOMPARE(ids.size(), kPerThread);
        QVERIFY(std::is_sorted(ids.begin(), ids.end()));
    }
}

void TestRequestLog::boundedQueueDropsAndCounts()
{
    auto o = options();
    o.queueCapacity = 10;
    // A batch larger than the queue and a one-minute interval keep the writer asleep, so the
    // queue fills deterministically.
    o.maxBatch = 1000;
    auto log = openLog(o);
    QVERIFY(log);

    int accepted = 0;
    for (int i = 0; i < 25; ++i)
        accepted += log->append(makeRecord(QString::number(i), i)) ? 1 : 0;
    QCOMPARE(accepted, 10);
    QCOMPARE(log->dropped(), quint64(15));

    log->flush();
    QCOMPARE(log->written(), quint64(10));
    QCOMPARE(rowCount(log->path()), Q_INT64_C(10));
    // The oldest ten were kept; appends after the queue filled were the ones dropped.
    QCOMPARE(Db(log->path()).column("SELECT id FROM requests ORDER BY rowid"),
             (QStringList{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}));

    // Room again once written.
    QVERIFY(log->append(makeRecord(QStringLiteral("after"), 99)));
    log->flush();
    QCOMPARE(log->written(), quint64(11));
    QCOMPARE(log->dropped(), quint64(15));
}

void TestRequestLog::retentionByAge()
{
    auto o = options();
    o.retentionDays = 30;
    auto log = openLog(o);
    QVERIFY(log);

    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    log->append(makeRecord(QStringLiteral("40d"), now - 40 * kDayMs));
    log->append(makeRecord(QStringLiteral("31d"), now - 31 * kDayMs));
    log->append(makeRecord(QStringLiteral("30d+1m"), now - 30 * kDayMs - 60'000));
    log->append(makeRecord(QStringLiteral("29d"), now - 29 * kDayMs));
    log->append(makeRecord(QStringLiteral("1h"), now - 3'600'000));
    log->append(makeRecord(QStringLiteral("now"), now));
    // Records still queued take part: enforceRetention() writes them first.
    log->enforceRetention();

    QCOMPARE(log->written(), quint64(6));
    QCOMPARE(Db(log->path()).column("SELECT id FROM requests ORDER BY started_at_ms"),
             (QStringList{"29d", "1h", "now"}));
}

void TestRequestLog::retentionByCount()
{
    auto o = options();
    o.maxRows = 5;
    auto log = openLog(o);
    QVERIFY(log);

    // Inserted out of time order: "oldest" means earliest start, not first written.
    const qint64 starts[] = {500, 100, 800, 300, 700, 200, 600, 400};
    for (qint64 start : starts)
        log->append(makeRecord(QStringLiteral("t%1").arg(start), start));
    log->enforceRetention();

    QCOMPARE(Db(log->path()).column("SELECT id FROM requests ORDER BY started_at_ms"),
             (QStringList{"t400", "t500", "t600", "t700", "t800"}));

    // Under the cap nothing more goes.
    log->enforceRetention();
    QCOMPARE(rowCount(log->path()), Q_INT64_C(5));
}

void TestRequestLog::retentionRunsOnItsTimer()
{
    auto o = options();
    o.maxRows = 3;
    o.retentionIntervalMs = 100;
    auto log = openLog(o);
    QVERIFY(log);
    for (int i = 0; i < 8; ++i)
        log->append(makeRecord(QString::number(i), i));
    log->flush();
    QTRY_COMPARE_WITH_TIMEOUT(rowCount(log->path()), Q_INT64_C(3), 5000);
    QCOMPARE(Db(log->path()).column("SELECT id FROM requests ORDER BY started_at_ms"),
             (QStringList{"5", "6", "7"}));
}

void TestRequestLog::destructorDrainsAndReopenKeepsRows()
{
    const auto o = options();
    {
        auto log = openLog(o);
        QVERIFY(log);
        QVERIFY(log->append(makeRecord(QStringLiteral("a"), 1)));
        QVERIFY(log->append(makeRecord(QStringLiteral("b"), 2)));
        // No flush: the destructor must write what is queued.
    }
    QCOMPARE(rowCount(o.path), Q_INT64_C(2));

    auto reopened = openLog(o);
    QVERIFY(reopened);
    QVERIFY(reopened->append(makeRecord(QStringLiteral("c"), 3)));
    reopened->flush();
    QCOMPARE(reopened->written(), quint64(1));
    Db db(o.path);
    QCOMPARE(db.column("SELECT id FROM requests ORDER BY rowid"), (QStringList{"a", "b", "c"}));
    QCOMPARE(db.integer("PRAGMA user_version"), Q_INT64_C(5));
}

void TestRequestLog::readerDoesNotBlockWriter()
{
    auto log = openLog(options());
    QVERIFY(log);
    log->append(makeRecord(QStringLiteral("first"), 1));
    log->flush();

    // A reader in the middle of a read transaction (the console scrolling the log) must not
    // stop commits; with WAL it sees its snapshot while the writer moves on.
    Db reader(log->path());
    QVERIFY(reader.exec("BEGIN"));
    QCOMPARE(reader.integer("SELECT COUNT(*) FROM requests"), Q_INT64_C(1));
    for (int i = 0; i < 50; ++i)
        log->append(makeRecord(QString::number(i), 10 + i));
    log->flush();
    QCOMPARE(log->written(), quint64(51));
    QCOMPARE(log->dropped(), quint64(0));
    QCOMPARE(reader.integer("SELECT COUNT(*) FROM requests"), Q_INT64_C(1));
    QVERIFY(reader.exec("COMMIT"));
    QCOMPARE(reader.integer("SELECT COUNT(*) FROM requests"), Q_INT64_C(51));
}

void TestRequestLog::unwritablePathIsAnError()
{
    // A regular file where a folder should be: fails even for root, unlike chmod.
    QFile blocker(m_dir->filePath(QStringLiteral("not-a-folder")));
    QVERIFY(blocker.open(QIODevice::WriteOnly));
    blocker.close();
    RequestLog::Options o;
    o.path = m_dir->filePath(QStringLiteral("not-a-folder/sub/requests.db"));
    const auto opened = RequestLog::open(o);
    QVERIFY(!opened.ok());
    QVERIFY2(opened.error().message.startsWith(QLatin1String("cannot create folder ")),
             qPrintable(opened.error().toString()));
    QVERIFY(opened.error().message.contains(QLatin1String("not-a-folder/sub")));

    o.path.clear();
    QVERIFY(!RequestLog::open(o).ok());
}

void TestRequestLog::directoryAsPathIsAnError()
{
    RequestLog::Options o;
    o.path = m_dir->path();
    const auto opened = RequestLog::open(o);
    QVERIFY(!opened.ok());
    QVERIFY2(opened.error().message.contains(m_dir->path()), qPrintable(opened.error().message));
}

void TestRequestLog::notADatabaseIsAnError()
{
    const QString path = m_dir->filePath(QStringLiteral("garbage.db"));
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QByteArray(4096, 'x'));
    file.close();
    RequestLog::Options o;
    o.path = path;
    const auto opened = RequestLog::open(o);
    QVERIFY(!opened.ok());
    QVERIFY2(opened.error().message.contains(QLatin1String("not a database")),
             qPrintable(opened.error().message));
}

void TestRequestLog::migratesVersionOneKeepingRows()
{
    const auto o = options();
    QVERIFY(QDir().mkpath(QFileInfo(o.path).path()));
    QFile empty(o.path); // an empty file is an empty database
    QVERIFY(empty.open(QIODevice::WriteOnly));
    empty.close();
    {
        // A log written by a build whose schema was version 1.
        Db db(o.path);
        QVERIFY(db.exec(
            "CREATE TABLE requests (id TEXT NOT NULL, started_at_ms INTEGER NOT NULL, flavor TEXT "
            "NOT NULL, endpoint TEXT NOT NULL, user TEXT NOT NULL, requested_model TEXT NOT NULL, "
            "used_model TEXT NOT NULL, status INTEGER NOT NULL, stream INTEGER NOT NULL, "
            "latency_ms REAL NOT NULL, ttft_ms REAL, upstream_ms REAL NOT NULL, overhead_ms REAL "
            "NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, "
            "cache_write_tokens INTEGER NOT NULL, cache_read_tokens INTEGER NOT NULL, cost_usd "
            "REAL NOT NULL, priced INTEGER NOT NULL, cache_status TEXT NOT NULL, error TEXT NOT "
            "NULL)"));
        QVERIFY(db.exec("INSERT INTO requests VALUES ('old', 5, 'anthropic', '/v1/messages', '', "
                        "'m', 'm', 200, 0, 1, NULL, 1, 0, 1, 1, 0, 0, 0.1, 1, 'miss', '')"));
        QVERIFY(db.exec("PRAGMA user_version = 1"));
    }
    auto log = openLog(o);
    QVERIFY(log);
    RequestRecord routed = makeRecord(QStringLiteral("new"), 6);
    routed.route = QStringLiteral("auto-simple");
    QVERIFY(log->append(routed));
    log->flush();
    Db db(o.path);
    QCOMPARE(db.integer("PRAGMA user_version"), Q_INT64_C(5));
    QCOMPARE(db.integer("SELECT COUNT(*) FROM requests"), Q_INT64_C(2));
    QCOMPARE(db.text("SELECT route FROM requests WHERE id = 'old'"), QString());
    QCOMPARE(db.text("SELECT route FROM requests WHERE id = 'new'"), QStringLiteral("auto-simple"));
    // Step by step through version 2: what routing saved, 0 for the old row.
    QCOMPARE(db.text("SELECT routing_saved_usd FROM requests WHERE id = 'old'"),
             QStringLiteral("0.0"));
    // And through version 4: the old row's queue and connect times are unknown.
    QCOMPARE(db.integer("SELECT COUNT(*) FROM requests WHERE id = 'old' AND queue_ms IS NULL AND "
                        "connect_ms IS NULL"),
             Q_INT64_C(1));
}

void TestRequestLog::newerSchemaIsAnError()
{
    const auto o = options();
    {
        auto log = openLog(o);
        QVERIFY(log);
    }
    {
        Db db(o.path);
        QVERIFY(db.exec("PRAGMA user_version = 7"));
    }
    const auto opened = RequestLog::open(o);
    QVERIFY(!opened.ok());
    QVERIFY2(opened.error().message.contains(QLatin1String("schema version 7 is newer")),
             qPrintable(opened.error().message));
}

void TestRequestLog::readsBackRequestsFinishedInARange()
{
    auto log = openLog(options());
    QVERIFY(log);
    const qint64 t0 = 1'760'000'000'000;
    RequestRecord rich = makeRecord(QStringLiteral("in-1"), t0 + 1000);
    rich.user = QStringLiteral("alice");
    rich.stream = true;
    rich.latencyMs = 2500.5; // finishes at t0 + 3500.5
    rich.ttftMs = 300.25;
    rich.queueMs = 1.5;
    rich.connectMs = 0;
    rich.usage.inputTokens = 1200;
    rich.usage.cacheReadTokens = 8'000'000'000;
    rich.costUsd = 0.0125;
    rich.savedUsd = 0.5;
    rich.routingSavedUsd = -0.0625;
    rich.cacheStatus = QStringLiteral("hit");
    rich.error = QStringLiteral("stream cut short");
    rich.route = QStringLiteral("cheap-first");
    rich.retries = 2;
    RequestRecord noFirstByte = makeRecord(QStringLiteral("in-2"), t0 + 500); // finishes t0+512.5
    noFirstByte.status = 0;
    noFirstByte.ttftMs = -1;
    // Started inside the range but finished after it; started before it and finished inside.
    RequestRecord late = makeRecord(QStringLiteral("late"), t0 + 9990);
    late.latencyMs = 20;
    RequestRecord early = makeRecord(QStringLiteral("early"), t0 - 5000);
    early.latencyMs = 5100;
    RequestRecord before = makeRecord(QStringLiteral("before"), t0 - 100);
    for (const RequestRecord &r : {rich, noFirstByte, late, early, before})
        QVERIFY(log->append(r));
    log->flush();

    QList<RequestRecord> read;
    const auto count =
        log->readFinished(t0, t0 + 10000, [&](const RequestRecord &r) { read.append(r); });
    QVERIFY2(count, count ? "" : qPrintable(count.error().message));
    QCOMPARE(*count, 3);
    QCOMPARE(read.size(), 3);
    // Oldest start first.
    QCOMPARE(read.at(0).id, QStringLiteral("early"));
    QCOMPARE(read.at(1).id, QStringLiteral("in-2"));
    QCOMPARE(read.at(1).ttftMs, -1.0);
    QCOMPARE(read.at(1).queueMs, -1.0);
    QCOMPARE(read.at(1).connectMs, -1.0);
    QCOMPARE(read.at(1).status, 0);
    const RequestRecord &back = read.at(2);
    QCOMPARE(back.id, rich.id);
    QCOMPARE(back.startedAtMs, rich.startedAtMs);
    QCOMPARE(back.user, rich.user);
    QCOMPARE(back.usedModel, rich.usedModel);
    QCOMPARE(back.stream, true);
    QCOMPARE(back.latencyMs, rich.latencyMs);
    QCOMPARE(back.ttftMs, rich.ttftMs);
    QCOMPARE(back.queueMs, rich.queueMs);
    QCOMPARE(back.connectMs, rich.connectMs);
    QCOMPARE(back.usage.inputTokens, rich.usage.inputTokens);
    QCOMPARE(back.usage.cacheReadTokens, rich.usage.cacheReadTokens);
    QCOMPARE(back.costUsd, rich.costUsd);
    QCOMPARE(back.savedUsd, rich.savedUsd);
    QCOMPARE(back.routingSavedUsd, rich.routingSavedUsd);
    QCOMPARE(back.cacheStatus, rich.cacheStatus);
    QCOMPARE(back.error, rich.error);
    QCOMPARE(back.route, rich.route);
    QCOMPARE(back.retries, rich.retries);
}

void TestRequestLog::filteredPagesAgreeWithFilterInMemory()
{
    auto log = openLog(options());
    QVERIFY(log);
    const QList<RequestRecord> records = generatedRecords(400);
    for (const RequestRecord &r : records)
        QVERIFY(log->append(r));
    log->flush();

    const QStringList filters = equivalenceFilters() + composedFilters(300);
    int nonTrivial = 0;
    for (const QString &text : filters) {
        const auto filter = RequestFilter::parse(text);
        QVERIFY2(filter, qPrintable(text + QStringLiteral(": ") +
                                    (filter ? QString() : filter.error().message)));
        const QStringList expected = expectedIds(records, *filter);
        nonTrivial += !expected.isEmpty() && expected.size() < records.size();
        const auto page = log->page(*filter, 1000);
        QVERIFY2(page, qPrintable(text + QStringLiteral(": ") +
                                  (page ? QString() : page.error().message)));
        QVERIFY2(idsOf(page->records) == expected,
                 qPrintable(QStringLiteral("%1: SQL %2 rows, in memory %3; where %4")
                                .arg(text)
                                .arg(page->records.size())
                                .arg(expected.size())
                                .arg(filter->toSql().where)));
        QVERIFY(!page->next);
        const auto count = log->count(*filter);
        QVERIFY2(count, qPrintable(count ? QString() : count.error().message));
        QCOMPARE(*count, qint64(expected.size()));
    }
    // The filters split the records, rather than passing all or none.
    QVERIFY(nonTrivial > filters.size() / 2);
}

void TestRequestLog::pagingVisitsEveryMatchOnceInOrder()
{
    auto log = openLog(options());
    QVERIFY(log);
    const QList<RequestRecord> records = generatedRecords(400);
    for (const RequestRecord &r : records)
        QVERIFY(log->append(r));
    log->flush();

    for (const QString &text : {QString(), QStringLiteral("status=5xx or cache=hit"),
                                QStringLiteral("user=alice"), QStringLiteral("nobody-has-this")}) {
        const RequestFilter filter = *RequestFilter::parse(text);
        const QStringList expected = expectedIds(records, filter);
        for (int limit : {1, 7, 50, int(expected.size()), 1000}) {
            if (limit < 1)
                continue;
            QStringList seen;
            std::optional<RequestLog::PageCursor> cursor;
            int pages = 0;
            do {
                const auto page = log->page(filter, limit, cursor);
                QVERIFY(page);
                QVERIFY(page->records.size() <= limit);
                // Only the last page may be short, and no page after it is empty.
                QVERIFY(page->records.size() == limit || !page->next);
                QVERIFY(!page->records.isEmpty() || seen.isEmpty());
                seen += idsOf(page->records);
                cursor = page->next;
                QVERIFY(++pages <= records.size() + 1);
            } while (cursor);
            QCOMPARE(seen, expected);
        }
    }
}

void TestRequestLog::pagesStayPutWhenNewerRequestsArrive()
{
    auto log = openLog(options());
    QVERIFY(log);
    const QList<RequestRecord> records = generatedRecords(100);
    for (const RequestRecord &r : records)
        QVERIFY(log->append(r));
    log->flush();
    const RequestFilter all;
    const QStringList expected = expectedIds(records, all);

    const auto first = log->page(all, 10);
    QVERIFY(first && first->next);
    // Newer requests, some in the very millisecond of the newest row.
    for (int i = 0; i < 5; ++i)
        QVERIFY(log->append(makeRecord(QStringLiteral("new-%1").arg(i),
                                       records.constFirst().startedAtMs + 10'000'000 - i)));
    QVERIFY(log->append(makeRecord(QStringLiteral("same-ms"), first->records.first().startedAtMs)));
    log->flush();
    const auto second = log->page(all, 10, first->next);
    QVERIFY(second);
    QCOMPARE(idsOf(first->records) + idsOf(second->records), expected.mid(0, 20));
    // A fresh first page shows them.
    QCOMPARE(log->page(all, 1)->records.first().id, QStringLiteral("new-0"));
}

void TestRequestLog::pageNeedsAPositiveLimit()
{
    auto log = openLog(options());
    QVERIFY(log);
    const auto page = log->page(RequestFilter(), 0);
    QVERIFY(!page);
    QVERIFY(page.error().message.contains(QStringLiteral("at least one")));
}

void TestRequestLog::snapshotsSkipsAndBackwardPages()
{
    using tollgate::store::RequestLogReader;
    auto log = openLog(options());
    QVERIFY(log);
    const RequestLogReader reader = log->reader();
    QCOMPARE(*reader.lastRowId(), 0);
    const QList<RequestRecord> records = generatedRecords(400);
    for (const RequestRecord &r : records)
        QVERIFY(log->append(r));
    log->flush();
    const qint64 snapshot = *reader.lastRowId();
    QCOMPARE(snapshot, 400);
    // Written after the snapshot, some newer and some older than everything in it.
    QStringList later;
    for (int i = 0; i < 10; ++i) {
        later.append(QStringLiteral("later-%1").arg(i));
        QVERIFY(log->append(makeRecord(later.last(), i % 2 ? 1'000 : 9'000'000'000'000)));
    }
    log->flush();
    QCOMPARE(*reader.idsWritten(snapshot, snapshot + 10), later);
    QCOMPARE(reader.idsWritten(snapshot - 2, snapshot)->size(), 2);

    RequestLogReader::Scope scope;
    scope.upToRowId = snapshot;
    for (const QString &text : {QString(), QStringLiteral("status=5xx or cache=hit")}) {
        const RequestFilter filter = *RequestFilter::parse(text);
        const QStringList expected = expectedIds(records, filter);
        QStringList backwards = expected;
        std::reverse(backwards.begin(), backwards.end());
        QCOMPARE(*reader.count(filter, scope), qint64(expected.size()));
        QCOMPARE(idsOf(reader.page(filter, scope, 1000)->records), expected);
        // A jump by offset, from the newest end and from the oldest.
        QCOMPARE(idsOf(reader.page(filter, scope, 7, std::nullopt, 13)->records),
                 expected.mid(13, 7));
        const auto oldest = reader.page(filter, scope, 7, std::nullopt, 5, true);
        QCOMPARE(idsOf(oldest->records), backwards.mid(5, 7));
        QCOMPARE(oldest->rowIds.size(), oldest->records.size());
        // Backwards pages continue from their cursor too.
        const auto next = reader.page(filter, scope, 7, oldest->next, 0, true);
        QCOMPARE(idsOf(next->records), backwards.mid(12, 7));
        // The block index: every 7th match's cursor starts a block, and the count.
        const auto index = reader.blockIndex(filter, scope, 7);
        QVERIFY(index);
        QCOMPARE(index->count, qint64(expected.size()));
        QCOMPARE(index->blockStarts.size(), (expected.size() - 1) / 7);
        for (qsizetype k = 1; k <= index->blockStarts.size(); ++k)
            QCOMPARE(idsOf(reader.page(filter, scope, 7, index->blockStarts.at(k - 1))->records),
                     expected.mid(7 * k, 7));
        // A cursor and an offset together.
        const auto first = reader.page(filter, scope, 10);
        QCOMPARE(idsOf(reader.page(filter, scope, 5, first->next, 20)->records),
                 expected.mid(30, 5));
    }
    // Without a snapshot the later rows are there.
    QCOMPARE(*reader.count(RequestFilter()), 410);
    QVERIFY(!reader.page(RequestFilter(), scope, 1, std::nullopt, -1));
}

void TestRequestLog::completedRangeAgreesWithCompletedAt()
{
    using tollgate::store::RequestLogReader;
    auto log = openLog(options());
    QVERIFY(log);
    QList<RequestRecord> records = generatedRecords(400);
    // Latencies that round either way, and ones counted as instant.
    records[1].latencyMs = -5;
    records[2].latencyMs = std::numeric_limits<double>::infinity();
    records[3].latencyMs = 0.5;
    records[4].latencyMs = 2.5;
    for (const RequestRecord &r : records)
        QVERIFY(log->append(r));
    log->flush();
    const RequestLogReader reader = log->reader();
    const qint64 t0 = records.first().startedAtMs;
    QRandomGenerator random(7);
    for (int round = 0; round < 40; ++round) {
        RequestLogReader::Scope scope;
        scope.completedFromMs = t0 - 100'000 + qint64(random.bounded(300'000));
        scope.completedToMs = scope.completedFromMs + 1 + qint64(random.bounded(60'000));
        QList<RequestRecord> inRange;
        for (const RequestRecord &r : records) {
            if (r.completedAtMs() >= scope.completedFromMs &&
                r.completedAtMs() < scope.completedToMs)
                inRange.append(r);
        }
        const QStringList expected = expectedIds(inRange, RequestFilter());
        const auto page = reader.page(RequestFilter(), scope, 1000);
        QVERIFY(page);
        QCOMPARE(idsOf(page->records), expected);
        QCOMPARE(*reader.count(RequestFilter(), scope), qint64(expected.size()));
    }
}

void TestRequestLog::sumsSpendByStartTime()
{
    auto log = openLog(options());
    QVERIFY(log);
    const qint64 t0 = 1'760'000'000'000;
    const double costs[] = {0.25, 0.5, 1.0, 2.0};
    for (int i = 0; i < 4; ++i) {
        RequestRecord record = makeRecord(QStringLiteral("s-%1").arg(i), t0 + i * 1000);
        record.costUsd = costs[i];
        record.savedUsd = i == 3 ? 0.125 : 0;
        QVERIFY(log->append(record));
    }
    log->flush();
    // [t0 + 1 s, t0 + 3 s): the second and third, by when they started.
    auto spend = log->spendBetween(t0 + 1000, t0 + 3000);
    QVERIFY(spend);
    QCOMPARE(spend->requests, 2);
    QCOMPARE(spend->costUsd, 1.5);
    QCOMPARE(spend->savedUsd, 0.0);
    spend = log->spendBetween(t0, t0 + 4000);
    QVERIFY(spend);
    QCOMPARE(spend->requests, 4);
    QCOMPARE(spend->costUsd, 3.75);
    QCOMPARE(spend->savedUsd, 0.125);
    spend = log->spendBetween(t0 + 5000, t0 + 9000); // nothing there: zero, not an error
    QVERIFY(spend);
    QCOMPARE(spend->requests, 0);
    QCOMPARE(spend->costUsd, 0.0);
}

namespace {

tollgate::store::CapturedExchange exchangeOf(const QString &id, qint64 startedAtMs,
                                             const QByteArray &body)
{
    tollgate::store::CapturedExchange e;
    e.id = id;
    e.startedAtMs = startedAtMs;
    e.method = "POST";
    e.target = "/v1/messages?beta=true";
    e.requestHeaders = {{"content-type", "application/json"}, {"x-api-key", "[redacted]"}};
    e.requestBody = body;
    e.requestBytes = body.size();
    e.status = 200;
    e.responseHeaders = {{"content-type", "text/event-stream"}};
    e.responseBody = "event: message_start\ndata: {}\n\n";
    e.responseBytes = 9000; // more than was kept
    e.streamed = true;
    return e;
}

} // namespace

void TestRequestLog::keepsCapturedExchanges()
{
    auto log = openLog(options());
    QVERIFY(log);
    const QByteArray binary("{\"a\":1}\0\xff tail", 14);
    QVERIFY(log->appendExchange(exchangeOf(QStringLiteral("x-1"), 1000, binary)));
    QVERIFY(log->append(makeRecord(QStringLiteral("x-1"), 1000)));
    log->flush();

    const auto found = log->exchange(QStringLiteral("x-1"));
    QVERIFY(found);
    QVERIFY(found->has_value());
    const tollgate::store::CapturedExchange &e = **found;
    QCOMPARE(e.method, QByteArray("POST"));
    QCOMPARE(e.target, QByteArray("/v1/messages?beta=true"));
    QCOMPARE(e.requestHeaders.size(), 2);
    QCOMPARE(e.requestHeaders[1].second, QByteArray("[redacted]"));
    QCOMPARE(e.requestBody, binary); // bytes as sent, NUL and all
    QCOMPARE(e.status, 200);
    QVERIFY(e.streamed);
    QVERIFY(e.responseTruncated());
    QVERIFY(!e.requestTruncated());
    QCOMPARE(e.responseHeaders.first().first, QByteArray("content-type"));

    const auto missing = log->exchange(QStringLiteral("nope"));
    QVERIFY(missing);
    QVERIFY(!missing->has_value());
}

void TestRequestLog::capturedBodiesStayUnderTheirCap()
{
    auto o = options();
    o.maxExchangeBytes = 10'000;
    auto log = openLog(o);
    QVERIFY(log);
    // Ten exchanges of about 3 KB: only the newest three fit.
    for (int i = 0; i < 10; ++i)
        QVERIFY(log->appendExchange(
            exchangeOf(QStringLiteral("c-%1").arg(i), 1000 + i, QByteArray(3000, 'x'))));
    log->flush();
    log->enforceRetention();
    for (int i = 0; i < 10; ++i) {
        const auto found = log->exchange(QStringLiteral("c-%1").arg(i));
        QVERIFY(found);
        QCOMPARE(found->has_value(), i >= 7);
    }
}

QTEST_GUILESS_MAIN(TestRequestLog)
#include "tst_requestlog.moc"
