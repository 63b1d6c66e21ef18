#include "gateway/gateway.h"

#include "gateway/gatewayhandler.h"

#include <QDateTime>
#include <QDir>

namespace tollgate::gateway {

namespace {

/// Evaluates the alert rules, logs each change of a rule's status once, and hands their gauges
/// to /metrics.
void evaluateAlerts(GatewayContext &context)
{
    const QList<alerts::AlertTransition> transitions =
        context.alerts.evaluate(QDateTime::currentMSecsSinceEpoch());
    for (const alerts::AlertTransition &transition : transitions) {
        const QString line = alerts::describeTransition(transition);
        if (transition.to == alerts::AlertStatus::Firing)
            qWarning("tollgated: %s", qPrintable(line));
        else
            qInfo("tollgated: %s", qPrintable(line));
    }
    context.metrics.setAlertExposition(context.alerts.renderPrometheus());
}

/// The shared Redis's health for /metrics, from the client and whichever stores are on.
metering::RedisHealth redisHealthOf(const store::RedisClient &client,
                                    const limits::RedisRateLimitStore *rateLimits,
                                    const cache::RedisCacheStore *cache,
                                    const limits::RedisSpendStore *spend)
{
    metering::RedisHealth health;
    const store::RedisClient::Stats calls = client.stats();
    health.up = client.isReachable();
    health.calls = calls.calls;
    health.failures = calls.failures;
    health.skipped = calls.fastFails;
    health.outages = calls.outages;
    if (rateLimits) {
        const limits::RedisRateLimitStore::Stats stats = rateLimits->stats();
        health.rateLimits = true;
        health.rateLimitRedisAdmissions = stats.redisAdmissions;
        health.rateLimitFallbackAdmissions = stats.fallbackAdmissions;
        health.rateLimitErrors = stats.errors;
    }
    if (cache) {
        const cache::RedisCacheStore::Stats stats = cache->stats();
        health.cache = true;
        health.cacheHits = stats.hits;
        health.cacheMisses = stats.misses;
        health.cacheErrors = stats.errors;
        health.cacheWritten = stats.written;
        health.cacheDropped = stats.dropped;
    }
    if (spend) {
        const limits::RedisSpendStore::Stats stats = spend->stats();
        health.budgets = true;
        health.spendSent = stats.sent;
        health.spendErrors = stats.errors;
        health.spendDropped = stats.dropped;
        health.spendPending = stats.pending;
        health.spendLastSyncSeconds = double(stats.lastSyncMs) / 1000.0;
    }
    return health;
}

} // namespace

Gateway::Gateway(PolicyDocument policy, QObject *parent)
    : QObject(parent)
    , m_context(std::make_unique<GatewayContext>())
{
    installPolicy(std::move(policy));
    m_drainPoll.setInterval(20);
    connect(&m_drainPoll, &QTimer::timeout, this, [this] {
        if (m_context->inflight.load() == 0 ||
            QDateTime::currentMSecsSinceEpoch() >= m_drainDeadline)
            finishDrain();
    });
    // Once a second, like a Prometheus evaluation interval: `for` durations count in seconds.
    auto *alertClock = new QTimer(this);
    alertClock->setInterval(1000);
    connect(alertClock, &QTimer::timeout, this, [this] { evaluateAlerts(*m_context); });
    alertClock->start();
}

Gateway::~Gateway()
{
    m_server.reset();
    m_log.reset();
    m_context->spendStore = nullptr;
    m_spendStore.reset();
    m_context->persistentCache = nullptr;
    m_persistentCache.reset();
    m_context->rateLimitStore = &m_context->rateLimiter;
    m_context->sharedCache = nullptr;
    m_context->sharedSpend = nullptr;
    m_context->redisHealth = nullptr;
    m_redisRateLimits.reset();
    m_redisCache.reset();
    m_redisSpend.reset();
    m_redis.reset();
}

bool Gateway::start(QString *error)
{
    const policy::GatewayConfig config = m_context->policy()->gateway;
    if (const QString problem = policy::servingProblem(config); !problem.isEmpty()) {
        *error = problem;
        return false;
    }
    if (!config.dataDir.isEmpty()) {
        store::RequestLog::Options options;
        options.path = QDir(config.dataDir).filePath(QStringLiteral("requests.sqlite"));
        options.retentionDays = config.logRetentionDays;
        options.maxRows = config.logMaxRows;
        auto log = store::RequestLog::open(options);
        if (!log) {
            *error = QStringLiteral("cannot open the request log: %1").arg(log.error().toString());
            return false;
        }
        m_log = std::move(*log);
        m_context->log = m_log.get();
        store::SpendStore::Options spendOptions;
        spendOptions.path = store::SpendStore::defaultPath(config.dataDir);
        auto spend = store::SpendStore::open(spendOptions);
        if (!spend) {
            *error =
                QStringLiteral("cannot open the spend ledger: %1").arg(spend.error().toString());
            return false;
        }
        m_spendStore = std::move(*spend);
        m_context->spendStore = m_spendStore.get();
        restoreSpend({});
        if (m_context->policy()->cache.persistent && !openPersistentCache(config.dataDir, error))
            return false;
    }
    if (!openSharedState(error))
        return false;
    http::HttpServer::Options options;
    options.workers = config.workers;
    options.limits = config.limits;
    options.timeouts = config.clientTimeouts;
    GatewayContext *context = m_context.get();
    m_server = std::make_unique<http::HttpServer>(
        options, [context] { return std::make_unique<GatewayHandler>(*context); });
    return m_server->listen(config.listenAddress, config.listenPort, error);
}

void Gateway::installPolicy(PolicyDocument policy)
{
    // Budgets that are new (or whose window changed) start from what the store remembers.
    const QStringList fresh = m_context->spendLedger.setPolicy(policy.budgets);
    if (m_spendStore && !fresh.isEmpty())
        restoreSpend(fresh);
    m_context->responseCache.setLimits(policy.cache.maxBytes, policy.cache.maxEntryBytes);
    m_context->breakers.setPolicy(policy.reliability.breakers);
    m_context->alerts.setPolicy(policy.alerts);
    evaluateAlerts(*m_context); // a rule turned off says so now, not a second later
    m_context->setPolicy(std::make_shared<const PolicyDocument>(std::move(policy)));
}

bool Gateway::openSharedState(QString *error)
{
    const store::RedisSettings &settings = m_context->policy()->state.redis;
    if (!settings.enabled() || (!settings.rateLimits && !settings.cache && !settings.budgets))
        return true;
    auto options = settings.clientOptions();
    if (!options) {
        *error = QStringLiteral("cannot use Redis: %1").arg(options.error().toString());
        return false;
    }
    m_redis = std::make_shared<store::RedisClient>(*options);
    const QByteArray prefix = settings.keyPrefix.toUtf8();
    if (settings.rateLimits) {
        limits::RedisRateLimitStore::Options limitOptions;
        limitOptions.keyPrefix = prefix;
        m_redisRateLimits = std::make_unique<limits::RedisRateLimitStore>(m_redis, limitOptions);
        m_context->rateLimitStore = m_redisRateLimits.get();
    }
    if (settings.cache) {
        cache::RedisCacheStore::Options cacheOptions;
        cacheOptions.keyPrefix = prefix;
        cacheOptions.maxEntryBytes = m_context->policy()->cache.maxEntryBytes;
        m_redisCache = std::make_unique<cache::RedisCacheStore>(m_redis, cacheOptions);
        m_context->sharedCache = m_redisCache.get();
    }
    if (settings.budgets) {
        limits::RedisSpendStore::Options spendOptions;
        spendOptions.keyPrefix = prefix;
        m_redisSpend = std::make_unique<limits::RedisSpendStore>(m_redis, m_context->spendLedger,
                                                                 spendOptions);
        m_context->sharedSpend = m_redisSpend.get();
    }
    m_context->redisHealth = [client = m_redis.get(), rateLimits = m_redisRateLimits.get(),
                              cache = m_redisCache.get(), spend = m_redisSpend.get()] {
        return redisHealthOf(*client, rateLimits, cache, spend);
    };
    // Redis being down is not a reason to refuse to start (requests fail open), but the operator
    // should hear of it now rather than at the first request; the client logs the failure.
    m_redis->command({QByteArrayLiteral("PING")});
    QStringList shared;
    if (settings.rateLimits)
        shared.append(QStringLiteral("rate limits"));
    if (settings.cache)
        shared.append(QStringLiteral("the cache"));
    if (settings.budgets)
        shared.append(QStringLiteral("budget spend"));
    qInfo("tollgated: sharing %s through Redis at %s",
          qPrintable(shared.join(QStringLiteral(", "))), qPrintable(m_redis->address()));
    return true;
}

bool Gateway::openPersistentCache(const QString &dataDir, QString *error)
{
    cache::SqliteCacheStore::Options options;
    options.path = QDir(dataDir).filePath(QStringLiteral("cache.sqlite"));
    options.maxEntryBytes = m_context->policy()->cache.maxEntryBytes;
    auto opened = cache::SqliteCacheStore::open(options);
    if (!opened) {
        *error =
            QStringLiteral("cannot open the persistent cache: %1").arg(opened.error().toString());
        return false;
    }
    m_persistentCache = std::move(*opened);
    m_context->persistentCache = m_persistentCache.get();
    return true;
}

void Gateway::restoreSpend(const QStringList &budgets)
{
    m_spendStore->flush(); // what was charged a moment ago must be in what is read back
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    auto increments = m_spendStore->load(m_context->spendLedger.oldestNeededMs(now));
    if (increments)
        m_context->spendLedger.restore(*increments, now, budgets);
    else
        qWarning("tollgated: cannot read the spend ledger: %s",
                 qPrintable(increments.error().toString()));
}

bool Gateway::applyPolicy(PolicyDocument policy, QString *error)
{
    const policy::GatewayConfig &running = m_context->policy()->gateway;
    policy::GatewayConfig &next = policy.gateway;
    // What the process was started with stays: the socket, the threads and the log. Provider
    // keys come with the new document, resolved from its key references by the caller.
    next.listenAddress = running.listenAddress;
    next.listenPort = running.listenPort;
    next.workers = running.workers;
    next.dataDir = running.dataDir;
    policy.state = m_context->policy()->state; // connections are made at start only
    if (const QString problem = policy::servingProblem(next); !problem.isEmpty()) {
        *error = problem;
        return false;
    }
    installPolicy(std::move(policy));
    return true;
}

void Gateway::drain(std::function<void()> done)
{
    m_drained = std::move(done);
    m_context->draining.store(true);
    if (!m_server) {
        finishDrain();
        return;
    }
    m_server->stopListening();
    m_server->closeIdleConnections();
    m_drainDeadline =
        QDateTime::currentMSecsSinceEpoch() + m_context->policy()->gateway.drainTimeoutMs;
    m_drainPoll.start();
}

void Gateway::finishDrain()
{
    m_drainPoll.stop();
    if (m_server)
        m_server->stop();
    if (m_log)
        m_log->flush();
    if (m_spendStore)
        m_spendStore->flush();
    if (m_persistentCache)
        m_persistentCache->flush();
    if (m_redisRateLimits)
        m_redisRateLimits->flush();
    if (m_redisCache)
        m_redisCache->flush();
    if (m_redisSpend)
        m_redisSpend->flush();
    if (m_drained)
        std::exchange(m_drained, nullptr)();
}

void Gateway::pause()
{
    if (!m_server || isPaused())
        return;
    m_address = address();
    m_port = port();
    m_context->paused.store(true);
    m_server->stopListening();
    m_server->closeIdleConnections();
}

bool Gateway::resume(QString *error)
{
    if (!m_server || !isPaused())
        return m_server != nullptr;
    if (!m_server->resumeListening(m_address, m_port, error))
        return false;
    m_context->paused.store(false);
    return true;
}

QHostAddress Gateway::address() const
{
    if (isPaused())
        return m_address;
    return m_server ? m_server->serverAddress() : QHostAddress();
}

quint16 Gateway::port() const
{
    if (isPaused())
        return m_port;
    return m_server ? m_server->serverPort() : 0;
}

} // namespace tollgate::gateway
