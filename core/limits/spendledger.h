#pragma once

#include "limits/budgetpolicy.h"
#include "limits/spendstate.h"
#include "policy/requestfeatures.h"

#include <QHash>
#include <QList>
#include <QString>
#include <QStringList>

#include <memory>
#include <mutex>
#include <vector>

namespace tollgate::limits {

/// Spend added to one budget's window (calendar) or bucket (rolling); what the SpendStore
/// persists, one row per (budget, windowStartMs, bucketMs).
struct SpendIncrement {
    QString budget;
    qint64 windowStartMs = 0; ///< calendar: start of the window; rolling: 0 (no fixed start)
    qint64 bucketMs = 0;      ///< calendar: the window's start again; rolling: the bucket's start
    double usd = 0;
};

/// A threshold that one charge took a budget's spend to or past.
struct ThresholdCrossing {
    QString budget;
    double atPercent = 0;
    BudgetAction action = BudgetAction::None;
    double spentUsd = 0; ///< after the charge
    double limitUsd = 0;
    qint64 atMs = 0;
};

/// What charge() did.
struct ChargeOutcome {
    QList<SpendIncrement> increments; ///< hand these to SpendStore::append()
    /// Thresholds crossed by this very charge: each one is reported once per window, by the
    /// charge that crosses it (a rolling window whose spend drops and rises again crosses again).
    QList<ThresholdCrossing> crossings;
};

/// Where one budget stands, for metrics, the admin API and the console's status line.
struct BudgetStatus {
    QString name;
    BudgetScope scope;
    BudgetWindow window = BudgetWindow::Day;
    BudgetAlignment alignment = BudgetAlignment::Calendar;
    double limitUsd = 0;
    double spentUsd = 0;
    double remainingUsd = 0; ///< limit − spent, never below 0
    double percent = 0;      ///< spent / limit × 100 (may exceed 100)
    /// Calendar: the start of the current window; rolling: nowMs − window length.
    qint64 windowStartMs = 0;
    /// Calendar: the end of the current window. Rolling: when everything counted now has left
    /// the window (nowMs when nothing is counted).
    qint64 resetsAtMs = 0;
    /// The strongest action whose threshold spend alone has reached (None below all of them).
    BudgetAction action = BudgetAction::None;
};

/// The spend of every budget, in memory: charged from metered cost by the worker threads,
/// read by BudgetGuard through snapshot(). Thread-safe; every call takes one short lock and
/// does no I/O. Memory is bounded: one amount per calendar budget, 61 buckets per rolling one.
///
/// Spend belongs to a budget's name: a reloaded policy that changes a budget's limit, scope or
/// actions keeps its spend; one that changes its window or alignment starts it afresh (setPolicy
/// says which, so the pipeline can restore them from the SpendStore).
class SpendLedger {
public:
    explicit SpendLedger(BudgetPolicy policy = {});
    ~SpendLedger();
    SpendLedger(const SpendLedger &) = delete;
    SpendLedger &operator=(const SpendLedger &) = delete;

    /// Applies a reloaded policy. Returns the budgets that start with no spend: new ones and
    /// those whose window or alignment changed.
    QStringList setPolicy(BudgetPolicy policy);
    BudgetPolicy policy() const;

    /// Adds `costUsd` to the current window of every budget that `principal`'s request for
    /// `model` falls under. Pass the model actually used and the metered cost. Nothing happens
    /// for a cost that is not positive (a cache hit costs $0).
    ChargeOutcome charge(const policy::Principal &principal, const QString &model, double costUsd,
                         qint64 nowMs);

    /// Adds persisted spend (SpendStore::load()) back, at start before the first charge, or
    /// after setPolicy() for the budgets it named (`onlyBudgets`; empty: all). A row counts
    /// where its bucketMs falls: in the current calendar window, or in a rolling bucket that has
    /// not left the window yet. Rows of unknown budgets are ignored.
    void restore(const QList<SpendIncrement> &rows, qint64 nowMs,
                 const QStringList &onlyBudgets = {});
    /// Replaces the spend of `budget` with `rows`, counted as restore() counts them: what the
    /// replicas together have spent (read from Redis) plus this replica's increments not yet
    /// sent there. Sets rather than adds, so reading the shared totals again never counts a
    /// dollar twice. An unknown budget is ignored.
    void setSpend(const QString &budget, const QList<SpendIncrement> &rows, qint64 nowMs);

    /// Spend of every budget at `nowMs`, for BudgetGuard::check().
    SpendState snapshot(qint64 nowMs) const;
    /// Every budget of the policy, in policy order, including those with nothing spent.
    QList<BudgetStatus> status(qint64 nowMs) const;
    /// The oldest bucketMs any budget's current window needs; what SpendStore::load() can start
    /// from.
    qint64 oldestNeededMs(qint64 nowMs) const;

private:
    struct Account;

    mutable std::mutex m_mutex;
    BudgetPolicy m_policy;
    std::vector<std::unique_ptr<Account>> m_accounts; // parallel to m_policy.budgets()
    QHash<QString, qsizetype> m_indexByName;
};

} // namespace tollgate::limits
