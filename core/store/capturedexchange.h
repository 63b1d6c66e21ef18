#pragma once

#include "common/expected.h"
#include "http/httpexchange.h"
#include "http/httpmessage.h"

#include <QByteArray>
#include <QString>

#include <optional>

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

/// Whether a request header named `name` carries the client's key to a provider or the gateway.
bool isCredentialHeader(const QByteArray &name);

/// How to send a captured request again.
struct RepeatOptions {
    QByteArray key;                 ///< the credential to present; none when empty
    std::optional<QByteArray> body; ///< an edited body; the captured one otherwise
    bool skipCache = false;         ///< ask the provider even when the cache holds the answer
};

/// A captured request to send again through the gateway.
struct RepeatedRequest {
    QByteArray method;
    QByteArray target;
    http::HeaderList headers; ///< without host, content-length and connection
    QByteArray body;
};

/// The captured request, to send again as it was sent: its method, target, headers and body.
/// A redacted header is left out, except the credential, which carries `options.key` in the
/// client's own form (`authorization: Bearer`, `x-api-key`); without a captured credential the
/// key goes where `flavor` ("anthropic" | "openai") expects it. An error when the body was cut
/// when captured (and not replaced) or the key is not a header value.
Expected<RepeatedRequest> repeatRequest(const CapturedExchange &exchange, const QString &flavor,
                                        const RepeatOptions &options);

/// Headers as a JSON array of [name, value] pairs, the way the log stores them; and back (an
/// unreadable text gives no headers).
QByteArray headersToJson(const http::HeaderList &headers);
http::HeaderList headersFromJson(const QByteArray &json);

} // namespace tollgate::store
