#include "metering/metrics.h"

#include <QLocale>
#include <QMutexLocker>
#include <QStringList>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

namespace tollgate::metering {

namespace {

// Model names come from clients; without a cap a caller cycling through made-up names would grow
// the registry (and every scrape) without bound. Later names share one "other" series.
constexpr int kMaxModelLabels = 256;

struct BucketLayout {
    const double *bounds;
    const char *const *labels; // written as Go's strconv 'g' would, like official clients
    int size;
};

constexpr double kDurationBounds[] = {0.1, 0.5, 1, 2, 5, 10};
constexpr const char *kDurationLabels[] = {"0.1", "0.5", "1", "2", "5", "10"};
constexpr double kTtftBounds[] = {0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10};
constexpr const char *kTtftLabels[] = {"0.05", "0.1", "0.25", "0.5", "1", "2", "5", "10"};
// The gateway's own time is measured in microseconds (target p50 <= 0.1 ms), so these buckets
// start far below the request ones.
constexpr double kOverheadBounds[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001,
                                      0.0025,  0.005,  0.01,    0.05};
constexpr const char *kOverheadLabels[] = {"5e-05",  "0.0001", "0.00025", "0.0005", "0.001",
                                           "0.0025", "0.005",  "0.01",    "0.05"};

constexpr BucketLayout kDuration{kDurationBounds, kDurationLabels, 6};
constexpr BucketLayout kTtft{kTtftBounds, kTtftLabels, 8};
constexpr BucketLayout kUpstream = kDuration;
constexpr BucketLayout kOverhead{kOverheadBounds, kOverheadLabels, 9};

enum ErrorType {
    ClientError,
    RateLimited,
    Timeout,
    UpstreamError,
    StreamInterrupted,
    ClientClosed,
    OtherError,
};
constexpr const char *kErrorTypeNames[] = {"client_error",   "rate_limited",       "timeout",
                                           "upstream_error", "stream_interrupted", "client_closed",
                                           "other"};

constexpr const char *kTokenKinds[] = {"input", "output", "cache_write", "cache_read"};
constexpr const char *kCacheStatuses[] = {"hit", "miss", "bypass"};

std::optional<ErrorType> classifyError(int status, bool hasErrorText)
{
    if (status == 429)
        return RateLimited;
    if (status == 408 || status == 504)
        return Timeout;
    if (status >= 400 && status < 500)
        return ClientError;
    if (status >= 500)
        return UpstreamError;
    if (!hasErrorText)
        return std::nullopt;
    if (status == 0)
        return ClientClosed;
    // A 2xx already went out, so a later failure can only have cut the stream short.
    if (status >= 200 && status < 300)
        return StreamInterrupted;
    return OtherError;
}

double secondsFromMs(double ms)
{
    // NaN and negative durations (clock steps) would poison _sum for the life of the process.
    return ms >= 0 ? ms / 1000.0 : 0.0;
}

QByteArray formatDouble(double value)
{
    return QByteArray::number(value, 'g', QLocale::FloatingPointShortest);
}

// Label values escape backslash, double quote and newline (exposition format 0.0.4).
QByteArray escapeLabel(const QString &value)
{
    const QByteArray utf8 = value.toUtf8();
    QByteArray out;
    out.reserve(utf8.size());
    for (char c : utf8) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

void writeHeader(QByteArray &out, const char *name, const char *type, const char *help)
{
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

// `labels` is the already-rendered label list without braces (may be empty).
void writeSample(QByteArray &out, const char *name, const char *suffix, const QByteArray &labels,
                 const QByteArray &value)
{
    out += name;
    out += suffix;
    if (!labels.isEmpty()) {
        out += '{';
        out += labels;
        out += '}';
    }
    out += ' ';
    out += value;
    out += '\n';
}

QByteArray label(const char *name, const QByteArray &escapedValue)
{
    QByteArray out(name);
    out += "=\"";
    out += escapedValue;
    out += '"';
    return out;
}

QByteArray join(const QByteArray &first, const QByteArray &second)
{
    if (first.isEmpty())
        return second;
    return first + ',' + second;
}

template <typename HistogramT>
void observe(HistogramT &histogram, const BucketLayout &layout, double value)
{
    int slot = 0;
    while (slot < layout.size && value > layout.bounds[slot])
        ++slot;
    ++histogram.buckets[slot];
    ++histogram.count;
    histogram.sum += value;
}

template <typename HistogramT>
void writeHistogram(QByteArray &out, const char *name, const BucketLayout &layout,
                    const QByteArray &labels, const HistogramT &histogram)
{
    quint64 cumulative = 0;
    for (int i = 0; i < layout.size; ++i) {
        cumulative += histogram.buckets[i];
        writeSample(out, name, "_bucket", join(labels, label("le", layout.labels[i])),
                    QByteArray::number(cumulative));
    }
    writeSample(out, name, "_bucket", join(labels, label("le", "+Inf")),
                QByteArray::number(histogram.count));
    writeSample(out, name, "_sum", labels, formatDouble(histogram.sum));
    writeSample(out, name, "_count", labels, QByteArray::number(histogram.count));
}

template <typename Map> QList<typename Map::key_type> sortedKeys(const Map &map)
{
    QList<typename Map::key_type> keys = map.keys();
    std::sort(keys.begin(), keys.end());
    return keys;
}

} // namespace

void Metrics::record(const RequestRecord &record)
{
    static const QString unknown = QStringLiteral("unknown");
    static const QString other = QStringLiteral("other");
    // The served model is what cost and latency belong to; requests that failed before a model
    // was chosen still count under the name the client asked for.
    const QString &model = !record.usedModel.isEmpty()        ? record.usedModel
                           : !record.requestedModel.isEmpty() ? record.requestedModel
                                                              : unknown;
    const std::optional<ErrorType> error = classifyError(record.status, !record.error.isEmpty());
    int cacheSlot = -1;
    for (int i = 0; i < 3; ++i) {
        if (record.cacheStatus == QLatin1String(kCacheStatuses[i]))
            cacheSlot = i;
    }
    const double latency = secondsFromMs(record.latencyMs);
    const double upstream = secondsFromMs(record.upstreamMs);
    const double overhead = secondsFromMs(record.overheadMs);
    const api::Usage &usage = record.usage;

    QMutexLocker locker(&m_mutex);
    auto it = m_models.find(model);
    if (it == m_models.end())
        it = m_models.size() < kMaxModelLabels ? m_models.insert(model, ModelSeries())
                                               : m_models.find(other);
    if (it == m_models.end())
        it = m_models.insert(other, ModelSeries());
    ModelSeries &series = it.value();

    ++series.requests[record.status];
    if (error)
        ++series.errors[record.status * kErrorTypeCount + *error];
    observe(series.duration, kDuration, latency);
    if (record.ttftMs >= 0)
        observe(series.ttft, kTtft, record.ttftMs / 1000.0);
    // Cache hits and requests rejected in the gateway never reach the upstream; a zero there
    // would drag the upstream quantiles down.
    if (upstream > 0)
        observe(series.upstream, kUpstream, upstream);
    observe(m_overhead, kOverhead, overhead);
    if (record.costUsd > 0)
        series.cost += record.costUsd;
    if (record.savedUsd > 0)
        series.saved += record.savedUsd;
    series.retries += quint64(std::max(record.retries, 0));
    series.tokens[0] += quint64(std::max<qint64>(usage.inputTokens, 0));
    series.tokens[1] += quint64(std::max<qint64>(usage.outputTokens, 0));
    series.tokens[2] += quint64(std::max<qint64>(usage.cacheWriteTokens, 0));
    series.tokens[3] += quint64(std::max<qint64>(usage.cacheReadTokens, 0));
    if (cacheSlot >= 0)
        ++m_cache[cacheSlot];
}

void Metrics::setBreakerStates(const QList<QPair<QString, int>> &states)
{
    QMutexLocker lock(&m_mutex);
    m_breakers = states;
}

void Metrics::setBudgets(const QList<BudgetGauge> &budgets)
{
    QMutexLocker lock(&m_mutex);
    m_budgets = budgets;
}

void Metrics::setAlertExposition(const QByteArray &text)
{
    QMutexLocker lock(&m_mutex);
    m_alertExposition = text;
}

void Metrics::setRedisHealth(const RedisHealth &health)
{
    QMutexLocker lock(&m_mutex);
    m_redis = health;
}

void Metrics::setInflight(qint64 count)
{
    QMutexLocker locker(&m_mutex);
    m_inflight = count;
}

void Metrics::setLogDropped(quint64 count)
{
    QMutexLocker locker(&m_mutex);
    m_logDropped = count;
}

QByteArray Metrics::renderPrometheus() const
{
    QMutexLocker locker(&m_mutex);

    // Sorted output keeps scrapes diffable and the tests exact.
    std::vector<std::pair<QByteArray, const ModelSeries *>> models;
    models.reserve(m_models.size());
    for (const QString &name : sortedKeys(m_models))
        models.emplace_back(label("model", escapeLabel(name)), &m_models.find(name).value());

    QByteArray out;
    out.reserve(2048 + int(models.size()) * 3072);

    writeHeader(out, "ai_requests_total", "counter",
                "Requests answered by the gateway, by model and HTTP status.");
    for (const auto &[modelLabel, series] : models) {
        for (int status : sortedKeys(series->requests))
            writeSample(out, "ai_requests_total", "",
                        join(modelLabel, label("status", QByteArray::number(status))),
                        QByteArray::number(series->requests.value(status)));
    }

    writeHeader(out, "ai_errors_total", "counter",
                "Requests that failed (status >= 400 or an error after the status), by model, "
                "status and error type.");
    for (const auto &[modelLabel, series] : models) {
        for (int key : sortedKeys(series->errors)) {
            const int status = key / kErrorTypeCount;
            const int type = key % kErrorTypeCount;
            QByteArray labels = join(modelLabel, label("status", QByteArray::number(status)));
            labels = join(labels, label("type", kErrorTypeNames[type]));
            writeSample(out, "ai_errors_total", "", labels,
                        QByteArray::number(series->errors.value(key)));
        }
    }

    writeHeader(out, "ai_request_duration_seconds", "histogram",
                "Time from receiving a request to completing its response.");
    for (const auto &[modelLabel, series] : models)
        writeHistogram(out, "ai_request_duration_seconds", kDuration, modelLabel, series->duration);

    writeHeader(out, "ai_time_to_first_token_seconds", "histogram",
                "Time from receiving a request to the first response body byte sent.");
    for (const auto &[modelLabel, series] : models) {
        if (series->ttft.count > 0)
            writeHistogram(out, "ai_time_to_first_token_seconds", kTtft, modelLabel, series->ttft);
    }

    writeHeader(out, "tollgate_upstream_duration_seconds", "histogram",
                "Time spent waiting on the upstream provider.");
    for (const auto &[modelLabel, series] : models) {
        if (series->upstream.count > 0)
            writeHistogram(out, "tollgate_upstream_duration_seconds", kUpstream, modelLabel,
                           series->upstream);
    }

    writeHeader(out, "tollgate_gateway_overhead_seconds", "histogram",
                "Time the gateway itself adds to a request (latency minus upstream time).");
    writeHistogram(out, "tollgate_gateway_overhead_seconds", kOverhead, QByteArray(), m_overhead);

    // DESIGN.md names this family ai_cost_total_usd and its alert rule uses that name. A counter
    // must end in _total to pass promtool's lint, so it is exposed as a gauge that only grows;
    // increase() and rate() still work on it.
    writeHeader(out, "ai_cost_total_usd", "gauge",
                "Spend in USD since the gateway started, by model (only ever grows).");
    for (const auto &[modelLabel, series] : models)
        writeSample(out, "ai_cost_total_usd", "", modelLabel, formatDouble(series->cost));

    writeHeader(out, "ai_tokens_total", "counter",
                "Tokens processed, by model and kind (input, output, cache_write, cache_read).");
    for (const auto &[modelLabel, series] : models) {
        for (int kind = 0; kind < 4; ++kind)
            writeSample(out, "ai_tokens_total", "",
                        join(modelLabel, label("kind", kTokenKinds[kind])),
                        QByteArray::number(series->tokens[kind]));
    }

    writeHeader(out, "ai_cache_requests_total", "counter",
                "Requests by response cache outcome (hit, miss, bypass).");
    for (int i = 0; i < 3; ++i)
        writeSample(out, "ai_cache_requests_total", "", label("status", kCacheStatuses[i]),
                    QByteArray::number(m_cache[i]));

    writeHeader(out, "tollgate_inflight_requests", "gauge", "Requests currently being served.");
    writeSample(out, "tollgate_inflight_requests", "", QByteArray(),
                QByteArray::number(m_inflight));

    writeHeader(out, "tollgate_cache_saved_usd_total", "counter",
                "What cache hits would have cost at the provider, by model.");
    for (const auto &[modelLabel, series] : models)
        writeSample(out, "tollgate_cache_saved_usd_total", "", modelLabel,
                    formatDouble(series->saved));

    writeHeader(out, "tollgate_upstream_retries_total", "counter",
                "Upstream attempts beyond the first (retries and fallbacks), by model.");
    for (const auto &[modelLabel, series] : models)
        writeSample(out, "tollgate_upstream_retries_total", "", modelLabel,
                    QByteArray::number(series->retries));

    writeHeader(out, "tollgate_breaker_state", "gauge",
                "Circuit breaker per upstream target: 0 closed, 1 half-open, 2 open.");
    for (const auto &[target, state] : m_breakers)
        writeSample(out, "tollgate_breaker_state", "", label("target", escapeLabel(target)),
                    QByteArray::number(state));

    const auto writeBudgets = [&](const char *name, const char *help, auto value) {
        writeHeader(out, name, "gauge", help);
        for (const BudgetGauge &budget : m_budgets)
            writeSample(out, name, "", label("budget", escapeLabel(budget.name)),
                        formatDouble(value(budget)));
    };
    writeBudgets("tollgate_budget_limit_usd", "Each budget's limit in its current window.",
                 [](const BudgetGauge &b) { return b.limitUsd; });
    writeBudgets("tollgate_budget_spend_usd", "Spend counted against each budget in its window.",
                 [](const BudgetGauge &b) { return b.spentUsd; });
    writeBudgets("tollgate_budget_remaining_usd", "What each budget has left in its window.",
                 [](const BudgetGauge &b) { return b.remainingUsd; });

    writeHeader(out, "tollgate_log_dropped_total", "counter",
                "Request log records dropped because the log's queue was full.");
    writeSample(out, "tollgate_log_dropped_total", "", QByteArray(),
                QByteArray::number(m_logDropped));

    if (m_redis) {
        const RedisHealth &redis = *m_redis;
        const auto write = [&](const char *name, const char *type, const char *help,
                               const QByteArray &value) {
            writeHeader(out, name, type, help);
            writeSample(out, name, "", QByteArray(), value);
        };
        const auto counter = [&](const char *name, const char *help, quint64 value) {
            write(name, "counter", help, QByteArray::number(value));
        };
        write("tollgate_redis_up", "gauge",
              "1 while calls reach the Redis that replicas share; 0 during an outage, while "
              "calls skip it.",
              redis.up ? "1" : "0");
        counter("tollgate_redis_calls_total", "Commands and pipelines sent to Redis.", redis.calls);
        counter("tollgate_redis_errors_total",
                "Calls to Redis that failed on I/O (connect, timeout, reset).", redis.failures);
        counter("tollgate_redis_skipped_calls_total",
                "Calls not sent to Redis because an outage's backoff had not passed.",
                redis.skipped);
        counter("tollgate_redis_outages_total", "Times Redis became unreachable.", redis.outages);
        if (redis.rateLimits) {
            counter("tollgate_ratelimit_redis_admissions_total",
                    "Rate-limit admissions decided in Redis, across replicas.",
                    redis.rateLimitRedisAdmissions);
            counter("tollgate_ratelimit_fallback_admissions_total",
                    "Rate-limit admissions decided by this replica alone: Redis unreachable or "
                    "failing.",
                    redis.rateLimitFallbackAdmissions);
            counter("tollgate_ratelimit_redis_errors_total",
                    "Rate-limit scripts that failed or answered unreadably.",
                    redis.rateLimitErrors);
        }
        if (redis.cache) {
            counter("tollgate_redis_cache_hits_total", "Lookups answered by the Redis cache tier.",
                    redis.cacheHits);
            counter("tollgate_redis_cache_misses_total",
                    "Lookups of the Redis cache tier that found nothing.", redis.cacheMisses);
            counter("tollgate_redis_cache_errors_total",
                    "Lookups of the Redis cache tier that failed, were skipped in an outage, or "
                    "read an unreadable value.",
                    redis.cacheErrors);
            counter("tollgate_redis_cache_written_total",
                    "Entries written to or removed from the Redis cache tier.", redis.cacheWritten);
            counter("tollgate_redis_cache_dropped_total",
                    "Writes to the Redis cache tier lost: queue full, Redis unreachable or "
                    "failing.",
                    redis.cacheDropped);
        }
        if (redis.budgets) {
            counter("tollgate_redis_spend_sent_total",
                    "Budget spend increments that Redis took from this replica.", redis.spendSent);
            counter("tollgate_redis_spend_errors_total",
                    "Failed calls and error replies while sharing budget spend.",
                    redis.spendErrors);
            counter("tollgate_redis_spend_dropped_total",
                    "Budget spend increments never shared: queue full, or refused by Redis.",
                    redis.spendDropped);
            write("tollgate_redis_spend_pending", "gauge",
                  "Budget spend increments waiting to be sent to Redis.",
                  QByteArray::number(redis.spendPending));
            write("tollgate_redis_spend_last_sync_timestamp_seconds", "gauge",
                  "When budgets last got the spend of all replicas from Redis (Unix time; 0: "
                  "never).",
                  formatDouble(redis.spendLastSyncSeconds));
        }
    }

    out += m_alertExposition;
    return out;
}

} // namespace tollgate::metering
