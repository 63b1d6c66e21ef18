#include "gateway/providercheck.h"

#include "http/upstreampool.h"

#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>

namespace tollgate::gateway {

namespace {

constexpr qsizetype kMaxBody = 64 * 1024;

/// Some providers quote the presented key (or part of it) in their error text.
QString withoutKey(QString text, const QByteArray &apiKey)
{
    if (apiKey.size() >= 4)
        text.replace(QString::fromUtf8(apiKey), QStringLiteral("…"));
    return text;
}

} // namespace

QString ProviderCheckResult::summary() const
{
    const QString latency = QStringLiteral("%1 ms").arg(latencyMs, 0, 'f', 0);
    if (ok)
        return QStringLiteral("HTTP %1 in %2").arg(status).arg(latency);
    if (status != 0)
        return QStringLiteral("HTTP %1 in %2: %3").arg(status).arg(latency, message);
    return QStringLiteral("%1 (after %2)").arg(message, latency);
}

ProviderCheck::ProviderCheck(policy::ProviderConfig provider, QObject *parent)
    : QObject(parent)
    , m_provider(std::move(provider))
{
}

ProviderCheck::~ProviderCheck() = default;

void ProviderCheck::start()
{
    if (m_provider.baseUrls.isEmpty()) {
        ProviderCheckResult result;
        result.message = QStringLiteral("the provider has no endpoint");
        finish(result);
        return;
    }
    http::UpstreamRequest request;
    request.baseUrl = m_provider.baseUrls.first();
    request.method = "GET";
    request.target = "/v1/models";
    request.timeouts = m_provider.timeouts;
    request.timeouts.firstByteMs = std::min(request.timeouts.firstByteMs, kMaxWaitMs);
    request.timeouts.idleMs = std::min(request.timeouts.idleMs, kMaxWaitMs);
    request.extraCaCertificates = m_provider.extraCaCertificates;
    if (m_provider.flavor() == api::Flavor::Anthropic)
        request.headers.append(
            qMakePair(QByteArray("anthropic-version"), QByteArray("2023-06-01")));
    if (!m_provider.apiKey.isEmpty())
        request.headers += policy::providerKeyHeaders(m_provider.flavor(), m_provider.apiKey);
    request.headers.append(qMakePair(QByteArray("accept"), QByteArray("application/json")));
    m_url = request.baseUrl;
    m_url.setPath(m_url.path() + QStringLiteral("/v1/models"));

    // A pool of its own: one connection, closed with the check.
    m_pool = new http::UpstreamPool({1, 0, 1000}, this);
    m_call = m_pool->start(std::move(request), this);
    connect(m_call, &http::UpstreamCall::bodyReceived, this, [this](const QByteArray &data) {
        if (m_body.size() < kMaxBody)
            m_body += data.left(kMaxBody - m_body.size());
    });
    connect(m_call, &http::UpstreamCall::finished, this, [this] {
        ProviderCheckResult result;
        result.status = m_call->status();
        result.latencyMs = m_call->elapsedMs();
        result.ok = result.status >= 200 && result.status < 300;
        if (!result.ok)
            result.message = errorText();
        finish(result);
    });
    connect(m_call, &http::UpstreamCall::failed, this, [this](const http::UpstreamError &error) {
        ProviderCheckResult result;
        result.latencyMs = m_call->elapsedMs();
        result.message = withoutKey(error.message, m_provider.apiKey);
        finish(result);
    });
}

QString ProviderCheck::errorText() const
{
    const int status = m_call->status();
    QString text;
    // Both APIs answer {"error": {"message": ...}} (Anthropic adds a "type" around it).
    const QJsonObject body = QJsonDocument::fromJson(m_body).object();
    const QJsonValue error = body.value(u"error");
    if (error.isObject())
        text = error.toObject().value(u"message").toString();
    else if (error.isString())
        text = error.toString();
    if (status == 401 || status == 403) {
        const QString refused = m_provider.apiKey.isEmpty()
                                    ? QStringLiteral("the provider wants a key and none is set")
                                    : QStringLiteral("the provider refused the key");
        text = text.isEmpty() ? refused : refused + QStringLiteral(" (") + text + QLatin1Char(')');
    } else if (status == 404 && text.isEmpty()) {
        text = QStringLiteral("no /v1/models here: is the base URL right?");
    } else if (text.isEmpty()) {
        text = QStringLiteral("the provider answered with an error");
    }
    return withoutKey(text.left(300), m_provider.apiKey);
}

void ProviderCheck::finish(ProviderCheckResult result)
{
    if (m_done)
        return;
    m_done = true;
    result.url = m_url;
    Q_EMIT finished(result);
}

} // namespace tollgate::gateway
