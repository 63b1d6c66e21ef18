#pragma once

#include <QHash>
#include <QList>
#include <QString>

namespace tollgate::limits {

/// Spend that stops counting at one instant: the end of a calendar window, or the moment a
/// rolling bucket leaves its window.
struct SpendSlice {
    qint64 leavesAtMs = 0;
    double usd = 0;
};

/// What one budget has spent, as slices that leave its window at known times. A calendar
/// window is one slice leaving at the window's end; a rolling window has one per bucket.
struct BudgetSpend {
    QList<SpendSlice> slices; ///< ascending leavesAtMs

    /// Spend still counted at `nowMs`: the slices leaving after it. Correct for any `nowMs` not
    /// before the snapshot, so a snapshot may be reused until spend changes.
    double spentAt(qint64 nowMs) const;
    /// The earliest instant, not before `nowMs`, from which spentAt() stays within
    /// `maximumUsd` (at most it when `inclusive`, else below it); -1 when spend never drops
    /// that far (maximumUsd below zero, or zero when not inclusive).
    qint64 fallsToAtMs(double maximumUsd, bool inclusive, qint64 nowMs) const;
};

/// Spend of every budget at one instant, taken from the SpendLedger for BudgetGuard. A value:
/// copying it is cheap, and it never changes underneath a decision.
struct SpendState {
    qint64 takenAtMs = 0;
    QHash<QString, BudgetSpend> budgets; ///< budget name → spend; absent: nothing spent

    /// The spend of `budget`, or nullptr when nothing was spent.
    const BudgetSpend *find(const QString &budget) const
    {
        const auto it = budgets.constFind(budget);
        return it == budgets.constEnd() ? nullptr : &it.value();
    }
    /// What `budget` has spent at `nowMs`; 0 when it is unknown.
    double spentAt(const QString &budget, qint64 nowMs) const
    {
        const BudgetSpend *spend = find(budget);
        return spend ? spend->spentAt(nowMs) : 0.0;
    }
};

} // namespace tollgate::limits
