#pragma once

#include "metering/requestrecord.h"

#include <QList>
#include <QMutex>
#include <QString>

#include <array>
#include <atomic>
#include <cstddef>
#include <limits>
#include <vector>

namespace tollgate::metering {

/// The traffic of the last 5 minutes, hour, day and week at four resolutions at once, in fixed
/// rings of buckets, for the console's charts: switching the window is a read of another ring,
/// and memory does not grow with traffic. Thread-safe: many workers add() while a reader pulls
/// points() on its own timer; an add takes one short lock per resolution and does no I/O. Time
/// is always passed in (a record carries its own), so tests drive it with a fake clock.
///
/// Off until setEnabled(true), so a gateway nobody watches pays one atomic load per request and
/// none of the memory.
class TrafficSeries {
public:
    /// The chart windows; each is kept at its own resolution.
    enum class Window { FiveMinutes, OneHour, OneDay, SevenDays };
    static constexpr int kWindowCount = 4;

    /// The bucket width and count of one window's ring.
    struct Resolution {
        qint64 bucketMs;
        int buckets;
        qint64 spanMs() const { return bucketMs * buckets; }
    };
    /// By Window: 5 min at 1 s, 1 h at 10 s, 24 h at 2 min, 7 d at 15 min.
    static constexpr std::array<Resolution, kWindowCount> kResolutions{
        {{1000, 300}, {10000, 360}, {120000, 720}, {900000, 672}}};
    static Resolution resolution(Window window) { return kResolutions[size_t(window)]; }

    /// Models a bucket counts by name; the rest of its requests count as "other".
    static constexpr int kModelsPerBucket = 8;
    /// Longer model names count as "other": no real model id is this long, and it bounds what a
    /// client sending made-up names can make the rings hold.
    static constexpr int kMaxModelNameLength = 64;

    /// A log-scale histogram of durations in milliseconds, for quantiles within a known error.
    /// Below 1 ms: 8 linear bins of 1/8 ms. From 1 ms to 2^20 ms (about 17.5 min): 8 bins per
    /// power of two, each 2^(1/8) times the previous. Then one bin for everything slower. A
    /// quantile is the midpoint of the bin holding the nearest-rank sample (geometric midpoint
    /// in the log range), so it is within 1/16 ms of the exact value below 1 ms, within
    /// 2^(1/16) - 1 (4.4 %) of it from 1 ms to 2^20 ms, and 2^20 ms for anything slower.
    struct Histogram {
        static constexpr int kLinearBins = 8;
        static constexpr int kBinsPerOctave = 8;
        static constexpr int kOctaves = 20;
        static constexpr int kBins = kLinearBins + kBinsPerOctave * kOctaves + 1;
        /// Relative error of a quantile from 1 ms to 2^20 ms: 2^(1/16) - 1 = 0.044274, rounded up.
        static constexpr double kRelativeError = 0.04428;
        /// Absolute error of a quantile below 1 ms.
        static constexpr double kAbsoluteErrorMs = 1.0 / 16;

        std::array<quint64, kBins> counts{};

        /// The bin of a duration; NaN and negative durations (clock steps) count as instant.
        static int binOf(double ms);
        /// The value a quantile that falls in `bin` reports.
        static double valueOf(int bin);

        void add(double ms) { ++counts[size_t(binOf(ms))]; }
        quint64 total() const;
        /// The nearest-rank q-quantile (the sample of rank ceil(q * total)) within the bounds
        /// above; NaN when empty.
        double quantile(double q) const;
    };

    /// Requests of one model in a bucket or window.
    struct ModelCount {
        QString model;
        quint64 requests = 0;
    };

    /// The mergeable totals of a span: what SQLite rollups will hold, and what restore() takes.
    struct Aggregate {
        qint64 startMs = 0;    ///< wall clock, ms since epoch
        qint64 durationMs = 0; ///< the span covers [startMs, startMs + durationMs)
        quint64 requests = 0;
        quint64 errors = 0;
        quint64 cacheHits = 0;
        quint64 streams = 0;
        qint64 inputTokens = 0;
        qint64 outputTokens = 0;
        double costUsd = 0;
        double savedUsd = 0;
        double routingSavedUsd = 0;
        Histogram latency;
        Histogram ttft;
        QList<ModelCount> models;
        quint64 otherModelRequests = 0;
    };

    static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

    /// What a chart shows for one bucket, or the totals of a window.
    struct Point {
        qint64 startMs = 0; ///< the requests that completed in [startMs, endMs)
        qint64 endMs = 0;
        quint64 requests = 0;
        quint64 errors = 0;    ///< RequestRecord::failed(), as the alerts and Metrics count them
        quint64 cacheHits = 0; ///< answered from the gateway's response cache
        quint64 streams = 0;
        qint64 inputTokens = 0; ///< api::Usage::inputTokens: excludes cached prompt tokens
        qint64 outputTokens = 0;
        double costUsd = 0;
        double savedUsd = 0; ///< what the cache hits would have cost at the provider
        /// Net of what routing saved against the requested (or strongest) models; negative when
        /// upgrades cost more than the downgrades saved.
        double routingSavedUsd = 0;
        /// Latency quantiles in ms (Histogram's bounds); NaN without requests.
        double latencyP50Ms = kNaN;
        double latencyP95Ms = kNaN;
        double latencyP99Ms = kNaN;
        /// Time-to-first-byte quantiles in ms; NaN without a request that sent a byte.
        double ttftP50Ms = kNaN;
        double ttftP95Ms = kNaN;
        /// Most requests first (then by name), at most kModelsPerBucket rows.
        QList<ModelCount> models;
        quint64 otherModelRequests = 0; ///< requests of the models without a row

        double errorRate() const;
        double cacheHitRate() const;
    };

    /// One window as a chart draws it.
    struct WindowPoints {
        Window window = Window::FiveMinutes;
        qint64 bucketMs = 0;
        QList<Point> points; ///< oldest first, one per bucket, the last holding nowMs
        Point totals;        ///< over all of `points`, quantiles from the merged histograms
    };

    TrafficSeries() = default;
    TrafficSeries(const TrafficSeries &) = delete;
    TrafficSeries &operator=(const TrafficSeries &) = delete;

    /// Turning it on allocates the rings (fixedMemoryBytes()); off frees them and what they held.
    void setEnabled(bool enabled);
    bool isEnabled() const { return m_enabled.load(std::memory_order_relaxed); }

    /// Counts a finished request in the bucket of each ring that holds its completion time
    /// (startedAtMs + latencyMs). A bucket still holding an older lap is emptied first; a record
    /// older than what its bucket now holds is not counted in that ring.
    void add(const RequestRecord &record);
    /// Merges a pre-aggregated span (history from the SQLite rollups) into every ring whose
    /// buckets are wide enough to hold it whole; finer rings cannot split it and skip it.
    /// Returns how many rings took it.
    int restore(const Aggregate &aggregate);

    /// The window's buckets up to the one holding `nowMs`, silent ones empty. No points when
    /// off.
    WindowPoints points(Window window, qint64 nowMs) const;
    /// The totals of the requests completed from `sinceMs` up to the bucket holding `nowMs`
    /// (e.g. today's spend), from the finest ring whose span reaches back to `sinceMs`. The
    /// bucket holding `sinceMs` counts whole; when even the week's ring starts later than
    /// `sinceMs`, the totals start there. The result's startMs says where they start.
    Point totals(qint64 sinceMs, qint64 nowMs) const;

    /// The rings' memory while on (fixed: buckets hold counters in place). Model names add at
    /// most kModelsPerBucket names of at most kMaxModelNameLength characters per bucket,
    /// shared between buckets when equal.
    static std::size_t fixedMemoryBytes();
    static constexpr int totalBuckets()
    {
        int total = 0;
        for (const Resolution &resolution : kResolutions)
            total += resolution.buckets;
        return total;
    }

private:
    struct ModelSlot {
        QString model; // empty: a free slot
        quint32 requests = 0;
    };
    struct Bucket {
        qint64 index = kNoIndex; // bucket number: completion ms / width (floored)
        quint32 requests = 0;
        quint32 errors = 0;
        quint32 cacheHits = 0;
        quint32 streams = 0;
        quint32 otherModelRequests = 0;
        qint64 inputTokens = 0;
        qint64 outputTokens = 0;
        double costUsd = 0;
        double savedUsd = 0;
        double routingSavedUsd = 0;
        std::array<quint32, Histogram::kBins> latency{};
        std::array<quint32, Histogram::kBins> ttft{};
        std::array<ModelSlot, kModelsPerBucket> models{};
    };
    struct Ring {
        mutable QMutex mutex;
        std::vector<Bucket> buckets; // a ring: bucket number n lives at n mod size
        // Model names recently given a slot, so equal names share one string.
        std::array<QString, 2 * kModelsPerBucket> names{};
        int nextName = 0;
    };
    static constexpr qint64 kNoIndex = std::numeric_limits<qint64>::min();

    class Accumulator;

    static Bucket *bucketFor(Ring &ring, qint64 index);
    static void countModel(Ring &ring, Bucket &bucket, const QString &model, quint32 requests);
    // Copies bucket `index` of a ring under its lock; false when the ring does not hold it.
    bool copyBucket(size_t ring, qint64 index, Bucket &out) const;

    std::atomic<bool> m_enabled{false};
    std::array<Ring, kWindowCount> m_rings;
};

} // namespace tollgate::metering
