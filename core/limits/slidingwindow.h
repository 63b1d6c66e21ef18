#pragma once

#include <QtGlobal>

#include <vector>

namespace tollgate::limits {

/// Counts amounts (requests or tokens) over a sliding window of fixed length, exactly for bursts
/// and to within 1/60 of the window otherwise, in bounded memory.
///
/// Amounts added within 1/60 of the window after a run's first amount join that run, and a run
/// leaves the window exactly one window length after its first amount. So a burst is counted
/// exactly (it leaves the window exactly one window after it began), a window never holds more
/// than 61 runs, and an amount is counted for at least 59/60 of a window (it leaves up to 1/60
/// of a window early when it joined an older run). Not thread-safe: the rate limiter guards each
/// window with its shard's lock.
class SlidingWindow {
public:
    static constexpr int kRunsPerWindow = 60;

    explicit SlidingWindow(qint64 windowMs);

    /// Forgets the runs that have left the window at `nowMs`. Call before total() and the
    /// *AtMs() queries.
    void expire(qint64 nowMs);
    /// Sum of the amounts still in the window (as of the last expire()).
    qint64 total() const { return m_total; }
    /// Counts `amount` at `nowMs` (expiring first). A `nowMs` slightly behind the newest run,
    /// as happens when threads read the clock before taking the lock, joins the newest run.
    void add(qint64 amount, qint64 nowMs);

    /// The earliest time, not before `nowMs`, at which total() drops below `limit`.
    qint64 belowLimitAtMs(qint64 limit, qint64 nowMs) const;
    /// When everything counted has left the window; `nowMs` when nothing is counted.
    qint64 emptyAtMs(qint64 nowMs) const;

    bool isEmpty() const { return m_runs.empty(); }
    qsizetype runCount() const { return qsizetype(m_runs.size()); }
    qint64 windowMs() const { return m_windowMs; }

private:
    struct Run {
        qint64 startMs;
        qint64 amount;
    };

    std::vector<Run> m_runs; // oldest first
    qint64 m_total = 0;
    qint64 m_windowMs;
};

} // namespace tollgate::limits
