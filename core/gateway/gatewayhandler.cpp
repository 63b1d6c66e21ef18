#include "gateway/gatewayhandler.h"

#include "api/errorshape.h"
#include "gateway/proxycall.h"
#include "http/httpexchange.h"

#include <QDateTime>

namespace tollgate::gateway {

namespace {

api::Flavor flavorOfPath(const QByteArray &path)
{
    return path.startsWith("/v1/chat/") || path.startsWith("/v1/completions") ||
                   path.startsWith("/v1/embeddings") || path.startsWith("/v1/responses")
               ? api::Flavor::OpenAI
               : api::Flavor::Anthropic;
}

/// `GET /v1/models` exists in both APIs; Anthropic clients identify themselves by headers.
api::Flavor flavorOfModelsRequest(const http::HttpRequest &request)
{
    return request.header("anthropic-version").isEmpty() && request.header("x-api-key").isEmpty()
               ? api::Flavor::OpenAI
               : api::Flavor::Anthropic;
}

struct Endpoint {
    QByteArray method;
    QByteArray path;
    ProxyRoute::Kind kind;
};

const QList<Endpoint> &providerEndpoints()
{
    static const QList<Endpoint> endpoints = {
        {"POST", "/v1/messages", ProxyRoute::Kind::Generate},
        {"POST", "/v1/messages/count_tokens", ProxyRoute::Kind::CountTokens},
        {"POST", "/v1/chat/completions", ProxyRoute::Kind::Generate},
        {"GET", "/v1/models", ProxyRoute::Kind::Models},
    };
    return endpoints;
}

} // namespace

GatewayHandler::GatewayHandler(GatewayContext &context)
    : m_context(context)
    , m_pool({context.policy()->gateway.maxConnectionsPerHost,
              context.policy()->gateway.maxIdleConnectionsPerHost, 60000})
{
}

void GatewayHandler::handle(http::HttpExchange *exchange)
{
    const http::HttpRequest &request = exchange->request();
    const QByteArray &path = request.path;
    const bool get = request.method == "GET" || request.method == "HEAD";
    if (path == "/health" && get)
        return respondJson(exchange, 200, R"({"status":"ok"})");
    if (path == "/ready" && get) {
        if (m_context.paused.load())
            return respondJson(exchange, 503, R"({"status":"stopped"})");
        const bool draining = m_context.draining.load();
        return respondJson(exchange, draining ? 503 : 200,
                           draining ? R"({"status":"draining"})" : R"({"status":"ready"})");
    }
    if (path == "/metrics" && get) {
        m_context.metrics.setInflight(m_context.inflight.load());
        QList<QPair<QString, int>> breakers;
        const auto targets = m_context.breakers.snapshot(QDateTime::currentMSecsSinceEpoch());
        for (const routing::TargetState &target : targets)
            breakers.append({target.target, int(target.state)});
        m_context.metrics.setBreakerStates(breakers);
        QList<metering::BudgetGauge> budgets;
        const auto statuses = m_context.spendLedger.status(QDateTime::currentMSecsSinceEpoch());
        for (const limits::BudgetStatus &status : statuses)
            budgets.append({status.name, status.limitUsd, status.spentUsd, status.remainingUsd});
        m_context.metrics.setBudgets(budgets);
        if (m_context.log)
            m_context.metrics.setLogDropped(m_context.log->dropped());
        if (m_context.redisHealth)
            m_context.metrics.setRedisHealth(m_context.redisHealth());
        exchange->respond(200, {{"content-type", "text/plain; version=0.0.4; charset=utf-8"}},
                          m_context.metrics.renderPrometheus());
        return;
    }
    for (const Endpoint &endpoint : providerEndpoints()) {
        if (endpoint.path != path)
            continue;
        if (endpoint.method != request.method) {
            const QString message =
                QStringLiteral("%1 %2 is not supported; use %3")
                    .arg(QString::fromLatin1(request.method), QString::fromLatin1(path),
                         QString::fromLatin1(endpoint.method));
            exchange->respond(405,
                              {{"content-type", "application/json"}, {"allow", endpoint.method}},
                              errorBody(path, 405, message));
            return;
        }
        if (m_context.paused.load()) {
            // A connection opened before the console stopped the gateway.
            respondJson(exchange, 503,
                        errorBody(path, 503,
                                  QStringLiteral("Tollgate is stopped; start it again from "
                                                 "the console")));
            return;
        }
        const api::Flavor flavor = endpoint.kind == ProxyRoute::Kind::Models
                                       ? flavorOfModelsRequest(request)
                                       : flavorOfPath(path);
        auto *call = new ProxyCall(m_context, m_pool, exchange, {flavor, endpoint.kind});
        call->start();
        return;
    }
    respondJson(
        exchange, 404,
        errorBody(path, 404,
                  QStringLiteral("Tollgate does not serve %1 %2")
                      .arg(QString::fromLatin1(request.method), QString::fromLatin1(path))));
}

QByteArray GatewayHandler::errorBody(const QByteArray &path, int status, const QString &message)
{
    return api::errorBody(flavorOfPath(path), status, message);
}

void GatewayHandler::respondJson(http::HttpExchange *exchange, int status, const QByteArray &body)
{
    exchange->respond(status, {{"content-type", "application/json"}}, body);
}

} // namespace tollgate::gateway
