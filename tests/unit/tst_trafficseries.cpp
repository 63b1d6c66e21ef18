#include "alerts/requeststatswindow.h"
#include "metering/trafficseries.h"

#include <QTest>

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

using tollgate::alerts::RequestSample;
using tollgate::metering::RequestRecord;
using tollgate::metering::TrafficSeries;
using Histogram = TrafficSeries::Histogram;
using Point = TrafficSeries::Point;
using Window = TrafficSeries::Window;

namespace {

// A multiple of every bucket width (30 min), so bucket edges fall on round offsets from it.
constexpr qint64 kT0 = 1700001000000;

constexpr Window kWindows[] = {Window::FiveMinutes, Window::OneHour, Window::OneDay,
                               Window::SevenDays};

/// A successful request that completed at `completedAtMs`.
RequestRecord finished(qint64 completedAtMs, double latencyMs = 200,
                       const QString &model = QStringLiteral("claude-3-haiku-20240307"))
{
    RequestRecord record;
    record.startedAtMs = completedAtMs - qint64(std::llround(latencyMs));
    record.latencyMs = latencyMs;
    record.ttftMs = latencyMs / 2;
    record.status = 200;
    record.usedModel = model;
    record.cacheStatus = QStringLiteral("miss");
    return record;
}

std::unique_ptr<TrafficSeries> enabledSeries()
{
    auto series = std::make_unique<TrafficSeries>();
    series->setEnabled(true);
    return series;
}

/// The point of `window` that starts at `startMs`, or an invalid point (endMs 0).
Point pointAt(const TrafficSeries::WindowPoints &points, qint64 startMs)
{
    for (const Point &point : points.points) {
        if (point.startMs == startMs)
            return point;
    }
    return Point();
}

quint64 requestsIn(const TrafficSeries::WindowPoints &points)
{
    quint64 total = 0;
    for (const Point &point : points.points)
        total += point.requests;
    return total;
}

/// The sample of rank ceil(p / 100 * n) of sorted `values` (nearest rank).
double exactPercentile(const std::vector<double> &sorted, int percent)
{
    const size_t n = sorted.size();
    const size_t rank = std::max<size_t>(1, (size_t(percent) * n + 99) / 100);
    return sorted[rank - 1];
}

/// Whether `estimate` is within the histogram's documented bound of `exact`.
bool withinBound(double estimate, double exact)
{
    if (exact < 1)
        return std::abs(estimate - exact) <= Histogram::kAbsoluteErrorMs + 1e-12;
    return std::abs(estimate - exact) <= Histogram::kRelativeError * exact;
}

} // namespace

class TestTrafficSeries : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void resolutionsAreTheConsoleWindows();
    void offUntilEnabled();
    void recordsLandInTheBucketOfTheirCompletion();
    void aBucketIsEmptiedOneLapLaterAtEachResolution();
    void windowHoldsItsBucketsOldestFirst();
    void silentIntervalsAreEmptyPoints();
    void lateAndOutOfOrderRecordsCount();
    void recordsOlderThanARingAreIgnoredByIt();
    void errorsAreCountedAsTheAlertsCountThem();
    void cacheHitsCostAndTokensAreCounted();
    void histogramBinsStayWithinTheDocumentedError();
    void percentilesMatchExactOnesWithinTheBound();
    void ttftPercentilesIgnoreRequestsWithoutAByte();
    void modelsPerBucketAreBounded();
    void windowTotalsKeepTheTopModels();
    void totalsUseTheFinestRingThatCoversTheSpan();
    void restoreMergesHistoryIntoRingsWideEnough();
    void concurrentAddsGiveExactTotals();
    void memoryIsFixed();
};

void TestTrafficSeries::resolutionsAreTheConsoleWindows()
{
    // 5 min at 1 s, 1 h at 10 s, 24 h at 2 min, 7 d at 15 min.
    QCOMPARE(TrafficSeries::resolution(Window::FiveMinutes).spanMs(), 5 * 60 * 1000);
    QCOMPARE(TrafficSeries::resolution(Window::FiveMinutes).buckets, 300);
    QCOMPARE(TrafficSeries::resolution(Window::OneHour).spanMs(), 3600 * 1000);
    QCOMPARE(TrafficSeries::resolution(Window::OneHour).buckets, 360);
    QCOMPARE(TrafficSeries::resolution(Window::OneDay).spanMs(), 24 * 3600 * 1000);
    QCOMPARE(TrafficSeries::resolution(Window::OneDay).buckets, 720);
    QCOMPARE(TrafficSeries::resolution(Window::SevenDays).spanMs(), 7 * 24 * 3600 * 1000LL);
    QCOMPARE(TrafficSeries::resolution(Window::SevenDays).buckets, 672);
}

void TestTrafficSeries::offUntilEnabled()
{
    TrafficSeries series;
    QVERIFY(!series.isEnabled());
    series.add(finished(kT0));
    QVERIFY(series.points(Window::FiveMinutes, kT0).points.isEmpty());
    QCOMPARE(series.totals(kT0 - 1000, kT0).requests, quint64(0));

    series.setEnabled(true);
    QCOMPARE(series.totals(kT0 - 1000, kT0).requests, quint64(0)); // not counted while off
    series.add(finished(kT0));
    QCOMPARE(series.totals(kT0 - 1000, kT0).requests, quint64(1));

    // Off drops what the rings held; on again starts empty.
    series.setEnabled(false);
    series.setEnabled(true);
    QCOMPARE(series.totals(kT0 - 1000, kT0).requests, quint64(0));
    QCOMPARE(series.points(Window::FiveMinutes, kT0).points.size(), 300);
}

void TestTrafficSeries::recordsLandInTheBucketOfTheirCompletion()
{
    for (Window window : kWindows) {
        const qint64 width = TrafficSeries::resolution(window).bucketMs;
        const qint64 edge = kT0 + 4 * width; // a bucket edge
        auto series = enabledSeries();
        // Started in the bucket before the edge, completes on it: counts where it completed.
        series->add(finished(edge, 300));
        series->add(finished(edge - 1, 300));
        series->add(finished(edge - 1, 300));
        series->add(finished(edge + width - 1, 300));

        const auto points = series->points(window, edge + width - 1);
        QCOMPARE(points.points.last().startMs, edge);
        QCOMPARE(points.points.last().endMs, edge + width);
        QCOMPARE(points.points.last().requests, quint64(2));
        const Point before = points.points[points.points.size() - 2];
        QCOMPARE(before.startMs, edge - width);
        QCOMPARE(before.requests, quint64(2));
    }
}

void TestTrafficSeries::aBucketIsEmptiedOneLapLaterAtEachResolution()
{
    for (Window window : kWindows) {
        const auto resolution = TrafficSeries::resolution(window);
        auto series = enabledSeries();
        series->add(finished(kT0 + 5));
        series->add(finished(kT0 + 6));
        QCOMPARE(series->points(window, kT0).totals.requests, quint64(2));

        // One lap later the same slot serves a new bucket: the old counts are gone.
        const qint64 lap = kT0 + resolution.spanMs();
        series->add(finished(lap + 5));
        const auto points = series->points(window, lap);
        QCOMPARE(points.totals.requests, quint64(1));
        QCOMPARE(points.points.last().requests, quint64(1));
        QCOMPARE(points.points.last().startMs, lap);

        // A record of the old lap arrives late: its bucket is no longer held, so it is dropped
        // rather than added to the new lap's counts.
        series->add(finished(kT0 + 7));
        QCOMPARE(series->points(window, lap).totals.requests, quint64(1));
        QCOMPARE(series->points(window, lap).points.last().requests, quint64(1));
    }
}

void TestTrafficSeries::windowHoldsItsBucketsOldestFirst()
{
    for (Window window : kWindows) {
        const auto resolution = TrafficSeries::resolution(window);
        auto series = enabledSeries();
        const qint64 now = kT0 + resolution.spanMs() + resolution.bucketMs / 2;
        const qint64 lastStart = kT0 + resolution.spanMs();
        const qint64 firstStart = lastStart - (resolution.buckets - 1) * resolution.bucketMs;
        series->add(finished(firstStart));                           // oldest bucket held
        series->add(finished(firstStart - 1));                       // just out of the window
        series->add(finished(lastStart + 1));                        // the current bucket
        series->add(finished(lastStart - 10 * resolution.bucketMs)); // ten buckets back

        const auto points = series->points(window, now);
        QCOMPARE(points.window, window);
        QCOMPARE(points.bucketMs, resolution.bucketMs);
        QCOMPARE(points.points.size(), resolution.buckets);
        for (int i = 0; i < points.points.size(); ++i) {
            QCOMPARE(points.points[i].startMs, firstStart + i * resolution.bucketMs);
            QCOMPARE(points.points[i].endMs, points.points[i].startMs + resolution.bucketMs);
        }
        QVERIFY(points.points.last().startMs <= now && now < points.points.last().endMs);
        QCOMPARE(points.points.first().requests, quint64(1));
        QCOMPARE(points.points.last().requests, quint64(1));
        QCOMPARE(points.points[resolution.buckets - 11].requests, quint64(1));
        QCOMPARE(points.totals.requests, quint64(3));
        QCOMPARE(requestsIn(points), quint64(3));
        QCOMPARE(points.totals.startMs, firstStart);
        QCOMPARE(points.totals.endMs, lastStart + resolution.bucketMs);
    }
}

void TestTrafficSeries::silentIntervalsAreEmptyPoints()
{
    auto series = enabledSeries();
    series->add(finished(kT0 + 1000, 150));
    series->add(finished(kT0 + 9000, 150));
    const auto points = series->points(Window::FiveMinutes, kT0 + 9500);
    QCOMPARE(points.points.size(), 300);

    const Point busy = pointAt(points, kT0 + 1000);
    QCOMPARE(busy.requests, quint64(1));
    QVERIFY(!std::isnan(busy.latencyP50Ms));

    for (qint64 second = 2; second <= 8; ++second) {
        const Point silent = pointAt(points, kT0 + second * 1000);
        QCOMPARE(silent.endMs, kT0 + (second + 1) * 1000);
        QCOMPARE(silent.requests, quint64(0));
        QCOMPARE(silent.costUsd, 0.0);
        QVERIFY(silent.models.isEmpty());
        QVERIFY(std::isnan(silent.latencyP50Ms));
        QVERIFY(std::isnan(silent.latencyP95Ms));
        QVERIFY(std::isnan(silent.latencyP99Ms));
        QVERIFY(std::isnan(silent.ttftP50Ms));
        QVERIFY(std::isnan(silent.ttftP95Ms));
        QVERIFY(std::isnan(silent.errorRate()));
    }
    // A window with no traffic at all has NaN quantiles in its totals too.
    const auto quiet = series->points(Window::FiveMinutes, kT0 + 3600 * 1000);
    QCOMPARE(quiet.totals.requests, quint64(0));
    QVERIFY(std::isnan(quiet.totals.latencyP95Ms));
}

void TestTrafficSeries::lateAndOutOfOrderRecordsCount()
{
    auto series = enabledSeries();
    const qint64 now = kT0 + 200 * 1000;
    series->add(finished(now));
    series->add(finished(now - 100 * 1000)); // arrives after a newer one
    series->add(finished(now - 1));
    series->add(finished(now - 100 * 1000 + 10));

    const auto fine = series->points(Window::FiveMinutes, now);
    QCOMPARE(pointAt(fine, now - 100 * 1000).requests, quint64(2));
    QCOMPARE(pointAt(fine, now - 1000).requests, quint64(1));
    QCOMPARE(pointAt(fine, now).requests, quint64(1));
    QCOMPARE(fine.totals.requests, quint64(4));

    const auto hour = series->points(Window::OneHour, now);
    QCOMPARE(pointAt(hour, now - 100 * 1000).requests, quint64(2));
    QCOMPARE(pointAt(hour, now - 10 * 1000).requests, quint64(1));
    QCOMPARE(pointAt(hour, now).requests, quint64(1));
    QCOMPARE(series->points(Window::OneDay, now).totals.requests, quint64(4));
    QCOMPARE(series->points(Window::SevenDays, now).totals.requests, quint64(4));
}

void TestTrafficSeries::recordsOlderThanARingAreIgnoredByIt()
{
    auto series = enabledSeries();
    const qint64 now = kT0 + 2 * 3600 * 1000;
    series->add(finished(now));
    // Ten minutes old: out of the 5-minute ring, whose slot already holds a newer second
    // with the same index modulo 300.
    series->add(finished(now - 600 * 1000));
    QCOMPARE(series->points(Window::FiveMinutes, now).totals.requests, quint64(1));
    QCOMPARE(series->points(Window::OneHour, now).totals.requests, quint64(2));
    QCOMPARE(series->points(Window::OneHour, now).points.last().requests, quint64(1));
    QCOMPARE(series->totals(now - 600 * 1000, now).requests, quint64(2));
}

void TestTrafficSeries::errorsAreCountedAsTheAlertsCountThem()
{
    struct Case {
        int status;
        QString error;
    };
    const QList<Case> cases = {
        {200, QString()},
        {200, QStringLiteral("stream cut short")},
        {0, QStringLiteral("client closed the connection")},
        {0, QString()},
        {301, QString()},
        {399, QString()},
        {400, QString()},
        {429, QStringLiteral("Rate limit exceeded. Upgrade for higher limits.")},
        {500, QString()},
        {502, QStringLiteral("upstream HTTP 502")},
        {504, QString()},
    };
    auto series = enabledSeries();
    quint64 expected = 0;
    for (const Case &c : cases) {
        RequestRecord record = finished(kT0);
        record.status = c.status;
        record.error = c.error;
        series->add(record);
        if (RequestSample::fromRecord(record).error)
            ++expected;
    }
    // status >= 400, or an error text (a client gone before a status, a stream cut short).
    QCOMPARE(expected, quint64(7));
    const Point point = series->points(Window::FiveMinutes, kT0).points.last();
    QCOMPARE(point.requests, quint64(cases.size()));
    QCOMPARE(point.errors, expected);
    QCOMPARE(point.errorRate(), 7.0 / 11.0);
}

void TestTrafficSeries::cacheHitsCostAndTokensAreCounted()
{
    auto series = enabledSeries();
    RequestRecord miss = finished(kT0, 600);
    miss.costUsd = 0.5;
    miss.usage.inputTokens = 1200;
    miss.usage.outputTokens = 300;
    miss.usage.cacheReadTokens = 5000; // cached prompt tokens are not input
    miss.stream = true;
    series->add(miss);

    RequestRecord hit = finished(kT0 + 10, 0.05);
    hit.cacheStatus = QStringLiteral("hit");
    hit.savedUsd = 0.25;
    hit.usage.inputTokens = 1200;
    hit.usage.outputTokens = 300;
    series->add(hit);

    RequestRecord bypass = finished(kT0 + 20, 400);
    bypass.cacheStatus = QStringLiteral("bypass");
    bypass.costUsd = -1; // never subtracts
    bypass.savedUsd = -1;
    series->add(bypass);

    const Point point = series->points(Window::FiveMinutes, kT0).points.last();
    QCOMPARE(point.requests, quint64(3));
    QCOMPARE(point.cacheHits, quint64(1));
    QCOMPARE(point.cacheHitRate(), 1.0 / 3.0);
    QCOMPARE(point.streams, quint64(1));
    QCOMPARE(point.costUsd, 0.5);
    QCOMPARE(point.savedUsd, 0.25);
    QCOMPARE(point.inputTokens, qint64(2400));
    QCOMPARE(point.outputTokens, qint64(600));
    QCOMPARE(point.errors, quint64(0));

    // The same numbers at every resolution.
    for (Window window : kWindows) {
        const Point totals = series->points(window, kT0).totals;
        QCOMPARE(totals.cacheHits, quint64(1));
        QCOMPARE(totals.costUsd, 0.5);
        QCOMPARE(totals.savedUsd, 0.25);
        QCOMPARE(totals.inputTokens, qint64(2400));
    }
}

void TestTrafficSeries::histogramBinsStayWithinTheDocumentedError()
{
    QCOMPARE(Histogram::kBins, 8 + 8 * 20 + 1);
    // The documented bound is the real one, rounded up by less than a thousandth of a percent.
    QVERIFY(Histogram::kRelativeError >= std::exp2(1.0 / 16) - 1);
    QVERIFY(Histogram::kRelativeError < std::exp2(1.0 / 16) - 1 + 1e-5);

    // Every value from 1 ms to 2^20 ms reads back within the relative bound, below 1 ms within
    // the absolute one; bins never go backwards.
    int previous = 0;
    for (double ms = 0; ms < 1; ms += 1.0 / 1024) {
        const int bin = Histogram::binOf(ms);
        QVERIFY(bin >= previous);
        previous = bin;
        QVERIFY2(std::abs(Histogram::valueOf(bin) - ms) <= Histogram::kAbsoluteErrorMs,
                 qPrintable(QString::number(ms)));
    }
    for (double ms = 1; ms < 1048576; ms *= 1.0007) {
        const int bin = Histogram::binOf(ms);
        QVERIFY(bin >= previous);
        previous = bin;
        QVERIFY2(std::abs(Histogram::valueOf(bin) - ms) <= Histogram::kRelativeError * ms,
                 qPrintable(QString::number(ms)));
    }
    // 10 minutes is inside the log range; slower counts in the last bin.
    QVERIFY(Histogram::binOf(600000) < Histogram::kBins - 1);
    QCOMPARE(Histogram::binOf(1048576), Histogram::kBins - 1);
    QCOMPARE(Histogram::binOf(std::numeric_limits<double>::infinity()), Histogram::kBins - 1);
    QCOMPARE(Histogram::valueOf(Histogram::kBins - 1), 1048576.0);
    // Clock steps count as instant.
    QCOMPARE(Histogram::binOf(-5), 0);
    QCOMPARE(Histogram::binOf(std::nan("")), 0);
}

void TestTrafficSeries::percentilesMatchExactOnesWithinTheBound()
{
    // Log-uniform latencies from 0.2 ms to 10 min, spread over the last 5 minutes.
    std::mt19937 random(20240611);
    std::uniform_real_distribution<double> exponent(std::log(0.2), std::log(600000.0));
    auto series = enabledSeries();
    const qint64 now = kT0 + 299 * 1000;
    std::vector<double> all;
    std::vector<double> lastSecond;
    for (int i = 0; i < 20000; ++i) {
        const double latency = std::exp(exponent(random));
        const qint64 completed = kT0 + (i % 300) * 1000 + (i % 997);
        series->add(finished(completed, latency));
        all.push_back(latency);
        if (completed >= now)
            lastSecond.push_back(latency);
    }
    std::sort(all.begin(), all.end());
    std::sort(lastSecond.begin(), lastSecond.end());
    QVERIFY(lastSecond.size() > 50);

    const auto points = series->points(Window::FiveMinutes, now);
    const Point bucket = points.points.last();
    QCOMPARE(bucket.requests, quint64(lastSecond.size()));
    const std::pair<double, int> bucketChecks[] = {
        {bucket.latencyP50Ms, 50}, {bucket.latencyP95Ms, 95}, {bucket.latencyP99Ms, 99}};
    for (const auto &[estimate, percent] : bucketChecks) {
        const double exact = exactPercentile(lastSecond, percent);
        QVERIFY2(withinBound(estimate, exact),
                 qPrintable(
                     QStringLiteral("p%1: %2 vs exact %3").arg(percent).arg(estimate).arg(exact)));
    }

    // The window's totals merge the histograms, so their quantiles are as good as one bucket's.
    QCOMPARE(points.totals.requests, quint64(all.size()));
    const std::pair<double, int> totalChecks[] = {{points.totals.latencyP50Ms, 50},
                                                  {points.totals.latencyP95Ms, 95},
                                                  {points.totals.latencyP99Ms, 99},
                                                  {points.totals.ttftP50Ms * 2, 50},
                                                  {points.totals.ttftP95Ms * 2, 95}};
    for (const auto &[estimate, percent] : totalChecks) {
        const double exact = exactPercentile(all, percent);
        QVERIFY2(withinBound(estimate, exact),
                 qPrintable(
                     QStringLiteral("p%1: %2 vs exact %3").arg(percent).arg(estimate).arg(exact)));
    }
    // Coarser rings hold the same samples in fewer buckets, with the same accuracy.
    const Point day = series->points(Window::OneDay, now).totals;
    QCOMPARE(day.requests, quint64(all.size()));
    QVERIFY(withinBound(day.latencyP99Ms, exactPercentile(all, 99)));

    // Sub-millisecond answers (cache hits) are resolved to 1/16 ms, not lumped together.
    auto fast = enabledSeries();
    std::vector<double> hits;
    for (int i = 0; i < 100; ++i) {
        hits.push_back(0.04 + 0.009 * i);
        fast->add(finished(kT0, hits.back()));
    }
    const Point hitPoint = fast->points(Window::FiveMinutes, kT0).points.last();
    QVERIFY(withinBound(hitPoint.latencyP50Ms, exactPercentile(hits, 50)));
    QVERIFY(withinBound(hitPoint.latencyP95Ms, exactPercentile(hits, 95)));
    QVERIFY(hitPoint.latencyP95Ms < 1);
}

void TestTrafficSeries::ttftPercentilesIgnoreRequestsWithoutAByte()
{
    auto series = enabledSeries();
    std::vector<double> ttfts;
    for (int i = 1; i <= 40; ++i) {
        RequestRecord record = finished(kT0, 1000);
        record.ttftMs = 10.0 * i;
        ttfts.push_back(record.ttftMs);
        series->add(record);
    }
    for (int i = 0; i < 60; ++i) {
        RequestRecord gone = finished(kT0, 5000);
        gone.ttftMs = -1; // the client left before the first byte
        series->add(gone);
    }
    const Point point = series->points(Window::FiveMinutes, kT0).points.last();
    QCOMPARE(point.requests, quint64(100));
    QVERIFY(withinBound(point.ttftP50Ms, exactPercentile(ttfts, 50)));
    QVERIFY(withinBound(point.ttftP95Ms, exactPercentile(ttfts, 95)));
    QVERIFY(withinBound(point.latencyP50Ms, 5000));

    RequestRecord none = finished(kT0 + 1000, 10);
    none.ttftMs = -1;
    series->add(none);
    const Point alone = series->points(Window::FiveMinutes, kT0 + 1000).points.last();
    QCOMPARE(alone.requests, quint64(1));
    QVERIFY(!std::isnan(alone.latencyP50Ms));
    QVERIFY(std::isnan(alone.ttftP50Ms));
}

void TestTrafficSeries::modelsPerBucketAreBounded()
{
    auto series = enabledSeries();
    // Twelve models in one second: model-k sends k requests.
    for (int k = 1; k <= 12; ++k) {
        for (int i = 0; i < k; ++i)
            series->add(finished(kT0, 100, QStringLiteral("model-%1").arg(k, 2, 10, QChar('0'))));
    }
    // A name too long for any real model, and a request without one.
    series->add(finished(kT0, 100, QString(TrafficSeries::kMaxModelNameLength + 1, QChar('x'))));
    RequestRecord unnamed = finished(kT0);
    unnamed.usedModel.clear();
    unnamed.requestedModel = QStringLiteral("asked-for");
    series->add(unnamed);

    const Point point = series->points(Window::FiveMinutes, kT0).points.last();
    QCOMPARE(point.requests, quint64(78 + 2));
    QCOMPARE(point.models.size(), TrafficSeries::kModelsPerBucket);
    // The first eight names seen get rows, most requests first; the rest are "other".
    QCOMPARE(point.models.first().model, QStringLiteral("model-08"));
    QCOMPARE(point.models.first().requests, quint64(8));
    QCOMPARE(point.models.last().model, QStringLiteral("model-01"));
    quint64 named = 0;
    for (int i = 0; i < point.models.size(); ++i) {
        named += point.models[i].requests;
        if (i > 0)
            QVERIFY(point.models[i - 1].requests >= point.models[i].requests);
    }
    QCOMPARE(named, quint64(36));
    QCOMPARE(point.otherModelRequests, quint64(9 + 10 + 11 + 12 + 1 + 1));
    QCOMPARE(named + point.otherModelRequests, point.requests);

    // A bucket that saw few models names them all, including the one asked for.
    auto small = enabledSeries();
    small->add(unnamed);
    RequestRecord anonymous = finished(kT0);
    anonymous.usedModel.clear();
    small->add(anonymous);
    const Point few = small->points(Window::FiveMinutes, kT0).points.last();
    QCOMPARE(few.models.size(), 2);
    QCOMPARE(few.otherModelRequests, quint64(0));
    QStringList names = {few.models[0].model, few.models[1].model};
    names.sort();
    QCOMPARE(names, (QStringList{QStringLiteral("asked-for"), QStringLiteral("unknown")}));
}

void TestTrafficSeries::windowTotalsKeepTheTopModels()
{
    auto series = enabledSeries();
    // Two seconds with eight models each, six of them different: fourteen names in the window.
    for (int second = 0; second < 2; ++second) {
        for (int k = 0; k < 8; ++k) {
            const int model = second * 6 + k; // models 6 and 7 appear in both seconds
            for (int i = 0; i <= model; ++i)
                series->add(finished(kT0 + second * 1000, 100, QStringLiteral("m%1").arg(model)));
        }
    }
    const Point totals = series->points(Window::FiveMinutes, kT0 + 1000).totals;
    QCOMPARE(totals.models.size(), TrafficSeries::kModelsPerBucket);
    // m6..m13 have the most requests (m6 and m7 counted in both seconds); ties by name.
    QCOMPARE(totals.models[0].model, QStringLiteral("m7"));
    QCOMPARE(totals.models[0].requests, quint64(16));
    QCOMPARE(totals.models[1].model, QStringLiteral("m13"));
    QCOMPARE(totals.models[2].model, QStringLiteral("m6"));
    QCOMPARE(totals.models[2].requests, quint64(14));
    QCOMPARE(totals.models[7].model, QStringLiteral("m8"));
    QCOMPARE(totals.models[7].requests, quint64(9));
    quint64 named = 0;
    for (const auto &row : totals.models)
        named += row.requests;
    QCOMPARE(named + totals.otherModelRequests, totals.requests);
    QCOMPARE(totals.otherModelRequests, quint64(1 + 2 + 3 + 4 + 5 + 6));
}

void TestTrafficSeries::totalsUseTheFinestRingThatCoversTheSpan()
{
    auto series = enabledSeries();
    const qint64 now = kT0 + 8 * 24 * 3600 * 1000LL + 12345; // eight days in
    const qint64 hour = 3600 * 1000;
    const QList<qint64> ages = {0, 59 * 1000, 30 * 60 * 1000, 20 * hour, 3 * 24 * hour};
    for (qint64 age : ages) {
        RequestRecord record = finished(now - age);
        record.costUsd = 1;
        series->add(record);
    }

    // The last minute: from the 1-second ring, starting at the second that holds sinceMs.
    Point minute = series->totals(now - 60 * 1000, now);
    QCOMPARE(minute.requests, quint64(2));
    QCOMPARE(minute.startMs, (now - 60 * 1000) / 1000 * 1000);
    QCOMPARE(minute.endMs, now / 1000 * 1000 + 1000);

    // The last hour: 5 minutes no longer reach back, the 10-second ring does.
    const Point lastHour = series->totals(now - hour + 30 * 1000, now);
    QCOMPARE(lastHour.requests, quint64(3));
    QCOMPARE(lastHour.costUsd, 3.0);
    QCOMPARE(lastHour.startMs, (now - hour + 30 * 1000) / 10000 * 10000);

    // Since midnight (UTC) of the day 8 days in: the 2-minute ring.
    const qint64 midnight = now / (24 * hour) * (24 * hour);
    const Point today = series->totals(midnight, now);
    QCOMPARE(today.startMs, midnight);
    quint64 sinceMidnight = 0;
    for (qint64 age : ages)
        sinceMidnight += now - age >= midnight ? 1 : 0;
    QCOMPARE(today.requests, sinceMidnight);

    // The last four days: the 15-minute ring.
    const Point days = series->totals(now - 4 * 24 * hour, now);
    QCOMPARE(days.requests, quint64(5));
    QCOMPARE(days.startMs, (now - 4 * 24 * hour) / 900000 * 900000);

    // Further back than a week: as far as the week's ring goes, and it says so.
    const Point month = series->totals(now - 30 * 24 * hour, now);
    QCOMPARE(month.requests, quint64(5));
    QVERIFY(month.startMs > now - 30 * 24 * hour);
    QCOMPARE(month.startMs, (now / 900000 - 671) * 900000);

    // An empty span.
    QCOMPARE(series->totals(now + 1, now).requests, quint64(0));
}

void TestTrafficSeries::restoreMergesHistoryIntoRingsWideEnough()
{
    auto series = enabledSeries();
    const qint64 now = kT0 + 3600 * 1000;
    // One minute of history from a rollup: whole in a 2-minute and a 15-minute bucket, but a
    // 1-second or 10-second ring cannot split it.
    TrafficSeries::Aggregate minute;
    minute.startMs = now - 20 * 60 * 1000;
    minute.durationMs = 60 * 1000;
    minute.requests = 50;
    minute.errors = 5;
    minute.cacheHits = 10;
    minute.streams = 20;
    minute.inputTokens = 5000;
    minute.outputTokens = 700;
    minute.costUsd = 1.5;
    minute.savedUsd = 0.5;
    for (int i = 0; i < 50; ++i) {
        minute.latency.add(100 + i);
        minute.ttft.add(40);
    }
    minute.models = {{QStringLiteral("claude-sonnet-4-20250514"), 30},
                     {QStringLiteral("claude-3-haiku-20240307"), 15}};
    minute.otherModelRequests = 5;
    QCOMPARE(series->restore(minute), 2);

    // A live request in the same two minutes adds to the restored bucket.
    series->add(finished(minute.startMs + 1000, 120, QStringLiteral("claude-3-haiku-20240307")));

    QCOMPARE(series->points(Window::FiveMinutes, now).totals.requests, quint64(0));
    QCOMPARE(series->points(Window::OneHour, now).totals.requests, quint64(1));
    const auto day = series->points(Window::OneDay, now);
    const Point restored = pointAt(day, minute.startMs);
    QCOMPARE(restored.requests, quint64(51));
    QCOMPARE(restored.errors, quint64(5));
    QCOMPARE(restored.cacheHits, quint64(10));
    QCOMPARE(restored.streams, quint64(20));
    QCOMPARE(restored.inputTokens, qint64(5000));
    QCOMPARE(restored.costUsd, 1.5);
    QCOMPARE(restored.savedUsd, 0.5);
    QVERIFY(withinBound(restored.latencyP50Ms, 124));
    QVERIFY(withinBound(restored.ttftP50Ms, 40));
    QCOMPARE(restored.models.size(), 2);
    QCOMPARE(restored.models[0].requests, quint64(30));
    QCOMPARE(restored.models[1].requests, quint64(16));
    QCOMPARE(restored.otherModelRequests, quint64(5));
    QCOMPARE(series->points(Window::SevenDays, now).totals.requests, quint64(51));

    // A span across a 2-minute edge fits only the 15-minute ring.
    TrafficSeries::Aggregate straddling;
    straddling.startMs = now - 30 * 60 * 1000 + 90 * 1000;
    straddling.durationMs = 60 * 1000;
    straddling.requests = 7;
    QCOMPARE(series->restore(straddling), 1);
    QCOMPARE(series->points(Window::SevenDays, now).totals.requests, quint64(58));
    QCOMPARE(series->points(Window::OneDay, now).totals.requests, quint64(51));
}

void TestTrafficSeries::concurrentAddsGiveExactTotals()
{
    auto series = enabledSeries();
    constexpr int kThreads = 4;
    constexpr int kPerThread = 20000;
    const qint64 now = kT0 + 299 * 1000;
    std::vector<std::thread> workers;
    for (int t = 0; t < kThreads; ++t) {
        workers.emplace_back([&series, t, now] {
            for (int i = 0; i < kPerThread; ++i) {
                // Spread over the whole 5 minutes, so adds cross buckets while others fill them.
                RequestRecord record = finished(now - (i % 300) * 1000, 10 + i % 50,
                                                QStringLiteral("model-%1").arg(t));
                record.costUsd = 0.25; // exact in binary, so the sum is exact
                record.usage.inputTokens = 3;
                record.usage.outputTokens = 2;
                record.status = i % 10 == 0 ? 500 : 200;
                series->add(record);
            }
        });
    }
    // A reader on its own timer meanwhile.
    for (int i = 0; i < 20; ++i)
        QVERIFY(series->points(Window::FiveMinutes, now).totals.requests <=
                quint64(kThreads) * kPerThread);
    for (std::thread &worker : workers)
        worker.join();

    const quint64 total = quint64(kThreads) * kPerThread;
    for (Window window : kWindows) {
        const Point totals = series->points(window, now).totals;
        QCOMPARE(totals.requests, total);
        QCOMPARE(totals.errors, total / 10);
        QCOMPARE(totals.costUsd, 0.25 * double(total));
        QCOMPARE(totals.inputTokens, qint64(3 * total));
        QCOMPARE(totals.outputTokens, qint64(2 * total));
        QCOMPARE(totals.models.size(), kThreads);
        for (const auto &row : totals.models)
            QCOMPARE(row.requests, quint64(kPerThread));
    }
    QCOMPARE(series->totals(now - 299 * 1000, now).requests, total);
}

void TestTrafficSeries::memoryIsFixed()
{
    // The rings are allocated once and hold counters in place: 2,052 buckets of under 1.7 KB.
    QCOMPARE(TrafficSeries::totalBuckets(), 300 + 360 + 720 + 672);
    const std::size_t bytes = TrafficSeries::fixedMemoryBytes();
    QVERIFY2(bytes <= 3584 * 1024, qPrintable(QString::number(bytes)));
    QVERIFY(bytes >= std::size_t(TrafficSeries::totalBuckets()) * 2 * Histogram::kBins * 4);

    // A week of a new model name every request keeps at most kModelsPerBucket rows a bucket.
    auto series = enabledSeries();
    const qint64 width = TrafficSeries::resolution(Window::SevenDays).bucketMs;
    for (int i = 0; i < 20000; ++i)
        series->add(finished(kT0 + qint64(i) * width / 16, 100, QStringLiteral("m%1").arg(i)));
    const qint64 now = kT0 + 20000LL * width / 16;
    for (Window window : kWindows) {
        const auto points = series->points(window, now);
        QCOMPARE(points.points.size(), TrafficSeries::resolution(window).buckets);
        for (const Point &point : points.points)
            QVERIFY(point.models.size() <= TrafficSeries::kModelsPerBucket);
        QVERIFY(points.totals.models.size() <= TrafficSeries::kModelsPerBucket);
    }
}

QTEST_GUILESS_MAIN(TestTrafficSeries)
#include "tst_trafficseries.moc"
