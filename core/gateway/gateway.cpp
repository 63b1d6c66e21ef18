#include "gateway/gateway.h"

#include "gateway/gatewayhandler.h"

#include <QDateTime>
#include <QDir>

namespace tollgate::gateway {

Gateway::Gateway(PolicyDocument policy, QObject *parent)
    : QObject(parent)
    , m_context(std::make_unique<GatewayContext>())
{
    installPolicy(std::move(policy));
    m_context->prices = metering::PriceTable::builtin();
    m_drainPoll.setInterval(20);
    connect(&m_drainPoll, &QTimer::timeout, this, [this] {
        if (m_context->inflight.load() == 0 ||
            QDateTime::currentMSecsSinceEpoch() >= m_drainDeadline)
            finishDrain();
    });
}

Gateway::~Gateway()
{
    m_server.reset();
    m_log.reset();
    m_context->spendStore = nullptr;
    m_spendStore.reset();
    m_context->persistentCache = nullptr;
    m_persistentCache.reset();
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
    m_context->setPolicy(std::make_shared<const PolicyDocument>(std::move(policy)));
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
    // What the process was started with stays: the socket, the threads, the log, and the
    // provider keys, which come from the environment or keychain, never from a document.
    next.listenAddress = running.listenAddress;
    next.listenPort = running.listenPort;
    next.workers = running.workers;
    next.dataDir = running.dataDir;
    next.anthropic.apiKey = running.anthropic.apiKey;
    next.openai.apiKey = running.openai.apiKey;
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
    if (m_drained)
        std::exchange(m_drained, nullptr)();
}

QHostAddress Gateway::address() const
{
    return m_server ? m_server->serverAddress() : QHostAddress();
}

quint16 Gateway::port() const
{
    return m_server ? m_server->serverPort() : 0;
}

} // namespace tollgate::gateway
