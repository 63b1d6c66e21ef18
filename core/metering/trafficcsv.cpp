#include "metering/trafficcsv.h"

#include "common/csv.h"

#include <QDateTime>
#include <QStringList>

#include <cmath>

namespace tollgate::metering {

namespace {

QString utc(qint64 ms)
{
    return QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODateWithMs);
}

QString number(double value)
{
    return std::isnan(value) ? QString() : QString::number(value, 'g', 10);
}

QString models(const TrafficSeries::Point &point)
{
    QStringList parts;
    for (const TrafficSeries::ModelCount &model : point.models)
        parts.append(QStringLiteral("%1=%2").arg(model.model).arg(model.requests));
    if (point.otherModelRequests > 0)
        parts.append(QStringLiteral("(other)=%1").arg(point.otherModelRequests));
    return csvField(parts.join(QLatin1Char(';')));
}

} // namespace

QByteArray trafficCsv(const TrafficSeries::WindowPoints &window)
{
    QString out = QStringLiteral(
        "start_utc,end_utc,requests,errors,error_rate,cost_usd,cumulative_cost_usd,saved_usd,"
        "routing_saved_usd,"
        "latency_p50_ms,latency_p95_ms,latency_p99_ms,ttft_p50_ms,ttft_p95_ms,cache_hits,"
        "streams,input_tokens,output_tokens,models\r\n");
    double cumulative = 0;
    for (const TrafficSeries::Point &point : window.points) {
        cumulative += point.costUsd;
        const QStringList row{utc(point.startMs),
                              utc(point.endMs),
                              QString::number(point.requests),
                              QString::number(point.errors),
                              number(point.errorRate()),
                              number(point.costUsd),
                              number(cumulative),
                              number(point.savedUsd),
                              number(point.routingSavedUsd),
                              number(point.latencyP50Ms),
                              number(point.latencyP95Ms),
                              number(point.latencyP99Ms),
                              number(point.ttftP50Ms),
                              number(point.ttftP95Ms),
                              QString::number(point.cacheHits),
                              QString::number(point.streams),
                              QString::number(point.inputTokens),
                              QString::number(point.outputTokens),
                              models(point)};
        out += row.join(QLatin1Char(',')) + QLatin1String("\r\n");
    }
    return out.toUtf8();
}

} // namespace tollgate::metering
