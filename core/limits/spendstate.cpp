#include "limits/spendstate.h"

namespace tollgate::limits {

double BudgetSpend::spentAt(qint64 nowMs) const
{
    double total = 0;
    for (const SpendSlice &slice : slices) {
        if (slice.leavesAtMs > nowMs)
            total += slice.usd;
    }
    return total;
}

qint64 BudgetSpend::fallsToAtMs(double maximumUsd, bool inclusive, qint64 nowMs) const
{
    auto within = [maximumUsd, inclusive](double usd) {
        return inclusive ? usd <= maximumUsd : usd < maximumUsd;
    };
    double remaining = spentAt(nowMs);
    if (within(remaining))
        return nowMs;
    for (qsizetype i = 0; i < slices.size(); ++i) {
        const SpendSlice &slice = slices.at(i);
        if (slice.leavesAtMs <= nowMs)
            continue;
        // Subtracting slice by slice accumulates rounding error; once the last slice has left,
        // nothing is counted, exactly.
        remaining = i + 1 == slices.size() ? 0.0 : remaining - slice.usd;
        const bool othersLeaveTogether =
            i + 1 < slices.size() && slices.at(i + 1).leavesAtMs == slice.leavesAtMs;
        if (!othersLeaveTogether && within(remaining))
            return slice.leavesAtMs;
    }
    return -1;
}

} // namespace tollgate::limits
