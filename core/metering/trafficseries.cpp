#include "metering/trafficseries.h"

#include <QHash>
#include <QMutexLocker>

#include <algorithm>
#include <cmath>

namespace tollgate::metering {

namespace {

using Histogram = TrafficSeries::Histogram;
using ModelCount = TrafficSeries::ModelCount;
using Point = TrafficSeries::Point;

qint64 floorDiv(qint64 value, qint64 divisor)
{
    // Floor, not truncation: a time before the epoch still lands in the bucket that holds it.
    const qint64 quotient = value / divisor;
    return (value % divisor != 0 && value < 0) ? quotient - 1 : quotient;
}

size_t slotOf(qint64 index, size_t size)
{
    const qint64 count = qint64(size);
    return size_t(((index % count) + count) % count);
}

const QString &modelOf(const RequestRecord &record)
{
    // As in Metrics: the served model is what cost and latency belong to; requests that failed
    // before a model was chosen still count under the name the client asked for.
    static const QString unknown = QStringLiteral("unknown");
    return !record.usedModel.isEmpty()        ? record.usedModel
           : !record.requestedModel.isEmpty() ? record.requestedModel
                                              : unknown;
}

template <typename Counts> quint64 totalOf(const Counts &counts)
{
    quint64 total = 0;
    for (auto count : counts)
        total += count;
    return total;
}

template <typename Counts> double quantileOf(const Counts &counts, double q)
{
    const quint64 total = totalOf(counts);
    if (total == 0 || std::isnan(q))
        return TrafficSeries::kNaN;
    // Nearest rank; the epsilon keeps 0.95 * 100 at rank 95 whatever the binary fraction does.
    const double wanted = std::ceil(std::clamp(q, 0.0, 1.0) * double(total) - 1e-9);
    const quint64 rank = std::clamp<quint64>(quint64(std::max(wanted, 1.0)), 1, total);
    quint64 seen = 0;
    for (size_t bin = 0; bin < counts.size(); ++bin) {
        seen += counts[bin];
        if (seen >= rank)
            return Histogram::valueOf(int(bin));
    }
    return Histogram::valueOf(Histogram::kBins - 1);
}

// Bucket and Aggregate name their counters alike, so one function fills a point from either.
template <typename Totals, typename Counts>
void fillPoint(Point &point, const Totals &totals, const Counts &latency, const Counts &ttft)
{
    point.requests = totals.requests;
    point.errors = totals.errors;
    point.cacheHits = totals.cacheHits;
    point.streams = totals.streams;
    point.inputTokens = totals.inputTokens;
    point.outputTokens = totals.outputTokens;
    point.costUsd = totals.costUsd;
    point.savedUsd = totals.savedUsd;
    point.routingSavedUsd = totals.routingSavedUsd;
    point.otherModelRequests = totals.otherModelRequests;
    point.latencyP50Ms = quantileOf(latency, 0.50);
    point.latencyP95Ms = quantileOf(latency, 0.95);
    point.latencyP99Ms = quantileOf(latency, 0.99);
    point.ttftP50Ms = quantileOf(ttft, 0.50);
    point.ttftP95Ms = quantileOf(ttft, 0.95);
}

// Most requests first; what does not fit in kModelsPerBucket rows joins "other".
void setModels(Point &point, QList<ModelCount> models)
{
    std::sort(models.begin(), models.end(), [](const ModelCount &a, const ModelCount &b) {
        return a.requests != b.requests ? a.requests > b.requests : a.model < b.model;
    });
    while (models.size() > TrafficSeries::kModelsPerBucket) {
        point.otherModelRequests += models.back().requests;
        models.removeLast();
    }
    point.models = std::move(models);
}

} // namespace

int TrafficSeries::Histogram::binOf(double ms)
{
    if (!(ms > 0)) // NaN, zero, negative
        return 0;
    if (ms < 1)
        return std::min(int(ms * kLinearBins), kLinearBins - 1);
    if (ms >= std::ldexp(1.0, kOctaves)) // also +inf
        return kBins - 1;
    const int bin = int(std::floor(std::log2(ms) * kBinsPerOctave));
    return kLinearBins + std::clamp(bin, 0, kBinsPerOctave * kOctaves - 1);
}

double TrafficSeries::Histogram::valueOf(int bin)
{
    if (bin < kLinearBins)
        return (bin + 0.5) / kLinearBins;
    if (bin >= kBins - 1)
        return std::ldexp(1.0, kOctaves);
    // The geometric midpoint halves the worst relative error of a log bin.
    return std::exp2((bin - kLinearBins + 0.5) / kBinsPerOctave);
}

quint64 TrafficSeries::Histogram::total() const
{
    return totalOf(counts);
}

double TrafficSeries::Histogram::quantile(double q) const
{
    return quantileOf(counts, q);
}

double TrafficSeries::Point::errorRate() const
{
    return requests == 0 ? kNaN : double(errors) / double(requests);
}

double TrafficSeries::Point::cacheHitRate() const
{
    return requests == 0 ? kNaN : double(cacheHits) / double(requests);
}

/// Sums buckets of one ring into the totals of a span (reader side, outside any lock).
class TrafficSeries::Accumulator {
public:
    void add(const Bucket &bucket)
    {
        m_totals.requests += bucket.requests;
        m_totals.errors += bucket.errors;
        m_totals.cacheHits += bucket.cacheHits;
        m_totals.streams += bucket.streams;
        m_totals.inputTokens += bucket.inputTokens;
        m_totals.outputTokens += bucket.outputTokens;
        m_totals.costUsd += bucket.costUsd;
        m_totals.savedUsd += bucket.savedUsd;
        m_totals.routingSavedUsd += bucket.routingSavedUsd;
        m_totals.otherModelRequests += bucket.otherModelRequests;
        for (size_t bin = 0; bin < size_t(Histogram::kBins); ++bin) {
            m_totals.latency.counts[bin] += bucket.latency[bin];
            m_totals.ttft.counts[bin] += bucket.ttft[bin];
        }
        for (const ModelSlot &slot : bucket.models) {
            if (!slot.model.isEmpty())
                m_models[slot.model] += slot.requests;
        }
    }

    Point point(qint64 startMs, qint64 endMs) const
    {
        Point point;
        point.startMs = startMs;
        point.endMs = endMs;
        fillPoint(point, m_totals, m_totals.latency.counts, m_totals.ttft.counts);
        QList<ModelCount> models;
        models.reserve(m_models.size());
        for (auto it = m_models.cbegin(); it != m_models.cend(); ++it)
            models.append({it.key(), it.value()});
        setModels(point, std::move(models));
        return point;
    }

private:
    Aggregate m_totals;
    QHash<QString, quint64> m_models;
};

void TrafficSeries::setEnabled(bool enabled)
{
    if (!enabled)
        m_enabled.store(false, std::memory_order_relaxed);
    for (size_t r = 0; r < m_rings.size(); ++r) {
        Ring &ring = m_rings[r];
        QMutexLocker locker(&ring.mutex);
        if (enabled && ring.buckets.empty()) {
            ring.buckets.resize(size_t(kResolutions[r].buckets));
        } else if (!enabled) {
            std::vector<Bucket>().swap(ring.buckets);
            ring.names.fill(QString());
            ring.nextName = 0;
        }
    }
    if (enabled)
        m_enabled.store(true, std::memory_order_relaxed);
}

TrafficSeries::Bucket *TrafficSeries::bucketFor(Ring &ring, qint64 index)
{
    if (ring.buckets.empty())
        return nullptr; // turned off meanwhile
    Bucket &bucket = ring.buckets[slotOf(index, ring.buckets.size())];
    if (bucket.index > index)
        return nullptr; // the ring has moved past this bucket
    if (bucket.index < index) {
        bucket = Bucket();
        bucket.index = index;
    }
    return &bucket;
}

void TrafficSeries::countModel(Ring &ring, Bucket &bucket, const QString &model, quint32 requests)
{
    if (model.isEmpty() || model.size() > kMaxModelNameLength) {
        bucket.otherModelRequests += requests;
        return;
    }
    // Slots fill in order, so the first free one ends the search.
    for (ModelSlot &slot : bucket.models) {
        if (slot.model.isEmpty()) {
            // Each record brings its own copy of the name; buckets keep one shared string.
            auto known = std::find(ring.names.cbegin(), ring.names.cend(), model);
            if (known == ring.names.cend()) {
                ring.names[size_t(ring.nextName)] = model;
                ring.nextName = (ring.nextName + 1) % int(ring.names.size());
                slot.model = model;
            } else {
                slot.model = *known;
            }
            slot.requests = requests;
            return;
        }
        if (slot.model == model) {
            slot.requests += requests;
            return;
        }
    }
    bucket.otherModelRequests += requests;
}

void TrafficSeries::add(const RequestRecord &record)
{
    if (!m_enabled.load(std::memory_order_relaxed))
        return;
    const double latencyMs = record.countedLatencyMs();
    const qint64 atMs = record.completedAtMs();
    const size_t latencyBin = size_t(Histogram::binOf(latencyMs));
    const bool hasTtft = record.ttftMs >= 0;
    const size_t ttftBin = hasTtft ? size_t(Histogram::binOf(record.ttftMs)) : 0;
    const bool error = record.failed();
    const bool cacheHit = record.cacheStatus == QLatin1String("hit");
    const double costUsd = record.costUsd > 0 ? record.costUsd : 0.0;
    const double savedUsd = record.savedUsd > 0 ? record.savedUsd : 0.0;
    // Signed: an upgrade to a dearer model is routing's cost, and the net is what it saved.
    const double routingSavedUsd =
        std::isfinite(record.routingSavedUsd) ? record.routingSavedUsd : 0.0;
    const QString &model = modelOf(record);

    for (size_t r = 0; r < m_rings.size(); ++r) {
        Ring &ring = m_rings[r];
        const qint64 index = floorDiv(atMs, kResolutions[r].bucketMs);
        QMutexLocker locker(&ring.mutex);
        Bucket *bucket = bucketFor(ring, index);
        if (!bucket)
            continue;
        ++bucket->requests;
        if (error)
            ++bucket->errors;
        if (cacheHit)
            ++bucket->cacheHits;
        if (record.stream)
            ++bucket->streams;
        bucket->inputTokens += record.usage.inputTokens;
        bucket->outputTokens += record.usage.outputTokens;
        bucket->costUsd += costUsd;
        bucket->savedUsd += savedUsd;
        bucket->routingSavedUsd += routingSavedUsd;
        ++bucket->latency[latencyBin];
        if (hasTtft)
            ++bucket->ttft[ttftBin];
        countModel(ring, *bucket, model, 1);
    }
}

int TrafficSeries::restore(const Aggregate &aggregate)
{
    if (!m_enabled.load(std::memory_order_relaxed))
        return 0;
    const qint64 durationMs = std::max<qint64>(aggregate.durationMs, 1);
    int taken = 0;
    for (size_t r = 0; r < m_rings.size(); ++r) {
        Ring &ring = m_rings[r];
        const qint64 width = kResolutions[r].bucketMs;
        const qint64 index = floorDiv(aggregate.startMs, width);
        if (floorDiv(aggregate.startMs + durationMs - 1, width) != index)
            continue;
        QMutexLocker locker(&ring.mutex);
        Bucket *bucket = bucketFor(ring, index);
        if (!bucket)
            continue;
        bucket->requests += quint32(aggregate.requests);
        bucket->errors += quint32(aggregate.errors);
        bucket->cacheHits += quint32(aggregate.cacheHits);
        bucket->streams += quint32(aggregate.streams);
        bucket->inputTokens += aggregate.inputTokens;
        bucket->outputTokens += aggregate.outputTokens;
        bucket->costUsd += aggregate.costUsd;
        bucket->savedUsd += aggregate.savedUsd;
        bucket->routingSavedUsd += aggregate.routingSavedUsd;
        for (size_t bin = 0; bin < size_t(Histogram::kBins); ++bin) {
            bucket->latency[bin] += quint32(aggregate.latency.counts[bin]);
            bucket->ttft[bin] += quint32(aggregate.ttft.counts[bin]);
        }
        for (const ModelCount &row : aggregate.models)
            countModel(ring, *bucket, row.model, quint32(row.requests));
        bucket->otherModelRequests += quint32(aggregate.otherModelRequests);
        ++taken;
    }
    return taken;
}

bool TrafficSeries::copyBucket(size_t ring, qint64 index, Bucket &out) const
{
    // One bucket per lock: a reader never holds up the workers for a whole window.
    const Ring &source = m_rings[ring];
    QMutexLocker locker(&source.mutex);
    if (source.buckets.empty())
        return false;
    const Bucket &bucket = source.buckets[slotOf(index, source.buckets.size())];
    if (bucket.index != index)
        return false;
    out = bucket;
    return true;
}

TrafficSeries::WindowPoints TrafficSeries::points(Window window, qint64 nowMs) const
{
    WindowPoints result;
    result.window = window;
    const Resolution resolution = TrafficSeries::resolution(window);
    result.bucketMs = resolution.bucketMs;
    if (!isEnabled())
        return result;

    const qint64 last = floorDiv(nowMs, resolution.bucketMs);
    const qint64 first = last - resolution.buckets + 1;
    result.points.reserve(resolution.buckets);
    Accumulator span;
    Bucket bucket;
    for (qint64 index = first; index <= last; ++index) {
        Point point;
        point.startMs = index * resolution.bucketMs;
        point.endMs = point.startMs + resolution.bucketMs;
        if (copyBucket(size_t(window), index, bucket)) {
            fillPoint(point, bucket, bucket.latency, bucket.ttft);
            QList<ModelCount> models;
            for (const ModelSlot &slot : bucket.models) {
                if (!slot.model.isEmpty())
                    models.append({slot.model, slot.requests});
            }
            setModels(point, std::move(models));
            span.add(bucket);
        }
        result.points.append(std::move(point));
    }
    result.totals = span.point(first * resolution.bucketMs, (last + 1) * resolution.bucketMs);
    return result;
}

TrafficSeries::Point TrafficSeries::totals(qint64 sinceMs, qint64 nowMs) const
{
    if (!isEnabled() || sinceMs > nowMs) {
        Point empty;
        empty.startMs = sinceMs;
        empty.endMs = std::max(sinceMs, nowMs);
        return empty;
    }
    // The finest ring that still holds the bucket of sinceMs; failing all, the week's.
    size_t ring = m_rings.size() - 1;
    for (size_t r = 0; r < m_rings.size(); ++r) {
        const Resolution &resolution = kResolutions[size_t(r)];
        const qint64 oldest = floorDiv(nowMs, resolution.bucketMs) - resolution.buckets + 1;
        if (floorDiv(sinceMs, resolution.bucketMs) >= oldest) {
            ring = r;
            break;
        }
    }
    const Resolution &resolution = kResolutions[ring];
    const qint64 last = floorDiv(nowMs, resolution.bucketMs);
    const qint64 first =
        std::max(floorDiv(sinceMs, resolution.bucketMs), last - resolution.buckets + 1);
    Accumulator span;
    Bucket bucket;
    for (qint64 index = first; index <= last; ++index) {
        if (copyBucket(ring, index, bucket))
            span.add(bucket);
    }
    return span.point(first * resolution.bucketMs, (last + 1) * resolution.bucketMs);
}

std::size_t TrafficSeries::fixedMemoryBytes()
{
    return sizeof(TrafficSeries) + sizeof(Bucket) * size_t(totalBuckets());
}

} // namespace tollgate::metering
