#include "alerts/requeststatswindow.h"

#include <QMutexLocker>

#include <algorithm>
#include <cmath>

namespace tollgate::alerts {

namespace {

constexpr int kBucketCount = int(RequestStatsWindow::kDurationBounds.size()) + 1;
static_assert(std::tuple_size_v<RequestStats::DurationCounts> == kBucketCount);

qint64 secondOf(qint64 ms)
{
    // Floor, not truncation: a negative time still lands in the second that holds it.
    return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

int durationBucket(double seconds)
{
    // Same rule as Metrics' histogram: a value equal to a bound belongs to that bound's bucket.
    int bucket = 0;
    while (bucket < kBucketCount - 1 && seconds > RequestStatsWindow::kDurationBounds[bucket])
        ++bucket;
    return bucket;
}

} // namespace

RequestSample RequestSample::fromRecord(const metering::RequestRecord &record)
{
    RequestSample sample;
    const double latencyMs = record.countedLatencyMs();
    sample.atMs = record.completedAtMs();
    sample.durationSeconds = latencyMs / 1000.0;
    sample.error = record.failed();
    sample.costUsd = record.costUsd > 0 ? record.costUsd : 0.0;
    return sample;
}

double RequestStats::errorRate() const
{
    return requests == 0 ? std::nan("") : double(errors) / double(requests);
}

double RequestStats::durationQuantile(double q) const
{
    // Prometheus' bucketQuantile (promql/quantile.go), over one histogram with fixed bounds.
    quint64 total = 0;
    for (quint64 count : durations)
        total += count;
    if (total == 0 || std::isnan(q))
        return std::nan("");
    if (q < 0)
        return -std::numeric_limits<double>::infinity();
    if (q > 1)
        return std::numeric_limits<double>::infinity();
    double rank = q * double(total);
    quint64 below = 0;
    int bucket = 0;
    while (bucket < kBucketCount - 1 && double(below + durations[bucket]) < rank) {
        below += durations[bucket];
        ++bucket;
    }
    if (bucket == kBucketCount - 1)
        return RequestStatsWindow::kDurationBounds.back();
    const double start = bucket == 0 ? 0.0 : RequestStatsWindow::kDurationBounds[bucket - 1];
    const double end = RequestStatsWindow::kDurationBounds[bucket];
    rank -= double(below);
    return start + (end - start) * (rank / double(durations[bucket]));
}

RequestStatsWindow::RequestStatsWindow(int spanSeconds)
    : m_buckets(size_t(std::clamp(spanSeconds, 1, kMaxSpanSeconds)))
{
}

qsizetype RequestStatsWindow::slotIndex(qint64 second, qsizetype size)
{
    return qsizetype(((second % size) + size) % size);
}

int RequestStatsWindow::spanSeconds() const
{
    QMutexLocker locker(&m_mutex);
    return int(m_buckets.size());
}

void RequestStatsWindow::setSpanSeconds(int spanSeconds)
{
    const qsizetype size = std::clamp(spanSeconds, 1, kMaxSpanSeconds);
    QMutexLocker locker(&m_mutex);
    if (qsizetype(m_buckets.size()) == size)
        return;
    std::vector<Bucket> buckets(static_cast<size_t>(size));
    for (const Bucket &bucket : m_buckets) {
        if (bucket.second == kNoSecond)
            continue;
        Bucket &target = buckets[size_t(slotIndex(bucket.second, size))];
        if (target.second < bucket.second) // shrinking: the newest second of each slot stays
            target = bucket;
    }
    m_buckets = std::move(buckets);
}

void RequestStatsWindow::add(const RequestSample &sample)
{
    const qint64 second = secondOf(sample.atMs);
    const int duration = durationBucket(sample.durationSeconds);
    QMutexLocker locker(&m_mutex);
    Bucket &bucket = m_buckets[size_t(slotIndex(second, qsizetype(m_buckets.size())))];
    if (bucket.second > second)
        return; // the window has moved past this second
    if (bucket.second < second) {
        bucket = Bucket();
        bucket.second = second;
    }
    ++bucket.requests;
    if (sample.error)
        ++bucket.errors;
    bucket.costUsd += sample.costUsd;
    ++bucket.durations[size_t(duration)];
}

RequestStats RequestStatsWindow::stats(qint64 nowMs, int seconds) const
{
    RequestStats stats;
    const qint64 now = secondOf(nowMs);
    QMutexLocker locker(&m_mutex);
    const qsizetype size = qsizetype(m_buckets.size());
    const qint64 span = std::clamp<qint64>(seconds, 0, size);
    for (qint64 second = now - span + 1; second <= now; ++second) {
        const Bucket &bucket = m_buckets[size_t(slotIndex(second, size))];
        if (bucket.second != second)
            continue;
        stats.requests += bucket.requests;
        stats.errors += bucket.errors;
        stats.costUsd += bucket.costUsd;
        for (int i = 0; i < kBucketCount; ++i)
            stats.durations[size_t(i)] += bucket.durations[size_t(i)];
    }
    return stats;
}

} // namespace tollgate::alerts
