#pragma once

#include "metering/requestrecord.h"

#include <QByteArray>
#include <QHash>
#include <QMutex>
#include <QString>

#include <array>
#include <optional>

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

/// The Redis that replicas share, as of a scrape: whether calls reach it, and what each shared
/// store counted. Families of a store that is off are not rendered.
struct RedisHealth {
    bool up = false;      ///< false while calls skip Redis in an outage's backoff
    quint64 calls = 0;    ///< commands and pipelines sent
    quint64 failures = 0; ///< calls that failed on I/O (connect, timeout, reset)
    quint64 skipped = 0;  ///< calls not sent during an outage's backoff
    quint64 outages = 0;  ///< times Redis became unreachable
    bool rateLimits = false;
    quint64 rateLimitRedisAdmissions = 0;
    quint64 rateLimitFallbackAdmissions = 0;
    quint64 rateLimitErrors = 0;
    bool cache = false;
    quint64 cacheHits = 0;
    quint64 cacheMisses = 0;
    quint64 cacheErrors = 0;
    quint64 cacheWritten = 0;
    quint64 cacheDropped = 0;
    bool budgets = false;
    quint64 spendSent = 0;
    quint64 spendErrors = 0;
    quint64 spendDropped = 0;
    quint64 spendPending = 0;
    double spendLastSyncSeconds = 0; ///< Unix time of the last shared totals; 0: never
};

class Metrics {
public:
    void record(const RequestRecord &record);
    void setInflight(qint64 count);
    void setLogDropped(quint64 count);
    /// Circuit-breaker state per upstream target (0 closed, 1 half-open, 2 open), as of a scrape.
    void setBreakerStates(const QList<QPair<QString, int>> &states);
    void setBudgets(const QList<BudgetGauge> &budgets);
    /// Families rendered elsewhere in exposition format (the alert rules' gauges, from
    /// alerts::AlertMonitor), appended to every scrape as they are.
    void setAlertExposition(const QByteArray &text);
    /// The shared Redis's health (tollgate_redis_*, tollgate_ratelimit_*): set at each scrape
    /// when `state.redis` is configured; never set, the families are absent.
    void setRedisHealth(const RedisHealth &health);
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
    QByteArray m_alertExposition;
    std::optional<RedisHealth> m_redis;
};

} // namespace tollgate::metering
