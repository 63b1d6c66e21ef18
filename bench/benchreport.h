#pragma once

#include "latencystats.h"

#include <QByteArray>
#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <vector>

namespace tollgate::bench {

/// The benchmark's results: Markdown tables for people, JSON for scripts.
class BenchReport {
public:
    /// One target in an open-loop phase. All durations count from the scheduled send time.
    struct LatencyRow {
        QString target;
        qint64 requests = 0;
        qint64 errors = 0;
        QByteArray firstError;
        LatencyStats total;      ///< to the last response byte
        LatencyStats firstByte;  ///< to the status line
        LatencyStats firstEvent; ///< to the first body byte: a stream's first event (TTFB)
        LatencyStats senderLag;  ///< actual send time minus scheduled send time
        /// Same-round differences against the `direct` target (this minus direct).
        LatencyStats pairedTotal;
        LatencyStats pairedFirstEvent;
        qint64 pairs = 0;
        /// The target's own account of its time (server-timing `gateway;dur=`), when it gives one.
        LatencyStats serverGateway;
    };

    /// One target against another of the same phase, round by round: e.g. the policy path, a
    /// gateway with routing, cache and limits on minus the same gateway with them off.
    struct PairRow {
        QString target;
        QString base;
        LatencyStats pairedTotal;      ///< this target's latency minus the base's, per round
        LatencyStats pairedFirstEvent; ///< the same for the first body byte
        qint64 pairs = 0;
    };

    /// One target in the closed-loop phase.
    struct ThroughputRow {
        QString target;
        int connections = 0;
        qint64 completed = 0;
        qint64 errors = 0;
        QByteArray firstError;
        double seconds = 0;
        qint64 completedTotal = 0; ///< with warm-up and drain: the requests `cpuSeconds` served
        double cpuSeconds = -1;    ///< CPU the target's own processes used; negative: unknown
        LatencyStats latency;      ///< send to last byte (service time under saturation)
        double requestsPerSecond() const { return seconds > 0 ? double(completed) / seconds : 0; }
    };

    struct OpenLoopPhase {
        bool ran = false;
        QString title;
        std::vector<LatencyRow> rows;
        std::vector<PairRow> pairs;
    };

    void setSettings(const QJsonObject &settings, const QStringList &summary);
    void setLatency(OpenLoopPhase phase) { m_latency = std::move(phase); }
    void setStream(OpenLoopPhase phase) { m_stream = std::move(phase); }
    void setHit(OpenLoopPhase phase) { m_hit = std::move(phase); }
    void setThroughput(QString title, std::vector<ThroughputRow> rows);
    void setConnectionsOpened(qint64 count) { m_connectionsOpened = count; }

    qint64 totalErrors() const;
    QString markdown() const;
    QJsonObject json() const;

private:
    QString errorBanner() const;
    QString latencyMarkdown() const;
    QString streamMarkdown() const;
    QString hitMarkdown() const;
    QString pairsMarkdown(const OpenLoopPhase &phase, bool firstEvent) const;
    const LatencyRow *findRow(const OpenLoopPhase &phase, const QString &target) const;
    QString throughputMarkdown() const;
    const LatencyRow *directRow(const OpenLoopPhase &phase) const;
    const ThroughputRow *throughputRow(const QString &target) const;

    QJsonObject m_settings;
    QStringList m_summary;
    OpenLoopPhase m_latency;
    OpenLoopPhase m_stream;
    OpenLoopPhase m_hit;
    bool m_throughputRan = false;
    QString m_throughputTitle;
    std::vector<ThroughputRow> m_throughput;
    qint64 m_connectionsOpened = 0;
};

} // namespace tollgate::bench
