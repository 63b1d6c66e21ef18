#include "metering/runningrequests.h"

#include <QTest>

using tollgate::metering::RequestRecord;
using tollgate::metering::RunningRequests;

namespace {

RequestRecord started(const QString &id, qint64 startedAtMs)
{
    RequestRecord r;
    r.id = id;
    r.startedAtMs = startedAtMs;
    return r;
}

} // namespace

class TestRunningRequests : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void offUntilEnabled();
    void beginEndAndSnapshotInStartOrder();
    void boundedAndClearedWhenTurnedOff();
};

void TestRunningRequests::offUntilEnabled()
{
    RunningRequests running;
    QVERIFY(!running.isEnabled());
    running.begin(started(QStringLiteral("a"), 1));
    QVERIFY(running.snapshot().isEmpty());
    running.end(QStringLiteral("a")); // harmless
}

void TestRunningRequests::beginEndAndSnapshotInStartOrder()
{
    RunningRequests running;
    running.setEnabled(true);
    running.begin(started(QStringLiteral("late"), 30));
    running.begin(started(QStringLiteral("early"), 10));
    running.begin(started(QStringLiteral("middle"), 20));
    QList<RequestRecord> now = running.snapshot();
    QCOMPARE(now.size(), 3);
    QCOMPARE(now.at(0).id, QStringLiteral("early"));
    QCOMPARE(now.at(2).id, QStringLiteral("late"));
    running.end(QStringLiteral("middle"));
    running.end(QStringLiteral("never-began"));
    now = running.snapshot();
    QCOMPARE(now.size(), 2);
    QCOMPARE(now.at(1).id, QStringLiteral("late"));
}

void TestRunningRequests::boundedAndClearedWhenTurnedOff()
{
    RunningRequests running;
    running.setEnabled(true);
    for (int i = 0; i < RunningRequests::kMaxRunning + 5; ++i)
        running.begin(started(QString::number(i), i));
    QCOMPARE(running.snapshot().size(), RunningRequests::kMaxRunning);
    running.setEnabled(false);
    QVERIFY(running.snapshot().isEmpty());
}

QTEST_GUILESS_MAIN(TestRunningRequests)
#include "tst_runningrequests.moc"
