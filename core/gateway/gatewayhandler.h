#pragma once

#include "gateway/gatewaycontext.h"
#include "http/requesthandler.h"
#include "http/upstreampool.h"

namespace tollgate::gateway {

/// The gateway's answer to requests on one worker thread: admin endpoints here, provider
/// calls through a ProxyCall over this worker's upstream pool.
class GatewayHandler : public http::RequestHandler {
public:
    explicit GatewayHandler(GatewayContext &context);

    void handle(http::HttpExchange *exchange) override;
    QByteArray errorBody(const QByteArray &path, int status, const QString &message) override;

private:
    void respondJson(http::HttpExchange *exchange, int status, const QByteArray &body);

    GatewayContext &m_context;
    http::UpstreamPool m_pool;
};

} // namespace tollgate::gateway
