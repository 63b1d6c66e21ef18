#include "limits/slidingwindow.h"

#include <algorithm>

namespace tollgate::limits {

SlidingWindow::SlidingWindow(qint64 windowMs)
    : m_windowMs(windowMs)
{
}

void SlidingWindow::expire(qint64 nowMs)
{
    auto firstLive = m_runs.begin();
    while (firstLive != m_runs.end() && firstLive->startMs + m_windowMs <= nowMs) {
        m_total -= firstLive->amount;
        ++firstLive;
    }
    if (firstLive == m_runs.end()) {
        // An idle key keeps its state until it is evicted; give back a grown buffer meanwhile.
        if (m_runs.capacity() > 4)
            std::vector<Run>().swap(m_runs);
        else
            m_runs.clear();
        m_total = 0;
        return;
    }
    m_runs.erase(m_runs.begin(), firstLive);
}

void SlidingWindow::add(qint64 amount, qint64 nowMs)
{
    expire(nowMs);
    const qint64 granularityMs = std::max<qint64>(1, m_windowMs / kRunsPerWindow);
    if (!m_runs.empty() && nowMs - m_runs.back().startMs < granularityMs)
        m_runs.back().amount += amount;
    else
        m_runs.push_back({nowMs, amount});
    m_total += amount;
}

qint64 SlidingWindow::belowLimitAtMs(qint64 limit, qint64 nowMs) const
{
    qint64 remaining = m_total;
    if (remaining < limit)
        return nowMs;
    for (const Run &run : m_runs) {
        remaining -= run.amount;
        if (remaining < limit)
            return std::max(nowMs, run.startMs + m_windowMs);
    }
    return emptyAtMs(nowMs); // limit <= 0: never below; report when the window is empty
}

qint64 SlidingWindow::emptyAtMs(qint64 nowMs) const
{
    return m_runs.empty() ? nowMs : std::max(nowMs, m_runs.back().startMs + m_windowMs);
}

} // namespace tollgate::limits
