#pragma once

#include "limits/spendledger.h"

#include <optional>

namespace tollgate::limits {

/// When a budget runs out at a burn rate, if it does before its window resets.
struct BudgetForecast {
    double burnUsdPerHour = 0;
    /// When the remaining dollars are spent at that rate; empty when they last until the reset
    /// (or nothing is being spent). Already spent: nowMs.
    std::optional<qint64> runsOutAtMs;
};

/// Pure. `burnUsdPerHour` is what the caller measured for the budget's scope (the console uses
/// the last hour's cost for a global budget); a negative or NaN rate counts as none.
BudgetForecast forecastBudget(const BudgetStatus &status, double burnUsdPerHour, qint64 nowMs);

/// The budget's own average burn over its window so far: spend / time elapsed since the window
/// started (at least a minute, so a fresh window does not extrapolate one request to a flood).
double averageBurnUsdPerHour(const BudgetStatus &status, qint64 nowMs);

} // namespace tollgate::limits
