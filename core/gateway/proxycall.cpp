#include "gateway/proxycall.h"

#include "store/capturedexchange.h"

#include "api/errorshape.h"
#include "api/promptstats.h"
#include "cache/cachekey.h"
#include "cache/sha256.h"
#include "gateway/authentication.h"
#include "limits/budgetguard.h"
#include "routing/retrypolicy.h"
#include "routing/router.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QTimer>

namespace tollgate::gateway {

namespace {

constexpr qsizetype kMaxBufferedResponse = 64 * 1024 * 1024;
/// A stream's bytes waiting for a slow client: above the high mark the upstream is paused, below
/// the low mark it goes on.
constexpr qint64 kPauseAboveBytes = 1024 * 1024;
constexpr qint64 kResumeBelowBytes = 256 * 1024;
/// Status logged when the client left before a response status was sent (nginx convention).
constexpr int kClientClosedRequest = 499;

bool isHopByHop(const QByteArray &name)
{
    static const QList<QByteArray> names = {
        "connection",    "keep-alive", "proxy-connection",    "transfer-encoding",  "te",
        "trailer",       "upgrade",    "proxy-authorization", "proxy-authenticate", "host",
        "content-length"};
    return names.contains(name);
}

bool isCredential(const QByteArray &name)
{
    return name == "authorization" || name == "x-api-key";
}

QString newRequestId()
{
    const quint64 random = QRandomGenerator::global()->generate64();
    return QStringLiteral("tg_") + QString::number(random, 16).rightJustified(16, QLatin1Char('0'));
}

QByteArray formatUsd(double usd)
{
    QByteArray text = QByteArray::number(usd, 'f', 10);
    while (text.endsWith('0') && !text.endsWith(".0"))
        text.chop(1);
    return text;
}

} // namespace

ProxyCall::ProxyCall(GatewayContext &context, http::UpstreamPool &pool,
                     http::HttpExchange *exchange, ProxyRoute route)
    : QObject(exchange)
    , m_context(context)
    , m_pool(pool)
    , m_exchange(exchange)
    , m_route(route)
    , m_policy(context.policy())
    , m_requestId(newRequestId())
    , m_meter(route.flavor)
{
    m_clock.start();
    m_context.inflight.fetch_add(1, std::memory_order_relaxed);
    connect(exchange, &http::HttpExchange::clientGone, this, &ProxyCall::onClientGone);
    connect(exchange, &http::HttpExchange::drained, this, [this] {
        if (m_call && m_call->isPaused() && m_exchange->pendingBytes() < kResumeBelowBytes)
            m_call->resume();
    });
    captureExchange();
}

void ProxyCall::captureExchange()
{
    const qint64 limit = m_context.captureBodyLimit.load(std::memory_order_relaxed);
    if (limit <= 0 || !m_context.log)
        return;
    // Kept when the exchange ends, whichever way: its response is complete only then.
    m_exchange->keepResponseCopy(limit);
    m_exchange->setEndHook(
        [log = m_context.log, id = m_requestId, limit,
         startedAtMs = QDateTime::currentMSecsSinceEpoch()](const http::HttpExchange &exchange) {
            log->appendExchange(store::captureExchange(exchange.request(), exchange.responseCopy(),
                                                       id, startedAtMs, limit));
        });
}

ProxyCall::~ProxyCall()
{
    if (m_shownRunning)
        m_context.running.end(m_requestId); // a call that never completed
    m_context.inflight.fetch_sub(1, std::memory_order_relaxed);
}

const policy::ProviderConfig &ProxyCall::provider() const
{
    return *m_targets.at(qMin(m_targetIndex, int(m_targets.size()) - 1)).provider;
}

void ProxyCall::start()
{
    if (!authenticate() || !parseBody())
        return;
    const bool generate = m_route.kind == ProxyRoute::Kind::Generate;
    if (generate && (!admit() || !checkBudgets(m_request.model) || !routeRequest() ||
                     !checkBudgets(upstreamModel())))
        return;
    if (!chooseTargets() || (generate && serveFromCache()))
        return;
    m_upstreamStartMs = sinceStartMs();
    if (m_context.running.isEnabled())
        showRunning();
    startAttempt();
}

metering::RequestRecord ProxyCall::recordHead() const
{
    metering::RequestRecord record;
    record.id = m_requestId;
    record.startedAtMs = QDateTime::currentMSecsSinceEpoch() - qint64(sinceStartMs());
    record.flavor = QLatin1String(api::flavorName(m_route.flavor));
    record.endpoint = QString::fromLatin1(m_exchange ? m_exchange->request().path : QByteArray());
    record.user = m_user;
    record.requestedModel = m_request.model;
    return record;
}

void ProxyCall::showRunning()
{
    metering::RequestRecord started = recordHead();
    started.usedModel = servedModel(QString());
    started.stream = m_request.stream;
    started.ttftMs = -1;
    started.route = m_decision.ruleName;
    started.plan = m_principal.plan;
    started.cacheStatus = QLatin1String(cache::cacheOutcomeName(m_cacheOutcome));
    m_context.running.begin(started);
    m_shownRunning = true;
}

QString ProxyCall::servedModel(const QString &reported) const
{
    if (reported.isEmpty())
        return upstreamModel();
    // A provider answers with its own name (upstream_id); prices and logs know the model's id.
    if (!m_targets.isEmpty() && m_targetIndex < m_targets.size() &&
        reported == currentTarget().upstreamModel)
        return currentTarget().model;
    return reported;
}

bool ProxyCall::chooseTargets()
{
    if (m_chain.isEmpty())
        m_chain = {m_request.model};
    m_targets =
        upstreamTargets(m_chain, m_route.flavor, m_policy->gateway.providers, m_policy->prices);
    // With gateway keys, the client's credential is a gateway key and must never reach a
    // provider, so a provider without a key of its own cannot serve.
    if (!m_policy->gateway.gatewayKeys.isEmpty() && !m_targets.isEmpty()) {
        const QString primary = m_targets.first().provider->name;
        m_targets.removeIf([](const UpstreamTarget &t) { return t.provider->apiKey.isEmpty(); });
        if (m_targets.isEmpty()) {
            respondError(
                503,
                QStringLiteral("no %1 provider key is configured on this gateway").arg(primary));
            return false;
        }
    }
    if (m_targets.isEmpty()) {
        respondError(502, QStringLiteral("no provider for the %1 API is configured")
                              .arg(QLatin1String(api::flavorName(m_route.flavor))));
        return false;
    }
    return true;
}

void ProxyCall::startAttempt()
{
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    while (m_targetIndex < m_targets.size()) {
        m_targetModel = m_targets.at(m_targetIndex).model;
        if (m_context.breakers.allow(m_targets.at(m_targetIndex).breakerKey, now))
            break;
        ++m_targetIndex;
        m_attempt = 1;
    }
    if (m_targetIndex >= m_targets.size()) {
        respondError(503, QStringLiteral("no upstream target is available: the circuit breakers "
                                         "of %1 are open")
                              .arg(m_chain.join(QStringLiteral(", "))));
        return;
    }
    if (m_call) {
        keepAttemptTiming(*m_call);
        m_call->deleteLater();
    }
    m_mode = Mode::Pending;
    m_body.clear();
    m_sse = http::SseParser();
    m_meter = api::StreamMeter(m_route.flavor);
    if (!m_cacheKey.isEmpty() && m_cacheDirective.write && m_request.stream)
        m_recorder = std::make_unique<cache::StreamRecorder>(m_policy->cache.maxEntryBytes);
    m_attemptStartMs = sinceStartMs();
    m_call = m_pool.start(upstreamRequest(), this);
    connect(m_call, &http::UpstreamCall::responseStarted, this, &ProxyCall::onResponseStarted);
    connect(m_call, &http::UpstreamCall::bodyReceived, this, &ProxyCall::onBody);
    connect(m_call, &http::UpstreamCall::finished, this, &ProxyCall::onFinished);
    connect(m_call, &http::UpstreamCall::failed, this, &ProxyCall::onFailed);
}

void ProxyCall::keepAttemptTiming(const http::UpstreamCall &call)
{
    if (m_queueMs < 0 && call.queuedMs() >= 0)
        m_queueMs = m_attemptStartMs + call.queuedMs();
    m_pastConnectMs += call.connectMs();
}

void ProxyCall::fillUpstreamTiming(metering::RequestRecord &record) const
{
    record.queueMs = m_queueMs;
    if (record.queueMs < 0 && m_call && m_call->queuedMs() >= 0)
        record.queueMs = m_attemptStartMs + m_call->queuedMs();
    if (record.queueMs < 0)
        return; // no upstream call had a connection: a cache hit, a refusal, a client gone
    record.connectMs = m_pastConnectMs + (m_call ? m_call->connectMs() : 0.0);
}

bool ProxyCall::retryOrFallback(int status)
{
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    m_context.breakers.record(currentTarget().breakerKey, routing::breakerOutcome(status), now);
    std::optional<int> retryAfter;
    bool numeric = false;
    const int seconds = http::headerValue(m_call->headers(), "retry-after").toInt(&numeric);
    if (numeric)
        retryAfter = seconds;
    const routing::RetryDecision decision =
        routing::decideRetry(m_policy->reliability.retries, m_attempt, status, retryAfter, false,
                             qint64(sinceStartMs()), QRandomGenerator::global()->generateDouble());
    if (decision.retry) {
        ++m_attempt;
    } else if (decision.nextTarget && hasAvailableTargetAfter(m_targetIndex, now)) {
        ++m_targetIndex;
        m_attempt = 1;
    } else {
        return false;
    }
    ++m_retries;
    m_call->disconnect(this);
    QTimer::singleShot(decision.retry ? decision.delayMs : 0, this, [this] {
        if (m_mode != Mode::Done)
            startAttempt();
    });
    return true;
}

bool ProxyCall::hasAvailableTargetAfter(int index, qint64 nowMs) const
{
    for (int next = index + 1; next < m_targets.size(); ++next) {
        if (m_context.breakers.state(m_targets.at(next).breakerKey, nowMs) !=
            routing::BreakerState::Open)
            return true;
    }
    return false;
}

bool ProxyCall::authenticate()
{
    const Authentication auth =
        gateway::authenticate(m_policy->gateway.gatewayKeys, m_exchange->request(),
                              m_exchange->peerAddress().isLoopback());
    if (auth.status != 0) {
        respondError(auth.status, auth.error);
        return false;
    }
    m_principal = auth.principal;
    m_user = m_principal.user;
    return true;
}

bool ProxyCall::admit()
{
    const limits::Plan &plan = m_policy->plans.resolvePlan(m_principal);
    m_principal.plan = plan.name;
    m_plan = &plan;
    m_rateKey = limits::RateLimitStore::keyFor(m_principal);
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    m_admission = m_context.rateLimitStore->admit(m_rateKey, plan, now,
                                                  m_request.stream ? limits::RequestKind::Stream
                                                                   : limits::RequestKind::Plain);
    m_rateHeaders = limits::rateLimitHeaders(m_admission, now);
    if (m_admission.allowed)
        return true;
    respondError(429, QString::fromLatin1(limits::kRateLimitExceededMessage));
    return false;
}

bool ProxyCall::checkBudgets(const QString &requestedModel)
{
    // Checked before routing (whose downgrades depend on it) and again for the routed model,
    // which a router model such as `auto` only then names; once is enough when they agree.
    const QString model = routing::canonicalModel(requestedModel, m_policy->prices);
    if (m_policy->budgets.isEmpty() || model == m_budgetCheckedModel)
        return true;
    m_budgetCheckedModel = model;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    // The estimate takes the body's bytes for its characters: a little high, on the safe side.
    const metering::ModelPrice *price = m_policy->prices.find(model);
    const double estimate =
        price ? limits::BudgetGuard::estimateCostUsd(m_exchange->request().body.size(),
                                                     m_request.maxTokens, *price)
              : 0;
    const limits::BudgetCheck check = limits::BudgetGuard::check(
        m_policy->budgets, m_context.spendLedger.snapshot(now), m_principal, model, estimate, now);
    if (!m_budget.downgraded())
        m_budget = check;
    if (check.allowed())
        return true;
    m_budget = check;
    m_rateHeaders.append({"x-tollgate-budget", m_budget.budget.toUtf8()});
    if (m_budget.retryAfterSeconds > 0)
        m_rateHeaders.append({"retry-after", QByteArray::number(m_budget.retryAfterSeconds)});
    // 402 like a provider's own "credit balance too low": SDKs do not retry it.
    respondError(402, m_budget.message);
    return false;
}

policy::RequestFeatures ProxyCall::features() const
{
    const http::HttpRequest &client = m_exchange->request();
    policy::RequestFeatures features;
    features.flavor = m_route.flavor;
    features.requestedModel = m_request.model;
    features.principal = m_principal;
    features.stream = m_request.stream;
    features.maxTokens = m_request.maxTokensDefaulted ? 0 : m_request.maxTokens;
    features.headers = client.headers;
    features.metadata = m_request.metadata;
    const QByteArray priority = client.header("x-tollgate-priority").trimmed().toLower();
    features.priority = priority == "high"     ? policy::Priority::High
                        : priority == "medium" ? policy::Priority::Medium
                        : priority == "low"    ? policy::Priority::Low
                                               : policy::Priority::Unspecified;
    const QByteArray budget = client.header("x-tollgate-budget").trimmed().toLower();
    features.budget = budget == "strict"     ? policy::BudgetHint::Strict
                      : budget == "flexible" ? policy::BudgetHint::Flexible
                                             : policy::BudgetHint::Unspecified;
    bool numeric = false;
    const double complexity = client.header("x-tollgate-complexity").trimmed().toDouble(&numeric);
    if (numeric)
        features.complexity = complexity;
    // Parsing the prompt costs time: only a router model without a given complexity needs it.
    if (!features.complexity && m_policy->routes.isRouterModel(m_request.model)) {
        const api::PromptStats stats = api::promptStats(m_route.flavor, client.body);
        features.promptChars = stats.chars;
        features.messageCount = stats.messages;
        features.toolCount = stats.tools;
        features.codeBlockCount = stats.codeBlocks;
        features.mathMarkerCount = stats.mathMarkers;
    }
    return features;
}

bool ProxyCall::routeRequest()
{
    routing::RouteState state;
    if (m_budget.downgraded())
        state.budget = routing::BudgetState::Downgraded;
    m_decision = routing::route(m_policy->routes, features(), m_policy->prices, state);
    if (m_decision.chain.isEmpty()) {
        respondError(400, QStringLiteral("model \"%1\" is a router model and no routing rule "
                                         "picked a model for this request")
                              .arg(m_request.model));
        return false;
    }
    int maxTokens = m_decision.maxTokens > 0 ? m_decision.maxTokens : m_request.maxTokens;
    if (maxTokens > 0)
        maxTokens = m_plan->cappedMaxTokens(maxTokens);
    m_routedMaxTokens = maxTokens > 0 && maxTokens != m_request.maxTokens ? maxTokens : 0;
    m_chain = m_decision.chain;
    m_targetModel = m_chain.first();
    return true;
}

bool ProxyCall::serveFromCache()
{
    m_cacheDirective = cache::parseDirective(m_exchange->request().headers);
    m_cacheOutcome = cache::CacheOutcome::Bypass;
    if (!m_policy->cache.enabled || (!m_cacheDirective.read && !m_cacheDirective.write))
        return false;
    // The key names the model the router picked, so answers of different routes never mix.
    // Unless routing rewrote the body, the members canonicalized while parsing it give the key.
    const QByteArray upstream = upstreamBody();
    m_cacheKey = upstream.isSharedWith(m_request.upstreamBody) && m_request.canonical
                     ? cache::cacheKey(m_route.flavor, *m_request.canonical, upstreamModel())
                     : cache::cacheKey(m_route.flavor, upstream, upstreamModel());
    if (const QByteArray scope = cacheScope(); !scope.isEmpty())
        m_cacheKey = cache::sha256(m_cacheKey + scope).toHex();
    if (!m_cacheDirective.read) // no-cache: ask the provider, then refresh the entry
        return false;
    m_cacheOutcome = cache::CacheOutcome::Miss;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    auto entry = m_context.responseCache.lookup(m_cacheKey, now);
    if (!entry && persistentCache()) {
        // The SQLite tier is read only after a memory miss, and a hit moves into memory.
        entry = persistentCache()->lookup(m_cacheKey, now);
        if (entry)
            m_context.responseCache.store(m_cacheKey, entry, now);
    }
    if (!entry && m_context.sharedCache) {
        // Another replica's answer, one round trip away; it too moves into memory.
        entry = m_context.sharedCache->lookup(m_cacheKey, now);
        if (entry)
            m_context.responseCache.store(m_cacheKey, entry, now);
    }
    if (!entry)
        return false;
    const bool stream = m_request.stream;
    const QByteArray body =
        stream ? entry->toSseEvents(m_request.clientWantsUsageChunk).join() : entry->toJsonBody();
    if (body.isEmpty())
        return false; // an entry that does not make a whole answer: ask the provider
    m_cacheOutcome = cache::CacheOutcome::Hit;
    m_summary.model = entry->model;
    m_summary.usage = entry->usage;
    m_mode = Mode::Done;
    http::HeaderList headers = {{"content-type", entry->contentTypeFor(stream)}};
    headers += clientHeaders(false);
    headers.append({"x-tollgate-cost-usd", QByteArray("0")});
    m_firstByteMs = sinceStartMs();
    complete(entry->status, QString());
    if (stream) {
        m_exchange->beginStream(entry->status, headers);
        m_exchange->writeChunk(body);
        m_exchange->endStream();
    } else {
        m_exchange->respond(entry->status, headers, body);
    }
    return true;
}

QByteArray ProxyCall::cacheScope() const
{
    // With the client's own key passed through, an answer is shared only with callers of the
    // same key: anyone else could read it without being able to ask the provider themselves.
    // Beta flags can change an answer's shape. Only a hash of the scope is kept.
    const http::HttpRequest &client = m_exchange->request();
    QByteArray scope = client.header("anthropic-beta");
    if (provider().apiKey.isEmpty())
        scope += '\n' + client.header("x-api-key") + '\n' + client.header("authorization");
    return scope.trimmed();
}

void ProxyCall::storeInCache(int status)
{
    // Only a whole 2xx answer of the primary target is kept: a fallback answered another model.
    if (m_cacheKey.isEmpty() || m_cacheOutcome == cache::CacheOutcome::Hit ||
        !m_cacheDirective.write || status < 200 || status >= 300 || m_targetIndex != 0)
        return;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    auto entry = std::make_shared<cache::CachedResponse>();
    entry->flavor = m_route.flavor;
    entry->status = status;
    entry->contentType = http::headerValue(m_call->headers(), "content-type");
    if (m_request.stream) {
        if (!m_recorder || m_recorder->overflowed() || !m_meter.completed())
            return;
        entry->events = m_recorder->takeEvents();
        entry->usage = m_meter.usage();
        entry->model = m_meter.model();
    } else {
        entry->body = m_body;
        entry->usage = m_summary.usage;
        entry->model = m_summary.model;
    }
    entry->createdAtMs = now;
    entry->expiresAtMs = now + m_policy->cache.ttlMs(m_cacheDirective);
    if (persistentCache())
        persistentCache()->store(m_cacheKey, entry, now);
    if (m_context.sharedCache)
        m_context.sharedCache->store(m_cacheKey, entry, now);
    m_context.responseCache.store(m_cacheKey, std::move(entry), now);
}

QByteArray ProxyCall::upstreamBody() const
{
    // Rewritten only when the target or max_tokens differ from what the client sent.
    const QString sent = m_targets.isEmpty() ? upstreamModel() : currentTarget().upstreamModel;
    if (sent == m_request.model && m_routedMaxTokens == 0)
        return m_request.upstreamBody;
    return api::rewriteRequest(m_route.flavor, m_request.upstreamBody, sent, m_routedMaxTokens);
}

bool ProxyCall::parseBody()
{
    const QByteArray &body = m_exchange->request().body;
    if (m_route.kind == ProxyRoute::Kind::Models)
        return true;
    if (m_route.kind == ProxyRoute::Kind::CountTokens) {
        auto model = api::parseCountTokensModel(body);
        if (!model) {
            respondError(400, model.error().toString());
            return false;
        }
        m_request.model = *model;
        m_request.upstreamBody = body;
        return true;
    }
    auto parsed =
        api::parseClientRequest(m_route.flavor, body, {m_policy->gateway.defaultMaxTokens});
    if (!parsed) {
        respondError(400, parsed.error().toString());
        return false;
    }
    m_request = std::move(*parsed);
    if (m_user.isEmpty())
        m_user = attributionUser(m_request.user);
    return true;
}

http::UpstreamRequest ProxyCall::upstreamRequest() const
{
    const http::HttpRequest &client = m_exchange->request();
    const policy::ProviderConfig &config = provider();
    // With a provider key the client's credential is replaced; with gateway keys it is a
    // gateway key and must never leave; otherwise it is the client's own provider key.
    const bool replaceCredential =
        !config.apiKey.isEmpty() || !m_policy->gateway.gatewayKeys.isEmpty();
    const bool sendKey = !config.apiKey.isEmpty();

    http::UpstreamRequest request;
    request.baseUrl = currentTarget().baseUrl;
    request.method = client.method;
    request.target = client.query.isEmpty() ? client.path : client.path + '?' + client.query;
    request.timeouts = config.timeouts;
    request.extraCaCertificates = config.extraCaCertificates;
    request.body = upstreamBody();
    for (const auto &field : client.headers) {
        if (isHopByHop(field.first) || field.first == "accept-encoding" ||
            field.first.startsWith("x-tollgate-") ||
            (replaceCredential && isCredential(field.first)))
            continue;
        request.headers.append(field);
    }
    if (sendKey)
        request.headers += policy::providerKeyHeaders(m_route.flavor, config.apiKey);
    return request;
}

void ProxyCall::onResponseStarted(int status)
{
    m_upstreamHeadersMs = sinceStartMs();
    if (status >= 300) {
        m_mode = Mode::UpstreamError;
        return;
    }
    if (http::headerValue(m_call->headers(), "content-type").startsWith("text/event-stream")) {
        m_mode = Mode::Stream;
        return;
    }
    m_mode = Mode::Buffer;
}

void ProxyCall::onBody(const QByteArray &data)
{
    if (m_mode == Mode::Stream) {
        relayEvents(data);
        return;
    }
    if (m_body.size() + data.size() > kMaxBufferedResponse) {
        m_call->cancel();
        respondError(
            502, QStringLiteral("upstream response exceeds %1 bytes").arg(kMaxBufferedResponse));
        return;
    }
    m_body.append(data);
}

void ProxyCall::relayEvents(const QByteArray &data)
{
    const bool hideUsageChunk =
        m_route.flavor == api::Flavor::OpenAI && !m_request.clientWantsUsageChunk;
    QByteArray out;
    for (const http::SseEvent &event : m_sse.feed(data)) {
        m_meter.onEvent(event);
        if (m_recorder)
            m_recorder->onEvent(event);
        // The usage chunk was requested by the gateway for metering, not by this client.
        if (hideUsageChunk && api::StreamMeter::isOpenAiUsageOnlyChunk(event))
            continue;
        out += event.raw;
    }
    if (out.isEmpty())
        return;
    if (m_firstByteMs < 0)
        m_firstByteMs = sinceStartMs();
    beginStreamOnce();
    m_exchange->writeChunk(out);
    if (m_exchange->pendingBytes() > kPauseAboveBytes)
        m_call->pause();
}

void ProxyCall::beginStreamOnce()
{
    if (m_exchange->isResponding())
        return;
    // The head waits for the first event, which names the model that actually serves.
    m_summary.model = m_meter.model();
    m_exchange->beginStream(m_call->status(), clientHeaders(false));
}

void ProxyCall::onFinished()
{
    m_upstreamEndMs = sinceStartMs();
    switch (m_mode) {
    case Mode::Stream:
        finishStream(m_meter.completed()
                         ? QString()
                         : QStringLiteral("upstream ended the stream before its final event"));
        break;
    case Mode::Buffer: finishBuffered(); break;
    case Mode::UpstreamError: finishUpstreamError(); break;
    case Mode::Pending:
    case Mode::Done: break;
    }
}

void ProxyCall::onFailed(const http::UpstreamError &error)
{
    m_upstreamEndMs = sinceStartMs();
    if (m_mode == Mode::Stream && m_exchange->isResponding()) {
        finishStream(
            QStringLiteral("upstream connection failed mid-stream: %1").arg(error.message));
        return;
    }
    if (retryOrFallback(0))
        return;
    const bool timedOut = error.kind == http::UpstreamError::Kind::Timeout;
    respondError(timedOut ? 504 : 502,
                 QStringLiteral("upstream %1 unavailable: %2")
                     .arg(QLatin1String(api::flavorName(m_route.flavor)), error.message));
}

void ProxyCall::finishBuffered()
{
    if (m_route.kind == ProxyRoute::Kind::Generate)
        m_summary = api::summarizeResponse(m_route.flavor, m_body);
    const int status = m_call ? m_call->status() : 200;
    m_context.breakers.recordSuccess(currentTarget().breakerKey,
                                     QDateTime::currentMSecsSinceEpoch());
    if (m_route.kind == ProxyRoute::Kind::Generate)
        storeInCache(status);
    m_mode = Mode::Done;
    const http::HeaderList headers = clientHeaders(true);
    complete(status, QString());
    m_exchange->respond(status, headers, m_body);
}

void ProxyCall::finishUpstreamError()
{
    const int status = m_call->status();
    if (retryOrFallback(status))
        return;
    const QByteArray body = api::normalizeUpstreamError(m_route.flavor, status, m_body);
    const QJsonObject error = QJsonDocument::fromJson(body).object().value(u"error").toObject();
    m_mode = Mode::Done;
    // The body is JSON in the caller's shape now, whatever the upstream sent.
    http::HeaderList headers = clientHeaders(false);
    headers.removeIf([](const auto &field) { return field.first == "content-type"; });
    headers.prepend({"content-type", "application/json"});
    complete(status, QStringLiteral("upstream HTTP %1: %2")
                         .arg(status)
                         .arg(error.value(u"message").toString().left(200)));
    m_exchange->respond(status, headers, body);
}

void ProxyCall::finishStream(const QString &error)
{
    if (!m_exchange->isResponding() && !error.isEmpty()) {
        // Nothing relayed yet: another attempt is still invisible to the client, and failing
        // that, the client can still get a plain error status.
        if (!retryOrFallback(0))
            respondError(502, error);
        return;
    }
    // A stream that broke after it started counts against its target all the same.
    m_context.breakers.record(currentTarget().breakerKey,
                              error.isEmpty() ? routing::BreakerOutcome::Success
                                              : routing::BreakerOutcome::Failure,
                              QDateTime::currentMSecsSinceEpoch());
    beginStreamOnce();
    QString recorded = error;
    if (!error.isEmpty()) {
        // Never let a broken stream pass for a whole one: the client sees an error event.
        m_exchange->writeChunk(api::streamErrorEvent(m_route.flavor, 502, error));
    } else if (!m_meter.errorMessage().isEmpty()) {
        recorded = m_meter.errorMessage();
    }
    m_mode = Mode::Done;
    const int status = m_call ? m_call->status() : 200;
    if (recorded.isEmpty())
        storeInCache(status);
    complete(status, recorded);
    m_exchange->endStream();
}

void ProxyCall::respondError(int status, const QString &message)
{
    m_mode = Mode::Done;
    http::HeaderList headers = {{"content-type", "application/json"},
                                {"x-tollgate-request-id", m_requestId.toLatin1()}};
    headers += m_rateHeaders;
    complete(status, message);
    m_exchange->respond(status, headers, api::errorBody(m_route.flavor, status, message));
}

void ProxyCall::onClientGone()
{
    if (m_call)
        m_call->cancel();
    if (m_mode == Mode::Done)
        return;
    const int status = m_exchange->isResponding() ? m_call->status() : kClientClosedRequest;
    m_mode = Mode::Done;
    complete(status, QStringLiteral("client closed the connection"));
}

void ProxyCall::chargeBudgets(const metering::RequestRecord &record)
{
    if (m_policy->budgets.isEmpty() || record.costUsd <= 0)
        return;
    const limits::ChargeOutcome outcome = m_context.spendLedger.charge(
        m_principal, record.usedModel, record.costUsd, QDateTime::currentMSecsSinceEpoch());
    if (m_context.spendStore)
        m_context.spendStore->append(outcome.increments);
    // While spend is shared, the shared store reports crossings from the replicas' global
    // total, once across them; the ledger's own would repeat on every replica.
    if (m_context.sharedSpend && m_context.sharedSpend->append(outcome.increments))
        return;
    for (const limits::ThresholdCrossing &crossing : outcome.crossings)
        qWarning("budget \"%s\" reached %g%% ($%.2f of $%.2f): %s", qPrintable(crossing.budget),
                 crossing.atPercent, crossing.spentUsd, crossing.limitUsd,
                 qPrintable(limits::budgetActionName(crossing.action)));
}

void ProxyCall::settleLimits(const api::Usage &usage)
{
    if (!m_plan)
        return;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    m_context.rateLimitStore->charge(m_rateKey, *m_plan, usage.inputTokens + usage.cacheWriteTokens,
                                     usage.outputTokens, now);
    if (m_admission.holdsStreamSlot)
        m_context.rateLimitStore->release(m_rateKey);
}

http::HeaderList ProxyCall::clientHeaders(bool withCost) const
{
    http::HeaderList headers;
    for (const auto &field : m_call ? m_call->headers() : http::HeaderList()) {
        if (!isHopByHop(field.first) && field.first != "set-cookie")
            headers.append(field);
    }
    const QString model = servedModel(m_summary.model);
    if (!m_rateHeaders.isEmpty()) {
        // The plan's limits are what this caller is held to; a provider's own x-ratelimit-*
        // describe the gateway's provider key instead.
        headers.removeIf([](const auto &field) { return field.first.startsWith("x-ratelimit-"); });
        headers += m_rateHeaders;
    }
    headers.append({"x-tollgate-request-id", m_requestId.toLatin1()});
    if (!model.isEmpty())
        headers.append({"x-tollgate-model", model.toUtf8()});
    if (!m_decision.ruleName.isEmpty())
        headers.append({"x-tollgate-route", m_decision.ruleName.toUtf8()});
    if (m_route.kind == ProxyRoute::Kind::Generate)
        headers.append({"x-tollgate-cache", QByteArray(cache::cacheOutcomeName(m_cacheOutcome))});
    if (withCost && m_route.kind == ProxyRoute::Kind::Generate) {
        if (auto cost = m_policy->prices.cost(model, m_summary.usage))
            headers.append({"x-tollgate-cost-usd", formatUsd(*cost)});
    }
    headers.append({"server-timing", serverTiming()});
    return headers;
}

QByteArray ProxyCall::serverTiming() const
{
    const double now = sinceStartMs();
    const double upstreamEnd = m_upstreamEndMs >= 0 ? m_upstreamEndMs : m_upstreamHeadersMs;
    const double upstream = upstreamEnd - m_upstreamStartMs;
    return "gateway;dur=" + QByteArray::number(now - upstream, 'f', 3) +
           ", upstream;dur=" + QByteArray::number(upstream, 'f', 3);
}

// Called before the last byte goes out: once a client has its answer it may send the next
// request at once, perhaps to another worker, and that one must see this one's spend and usage.
void ProxyCall::complete(int status, const QString &error)
{
    if (m_recorded)
        return;
    m_recorded = true;
    const bool metered = m_request.stream && m_cacheOutcome != cache::CacheOutcome::Hit;
    const api::Usage usage = metered ? m_meter.usage() : m_summary.usage;
    const QString served = metered ? m_meter.model() : m_summary.model;

    metering::RequestRecord record = recordHead();
    record.usedModel = servedModel(served);
    record.status = status;
    record.stream = m_request.stream;
    record.latencyMs = sinceStartMs();
    record.ttftMs = m_firstByteMs >= 0 ? m_firstByteMs : (status > 0 ? record.latencyMs : -1);
    record.upstreamMs = m_upstreamEndMs >= 0 ? m_upstreamEndMs - m_upstreamStartMs : 0;
    record.overheadMs = record.latencyMs - record.upstreamMs;
    fillUpstreamTiming(record);
    record.usage = usage;
    if (m_route.kind == ProxyRoute::Kind::Generate) {
        const auto cost = m_policy->prices.cost(record.usedModel, usage);
        record.costUsd = cost.value_or(0);
        record.priced = cost.has_value();
        record.routingSavedUsd = metering::routingSavingsUsd(
            record.requestedModel, record.usedModel, usage, m_policy->prices);
    }
    record.cacheStatus = QLatin1String(cache::cacheOutcomeName(m_cacheOutcome));
    record.retries = m_retries;
    record.route = m_decision.ruleName;
    record.plan = m_principal.plan;
    if (m_cacheOutcome == cache::CacheOutcome::Hit) {
        record.savedUsd = record.costUsd;
        record.costUsd = 0;
        record.routingSavedUsd = 0; // the cache saved it all
    }                               // served without a provider call; the usage says what it saved
    record.error = error;

    settleLimits(usage);
    chargeBudgets(record);
    m_context.metrics.record(record);
    m_context.alerts.record(record);
    m_context.requestFeed.append(record);
    // After the feed has it, so a console polling both never loses sight of the request.
    if (m_shownRunning) {
        m_context.running.end(m_requestId);
        m_shownRunning = false;
    }
    m_context.traffic.add(record);
    if (m_context.log)
        m_context.log->append(std::move(record));
}

} // namespace tollgate::gateway
