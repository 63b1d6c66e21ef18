#pragma once

#include "api/usage.h"

#include <QString>

#include <cmath>

namespace tollgate::metering {

/// Everything measured about one request: the row of the request log and the input of metrics.
/// Never holds a credential.
struct RequestRecord {
    QString id;             ///< x-tollgate-request-id
    qint64 startedAtMs = 0; ///< wall clock, ms since epoch
    QString flavor;         ///< "anthropic" | "openai"
    QString endpoint;       ///< e.g. "/v1/messages"
    QString user;           ///< identified user, empty when anonymous
    QString requestedModel; ///< model the client asked for
    QString usedModel;      ///< model that served it (from the response when known)
    int status = 0;         ///< HTTP status sent to the client (0: client left before a status)
    bool stream = false;
    double latencyMs = 0;  ///< request received -> response complete
    double ttftMs = -1;    ///< request received -> first body byte to the client; -1 when none
    double upstreamMs = 0; ///< time spent waiting on the upstream
    double overheadMs = 0; ///< gateway's own time: latency minus upstream time
    /// Request received -> its first upstream attempt had a connection: the gateway's checks
    /// and routing, and any wait for a free upstream connection. -1 without an upstream call.
    double queueMs = -1;
    /// Time spent opening upstream connections (TCP, TLS), all attempts together: 0 when pooled
    /// connections served. -1 without an upstream call.
    double connectMs = -1;
    api::Usage usage;
    double costUsd = 0;
    bool priced = true;  ///< false when the model is missing from the price table
    QString route;       ///< the routing rule that chose the model, empty when none
    QString plan;        ///< the plan the request was admitted under
    double savedUsd = 0; ///< what a cache hit would have cost at the provider
    /// What routing saved against the requested (or, for a router model, the strongest) model:
    /// metering::routingSavingsUsd; negative for an upgrade, 0 for a cache hit.
    double routingSavedUsd = 0;
    int retries = 0;     ///< upstream attempts beyond the first (retries and fallbacks)
    QString cacheStatus; ///< "hit" | "miss" | "bypass"
    QString error;       ///< short error text, empty on success

    /// Whether it counts as an error, as Metrics' ai_errors_total, the alert rules and the
    /// console count it: status >= 400, or an error text (a client that left before a status, a
    /// stream cut short).
    bool failed() const { return status >= 400 || !error.isEmpty(); }
    /// The latency as the charts and alerts count it: NaN, infinite and negative latencies
    /// (clock steps) count as instant, as in Metrics.
    double countedLatencyMs() const
    {
        return std::isfinite(latencyMs) && latencyMs >= 0 ? latencyMs : 0.0;
    }
    /// When it completed, to the ms: the time the charts, alerts and the log's time filter
    /// place it at.
    qint64 completedAtMs() const { return startedAtMs + qint64(std::llround(countedLatencyMs())); }
};

} // namespace tollgate::metering
