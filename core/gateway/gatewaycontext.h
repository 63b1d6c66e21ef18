#pragma once

#include "alerts/alertmonitor.h"
#include "cache/responsecache.h"
#include "cache/sqlitecachestore.h"
#include "gateway/policydocument.h"
#include "limits/ratelimiter.h"
#include "limits/redisspendstore.h"
#include "limits/spendledger.h"
#include "metering/metrics.h"
#include "metering/pricetable.h"
#include "metering/requestfeed.h"
#include "metering/runningrequests.h"
#include "metering/trafficseries.h"
#include "routing/breakerregistry.h"
#include "store/requestlog.h"
#include "store/spendstore.h"

#include <atomic>
#include <functional>
#include <memory>

namespace tollgate::gateway {

/// State every worker's handler shares: the policy in force (with its prices), the thread-safe rate
/// limiter, breakers, cache, metrics and log, and counters. Owned by the Gateway, which outlives
/// the workers.
struct GatewayContext {
    /// The policy in force. A request takes it once and keeps that snapshot to its end, so a
    /// reload applies to new requests without touching those in flight.
    std::shared_ptr<const PolicyDocument> policy() const { return std::atomic_load(&m_policy); }
    void setPolicy(std::shared_ptr<const PolicyDocument> policy)
    {
        std::atomic_store(&m_policy, std::move(policy));
    }

    cache::ResponseCache responseCache;
    /// The cache's SQLite tier (`cache.persistent`); null when off or without a data folder.
    cache::SqliteCacheStore *persistentCache = nullptr;
    /// The cache's Redis tier that replicas share (`state.redis`); null when not configured.
    cache::CacheStore *sharedCache = nullptr;
    limits::SpendLedger spendLedger;
    store::SpendStore *spendStore = nullptr; ///< persists the ledger; null without a data folder
    /// Shares the ledger's spend with the other replicas through Redis (`state.redis`); null
    /// when not configured.
    limits::RedisSpendStore *sharedSpend = nullptr;
    limits::RateLimiter rateLimiter;
    /// Where admissions are counted: `rateLimiter`, or the Redis store that replicas share
    /// (`state.redis`), chosen at start.
    limits::RateLimitStore *rateLimitStore = &rateLimiter;
    routing::BreakerRegistry breakers;
    metering::Metrics metrics;
    /// The shared Redis's health and its stores' counters, for /metrics; empty without Redis.
    std::function<metering::RedisHealth()> redisHealth;
    /// The policy's alert rules evaluated live; every finished request is recorded here.
    alerts::AlertMonitor alerts;
    store::RequestLog *log = nullptr;
    /// The latest finished requests for a watching console; off unless it sets a capacity.
    metering::RequestFeed requestFeed;
    /// The requests in flight for a watching console; off unless it enables it.
    metering::RunningRequests running;
    /// Chart buckets of the last 5 min, hour, day and week; off unless a console enables it.
    metering::TrafficSeries traffic;
    std::atomic<int> inflight{0};
    std::atomic<bool> draining{false};
    /// Stopped from the console: not listening, and requests on connections still open get 503.
    std::atomic<bool> paused{false};
    /// Bytes of each request and response body the request log keeps beside the request, for
    /// the console's detail; 0 (tollgated) keeps none. Headers are kept without credentials.
    std::atomic<qint64> captureBodyLimit{0};

private:
    std::shared_ptr<const PolicyDocument> m_policy = std::make_shared<PolicyDocument>();
};

} // namespace tollgate::gateway
