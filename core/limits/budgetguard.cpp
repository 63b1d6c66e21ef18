#include "limits/budgetguard.h"

#include "metering/pricetable.h"

#include <cmath>

namespace tollgate::limits {

namespace {

// Spend is a sum of many small doubles; a budget of $50 filled by 500 charges of $0.10 sums to
// 49.99999999999 and must count as reached.
constexpr double kToleranceUsd = 1e-9;

struct Block {
    const Budget *budget = nullptr;
    BudgetThreshold threshold;
    double spentUsd = 0;
    bool exhausted = false; ///< spend alone has reached the threshold (else the estimate would)
    qint64 passAtMs = -1;   ///< when the request would pass; -1: never
};

// When the request would pass `amountUsd` again: spend must be below the threshold and leave
// room for the estimate.
qint64 passAtMs(const BudgetSpend *spend, double amountUsd, double estimateUsd, qint64 nowMs)
{
    if (estimateUsd > amountUsd + kToleranceUsd)
        return -1;
    if (!spend)
        return nowMs;
    if (estimateUsd > 0)
        return spend->fallsToAtMs(amountUsd - estimateUsd + kToleranceUsd, true, nowMs);
    return spend->fallsToAtMs(amountUsd - kToleranceUsd, false, nowMs);
}

QString blockMessage(const Block &block, double estimateUsd)
{
    const Budget &budget = *block.budget;
    const QString name = QLatin1Char('"') + budget.name + QLatin1Char('"');
    const QString spent =
        QStringLiteral("%1 of %2 spent")
            .arg(BudgetGuard::formatUsd(block.spentUsd), BudgetGuard::formatUsd(budget.limitUsd));
    const bool atLimit = block.threshold.atPercent == 100;
    const QString percent = QString::number(block.threshold.atPercent);
    if (block.passAtMs < 0) {
        const QString allowed =
            atLimit ? QStringLiteral("the %1 limit").arg(BudgetGuard::formatUsd(budget.limitUsd))
                    : QStringLiteral("the %1 it allows (%2 % of %3)")
                          .arg(BudgetGuard::formatUsd(block.threshold.amountUsd(budget.limitUsd)),
                               percent, BudgetGuard::formatUsd(budget.limitUsd));
        return QStringLiteral("Budget %1 cannot cover this request: it may cost up to %2, more "
                              "than %3; lower max_tokens")
            .arg(name, BudgetGuard::formatUsd(estimateUsd), allowed);
    }
    const QString resets = QStringLiteral("; resets ") + formatUtc(block.passAtMs);
    if (block.exhausted) {
        if (atLimit)
            return QStringLiteral("Budget %1 exhausted: %2%3").arg(name, spent, resets);
        return QStringLiteral("Budget %1 blocks at %2 % of its limit: %3%4")
            .arg(name, percent, spent, resets);
    }
    const QString what =
        atLimit ? QStringLiteral("would be exceeded")
                : QStringLiteral("would pass %1 % of its limit, where it blocks").arg(percent);
    return QStringLiteral("Budget %1 %2: %3 and this request may cost up to %4%5")
        .arg(name, what, spent, BudgetGuard::formatUsd(estimateUsd), resets);
}

} // namespace

BudgetCheck BudgetGuard::check(const BudgetPolicy &policy, const SpendState &spend,
                               const policy::Principal &principal, const QString &model,
                               double estimatedCostUsd, qint64 nowMs)
{
    BudgetCheck result;
    if (policy.isEmpty())
        return result;
    const double estimate =
        std::isfinite(estimatedCostUsd) && estimatedCostUsd > 0 ? estimatedCostUsd : 0.0;

    Block block;
    const Budget *downgrade = nullptr;
    double downgradeSpent = 0;
    for (const Budget &budget : policy.budgets()) {
        if (!budget.scope.matches(principal, model))
            continue;
        const BudgetSpend *budgetSpend = spend.find(budget.name);
        const double spent = budgetSpend ? budgetSpend->spentAt(nowMs) : 0.0;
        for (const BudgetThreshold &threshold : budget.actions) {
            const double amount = threshold.amountUsd(budget.limitUsd);
            const bool reached = spent >= amount - kToleranceUsd;
            switch (threshold.action) {
            case BudgetAction::None: break;
            case BudgetAction::Alert:
                if (reached)
                    result.alerts.append({budget.name, threshold.atPercent, threshold.action, spent,
                                          budget.limitUsd});
                break;
            case BudgetAction::Downgrade:
                if (reached && !downgrade) {
                    downgrade = &budget;
                    downgradeSpent = spent;
                }
                break;
            case BudgetAction::Block: {
                if (!reached && spent + estimate <= amount + kToleranceUsd)
                    break;
                const qint64 passAt = passAtMs(budgetSpend, amount, estimate, nowMs);
                // Of several blocks, name the one that frees up last: retrying earlier would
                // only be refused again. "Never" outranks every instant.
                const bool later = !block.budget ||
                                   (block.passAtMs >= 0 && (passAt < 0 || passAt > block.passAtMs));
                if (later)
                    block = {&budget, threshold, spent, reached, passAt};
                break;
            }
            }
        }
    }

    if (block.budget) {
        result.action = BudgetAction::Block;
        result.budget = block.budget->name;
        result.spentUsd = block.spentUsd;
        result.limitUsd = block.budget->limitUsd;
        result.message = blockMessage(block, estimate);
        if (block.passAtMs >= 0) {
            result.resetAtMs = block.passAtMs;
            result.retryAfterSeconds =
                int(std::max<qint64>(1, (block.passAtMs - nowMs + 999) / 1000));
        }
    } else if (downgrade) {
        result.action = BudgetAction::Downgrade;
        result.budget = downgrade->name;
        result.spentUsd = downgradeSpent;
        result.limitUsd = downgrade->limitUsd;
    } else if (!result.alerts.isEmpty()) {
        result.action = BudgetAction::Alert;
        result.budget = result.alerts.constFirst().budget;
        result.spentUsd = result.alerts.constFirst().spentUsd;
        result.limitUsd = result.alerts.constFirst().limitUsd;
    }
    return result;
}

double BudgetGuard::estimateCostUsd(qint64 promptChars, qint64 maxTokens,
                                    const metering::ModelPrice &price)
{
    const qint64 inputTokens = promptChars > 0 ? (promptChars + 3) / 4 : 0;
    const qint64 outputTokens = maxTokens > 0 ? maxTokens : 0;
    return (double(inputTokens) * price.inputPerMTok + double(outputTokens) * price.outputPerMTok) /
           1e6;
}

QString BudgetGuard::formatUsd(double usd)
{
    const double magnitude = std::fabs(usd);
    const int decimals = magnitude > 0 && magnitude < 0.01 ? 4 : 2;
    return QLatin1Char('$') + QString::number(usd, 'f', decimals);
}

} // namespace tollgate::limits
