#include "cache/cachepolicy.h"
#include "cache/responsecache.h"
#include "cache/sqlitecachestore.h"

#include <QTemporaryDir>
#include <QTest>

#include <atomic>
#include <thread>
#include <vector>

using tollgate::api::Flavor;
using tollgate::cache::CachedResponse;
using tollgate::cache::CachePolicy;
using tollgate::cache::ResponseCache;
using tollgate::cache::SqliteCacheStore;

namespace {

constexpr qint64 kStart = 1'700'000'000'000; // the fake clock's "now" at the start of each test
constexpr qint64 kHourMs = 3600 * 1000;

// A body entry whose charged size (sizeBytes() + key) is exactly `charged` for a 4-byte key.
std::shared_ptr<const CachedResponse> entryOfSize(qint64 charged, qint64 createdAtMs,
                                                  qint64 ttlMs = kHourMs, int status = 200)
{
    CachedResponse r;
    r.flavor = Flavor::Anthropic;
    r.status = status;
    r.createdAtMs = createdAtMs;
    r.expiresAtMs = createdAtMs + ttlMs;
    const qint64 overhead = r.sizeBytes() + 4;
    r.body = QByteArray(qMax<qint64>(0, charged - overhead), 'x');
    return std::make_shared<const CachedResponse>(std::move(r));
}

std::shared_ptr<const CachedResponse> streamEntry(qint64 createdAtMs, qint64 ttlMs)
{
    CachedResponse r;
    r.flavor = Flavor::OpenAI;
    r.status = 200;
    r.contentType = "text/event-stream; charset=utf-8";
    r.events = {"data: {\"id\":\"c\",\"choices\":[]}\n\n", "data: [DONE]\n\n"};
    r.usage.inputTokens = 7;
    r.usage.outputTokens = 3;
    r.model = QStringLiteral("gpt-4o");
    r.createdAtMs = createdAtMs;
    r.expiresAtMs = createdAtMs + ttlMs;
    return std::make_shared<const CachedResponse>(std::move(r));
}

ResponseCache::Options oneShard(qint64 maxBytes, qint64 maxEntryBytes)
{
    ResponseCache::Options options;
    options.maxBytes = maxBytes;
    options.maxEntryBytes = maxEntryBytes;
    options.shards = 1; // one shard: eviction order is exact LRU across all keys
    return options;
}

} // namespace

class TestResponseCache : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // --- memory tier ----------------------------------------------------------------------

    void hitAndMissAreCounted()
    {
        ResponseCache cache;
        QCOMPARE(cache.shardCount(), 16);
        QVERIFY(!cache.lookup("aaaa", kStart));
        const auto entry = entryOfSize(1000, kStart);
        cache.store("aaaa", entry, kStart);
        QCOMPARE(cache.lookup("aaaa", kStart + 1).get(), entry.get()); // shared, not copied
        const ResponseCache::Stats s = cache.stats();
        QCOMPARE(s.hits, 1u);
        QCOMPARE(s.misses, 1u);
        QCOMPARE(s.stores, 1u);
        QCOMPARE(s.entries, 1);
        QCOMPARE(s.bytes, 1000);
    }

    void ttlExpiresAtTheExactBoundary()
    {
        ResponseCache cache;
        const qint64 ttlMs = CachePolicy::reference().ttlMs({});
        QCOMPARE(ttlMs, kHourMs);
        cache.store("aaaa", entryOfSize(1000, kStart, ttlMs), kStart);
        QVERIFY(cache.lookup("aaaa", kStart + ttlMs - 1));
        QVERIFY(!cache.lookup("aaaa", kStart + ttlMs));
        // Dropped lazily by that lookup, never served again.
        QVERIFY(!cache.lookup("aaaa", kStart));
        const ResponseCache::Stats s = cache.stats();
        QCOMPARE(s.entries, 0);
        QCOMPARE(s.bytes, 0);
        QCOMPARE(s.expirations, 1u);
        QCOMPARE(s.hits, 1u);
        QCOMPARE(s.misses, 2u);
    }

    void perRequestTtlShortensTheEntry()
    {
        ResponseCache cache;
        tollgate::cache::CacheDirective directive;
        directive.ttlSeconds = 10;
        const qint64 ttlMs = CachePolicy::reference().ttlMs(directive);
        cache.store("aaaa", entryOfSize(1000, kStart, ttlMs), kStart);
        QVERIFY(cache.lookup("aaaa", kStart + 9999));
        QVERIFY(!cache.lookup("aaaa", kStart + 10000));
    }

    void expiredOrFailedResponsesAreNotStored()
    {
        ResponseCache cache;
        cache.store("aaaa", entryOfSize(1000, kStart, kHourMs), kStart + kHourMs);
        cache.store("bbbb", entryOfSize(1000, kStart, kHourMs, 500), kStart);
        cache.store("cccc", entryOfSize(1000, kStart, kHourMs, 429), kStart);
        cache.store("dddd", nullptr, kStart);
        QCOMPARE(cache.stats().entries, 0);
        QCOMPARE(cache.stats().rejected, 3u);
        cache.store("eeee", entryOfSize(1000, kStart, kHourMs, 201), kStart);
        QVERIFY(cache.lookup("eeee", kStart));
    }

    void lruEvictsByBytesLeastRecentlyUsedFirst()
    {
        ResponseCache cache(oneShard(3000, 1000));
        cache.store("aaaa", entryOfSize(1000, kStart), kStart);
        cache.store("bbbb", entryOfSize(1000, kStart), kStart + 1);
        cache.store("cccc", entryOfSize(1000, kStart), kStart + 2);
        QCOMPARE(cache.stats().bytes, 3000);
        // A lookup refreshes: aaaa is now the most recently used, bbbb the least.
        QVERIFY(cache.lookup("aaaa", kStart + 3));
        cache.store("dddd", entryOfSize(1000, kStart), kStart + 4);
        QVERIFY(!cache.lookup("bbbb", kStart + 5));
        QVERIFY(cache.lookup("aaaa", kStart + 5));
        QVERIFY(cache.lookup("cccc", kStart + 5));
        QVERIFY(cache.lookup("dddd", kStart + 5));
        // One large entry pushes out as many old ones as it needs: aaaa and cccc are the
        // oldest used now; dddd stays.
        cache.store("eeee", entryOfSize(1000, kStart), kStart + 6);
        QVERIFY(!cache.lookup("aaaa", kStart + 7));
        const ResponseCache::Stats s = cache.stats();
        QCOMPARE(s.evictions, 2u);
        QCOMPARE(s.entries, 3);
        QVERIFY(s.bytes <= 3000);
    }

    void byteBudgetNotEntryCountBounds()
    {
        ResponseCache cache(oneShard(6000, 6000));
        for (int i = 0; i < 20; ++i)
            cache.store(QByteArray::number(1000 + i), entryOfSize(300, kStart), kStart + i);
        QCOMPARE(cache.stats().entries, 20);
        QCOMPARE(cache.stats().bytes, 6000);
        cache.store("bigg", entryOfSize(4500, kStart), kStart + 100);
        const ResponseCache::Stats s = cache.stats();
        QCOMPARE(s.bytes, 6000);
        QCOMPARE(s.entries, 6); // 4500 + 5 * 300
        QVERIFY(cache.lookup("1019", kStart + 101));
        QVERIFY(cache.lookup("1015", kStart + 101));
        QVERIFY(!cache.lookup("1014", kStart + 101));
    }

    void entriesAboveMaxEntryBytesAreNotStored()
    {
        ResponseCache cache(oneShard(100000, 1000));
        cache.store("aaaa", entryOfSize(1000, kStart), kStart);
        cache.store("bbbb", entryOfSize(1001, kStart), kStart);
        QVERIFY(cache.lookup("aaaa", kStart));
        QVERIFY(!cache.lookup("bbbb", kStart));
        QCOMPARE(cache.stats().rejected, 1u);
        // A too-large answer for a key leaves the entry there alone.
        cache.store("aaaa", entryOfSize(5000, kStart), kStart);
        QCOMPARE(cache.lookup("aaaa", kStart)->sizeBytes() + 4, 1000);
    }

    void replacingAnEntryKeepsBytesRight()
    {
        ResponseCache cache(oneShard(10000, 5000));
        cache.store("aaaa", entryOfSize(1000, kStart), kStart);
        cache.store("aaaa", entryOfSize(3000, kStart), kStart);
        QCOMPARE(cache.stats().entries, 1);
        QCOMPARE(cache.stats().bytes, 3000);
        cache.remove("aaaa");
        QCOMPARE(cache.stats().entries, 0);
        QCOMPARE(cache.stats().bytes, 0);
    }

    void smallBudgetUsesFewerShards()
    {
        ResponseCache::Options options;
        options.maxBytes = 8 * 1024 * 1024;
        options.maxEntryBytes = 4 * 1024 * 1024;
        ResponseCache cache(options);
        QCOMPARE(cache.shardCount(), 2);
        cache.store("aaaa", entryOfSize(4 * 1024 * 1024, kStart), kStart);
        QVERIFY(cache.lookup("aaaa", kStart));
    }

    void setLimitsEvictsAtOnce()
    {
        ResponseCache cache(oneShard(10000, 1000));
        for (int i = 0; i < 10; ++i)
            cache.store(QByteArray::number(1000 + i), entryOfSize(1000, kStart), kStart + i);
        cache.setLimits(4000, 500);
        QCOMPARE(cache.stats().entries, 4);
        QVERIFY(cache.lookup("1009", kStart + 20));
        QVERIFY(!cache.lookup("1005", kStart + 20));
        cache.store("aaaa", entryOfSize(1000, kStart), kStart + 21);
        QVERIFY(!cache.lookup("aaaa", kStart + 22));
    }

    void purgeExpiredFreesMemoryEarly()
    {
        ResponseCache cache;
        cache.store("aaaa", entryOfSize(1000, kStart, 1000), kStart);
        cache.store("bbbb", entryOfSize(1000, kStart, 5000), kStart);
        QCOMPARE(cache.purgeExpired(kStart + 1000), 1);
        QCOMPARE(cache.stats().entries, 1);
        QCOMPARE(cache.stats().bytes, 1000);
        cache.clear();
        QCOMPARE(cache.stats().entries, 0);
    }

    void concurrentLookupsAndStoresStayConsistent()
    {
        // Small enough that eviction runs all the time, on several shards at once.
        ResponseCache::Options options;
        options.maxBytes = 64 * 1000;
        options.maxEntryBytes = 1000;
        options.shards = 8;
        ResponseCache cache(options);
        constexpr int kThreads = 4;
        constexpr int kOps = 20000;
        std::atomic<quint64> lookups{0};
        std::atomic<quint64> found{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                quint32 seed = 12345 + quint32(t);
                for (int i = 0; i < kOps; ++i) {
                    seed = seed * 1664525u + 1013904223u;
                    const qint64 now = kStart + i;
                    if (seed % 3 == 0) {
                        // Unique keys: every accepted store ends as an entry or an eviction.
                        cache.store("t" + QByteArray::number(t) + "-" + QByteArray::number(i),
                                    entryOfSize(200 + seed % 700, kStart), now);
                    } else {
                        const int other = int(seed >> 8) % kThreads;
                        const int at = qMax(0, i - int(seed >> 16) % 200);
                        const auto hit = cache.lookup(
                            "t" + QByteArray::number(other) + "-" + QByteArray::number(at), now);
                        ++lookups;
                        if (hit) {
                            ++found;
                            QCOMPARE(hit->status, 200); // the entry is intact
                        }
                    }
                }
            });
        }
        for (std::thread &thread : threads)
            thread.join();
        const ResponseCache::Stats s = cache.stats();
        QCOMPARE(s.hits + s.misses, lookups.load());
        QCOMPARE(s.hits, found.load());
        QCOMPARE(quint64(s.entries) + s.evictions + s.expirations, s.stores);
        QVERIFY(s.bytes <= options.maxBytes);
        QVERIFY(s.evictions > 0);
        QVERIFY(s.hits > 0);
        // Bytes agree with the entries actually held.
        cache.setLimits(options.maxBytes, options.maxEntryBytes);
        QVERIFY(cache.stats().bytes <= options.maxBytes);
        cache.clear();
        QCOMPARE(cache.stats().bytes, 0);
    }

    // --- persistent tier ------------------------------------------------------------------

    void sqliteSurvivesReopen()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        SqliteCacheStore::Options options;
        options.path = dir.filePath(QStringLiteral("sub/cache.sqlite"));
        // The writer purges expired rows with this clock at start: it must agree with the
        // fake time the entries were stored at, or the real clock would purge them all.
        options.clock = [] { return kStart; };
        const auto stream = streamEntry(kStart, kHourMs);
        const auto body = entryOfSize(2000, kStart, 1000);
        {
            auto opened = SqliteCacheStore::open(options);
            QVERIFY2(opened.ok(), qPrintable(opened.ok() ? QString() : opened.error().message));
            SqliteCacheStore &store = **opened;
            store.store("stream-key", stream, kStart);
            store.store("body-key", body, kStart);
            store.store("gone-key", entryOfSize(500, kStart), kStart);
            store.remove("gone-key");
            // Visible at once, before the writer commits.
            QVERIFY(store.lookup("stream-key", kStart));
        } // closing commits what is queued
        auto reopened = SqliteCacheStore::open(options);
        QVERIFY(reopened.ok());
        SqliteCacheStore &store = **reopened;
        const auto back = store.lookup("stream-key", kStart + 1);
        QVERIFY(back);
        QCOMPARE(back->events, stream->events);
        QCOMPARE(back->usage, stream->usage);
        QCOMPARE(back->model, stream->model);
        QCOMPARE(back->contentType, stream->contentType);
        QCOMPARE(back->expiresAtMs, stream->expiresAtMs);
        QVERIFY(back->isStream());
        QCOMPARE(store.lookup("body-key", kStart + 999)->body, body->body);
        QVERIFY(!store.lookup("body-key", kStart + 1000)); // expired: never returned
        QVERIFY(!store.lookup("gone-key", kStart));
        QVERIFY(!store.lookup("never-key", kStart));
        QCOMPARE(store.stats().readErrors, 0u);
    }

    void sqlitePurgesExpiredRows()
    {
        QTemporaryDir dir;
        SqliteCacheStore::Options options;
        options.path = dir.filePath(QStringLiteral("cache.sqlite"));
        options.clock = [] { return kStart; };
        auto opened = SqliteCacheStore::open(options);
        QVERIFY(opened.ok());
        SqliteCacheStore &store = **opened;
        store.store("a", entryOfSize(500, kStart, 1000), kStart);
        store.store("b", entryOfSize(500, kStart, 2000), kStart);
        store.store("c", entryOfSize(500, kStart, 3000), kStart);
        QCOMPARE(store.purgeExpired(kStart + 2000), 2);
        QVERIFY(store.lookup("c", kStart));
        QCOMPARE(store.stats().written, 3u);
    }

    void sqliteDeclinesWhatTheMemoryTierDeclines()
    {
        QTemporaryDir dir;
        SqliteCacheStore::Options options;
        options.path = dir.filePath(QStringLiteral("cache.sqlite"));
        options.maxEntryBytes = 1000;
        auto opened = SqliteCacheStore::open(options);
        QVERIFY(opened.ok());
        SqliteCacheStore &store = **opened;
        store.store("a", entryOfSize(500, kStart, kHourMs, 500), kStart);
        store.store("b", entryOfSize(2000, kStart), kStart);
        store.store("c", entryOfSize(500, kStart, 10), kStart + 10);
        store.flush();
        QCOMPARE(store.stats().rejected, 3u);
        QCOMPARE(store.stats().written, 0u);
    }

    void sqliteRefusesAnUnusablePath()
    {
        QTemporaryDir dir;
        SqliteCacheStore::Options options;
        QVERIFY(!SqliteCacheStore::open(options).ok());
        options.path = dir.path(); // a folder, not a file
        QVERIFY(!SqliteCacheStore::open(options).ok());
    }
};

QTEST_GUILESS_MAIN(TestResponseCache)
#include "tst_responsecache.moc"
