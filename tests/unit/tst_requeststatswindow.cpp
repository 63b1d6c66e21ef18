#include "alerts/requeststatswindow.h"
#include "metering/metrics.h"

#include <QRegularExpression>
#include <QTest>
#include <QThread>

#include <cmath>
#include <memory>
#include <vector>

using tollgate::alerts::RequestSample;
using tollgate::alerts::RequestStats;
using tollgate::alerts::RequestStatsWindow;
using tollgate::metering::RequestRecord;

namespace {

constexpr qint64 kT0 = 1700000000000; // a whole second, in ms since epoch

RequestSample sample(qint64 atMs, double seconds = 0.2, bool error = false, double cost = 0)
{
    RequestSample s;
    s.atMs = atMs;
    s.durationSeconds = seconds;
    s.error = error;
    s.costUsd = cost;
    return s;
}

/// Stats whose durations are `counts` per bucket of kDurationBounds (+Inf last).
RequestStats histogram(const RequestStats::DurationCounts &counts)
{
    RequestStats stats;
    stats.durations = counts;
    for (quint64 count : counts)
        stats.requests += count;
    return stats;
}

} // namespace

class TestRequestStatsWindow : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void countsTheSecondsOfTheWindow();
    void windowEdgesAreWholeSeconds();
    void aBucketIsReusedOneSpanLater();
    void windowIsClampedToTheSpan();
    void changingTheSpanKeepsWhatFits();
    void samplesFromRecordsCountErrorsAsMetricsDoes();
    void errorRateWithoutRequestsIsNaN();
    void quantileFollowsHistogramQuantile();
    void boundsAreThoseOfTheDurationHistogram();
    void concurrentAddsAreAllCounted();
};

void TestRequestStatsWindow::countsTheSecondsOfTheWindow()
{
    RequestStatsWindow window(60);
    window.add(sample(kT0, 0.05, false, 0.25));
    window.add(sample(kT0 + 1500, 0.7, true, 0.5));
    window.add(sample(kT0 + 1999, 3.0, false, 0));
    window.add(sample(kT0 + 30000, 20.0, true, 1.0));

    const RequestStats all = window.stats(kT0 + 30000, 60);
    QCOMPARE(all.requests, quint64(4));
    QCOMPARE(all.errors, quint64(2));
    QCOMPARE(all.costUsd, 1.75);
    // 0.05 -> (0, 0.1], 0.7 -> (0.5, 1], 3 -> (2, 5], 20 -> above 10
    QCOMPARE(all.durations, (RequestStats::DurationCounts{1, 0, 1, 0, 1, 0, 1}));

    // The last 29 s up to kT0 + 30 s: only the sample of second 30.
    const RequestStats recent = window.stats(kT0 + 30000, 29);
    QCOMPARE(recent.requests, quint64(1));
    QCOMPARE(recent.errors, quint64(1));
    QCOMPARE(recent.costUsd, 1.0);
}

void TestRequestStatsWindow::windowEdgesAreWholeSeconds()
{
    // A 5 s window at any moment of second S holds seconds S-4 .. S, both whole.
    RequestStatsWindow window(10);
    window.add(sample(kT0 - 1));    // second -1
    window.add(sample(kT0));        // second 0
    window.add(sample(kT0 + 4999)); // second 4
    window.add(sample(kT0 + 5000)); // second 5

    QCOMPARE(window.stats(kT0 + 4000, 5).requests, quint64(2));  // seconds 0..4
    QCOMPARE(window.stats(kT0 + 4999, 5).requests, quint64(2));  // still second 4
    QCOMPARE(window.stats(kT0 + 5000, 5).requests, quint64(2));  // seconds 1..5
    QCOMPARE(window.stats(kT0 + 3999, 5).requests, quint64(2));  // seconds -1..3
    QCOMPARE(window.stats(kT0 + 8999, 5).requests, quint64(2));  // seconds 4..8
    QCOMPARE(window.stats(kT0 + 9000, 5).requests, quint64(1));  // seconds 5..9
    QCOMPARE(window.stats(kT0 + 10000, 5).requests, quint64(0)); // seconds 6..10
    // Samples from seconds after "now" are not counted yet.
    QCOMPARE(window.stats(kT0 + 999, 10).requests, quint64(2)); // seconds -9..0
}

void TestRequestStatsWindow::aBucketIsReusedOneSpanLater()
{
    RequestStatsWindow window(3);
    window.add(sample(kT0, 0.2, true));
    window.add(sample(kT0 + 3000, 0.2, false)); // same bucket, one span later: starts it afresh
    QCOMPARE(window.stats(kT0 + 3000, 3).requests, quint64(1));
    QCOMPARE(window.stats(kT0 + 3000, 3).errors, quint64(0));
    // A late sample of a second the window has moved past is dropped, not added to the new one.
    window.add(sample(kT0 + 500, 0.2, true));
    QCOMPARE(window.stats(kT0 + 3000, 3).requests, quint64(1));
    QCOMPARE(window.stats(kT0 + 3000, 3).errors, quint64(0));
    // After a long silence nothing old is counted again.
    QCOMPARE(window.stats(kT0 + 3000 + 3 * 3000, 3).requests, quint64(0));
}

void TestRequestStatsWindow::windowIsClampedToTheSpan()
{
    RequestStatsWindow window(5);
    QCOMPARE(window.spanSeconds(), 5);
    for (int i = 0; i < 10; ++i)
        window.add(sample(kT0 + i * 1000));
    QCOMPARE(window.stats(kT0 + 9000, 3600).requests, quint64(5));
    QCOMPARE(window.stats(kT0 + 9000, 0).requests, quint64(0));
    QCOMPARE(RequestStatsWindow(0).spanSeconds(), 1);
    QCOMPARE(RequestStatsWindow(10000000).spanSeconds(), RequestStatsWindow::kMaxSpanSeconds);
}

void TestRequestStatsWindow::changingTheSpanKeepsWhatFits()
{
    RequestStatsWindow window(10);
    for (int i = 0; i < 10; ++i)
        window.add(sample(kT0 + i * 1000, 0.2, i % 2 == 0));
    QCOMPARE(window.stats(kT0 + 9000, 10).requests, quint64(10));

    window.setSpanSeconds(20); // growing keeps everything
    QCOMPARE(window.spanSeconds(), 20);
    QCOMPARE(window.stats(kT0 + 9000, 20).requests, quint64(10));
    QCOMPARE(window.stats(kT0 + 9000, 20).errors, quint64(5));

    window.setSpanSeconds(3); // shrinking keeps the newest seconds
    QCOMPARE(window.stats(kT0 + 9000, 3).requests, quint64(3));
    window.setSpanSeconds(10); // and what was dropped stays dropped
    QCOMPARE(window.stats(kT0 + 9000, 10).requests, quint64(3));
    window.add(sample(kT0 + 9500));
    QCOMPARE(window.stats(kT0 + 9000, 10).requests, quint64(4));
}

void TestRequestStatsWindow::samplesFromRecordsCountErrorsAsMetricsDoes()
{
    RequestRecord record;
    record.startedAtMs = kT0;
    record.latencyMs = 1234.4;
    record.status = 200;
    record.costUsd = 0.02;
    RequestSample s = RequestSample::fromRecord(record);
    QCOMPARE(s.atMs, kT0 + 1234); // completed at start + latency
    QCOMPARE(s.durationSeconds, 1.2344);
    QCOMPARE(s.error, false);
    QCOMPARE(s.costUsd, 0.02);

    // ai_errors_total counts every status >= 400 (429 and client errors too) and failures after
    // a status was sent (a cut stream) or before any (the client left).
    const struct {
        int status;
        const char *error;
        bool counted;
    } cases[] = {{200, "", false},
                 {304, "", false},
                 {400, "bad request", true},
                 {429, "", true},
                 {500, "upstream HTTP 500", true},
                 {529, "", true},
                 {200, "stream interrupted", true},
                 {0, "client closed the connection", true}};
    for (const auto &c : cases) {
        record.status = c.status;
        record.error = QString::fromLatin1(c.error);
        QVERIFY2(RequestSample::fromRecord(record).error == c.counted,
                 qPrintable(QStringLiteral("%1 %2").arg(c.status).arg(c.error)));
    }

    // A negative latency (a clock step) counts as instant and a negative cost as none.
    record.latencyMs = -5;
    record.costUsd = -1;
    s = RequestSample::fromRecord(record);
    QCOMPARE(s.atMs, kT0);
    QCOMPARE(s.durationSeconds, 0.0);
    QCOMPARE(s.costUsd, 0.0);
}

void TestRequestStatsWindow::errorRateWithoutRequestsIsNaN()
{
    QVERIFY(std::isnan(RequestStats().errorRate()));
    QVERIFY(std::isnan(RequestStats().durationQuantile(0.95)));
    RequestStats stats;
    stats.requests = 8;
    stats.errors = 2;
    QCOMPARE(stats.errorRate(), 0.25);
}

void TestRequestStatsWindow::quantileFollowsHistogramQuantile()
{
    // Expected values are what Prometheus' histogram_quantile() answers for the same buckets
    // (0.1, 0.5, 1, 2, 5, 10, +Inf): linear interpolation inside the bucket holding the rank.
    // 100 requests of 0.3 s: rank 95 of 100 in (0.1, 0.5].
    QCOMPARE(histogram({0, 100, 0, 0, 0, 0, 0}).durationQuantile(0.95), 0.1 + 0.4 * 0.95);
    // Exactly 95 % at or under 2 s: the p95 is the bound itself, so `> 2` does not hold.
    QCOMPARE(histogram({0, 0, 0, 95, 5, 0, 0}).durationQuantile(0.95), 2.0);
    // 94 %: the rank falls into (2, 5], one of six observations in.
    QCOMPARE(histogram({0, 0, 0, 94, 6, 0, 0}).durationQuantile(0.95), 2.0 + 3.0 * (1.0 / 6.0));
    // The first bucket starts at 0.
    QCOMPARE(histogram({1, 0, 0, 0, 0, 0, 0}).durationQuantile(0.5), 0.05);
    // Beyond the largest bound Prometheus answers that bound.
    QCOMPARE(histogram({0, 0, 0, 0, 0, 1, 99}).durationQuantile(0.95), 10.0);
    QCOMPARE(histogram({0, 0, 0, 0, 0, 0, 3}).durationQuantile(0.5), 10.0);
    // Empty buckets below the rank are skipped.
    QCOMPARE(histogram({10, 0, 0, 0, 0, 10, 0}).durationQuantile(0.75), 5.0 + 5.0 * 0.5);
    QCOMPARE(histogram({0, 1, 0, 0, 0, 0, 0}).durationQuantile(-1),
             -std::numeric_limits<double>::infinity());
    QCOMPARE(histogram({0, 1, 0, 0, 0, 0, 0}).durationQuantile(2),
             std::numeric_limits<double>::infinity());

    // Through the window: a value on a bound belongs to that bound's bucket.
    RequestStatsWindow window(10);
    for (double seconds : {0.1, 0.5, 2.0, 2.0000001})
        window.add(sample(kT0, seconds));
    QCOMPARE(window.stats(kT0, 10).durations, (RequestStats::DurationCounts{1, 1, 0, 1, 1, 0, 0}));
}

void TestRequestStatsWindow::boundsAreThoseOfTheDurationHistogram()
{
    // The latency rules compute the quantile Prometheus computes from ai_request_duration_seconds
    // only while both use the same buckets.
    tollgate::metering::Metrics metrics;
    RequestRecord record;
    record.usedModel = QStringLiteral("m");
    record.status = 200;
    metrics.record(record);
    const QString text = QString::fromUtf8(metrics.renderPrometheus());
    static const QRegularExpression bucket(
        QStringLiteral("^ai_request_duration_seconds_bucket\\{model=\"m\",le=\"([^\"]+)\"\\}"),
        QRegularExpression::MultilineOption);
    QList<double> bounds;
    for (auto it = bucket.globalMatch(text); it.hasNext();) {
        const QString le = it.next().captured(1);
        if (le != QLatin1String("+Inf"))
            bounds.append(le.toDouble());
    }
    const QList<double> expected(RequestStatsWindow::kDurationBounds.begin(),
                                 RequestStatsWindow::kDurationBounds.end());
    QCOMPARE(bounds, expected);
}

void TestRequestStatsWindow::concurrentAddsAreAllCounted()
{
    RequestStatsWindow window(60);
    constexpr int kThreads = 4;
    constexpr int kPerThread = 20000;
    std::vector<std::unique_ptr<QThread>> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back(QThread::create([&window, t] {
            for (int i = 0; i < kPerThread; ++i)
                window.add(sample(kT0 + (i % 10) * 1000, 0.2, (i + t) % 4 == 0, 0.001));
        }));
        threads.back()->start();
    }
    // Reading while they write must not disturb them.
    for (int i = 0; i < 100; ++i)
        QVERIFY(window.stats(kT0 + 9000, 60).requests <= quint64(kThreads * kPerThread));
    for (auto &thread : threads)
        QVERIFY(thread->wait(30000));
    const RequestStats stats = window.stats(kT0 + 9000, 60);
    QCOMPARE(stats.requests, quint64(kThreads * kPerThread));
    QCOMPARE(stats.errors, quint64(kThreads * kPerThread / 4));
    QCOMPARE(stats.durations[1], quint64(kThreads * kPerThread));
    QVERIFY(std::fabs(stats.costUsd - kThreads * kPerThread * 0.001) < 1e-6);
}

QTEST_GUILESS_MAIN(TestRequestStatsWindow)
#include "tst_requeststatswindow.moc"
