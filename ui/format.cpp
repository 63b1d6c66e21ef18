#include "format.h"

#include <QLocale>

#include <cmath>

namespace tollgate::ui {

QString usd(double value)
{
    if (value < 0)
        return QStringLiteral("−") + usd(-value);
    const double magnitude = std::abs(value);
    const int decimals = value == 0 ? 2 : magnitude < 0.01 ? 6 : magnitude < 10 ? 4 : 2;
    return QStringLiteral("$%1").arg(value, 0, 'f', decimals);
}

QString percent(double ratio)
{
    return std::isnan(ratio) ? QStringLiteral("—")
                             : QStringLiteral("%1 %").arg(ratio * 100, 0, 'f', 1);
}

QString milliseconds(double ms)
{
    if (std::isnan(ms))
        return QStringLiteral("—");
    if (ms >= 1000)
        return QStringLiteral("%1 s").arg(ms / 1000, 0, 'f', 2);
    return QStringLiteral("%1 ms").arg(ms, 0, 'f', ms < 10 ? 2 : 0);
}

QString count(qint64 value)
{
    // The C locale leaves out group separators unless told otherwise.
    QLocale locale = QLocale::c();
    locale.setNumberOptions({});
    return locale.toString(value).replace(QLatin1Char(','), QChar(0x2009));
}

} // namespace tollgate::ui
