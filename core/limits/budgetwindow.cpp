#include "limits/budgetwindow.h"

#include <QDate>
#include <QDateTime>

namespace tollgate::limits {

namespace {

// QDate counts Julian days; the Unix epoch, 1970-01-01, is Julian day 2440588.
constexpr qint64 kEpochJulianDay = 2440588;

// Rounds towards negative infinity, so instants before 1970 fall in the right window too.
qint64 floorDiv(qint64 value, qint64 divisor)
{
    const qint64 quotient = value / divisor;
    return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient;
}

qint64 floorTo(qint64 value, qint64 step)
{
    return floorDiv(value, step) * step;
}

QDate dateOf(qint64 timeMs)
{
    return QDate::fromJulianDay(kEpochJulianDay + floorDiv(timeMs, budgetwindow::kDayMs));
}

qint64 startOfDayMs(const QDate &date)
{
    return (date.toJulianDay() - kEpochJulianDay) * budgetwindow::kDayMs;
}

} // namespace

namespace budgetwindow {

qint64 rollingLengthMs(BudgetWindow window)
{
    switch (window) {
    case BudgetWindow::Hour: return kHourMs;
    case BudgetWindow::Day: return kDayMs;
    case BudgetWindow::Month: return kRollingMonthMs;
    }
    return kDayMs;
}

qint64 bucketWidthMs(BudgetWindow window)
{
    return rollingLengthMs(window) / kRollingBuckets;
}

qint64 bucketStartMs(BudgetWindow window, qint64 timeMs)
{
    return floorTo(timeMs, bucketWidthMs(window));
}

qint64 calendarStartMs(BudgetWindow window, qint64 timeMs)
{
    switch (window) {
    case BudgetWindow::Hour: return floorTo(timeMs, kHourMs);
    case BudgetWindow::Day: return floorTo(timeMs, kDayMs);
    case BudgetWindow::Month: {
        const QDate date = dateOf(timeMs);
        return startOfDayMs(QDate(date.year(), date.month(), 1));
    }
    }
    return floorTo(timeMs, kDayMs);
}

qint64 calendarEndMs(BudgetWindow window, qint64 timeMs)
{
    switch (window) {
    case BudgetWindow::Hour: return floorTo(timeMs, kHourMs) + kHourMs;
    case BudgetWindow::Day: return floorTo(timeMs, kDayMs) + kDayMs;
    case BudgetWindow::Month: {
        const QDate date = dateOf(timeMs);
        return startOfDayMs(QDate(date.year(), date.month(), 1).addMonths(1));
    }
    }
    return floorTo(timeMs, kDayMs) + kDayMs;
}

} // namespace budgetwindow

qint64 resetAtMs(BudgetWindow window, BudgetAlignment alignment, qint64 nowMs)
{
    if (alignment == BudgetAlignment::Calendar)
        return budgetwindow::calendarEndMs(window, nowMs);
    return budgetwindow::bucketStartMs(window, nowMs) + budgetwindow::bucketWidthMs(window) +
           budgetwindow::rollingLengthMs(window);
}

QString formatUtc(qint64 timeMs)
{
    return QDateTime::fromMSecsSinceEpoch(timeMs, Qt::UTC).toString(Qt::ISODate);
}

} // namespace tollgate::limits
