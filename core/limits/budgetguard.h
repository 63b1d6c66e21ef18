#pragma once

#include "limits/budgetpolicy.h"
#include "limits/budgetwindow.h"
#include "limits/spendstate.h"
#include "policy/requestfeatures.h"

#include <QList>
#include <QString>

namespace tollgate::metering {
struct ModelPrice;
}

namespace tollgate::limits {

/// A threshold of a budget that a request falls under and that spend has reached.
struct BudgetHit {
    QString budget;
    double atPercent = 0;
    BudgetAction action = BudgetAction::None;
    double spentUsd = 0; ///< the budget's spend at the check
    double limitUsd = 0;
};

/// The budget guard's answer for one request.
struct BudgetCheck {
    /// The strongest action of all budgets the request falls under: Block refuses it, Downgrade
    /// sends it to the router with budget_state=downgraded, Alert and None let it through.
    BudgetAction action = BudgetAction::None;
    /// The budget that decided `action` (for several blocks, the one that frees up last; for
    /// downgrade and alert, the first in policy order); empty for None.
    QString budget;
    double spentUsd = 0; ///< that budget's spend
    double limitUsd = 0; ///< that budget's limit
    /// Block only: the clear error for the client, e.g. `Budget "team-ml-daily" exhausted:
    /// $50.12 of $50.00 spent; resets 2026-11-29T00:00:00Z`.
    QString message;
    /// Block only: when this request would pass the blocking budget again (calendar: the next
    /// window; rolling: when enough spend has left the window); 0 when it never would, because
    /// the request alone may cost more than the budget allows.
    qint64 resetAtMs = 0;
    int retryAfterSeconds = 0; ///< block only: whole seconds until resetAtMs (>= 1), else 0
    /// Every alert threshold reached by a budget the request falls under, in policy order and
    /// ascending within a budget. This is state, not an event: each request of the window sees
    /// it. SpendLedger::charge() reports the crossing itself, exactly once.
    QList<BudgetHit> alerts;

    bool allowed() const { return action != BudgetAction::Block; }
    bool downgraded() const { return action == BudgetAction::Downgrade; }
};

/// Budget decisions, pure: functions of (policy, spend, request, estimate, clock).
class BudgetGuard {
public:
    /// The strongest action of the budgets that `principal`'s request for `model` falls under.
    ///
    /// Alert and downgrade thresholds apply once spend reaches them. A block threshold applies
    /// once spend reaches it *or* when spend plus `estimatedCostUsd` would pass it: the
    /// pre-check that keeps one large request from blowing far past a hard budget. `model` is
    /// matched by model-scoped budgets; pass the canonical id (see docs/budgets.md). `spend` may
    /// be a snapshot taken earlier: only slices still counted at `nowMs` are summed.
    static BudgetCheck check(const BudgetPolicy &policy, const SpendState &spend,
                             const policy::Principal &principal, const QString &model,
                             double estimatedCostUsd, qint64 nowMs);

    /// An upper-bound style estimate of a request's cost before it is sent: promptChars / 4
    /// (rounded up) input tokens at the input price plus `maxTokens` output tokens at the
    /// output price. Four characters per token is the usual figure for English text; the
    /// output side, which dominates for most requests, is exact as a bound because a response
    /// never exceeds max_tokens. Negative counts count as 0.
    static double estimateCostUsd(qint64 promptChars, qint64 maxTokens,
                                  const metering::ModelPrice &price);

    /// Dollars as block messages show them: "$50.12", and four decimals below a cent
    /// ("$0.0031") so that small budgets stay readable.
    static QString formatUsd(double usd);
};

} // namespace tollgate::limits
