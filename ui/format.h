#pragma once

#include <QString>

namespace tollgate::ui {

/// Dollars with enough digits for a single call's fraction of a cent to register.
QString usd(double value);
/// A ratio as a percentage with one decimal; "—" for NaN (nothing to divide).
QString percent(double ratio);
/// A duration in ms or s, whichever reads better; "—" for NaN (nothing measured).
QString milliseconds(double ms);
/// A count with thousands separators.
QString count(qint64 value);

} // namespace tollgate::ui
