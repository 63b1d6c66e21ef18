#include "limits/budgetforecast.h"

#include <algorithm>
#include <cmath>

namespace tollgate::limits {

namespace {
constexpr double kHourMs = 3600.0 * 1000;
constexpr qint64 kMinuteMs = 60 * 1000;
} // namespace

BudgetForecast forecastBudget(const BudgetStatus &status, double burnUsdPerHour, qint64 nowMs)
{
    BudgetForecast forecast;
    forecast.burnUsdPerHour =
        std::isfinite(burnUsdPerHour) && burnUsdPerHour > 0 ? burnUsdPerHour : 0;
    if (status.limitUsd > 0 && status.spentUsd >= status.limitUsd) {
        forecast.runsOutAtMs = nowMs;
        return forecast;
    }
    if (forecast.burnUsdPerHour == 0)
        return forecast;
    const double hoursLeft = status.remainingUsd / forecast.burnUsdPerHour;
    const qint64 at = nowMs + qint64(std::llround(hoursLeft * kHourMs));
    if (at < status.resetsAtMs)
        forecast.runsOutAtMs = at;
    return forecast;
}

double averageBurnUsdPerHour(const BudgetStatus &status, qint64 nowMs)
{
    const qint64 elapsedMs = std::max(nowMs - status.windowStartMs, kMinuteMs);
    return status.spentUsd / (double(elapsedMs) / kHourMs);
}

} // namespace tollgate::limits
