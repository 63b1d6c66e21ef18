#include "benchreport.h"

#include <QJsonArray>

namespace tollgate::bench {

namespace {

const QString kDirect = QStringLiteral("direct");
const QString kNginx = QStringLiteral("nginx");

QString ms(qint64 ns)
{
    return QString::number(LatencyStats::toMs(ns), 'f', 3);
}

QString signedMs(qint64 ns)
{
    const QString text = ms(ns);
    return ns >= 0 ? QLatin1Char('+') + text : text;
}

const QString kNone = QStringLiteral("–");

QString pct(const LatencyStats &stats, double fraction)
{
    return stats.isEmpty() ? kNone : ms(stats.percentileNs(fraction));
}

QString maxMs(const LatencyStats &stats)
{
    return stats.isEmpty() ? kNone : ms(stats.maxNs());
}

QString signedPct(const LatencyStats &stats, double fraction)
{
    return stats.isEmpty() ? kNone : signedMs(stats.percentileNs(fraction));
}

QString signedMean(const LatencyStats &stats)
{
    return stats.isEmpty() ? kNone : signedMs(qint64(stats.meanNs()));
}

QString difference(const LatencyStats &stats, const LatencyStats &base, double fraction)
{
    return stats.isEmpty() || base.isEmpty()
               ? kNone
               : signedMs(stats.percentileNs(fraction) - base.percentileNs(fraction));
}

QString us(qint64 ns)
{
    return QString::number(double(ns) / 1e3, 'f', 1);
}

QJsonObject percentilesJson(const LatencyStats &stats)
{
    QJsonObject out;
    out[QStringLiteral("count")] = double(stats.count());
    out[QStringLiteral("p50_ms")] = LatencyStats::toMs(stats.percentileNs(0.50));
    out[QStringLiteral("p90_ms")] = LatencyStats::toMs(stats.percentileNs(0.90));
    out[QStringLiteral("p99_ms")] = LatencyStats::toMs(stats.percentileNs(0.99));
    out[QStringLiteral("p999_ms")] = LatencyStats::toMs(stats.percentileNs(0.999));
    out[QStringLiteral("max_ms")] = LatencyStats::toMs(stats.maxNs());
    out[QStringLiteral("mean_ms")] = stats.meanNs() / 1e6;
    return out;
}

QString row(const QStringList &cells)
{
    return QStringLiteral("| ") + cells.join(QStringLiteral(" | ")) + QStringLiteral(" |\n");
}

} // namespace

void BenchReport::setSettings(const QJsonObject &settings, const QStringList &summary)
{
    m_settings = settings;
    m_summary = summary;
}

void BenchReport::setThroughput(QString title, std::vector<ThroughputRow> rows)
{
    m_throughputRan = true;
    m_throughputTitle = std::move(title);
    m_throughput = std::move(rows);
}

qint64 BenchReport::totalErrors() const
{
    qint64 errors = 0;
    for (const OpenLoopPhase *phase : {&m_latency, &m_stream, &m_hit}) {
        for (const LatencyRow &r : phase->rows)
            errors += r.errors;
    }
    for (const ThroughputRow &r : m_throughput)
        errors += r.errors;
    return errors;
}

const BenchReport::LatencyRow *BenchReport::directRow(const OpenLoopPhase &phase) const
{
    return findRow(phase, kDirect);
}

const BenchReport::LatencyRow *BenchReport::findRow(const OpenLoopPhase &phase,
                                                    const QString &target) const
{
    for (const LatencyRow &r : phase.rows) {
        if (r.target == target)
            return &r;
    }
    return nullptr;
}

const BenchReport::ThroughputRow *BenchReport::throughputRow(const QString &target) const
{
    for (const ThroughputRow &r : m_throughput) {
        if (r.target == target)
            return &r;
    }
    return nullptr;
}

QString BenchReport::errorBanner() const
{
    const qint64 errors = totalErrors();
    if (errors == 0)
        return {};
    QString text =
        QStringLiteral("\n**!!! %1 REQUESTS FAILED — this run is not a valid measurement "
                       "!!!**\n\n")
            .arg(errors);
    const auto describe = [&text](const QString &phase, const QString &target, qint64 count,
                                  const QByteArray &first) {
        if (count > 0)
            text += QStringLiteral("- %1 / %2: %3 errors, first: %4\n")
                        .arg(phase, target)
                        .arg(count)
                        .arg(QString::fromUtf8(first));
    };
    for (const LatencyRow &r : m_latency.rows)
        describe(QStringLiteral("latency"), r.target, r.errors, r.firstError);
    for (const LatencyRow &r : m_stream.rows)
        describe(QStringLiteral("stream"), r.target, r.errors, r.firstError);
    for (const LatencyRow &r : m_hit.rows)
        describe(QStringLiteral("hit"), r.target, r.errors, r.firstError);
    for (const ThroughputRow &r : m_throughput)
        describe(QStringLiteral("throughput"), r.target, r.errors, r.firstError);
    return text + QLatin1Char('\n');
}

QString BenchReport::latencyMarkdown() const
{
    if (!m_latency.ran)
        return {};
    QString out = QStringLiteral("## %1\n\n").arg(m_latency.title);
    out += row({QStringLiteral("target"), QStringLiteral("requests"), QStringLiteral("errors"),
                QStringLiteral("p50 ms"), QStringLiteral("p90 ms"), QStringLiteral("p99 ms"),
                QStringLiteral("p99.9 ms"), QStringLiteral("max ms")});
    out += QStringLiteral("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const LatencyRow &r : m_latency.rows) {
        const LatencyStats &s = r.total;
        out += row({r.target, QString::number(r.requests), QString::number(r.errors), pct(s, 0.5),
                    pct(s, 0.9), pct(s, 0.99), pct(s, 0.999), maxMs(s)});
    }
    const LatencyRow *direct = directRow(m_latency);
    if (direct && m_latency.rows.size() > 1) {
        out += QStringLiteral("\nAdded latency vs `direct` (difference of percentiles; paired: "
                              "this request minus the `direct` request of the same round):\n\n");
        out += row({QStringLiteral("target"), QStringLiteral("Δp50 ms"), QStringLiteral("Δp90 ms"),
                    QStringLiteral("Δp99 ms"), QStringLiteral("Δp99.9 ms"),
                    QStringLiteral("paired median ms"), QStringLiteral("paired mean ms"),
                    QStringLiteral("pairs")});
        out += QStringLiteral("|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (const LatencyRow &r : m_latency.rows) {
            if (&r == direct)
                continue;
            const auto delta = [&](double p) { return difference(r.total, direct->total, p); };
            out += row({r.target, delta(0.5), delta(0.9), delta(0.99), delta(0.999),
                        signedPct(r.pairedTotal, 0.5), signedMean(r.pairedTotal),
                        QString::number(r.pairs)});
        }
    }
    out += pairsMarkdown(m_latency, false);
    return out + QLatin1Char('\n');
}

QString BenchReport::streamMarkdown() const
{
    if (!m_stream.ran)
        return {};
    QString out = QStringLiteral("## %1\n\n").arg(m_stream.title);
    out += row({QStringLiteral("target"), QStringLiteral("requests"), QStringLiteral("errors"),
                QStringLiteral("headers p50 ms"), QStringLiteral("TTFB p50 ms"),
                QStringLiteral("TTFB p99 ms"), QStringLiteral("TTFB max ms"),
                QStringLiteral("complete p50 ms"), QStringLiteral("complete p99 ms")});
    out += QStringLiteral("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const LatencyRow &r : m_stream.rows) {
        out += row({r.target, QString::number(r.requests), QString::number(r.errors),
                    pct(r.firstByte, 0.5), pct(r.firstEvent, 0.5), pct(r.firstEvent, 0.99),
                    maxMs(r.firstEvent), pct(r.total, 0.5), pct(r.total, 0.99)});
    }
    const LatencyRow *direct = directRow(m_stream);
    if (direct && m_stream.rows.size() > 1) {
        out += QStringLiteral("\nAdded TTFB (first event byte) vs `direct`:\n\n");
        out += row({QStringLiteral("target"), QStringLiteral("ΔTTFB p50 ms"),
                    QStringLiteral("ΔTTFB p99 ms"), QStringLiteral("paired median ms"),
                    QStringLiteral("paired mean ms"), QStringLiteral("pairs")});
        out += QStringLiteral("|---|---:|---:|---:|---:|---:|\n");
        for (const LatencyRow &r : m_stream.rows) {
            if (&r == direct)
                continue;
            const auto delta = [&](double p) {
                return difference(r.firstEvent, direct->firstEvent, p);
            };
            out += row({r.target, delta(0.5), delta(0.99), signedPct(r.pairedFirstEvent, 0.5),
                        signedMean(r.pairedFirstEvent), QString::number(r.pairs)});
        }
    }
    out += pairsMarkdown(m_stream, true);
    return out + QLatin1Char('\n');
}

QString BenchReport::pairsMarkdown(const OpenLoopPhase &phase, bool firstEvent) const
{
    if (phase.pairs.empty())
        return {};
    QString out = firstEvent
                      ? QStringLiteral("\nPairs, TTFB (first event byte): target minus base, "
                                       "difference of percentiles, then per round:\n\n")
                      : QStringLiteral("\nPairs: target minus base, difference of percentiles, "
                                       "then per round (both sent in the same round, at most a "
                                       "few ms apart):\n\n");
    out += row({QStringLiteral("target − base"), QStringLiteral("Δp50 ms"),
                QStringLiteral("Δp90 ms"), QStringLiteral("Δp99 ms"),
                QStringLiteral("paired p50 ms"), QStringLiteral("paired p99 ms"),
                QStringLiteral("paired mean ms"), QStringLiteral("pairs")});
    out += QStringLiteral("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const PairRow &pair : phase.pairs) {
        const LatencyRow *target = findRow(phase, pair.target);
        const LatencyRow *base = findRow(phase, pair.base);
        if (!target || !base)
            continue;
        const LatencyStats &a = firstEvent ? target->firstEvent : target->total;
        const LatencyStats &b = firstEvent ? base->firstEvent : base->total;
        const LatencyStats &paired = firstEvent ? pair.pairedFirstEvent : pair.pairedTotal;
        out +=
            row({QStringLiteral("`%1` − `%2`").arg(pair.target, pair.base), difference(a, b, 0.5),
                 difference(a, b, 0.9), difference(a, b, 0.99), signedPct(paired, 0.5),
                 signedPct(paired, 0.99), signedMean(paired), QString::number(pair.pairs)});
    }
    return out;
}

QString BenchReport::hitMarkdown() const
{
    if (!m_hit.ran)
        return {};
    QString out = QStringLiteral("## %1\n\n").arg(m_hit.title);
    out += row({QStringLiteral("target"), QStringLiteral("requests"), QStringLiteral("errors"),
                QStringLiteral("p50 ms"), QStringLiteral("p90 ms"), QStringLiteral("p99 ms"),
                QStringLiteral("max ms"), QStringLiteral("own time p50 ms"),
                QStringLiteral("own time p99 ms")});
    out += QStringLiteral("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const LatencyRow &r : m_hit.rows) {
        const LatencyStats &s = r.total;
        out += row({r.target, QString::number(r.requests), QString::number(r.errors), pct(s, 0.5),
                    pct(s, 0.9), pct(s, 0.99), maxMs(s), pct(r.serverGateway, 0.5),
                    pct(r.serverGateway, 0.99)});
    }
    out += QStringLiteral("\nown time: the `gateway;dur=` the target reports in `server-timing`, "
                          "from the parsed request to the response handed to its socket.\n");
    const LatencyRow *direct = directRow(m_hit);
    if (direct && m_hit.rows.size() > 1) {
        out += QStringLiteral("\nA hit vs the same request answered by `direct`:\n\n");
        out += row({QStringLiteral("target"), QStringLiteral("Δp50 ms"), QStringLiteral("Δp99 ms"),
                    QStringLiteral("paired median ms"), QStringLiteral("paired mean ms"),
                    QStringLiteral("pairs")});
        out += QStringLiteral("|---|---:|---:|---:|---:|---:|\n");
        for (const LatencyRow &r : m_hit.rows) {
            if (&r == direct)
                continue;
            out += row({r.target, difference(r.total, direct->total, 0.5),
                        difference(r.total, direct->total, 0.99), signedPct(r.pairedTotal, 0.5),
                        signedMean(r.pairedTotal), QString::number(r.pairs)});
        }
    }
    return out + QLatin1Char('\n');
}

QString BenchReport::throughputMarkdown() const
{
    if (!m_throughputRan)
        return {};
    const ThroughputRow *direct = throughputRow(kDirect);
    const ThroughputRow *nginx = throughputRow(kNginx);
    QString out = QStringLiteral("## %1\n\n").arg(m_throughputTitle);
    out += row({QStringLiteral("target"), QStringLiteral("connections"), QStringLiteral("requests"),
                QStringLiteral("errors"), QStringLiteral("req/s"), QStringLiteral("p50 ms"),
                QStringLiteral("p99 ms"), QStringLiteral("× direct"), QStringLiteral("× nginx"),
                QStringLiteral("server CPU µs/req")});
    out += QStringLiteral("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    const auto ratio = [](const ThroughputRow &r, const ThroughputRow *base) {
        return base && base->requestsPerSecond() > 0
                   ? QString::number(r.requestsPerSecond() / base->requestsPerSecond(), 'f', 2)
                   : QStringLiteral("–");
    };
    const auto cpuPerRequest = [](const ThroughputRow &r) {
        return r.cpuSeconds >= 0 && r.completedTotal > 0
                   ? QString::number(r.cpuSeconds * 1e6 / double(r.completedTotal), 'f', 1)
                   : QStringLiteral("–");
    };
    for (const ThroughputRow &r : m_throughput) {
        out += row({r.target, QString::number(r.connections), QString::number(r.completed),
                    QString::number(r.errors), QString::number(r.requestsPerSecond(), 'f', 0),
                    pct(r.latency, 0.5), pct(r.latency, 0.99), ratio(r, direct), ratio(r, nginx),
                    cpuPerRequest(r)});
    }
    out += QStringLiteral("\nserver CPU µs/req: user+system CPU time of the target's own processes "
                          "(tollgated; nginx master and workers; the mock for `direct`) during its "
                          "run, divided by the requests it served; the mock's share of a proxied "
                          "request is not in it.\n");
    return out + QLatin1Char('\n');
}

QString BenchReport::markdown() const
{
    QString out = QStringLiteral("# tollgate-bench\n\n");
    for (const QString &line : m_summary)
        out += QStringLiteral("- ") + line + QLatin1Char('\n');
    out += errorBanner();
    out += QLatin1Char('\n') + latencyMarkdown() + streamMarkdown() + hitMarkdown() +
           throughputMarkdown();
    QStringList lag;
    for (const OpenLoopPhase *phase : {&m_latency, &m_stream, &m_hit}) {
        // The direct target's requests if there is one: the client's own timing, no proxy in it.
        const LatencyRow *r = directRow(*phase);
        if (!r && !phase->rows.empty())
            r = &phase->rows.front();
        if (!r || r->senderLag.isEmpty())
            continue;
        lag += QStringLiteral("%1 phase (`%2`): p50 %3 µs, p99 %4 µs, max %5 µs")
                   .arg(phase == &m_latency  ? QStringLiteral("latency")
                        : phase == &m_stream ? QStringLiteral("stream")
                                             : QStringLiteral("hit"),
                        r->target, us(r->senderLag.percentileNs(0.5)),
                        us(r->senderLag.percentileNs(0.99)), us(r->senderLag.maxNs()));
    }
    if (!lag.isEmpty())
        out += QStringLiteral("Client send lag (actual minus scheduled send time; it is inside "
                              "every latency above, for every target alike): ") +
               lag.join(QStringLiteral("; ")) + QStringLiteral(".\n");
    out += QStringLiteral("TCP connections opened by the client: %1.\n").arg(m_connectionsOpened);
    out += errorBanner();
    return out;
}

QJsonObject BenchReport::json() const
{
    QJsonObject out;
    out[QStringLiteral("settings")] = m_settings;
    out[QStringLiteral("errors")] = double(totalErrors());
    out[QStringLiteral("connections_opened")] = double(m_connectionsOpened);
    const auto openLoop = [](const OpenLoopPhase &phase) {
        QJsonArray rows;
        for (const LatencyRow &r : phase.rows) {
            QJsonObject item;
            item[QStringLiteral("target")] = r.target;
            item[QStringLiteral("requests")] = double(r.requests);
            item[QStringLiteral("errors")] = double(r.errors);
            item[QStringLiteral("first_error")] = QString::fromUtf8(r.firstError);
            item[QStringLiteral("total")] = percentilesJson(r.total);
            item[QStringLiteral("first_byte")] = percentilesJson(r.firstByte);
            item[QStringLiteral("first_event")] = percentilesJson(r.firstEvent);
            item[QStringLiteral("sender_lag")] = percentilesJson(r.senderLag);
            item[QStringLiteral("pairs")] = double(r.pairs);
            item[QStringLiteral("paired_total_minus_direct")] = percentilesJson(r.pairedTotal);
            item[QStringLiteral("paired_first_event_minus_direct")] =
                percentilesJson(r.pairedFirstEvent);
            if (!r.serverGateway.isEmpty())
                item[QStringLiteral("server_timing_gateway")] = percentilesJson(r.serverGateway);
            rows.append(item);
        }
        QJsonArray pairs;
        for (const PairRow &pair : phase.pairs) {
            QJsonObject item;
            item[QStringLiteral("target")] = pair.target;
            item[QStringLiteral("base")] = pair.base;
            item[QStringLiteral("pairs")] = double(pair.pairs);
            item[QStringLiteral("paired_total")] = percentilesJson(pair.pairedTotal);
            item[QStringLiteral("paired_first_event")] = percentilesJson(pair.pairedFirstEvent);
            pairs.append(item);
        }
        QJsonObject result;
        result[QStringLiteral("title")] = phase.title;
        result[QStringLiteral("targets")] = rows;
        result[QStringLiteral("pairs")] = pairs;
        return result;
    };
    if (m_latency.ran)
        out[QStringLiteral("latency")] = openLoop(m_latency);
    if (m_stream.ran)
        out[QStringLiteral("stream")] = openLoop(m_stream);
    if (m_hit.ran)
        out[QStringLiteral("hit")] = openLoop(m_hit);
    if (m_throughputRan) {
        QJsonArray rows;
        for (const ThroughputRow &r : m_throughput) {
            QJsonObject item;
            item[QStringLiteral("target")] = r.target;
            item[QStringLiteral("connections")] = r.connections;
            item[QStringLiteral("completed")] = double(r.completed);
            item[QStringLiteral("errors")] = double(r.errors);
            item[QStringLiteral("first_error")] = QString::fromUtf8(r.firstError);
            item[QStringLiteral("seconds")] = r.seconds;
            item[QStringLiteral("requests_per_second")] = r.requestsPerSecond();
            item[QStringLiteral("completed_with_warmup")] = double(r.completedTotal);
            item[QStringLiteral("cpu_seconds")] = r.cpuSeconds;
            item[QStringLiteral("latency")] = percentilesJson(r.latency);
            rows.append(item);
        }
        QJsonObject result;
        result[QStringLiteral("title")] = m_throughputTitle;
        result[QStringLiteral("targets")] = rows;
        out[QStringLiteral("throughput")] = result;
    }
    return out;
}

} // namespace tollgate::bench
