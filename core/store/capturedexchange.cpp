#include "store/capturedexchange.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <algorithm>

namespace tollgate::store {

namespace {

constexpr QByteArrayView kRedacted = "[redacted]";

// Set again by the sender for the body it sends, or hop-by-hop.
bool senderSetsItself(const QByteArray &name)
{
    return name == "host" || name == "content-length" || name == "connection" ||
           name == "transfer-encoding" || name == "keep-alive";
}

QByteArray credentialValue(const QByteArray &name, const QByteArray &key)
{
    return name == "authorization" ? "Bearer " + key : key;
}

} // namespace

bool isCredentialHeader(const QByteArray &name)
{
    const QByteArray lower = name.toLower();
    return lower == "authorization" || lower == "x-api-key" || lower == "api-key";
}

Expected<RepeatedRequest> repeatRequest(const CapturedExchange &exchange, const QString &flavor,
                                        const RepeatOptions &options)
{
    if (!options.body && exchange.requestTruncated())
        return Error(QStringLiteral("the captured body was cut at %1 of %2 bytes, so it cannot be "
                                    "sent as it was; edit it into a whole request first")
                         .arg(exchange.requestBody.size())
                         .arg(exchange.requestBytes));
    const QByteArray key = options.key.trimmed();
    if (key.contains('\r') || key.contains('\n') || key.contains('\0'))
        return Error(QStringLiteral("the key holds a line break or a NUL: not a header value"));
    RepeatedRequest repeated{
        exchange.method, exchange.target, {}, options.body.value_or(exchange.requestBody)};
    bool keySent = false;
    for (const auto &[name, value] : exchange.requestHeaders) {
        const QByteArray lower = name.toLower();
        if (senderSetsItself(lower) || (options.skipCache && lower == "x-tollgate-cache"))
            continue;
        if (isCredentialHeader(lower)) {
            if (!key.isEmpty() && !keySent)
                repeated.headers.append({name, credentialValue(lower, key)});
            keySent = keySent || !key.isEmpty();
            continue;
        }
        if (value == kRedacted)
            continue; // a cookie or a token of some other kind: not ours to repeat
        repeated.headers.append({name, value});
    }
    if (!key.isEmpty() && !keySent) {
        const QByteArray name = flavor == QLatin1String("openai") ? "authorization" : "x-api-key";
        repeated.headers.append({name, credentialValue(name, key)});
    }
    if (options.skipCache)
        repeated.headers.append({QByteArray("x-tollgate-cache"), QByteArray("no-cache")});
    return repeated;
}

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
