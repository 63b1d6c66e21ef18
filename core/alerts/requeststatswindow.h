#pragma once

#include "metering/requestrecord.h"

#include <QMutex>

#include <array>
#include <limits>
#include <vector>

namespace tollgate::alerts {

/// What the request statistics keep of one completed request.
struct RequestSample {
    qint64 atMs = 0; ///< when it completed, wall clock ms since epoch
    double durationSeconds = 0;
    bool error = false;
    double costUsd = 0;

    /// The sample of a finished request: it completed at start + latency; it is an error exactly
    /// when Metrics counts it in ai_errors_total (status >= 400, or an error after the status),
    /// so the live rules and Prometheus rules over the same metrics see the same numbers.
    static RequestSample fromRecord(const metering::RequestRecord &record);
};

/// Totals of the requests that completed in a span of seconds.
struct RequestStats {
    /// Per bucket of RequestStatsWindow::kDurationBounds (not cumulative); the last counts the
    /// requests slower than the largest bound.
    using DurationCounts = std::array<quint64, 7>;

    quint64 requests = 0;
    quint64 errors = 0;
    double costUsd = 0;
    DurationCounts durations{};

    /// errors / requests; NaN without requests (Prometheus' 0/0).
    double errorRate() const;
    /// The q-quantile of the durations in seconds, interpolated within its bucket exactly as
    /// Prometheus' histogram_quantile() does over ai_request_duration_seconds; NaN without
    /// requests. Never above the largest bound (10 s).
    double durationQuantile(double q) const;
};

/// A bounded rolling window of request statistics in one-second buckets: requests, errors, a
/// duration histogram and cost per second, for the last spanSeconds(). Feeds the live alert
/// rules. Thread-safe: many workers add() while one thread reads stats(); each call takes one
/// short lock. Time is always passed in, so tests drive it with a fake clock.
class RequestStatsWindow {
public:
    /// The bucket bounds of ai_request_duration_seconds (Metrics), so that a latency quantile
    /// computed here equals what Prometheus computes from the exported histogram.
    static constexpr std::array<double, 6> kDurationBounds{0.1, 0.5, 1, 2, 5, 10};
    /// The longest span a window keeps (about 56 bytes a second: 200 KB an hour).
    static constexpr int kMaxSpanSeconds = 86400;

    /// Keeps the last `spanSeconds` seconds (clamped to 1..kMaxSpanSeconds).
    explicit RequestStatsWindow(int spanSeconds = 300);

    int spanSeconds() const;
    /// Changes how many seconds are kept; the seconds that still fit keep their counts.
    void setSpanSeconds(int spanSeconds);

    /// Counts `sample` in the second it completed, in the bucket that second shares with the
    /// seconds a multiple of the span apart: a sample older than what its bucket holds is
    /// dropped, and a newer one starts the bucket afresh.
    void add(const RequestSample &sample);
    /// The totals of the last `seconds` seconds up to `nowMs`: the second that holds `nowMs` and
    /// the `seconds - 1` before it. `seconds` is clamped to the span.
    RequestStats stats(qint64 nowMs, int seconds) const;

private:
    struct Bucket {
        qint64 second = kNoSecond;
        quint32 requests = 0;
        quint32 errors = 0;
        double costUsd = 0;
        std::array<quint32, 7> durations{};
    };
    static constexpr qint64 kNoSecond = std::numeric_limits<qint64>::min();

    static qsizetype slotIndex(qint64 second, qsizetype size);

    mutable QMutex m_mutex;
    std::vector<Bucket> m_buckets; // a ring: second s lives at s mod size
};

} // namespace tollgate::alerts
