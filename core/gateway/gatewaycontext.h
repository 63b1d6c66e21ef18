#pragma once

#include "metering/metrics.h"
#include "metering/pricetable.h"
#include "policy/gatewayconfig.h"
#include "store/requestlog.h"

#include <atomic>

namespace tollgate::gateway {

/// State every worker's handler shares: read-only configuration and prices, thread-safe
/// metrics and log, and counters. Owned by the Gateway, which outlives the workers.
struct GatewayContext {
    policy::GatewayConfig config;
    metering::PriceTable prices;
    metering::Metrics metrics;
    store::RequestLog *log = nullptr;
    std::atomic<int> inflight{0};
    std::atomic<bool> draining{false};
};

} // namespace tollgate::gateway
