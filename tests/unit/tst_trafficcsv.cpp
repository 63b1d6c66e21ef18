#include "metering/trafficcsv.h"

#include <QTest>

using tollgate::metering::RequestRecord;
using tollgate::metering::trafficCsv;
using tollgate::metering::TrafficSeries;

namespace {

// On a 5-minute boundary, so the window's buckets start on whole seconds from it.
constexpr qint64 kT0 = 1700001000000;

RequestRecord finished(qint64 completedAtMs, const QString &model, double costUsd, int status)
{
    RequestRecord record;
    record.startedAtMs = completedAtMs - 100;
    record.latencyMs = 100;
    record.status = status;
    record.usedModel = model;
    record.costUsd = costUsd;
    record.cacheStatus = QStringLiteral("miss");
    return record;
}

QList<QStringList> rows(const QByteArray &csv)
{
    QList<QStringList> out;
    for (const QString &line : QString::fromUtf8(csv).split(QStringLiteral("\r\n"))) {
        if (!line.isEmpty())
            out.append(line.split(QLatin1Char(',')));
    }
    return out;
}

} // namespace

class TestTrafficCsv : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void oneRowPerBucketWithARunningCost();
    void emptyBucketsLeaveQuantilesBlank();
    void modelNamesAreQuoted();
};

void TestTrafficCsv::oneRowPerBucketWithARunningCost()
{
    TrafficSeries series;
    series.setEnabled(true);
    series.add(finished(kT0 + 1500, QStringLiteral("claude-3-haiku-20240307"), 0.25, 200));
    series.add(finished(kT0 + 1700, QStringLiteral("claude-3-haiku-20240307"), 0.5, 500));
    series.add(finished(kT0 + 3200, QStringLiteral("gpt-4o-mini"), 1.0, 200));
    const auto window = series.points(TrafficSeries::Window::FiveMinutes, kT0 + 3500);
    const QList<QStringList> table = rows(trafficCsv(window));

    QCOMPARE(table.size(), 1 + window.points.size());
    const QStringList header = table.first();
    QCOMPARE(header.first(), QStringLiteral("start_utc"));
    const auto column = [&header](const char *name) { return header.indexOf(QLatin1String(name)); };
    const QStringList &last = table.last();
    QCOMPARE(last[column("end_utc")], QStringLiteral("2023-11-14T22:30:04.000Z"));
    QCOMPARE(last[column("cumulative_cost_usd")].toDouble(), 1.75);

    const QStringList &second = table[table.size() - 3]; // the bucket [kT0+1 s, kT0+2 s)
    QCOMPARE(second[column("start_utc")], QStringLiteral("2023-11-14T22:30:01.000Z"));
    QCOMPARE(second[column("requests")], QStringLiteral("2"));
    QCOMPARE(second[column("errors")], QStringLiteral("1"));
    QCOMPARE(second[column("error_rate")].toDouble(), 0.5);
    QCOMPARE(second[column("cost_usd")].toDouble(), 0.75);
    QCOMPARE(second[column("models")], QStringLiteral("claude-3-haiku-20240307=2"));
    QVERIFY(std::abs(second[column("latency_p50_ms")].toDouble() - 100) <= 100 * 0.045);
}

void TestTrafficCsv::emptyBucketsLeaveQuantilesBlank()
{
    TrafficSeries series;
    series.setEnabled(true);
    const auto window = series.points(TrafficSeries::Window::OneHour, kT0);
    const QList<QStringList> table = rows(trafficCsv(window));
    QCOMPARE(table.size(), 1 + 360);
    const QStringList &header = table.first();
    for (const QStringList &row : table.mid(1)) {
        QCOMPARE(row.size(), header.size());
        QCOMPARE(row[header.indexOf(QStringLiteral("requests"))], QStringLiteral("0"));
        QCOMPARE(row[header.indexOf(QStringLiteral("latency_p95_ms"))], QString());
        QCOMPARE(row[header.indexOf(QStringLiteral("error_rate"))], QString());
    }
}

void TestTrafficCsv::modelNamesAreQuoted()
{
    // Clients name models freely: a comma or a quote must not break the row.
    TrafficSeries series;
    series.setEnabled(true);
    series.add(finished(kT0 + 500, QStringLiteral("odd,\"model\""), 0, 200));
    series.add(finished(kT0 + 600, QStringLiteral("plain"), 0, 200));
    const QString csv =
        QString::fromUtf8(trafficCsv(series.points(TrafficSeries::Window::FiveMinutes, kT0 + 900)));
    QVERIFY2(csv.contains(QStringLiteral(",\"odd,\"\"model\"\"=1;plain=1\"\r\n")),
             qPrintable(csv.right(200)));
}

QTEST_GUILESS_MAIN(TestTrafficCsv)
#include "tst_trafficcsv.moc"
