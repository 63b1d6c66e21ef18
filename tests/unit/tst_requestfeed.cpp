#include "metering/requestfeed.h"

#include <QTest>

#include <thread>
#include <vector>

using tollgate::metering::RequestFeed;
using tollgate::metering::RequestRecord;

namespace {

RequestRecord record(int n)
{
    RequestRecord r;
    r.id = QString::number(n);
    return r;
}

QStringList ids(const RequestFeed::Batch &batch)
{
    QStringList out;
    for (const RequestRecord &r : batch.records)
        out.append(r.id);
    return out;
}

} // namespace

class TestRequestFeed : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void offUntilACapacityIsSet()
    {
        RequestFeed feed;
        feed.append(record(1));
        QCOMPARE(feed.lastId(), 0u);
        QVERIFY(feed.since(0).records.isEmpty());
        feed.setCapacity(10);
        feed.append(record(2));
        QCOMPARE(feed.lastId(), 1u);
        QCOMPARE(ids(feed.since(0)), QStringList{"2"});
    }

    void consumersReadOnlyWhatIsNew()
    {
        RequestFeed feed;
        feed.setCapacity(100);
        for (int n = 1; n <= 5; ++n)
            feed.append(record(n));
        RequestFeed::Batch first = feed.since(0, 3);
        QCOMPARE(ids(first), (QStringList{"1", "2", "3"}));
        QCOMPARE(first.lastId, 3u);
        QCOMPARE(first.lost, 0u);
        RequestFeed::Batch rest = feed.since(first.lastId);
        QCOMPARE(ids(rest), (QStringList{"4", "5"}));
        QCOMPARE(rest.lastId, 5u);
        // Nothing new: the same id comes back, with nothing in it.
        RequestFeed::Batch none = feed.since(rest.lastId);
        QVERIFY(none.records.isEmpty());
        QCOMPARE(none.lastId, 5u);
    }

    void aSlowConsumerLearnsWhatItMissed()
    {
        RequestFeed feed;
        feed.setCapacity(3);
        for (int n = 1; n <= 10; ++n)
            feed.append(record(n));
        RequestFeed::Batch batch = feed.since(2);
        QCOMPARE(ids(batch), (QStringList{"8", "9", "10"}));
        QCOMPARE(batch.lost, 5u); // 3..7 left the ring unread
        QCOMPARE(batch.lastId, 10u);
        // Shrinking keeps the newest.
        feed.setCapacity(1);
        QCOMPARE(ids(feed.since(0)), QStringList{"10"});
        feed.setCapacity(0);
        QVERIFY(feed.since(0).records.isEmpty());
    }

    void concurrentWritersLoseNothing()
    {
        RequestFeed feed;
        feed.setCapacity(100000);
        std::vector<std::thread> writers;
        for (int t = 0; t < 4; ++t)
            writers.emplace_back([&feed, t] {
                for (int n = 0; n < 5000; ++n)
                    feed.append(record(t * 5000 + n));
            });
        quint64 seen = 0;
        quint64 last = 0;
        // A reader runs alongside; every record arrives exactly once.
        while (seen < 20000) {
            RequestFeed::Batch batch = feed.since(last, 777);
            QCOMPARE(batch.lost, 0u);
            seen += quint64(batch.records.size());
            last = batch.lastId;
        }
        for (std::thread &writer : writers)
            writer.join();
        QCOMPARE(seen, 20000u);
        QCOMPARE(feed.lastId(), 20000u);
    }
};

QTEST_GUILESS_MAIN(TestRequestFeed)
#include "tst_requestfeed.moc"
