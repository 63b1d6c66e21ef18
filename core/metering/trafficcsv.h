#pragma once

#include "metering/trafficseries.h"

#include <QByteArray>

namespace tollgate::metering {

/// A chart window as CSV (RFC 4180, UTF-8, CRLF): a header, then one row per bucket, oldest
/// first, with the rates a chart draws and the running cost over the window. Times are UTC ISO
/// 8601; a quantile with nothing measured is an empty field; `models` lists "name=requests"
/// separated by semicolons, "(other)" last.
QByteArray trafficCsv(const TrafficSeries::WindowPoints &window);

} // namespace tollgate::metering
