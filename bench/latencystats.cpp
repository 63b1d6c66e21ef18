#include "latencystats.h"

#include <algorithm>
#include <cmath>

namespace tollgate::bench {

LatencyStats::LatencyStats(std::vector<qint64> samplesNs)
    : m_sorted(std::move(samplesNs))
{
    std::sort(m_sorted.begin(), m_sorted.end());
}

qint64 LatencyStats::percentileNs(double fraction) const
{
    if (m_sorted.empty())
        return 0;
    const double rank = std::ceil(fraction * double(m_sorted.size()));
    const auto index = std::clamp<qsizetype>(qsizetype(rank) - 1, 0, count() - 1);
    return m_sorted[size_t(index)];
}

double LatencyStats::meanNs() const
{
    if (m_sorted.empty())
        return 0;
    long double sum = 0;
    for (const qint64 sample : m_sorted)
        sum += sample;
    return double(sum / m_sorted.size());
}

} // namespace tollgate::bench
