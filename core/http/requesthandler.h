#pragma once

#include <QByteArray>
#include <QString>

namespace tollgate::http {

class HttpExchange;

/// Answers requests on one server worker thread; each worker has its own handler.
class RequestHandler {
public:
    virtual ~RequestHandler() = default;
    /// Takes a complete request. The exchange lives until it is finished or its client is gone.
    virtual void handle(HttpExchange *exchange) = 0;
    /// JSON body for a request the server rejects before any handler sees it (malformed,
    /// too large, timed out), shaped for the API the path belongs to.
    virtual QByteArray errorBody(const QByteArray &path, int status, const QString &message) = 0;
};

} // namespace tollgate::http
