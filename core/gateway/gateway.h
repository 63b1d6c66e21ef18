#pragma once

#include "cache/rediscachestore.h"
#include "gateway/gatewaycontext.h"
#include "gateway/policydocument.h"
#include "http/httpserver.h"
#include "limits/redisratelimitstore.h"
#include "limits/redisspendstore.h"
#include "store/redisclient.h"

#include <QObject>
#include <QTimer>

#include <functional>
#include <memory>

namespace tollgate::gateway {

/// The gateway as a whole: request log, metrics, prices and the HTTP server with its workers.
/// The console and tollgated both run exactly this.
class Gateway : public QObject {
    Q_OBJECT
public:
    explicit Gateway(PolicyDocument policy, QObject *parent = nullptr);
    ~Gateway() override;

    /// Opens the request log and starts serving; on failure returns false with a reason.
    bool start(QString *error);
    /// Puts a new policy in force for new requests; requests in flight finish under the one they
    /// started with. The listen address, workers, data folder and shared state (`state`) stay as
    /// started; provider keys are the new document's (its caller resolves them from the key
    /// references).
    /// Refuses (and keeps the running policy) when the result could not serve.
    bool applyPolicy(PolicyDocument policy, QString *error);
    /// Stops accepting, lets in-flight requests finish for up to the drain timeout, then
    /// closes every connection, writes the log and calls `done`.
    void drain(std::function<void()> done);

    /// Stops serving without ending: stops listening, closes idle connections and answers 503
    /// to requests on those still open, while the state (log, spend, cache, charts) stays. Requests
    /// in flight finish.
    void pause();
    /// Serves again on the address it had; false with a reason when the port was taken meanwhile.
    bool resume(QString *error);
    bool isPaused() const { return m_context->paused.load(); }

    QHostAddress address() const;
    quint16 port() const;
    GatewayContext &context() { return *m_context; }

private:
    void finishDrain();
    void installPolicy(PolicyDocument policy);
    /// Loads the stored spend of `budgets` (all when empty) into the ledger.
    void restoreSpend(const QStringList &budgets);
    bool openPersistentCache(const QString &dataDir, QString *error);
    /// Connects the stores replicas share (`state.redis`) when the policy names a Redis.
    bool openSharedState(QString *error);

    std::unique_ptr<GatewayContext> m_context;
    std::unique_ptr<store::RequestLog> m_log;
    std::unique_ptr<store::SpendStore> m_spendStore;
    std::unique_ptr<cache::SqliteCacheStore> m_persistentCache;
    std::shared_ptr<store::RedisClient> m_redis;
    std::unique_ptr<limits::RedisRateLimitStore> m_redisRateLimits;
    std::unique_ptr<cache::RedisCacheStore> m_redisCache;
    std::unique_ptr<limits::RedisSpendStore> m_redisSpend;
    std::unique_ptr<http::HttpServer> m_server;
    QHostAddress m_address; // where it listens, kept for resume()
    quint16 m_port = 0;
    QTimer m_drainPoll;
    qint64 m_drainDeadline = 0;
    std::function<void()> m_drained;
};

} // namespace tollgate::gateway
