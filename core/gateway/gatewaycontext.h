#pragma once

#include "cache/cachepolicy.h"
#include "cache/responsecache.h"
#include "limits/planpolicy.h"
#include "limits/ratelimiter.h"
#include "metering/metrics.h"
#include "metering/pricetable.h"
#include "policy/gatewayconfig.h"
#include "routing/breakerregistry.h"
#include "routing/reliabilitypolicy.h"
#include "routing/routingpolicy.h"
#include "store/requestlog.h"

#include <atomic>

namespace tollgate::gateway {

/// State every worker's handler shares: read-only configuration and prices, thread-safe
/// metrics and log, and counters. Owned by the Gateway, which outlives the workers.
struct GatewayContext {
    policy::GatewayConfig config;
    routing::RoutingPolicy routes;
    limits::PlanPolicy plans;
    routing::ReliabilityPolicy reliability;
    cache::CachePolicy cachePolicy;
    cache::ResponseCache responseCache;
    metering::PriceTable prices;
    limits::RateLimiter rateLimiter;
    routing::BreakerRegistry breakers;
    metering::Metrics metrics;
    store::RequestLog *log = nullptr;
    std::atomic<int> inflight{0};
    std::atomic<bool> draining{false};
};

} // namespace tollgate::gateway
