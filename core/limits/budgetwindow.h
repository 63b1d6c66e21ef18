#pragma once

#include "limits/budgetpolicy.h"

#include <QtGlobal>

namespace tollgate::limits {

/// Window arithmetic of budgets, all in UTC milliseconds since the epoch and pure.
///
/// Calendar windows: hours and days are fixed lengths (Unix time has no leap seconds), months
/// run from the 1st 00:00:00Z to the next 1st, so they are 28 to 31 days long. A window
/// contains its start and not its end.
///
/// Rolling windows are 1 h, 24 h or 30 d long and are counted in kRollingBuckets aligned
/// buckets of 1/60 of the window (1 min, 24 min, 12 h). Spend made during the bucket
/// [b, b + w) counts until b + w + length: every dollar counts for at least the whole window
/// and at most one bucket longer, so a budget never under-counts what was spent in its last
/// window.
namespace budgetwindow {

constexpr int kRollingBuckets = 60;
constexpr qint64 kHourMs = 3'600'000;
constexpr qint64 kDayMs = 24 * kHourMs;
constexpr qint64 kRollingMonthMs = 30 * kDayMs;

/// Rolling length: 1 h, 24 h, 30 d. (Calendar windows vary for months; see windowEndMs.)
qint64 rollingLengthMs(BudgetWindow window);
/// Rolling bucket width: rollingLengthMs / kRollingBuckets.
qint64 bucketWidthMs(BudgetWindow window);
/// Start of the bucket holding `timeMs`.
qint64 bucketStartMs(BudgetWindow window, qint64 timeMs);

/// Start of the calendar window holding `timeMs` (UTC).
qint64 calendarStartMs(BudgetWindow window, qint64 timeMs);
/// End of the calendar window holding `timeMs`, which is the start of the next one.
qint64 calendarEndMs(BudgetWindow window, qint64 timeMs);

} // namespace budgetwindow

/// When spend counted at `nowMs` stops counting: for calendar windows the next window
/// boundary (2026-11-28T13:45Z, day → 2026-11-29T00:00:00Z); for rolling windows the moment
/// the bucket holding `nowMs` leaves the window (bucket end + length).
qint64 resetAtMs(BudgetWindow window, BudgetAlignment alignment, qint64 nowMs);

/// An instant as ISO 8601 UTC to the second, e.g. "2026-11-29T00:00:00Z".
QString formatUtc(qint64 timeMs);

} // namespace tollgate::limits
