#include "gateway/traffichistory.h"

#include "gateway/gatewaycontext.h"

#include <QDateTime>

namespace tollgate::gateway {

Expected<qint64> watchTraffic(GatewayContext &context)
{
    using metering::TrafficSeries;
    if (context.traffic.isEnabled())
        return qint64(0);
    const qint64 cutoffMs = QDateTime::currentMSecsSinceEpoch();
    context.traffic.setEnabled(true);
    if (!context.log)
        return qint64(0);
    context.log->flush();
    const qint64 weekMs = TrafficSeries::resolution(TrafficSeries::Window::SevenDays).spanMs();
    return context.log->readFinished(
        cutoffMs - weekMs, cutoffMs,
        [&](const metering::RequestRecord &record) { context.traffic.add(record); });
}

} // namespace tollgate::gateway
