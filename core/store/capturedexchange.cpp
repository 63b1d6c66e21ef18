#include "store/capturedexchange.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <algorithm>

namespace tollgate::store {

CapturedExchange captureExchange(const http::HttpRequest &request,
                                 const http::ResponseCopy *response, const QString &id,
                                 qint64 startedAtMs, qint64 limit)
{
    CapturedExchange exchange;
    exchange.id = id;
    exchange.startedAtMs = startedAtMs;
    exchange.method = request.method;
    exchange.target = request.query.isEmpty() ? request.path : request.path + '?' + request.query;
    exchange.requestHeaders = http::redactCredentials(request.headers);
    exchange.requestBody = request.body.left(std::max<qint64>(limit, 0));
    exchange.requestBytes = request.body.size();
    if (response) {
        exchange.status = response->status;
        exchange.responseHeaders = http::redactCredentials(response->headers);
        exchange.responseBody = response->body;
        exchange.responseBytes = response->bytes;
        exchange.streamed = response->streamed;
    }
    return exchange;
}

QByteArray headersToJson(const http::HeaderList &headers)
{
    QJsonArray pairs;
    for (const auto &[name, value] : headers)
        pairs.append(QJsonArray{QString::fromLatin1(name), QString::fromLatin1(value)});
    return QJsonDocument(pairs).toJson(QJsonDocument::Compact);
}

http::HeaderList headersFromJson(const QByteArray &json)
{
    http::HeaderList headers;
    for (const QJsonValue &pair : QJsonDocument::fromJson(json).array()) {
        const QJsonArray field = pair.toArray();
        if (field.size() == 2)
            headers.append({field[0].toString().toLatin1(), field[1].toString().toLatin1()});
    }
    return headers;
}

} // namespace tollgate::store
