#pragma once

#include <QtGlobal>

#include <vector>

namespace tollgate::bench {

/// A sorted set of durations in nanoseconds with nearest-rank percentiles.
class LatencyStats {
public:
    LatencyStats() = default;
    explicit LatencyStats(std::vector<qint64> samplesNs);

    qsizetype count() const { return qsizetype(m_sorted.size()); }
    bool isEmpty() const { return m_sorted.empty(); }
    /// Nearest rank: the smallest sample with at least `fraction` of all samples at or below it.
    qint64 percentileNs(double fraction) const;
    qint64 maxNs() const { return m_sorted.empty() ? 0 : m_sorted.back(); }
    double meanNs() const;

    static double toMs(qint64 ns) { return double(ns) / 1e6; }

private:
    std::vector<qint64> m_sorted;
};

} // namespace tollgate::bench
