#pragma once

#include "api/clientrequest.h"
#include "api/streammeter.h"
#include "cache/cachepolicy.h"
#include "cache/streamrecorder.h"
#include "gateway/gatewaycontext.h"
#include "gateway/policydocument.h"
#include "gateway/upstreamtargets.h"
#include "http/httpexchange.h"
#include "http/sseparser.h"
#include "http/upstreampool.h"
#include "limits/admission.h"
#include "limits/budgetguard.h"
#include "limits/planpolicy.h"
#include "policy/requestfeatures.h"
#include "routing/router.h"

#include <QElapsedTimer>
#include <QObject>
#include <QPointer>

namespace tollgate::gateway {

/// What a provider call is: which API and which operation.
struct ProxyRoute {
    enum class Kind { Generate, CountTokens, Models };
    api::Flavor flavor;
    Kind kind;
};

/// One client request relayed to its provider: authenticate, normalize, send upstream, stream
/// or buffer the answer back, meter it and log it. Lives as a child of its exchange.
class ProxyCall : public QObject {
    Q_OBJECT
public:
    ProxyCall(GatewayContext &context, http::UpstreamPool &pool, http::HttpExchange *exchange,
              ProxyRoute route);
    ~ProxyCall() override;

    void start();

private:
    enum class Mode { Pending, Stream, Buffer, UpstreamError, Done };

    /// Keeps the exchange for the console's detail when capture is on.
    void captureExchange();
    bool authenticate();
    bool parseBody();
    /// Rate limits of the principal's plan; answers 429 when over.
    bool admit();
    /// USD budgets of the principal: refuses a request that would exceed a hard budget, and
    /// marks the route downgraded past a downgrade threshold.
    bool checkBudgets(const QString &requestedModel);
    void chargeBudgets(const metering::RequestRecord &record);
    policy::RequestFeatures features() const;
    /// Picks the target model by the routing rules and rewrites the body for it.
    bool routeRequest();
    QByteArray upstreamBody() const;
    /// Answers from the response cache when it holds this request; true when it did.
    bool serveFromCache();
    void storeInCache(int status);
    QByteArray cacheScope() const;
    cache::SqliteCacheStore *persistentCache() const
    {
        return m_policy->cache.persistent ? m_context.persistentCache : nullptr;
    }
    /// Sends the request to the current target of the chain, skipping targets whose circuit
    /// breaker is open.
    void startAttempt();
    /// After a failure nothing of which reached the client: schedules a retry of the same
    /// target or the next target, as the retry policy decides. False: answer the client.
    bool retryOrFallback(int status);
    bool hasAvailableTargetAfter(int index, qint64 nowMs) const;
    /// Expands the routed chain into provider endpoints; answers the client when none can serve.
    bool chooseTargets();
    const UpstreamTarget &currentTarget() const { return m_targets.at(m_targetIndex); }
    /// The model that answered, by the id the price table and the log use.
    QString servedModel(const QString &reported) const;
    QString upstreamModel() const
    {
        return m_targetModel.isEmpty() ? m_request.model : m_targetModel;
    }
    void settleLimits(const api::Usage &usage);
    /// Keeps the queue and connect times of an attempt that is being replaced.
    void keepAttemptTiming(const http::UpstreamCall &call);
    /// Fills the record's queue and connect times from the attempts so far.
    void fillUpstreamTiming(metering::RequestRecord &record) const;
    http::UpstreamRequest upstreamRequest() const;
    /// The provider of the current target (the last one once the chain is exhausted).
    const policy::ProviderConfig &provider() const;

    void onResponseStarted(int status);
    void onBody(const QByteArray &data);
    void relayEvents(const QByteArray &data);
    void beginStreamOnce();
    void onFinished();
    void onFailed(const http::UpstreamError &error);
    void onClientGone();

    void finishBuffered();
    void finishUpstreamError();
    void finishStream(const QString &error);
    void respondError(int status, const QString &message);
    http::HeaderList clientHeaders(bool withCost) const;
    QByteArray serverTiming() const;
    void complete(int status, const QString &error);
    /// Tells a watching console the request is running (RunningRequests).
    /// What a record of this call says before it has an outcome: who asked for what, when.
    metering::RequestRecord recordHead() const;
    void showRunning();

    double sinceStartMs() const { return double(m_clock.nsecsElapsed()) / 1e6; }

    GatewayContext &m_context;
    http::UpstreamPool &m_pool;
    QPointer<http::HttpExchange> m_exchange;
    ProxyRoute m_route;
    std::shared_ptr<const PolicyDocument> m_policy; ///< as in force when the request came
    api::ClientRequest m_request;
    policy::Principal m_principal;
    const limits::Plan *m_plan = nullptr; ///< owned by the context's PlanPolicy
    QString m_rateKey;
    limits::Admission m_admission;
    limits::BudgetCheck m_budget;
    QString m_budgetCheckedModel;
    http::HeaderList m_rateHeaders;
    routing::RouteDecision m_decision;
    QString m_targetModel;
    cache::CacheDirective m_cacheDirective;
    cache::CacheOutcome m_cacheOutcome = cache::CacheOutcome::Bypass;
    QByteArray m_cacheKey;
    std::unique_ptr<cache::StreamRecorder> m_recorder; ///< tees a stream for the cache
    QStringList m_chain;                               ///< primary model, then fallbacks
    QList<UpstreamTarget> m_targets;                   ///< m_chain at each endpoint of its provider
    int m_targetIndex = 0;
    int m_attempt = 1; ///< of the current target
    int m_retries = 0;
    int m_routedMaxTokens = 0; ///< max_tokens the route imposes, 0: the client's stands
    QString m_user;            ///< recorded for attribution: the principal's user, else the body's
    QString m_requestId;
    QPointer<http::UpstreamCall> m_call;
    Mode m_mode = Mode::Pending;
    QByteArray m_body;
    http::SseParser m_sse;
    api::StreamMeter m_meter;
    api::ResponseSummary m_summary;
    QElapsedTimer m_clock;
    double m_upstreamStartMs = 0;
    double m_upstreamHeadersMs = 0;
    double m_upstreamEndMs = -1;
    double m_firstByteMs = -1;
    double m_attemptStartMs = 0;
    double m_queueMs = -1;      ///< set by the first attempt that had a connection
    double m_pastConnectMs = 0; ///< of the attempts before the current one
    bool m_recorded = false;
    bool m_shownRunning = false;
};

} // namespace tollgate::gateway
