#pragma once

#include "metering/requestrecord.h"

#include <QByteArray>
#include <QHash>
#include <QMutex>
#include <QString>

#include <array>

namespace tollgate::metering {

/// Prometheus metrics of the gateway, fed one RequestRecord per request, rendered as text
/// exposition format 0.0.4. Thread-safe; recording takes one short lock.
///
/// Families: ai_requests_total{model,status}, ai_request_duration_seconds{model} (buckets
/// 0.1 0.5 1 2 5 10), ai_cost_total_usd{model} (a gauge: see metrics.cpp),
/// ai_errors_total{model,status,type}, ai_tokens_total{model,kind},
/// ai_time_to_first_token_seconds{model},
/// tollgate_gateway_overhead_seconds, tollgate_upstream_duration_seconds{model},
/// ai_cache_requests_total{status}, tollgate_inflight_requests, tollgate_log_dropped_total.
/// One budget's standing at a scrape.
struct BudgetGauge {
    QString name;
    double limitUsd = 0;
    double spentUsd = 0;
    double remainingUsd = 0;
};

class Metrics {
public:
    void record(const RequestRecord &record);
    void setInflight(qint64 count);
    void setLogDropped(quint64 count);
    /// Circuit-breaker state per upstream target (0 closed, 1 half-open, 2 open), as of a scrape.
    void setBreakerStates(const QList<QPair<QString, int>> &states);
    void setBudgets(const QList<BudgetGauge> &budgets);
    QByteArray renderPrometheus() const;

private:
    // Per-bucket counts (not cumulative; rendering sums them), the last slot past the highest
    // bound counts observations that only fall in +Inf.
    struct Histogram {
        std::array<quint64, 16> buckets{};
        quint64 count = 0;
        double sum = 0;
    };
    // All series of one model label together, so record() does a single string hash lookup.
    struct ModelSeries {
        QHash<int, quint64> requests; // key: status
        QHash<int, quint64> errors;   // key: status * kErrorTypeCount + error type
        Histogram duration;
        Histogram ttft;
        Histogram upstream;
        double cost = 0;
        double saved = 0;
        quint64 retries = 0;
        std::array<quint64, 4> tokens{}; // input, output, cache_write, cache_read
    };
    static constexpr int kErrorTypeCount = 8;

    mutable QMutex m_mutex;
    QHash<QString, ModelSeries> m_models;
    Histogram m_overhead;
    std::array<quint64, 3> m_cache{}; // hit, miss, bypass
    qint64 m_inflight = 0;
    quint64 m_logDropped = 0;
    QList<QPair<QString, int>> m_breakers;
    QList<BudgetGauge> m_budgets;
};

} // namespace tollgate::metering
