#pragma once

#include "http/httpexchange.h"
#include "http/httpmessage.h"

#include <QByteArray>
#include <QString>

namespace tollgate::store {

/// One request and its response as they crossed the gateway's client side, for the console's
/// request detail: kept only while capture is on, each body cut at the capture limit, and never
/// a credential in a header (http::redactCredentials). A body is stored as sent, so a prompt that
/// quotes a key keeps it: capture is the console's choice, off in tollgated.
struct CapturedExchange {
    QString id; ///< the request's x-tollgate-request-id, as in RequestRecord
    qint64 startedAtMs = 0;
    QByteArray method;
    QByteArray target; ///< path, and "?query" when there is one
    http::HeaderList requestHeaders;
    QByteArray requestBody;
    qint64 requestBytes = 0; ///< the whole body's size
    int status = 0;          ///< 0: the client left before a status
    http::HeaderList responseHeaders;
    QByteArray responseBody; ///< a stream's SSE bytes in order
    qint64 responseBytes = 0;
    bool streamed = false;

    bool requestTruncated() const { return requestBody.size() < requestBytes; }
    bool responseTruncated() const { return responseBody.size() < responseBytes; }
};

/// What crossed an exchange: the request with its credentials redacted and each body cut at
/// `limit` bytes; the response as `response` kept it (none: the client left first).
CapturedExchange captureExchange(const http::HttpRequest &request,
                                 const http::ResponseCopy *response, const QString &id,
                                 qint64 startedAtMs, qint64 limit);

/// Headers as a JSON array of [name, value] pairs, the way the log stores them; and back (an
/// unreadable text gives no headers).
QByteArray headersToJson(const http::HeaderList &headers);
http::HeaderList headersFromJson(const QByteArray &json);

} // namespace tollgate::store
