#pragma once

#include "http/upstreamcall.h"
#include "policy/providers.h"

#include <QObject>
#include <QPointer>
#include <QUrl>

namespace tollgate::http {
class UpstreamPool;
}

namespace tollgate::gateway {

/// What a provider answered when asked for its model list with its key.
struct ProviderCheckResult {
    bool ok = false;      ///< a 2xx answer: the endpoint works and takes the key
    int status = 0;       ///< 0: no answer arrived
    double latencyMs = 0; ///< until the whole answer arrived, or the failure
    QUrl url;             ///< what was asked
    QString message;      ///< one sentence for people; never contains the key

    /// "HTTP 200 in 12 ms" or the reason it failed.
    QString summary() const;
};

/// Asks a provider's first endpoint for `GET /v1/models` with the header fields the gateway
/// sends (its key, anthropic-version for the Anthropic API), over the gateway's own upstream
/// client, so TLS, extra CA certificates and timeouts behave as they will for requests. Lives on
/// a thread with an event loop; reports once.
class ProviderCheck : public QObject {
    Q_OBJECT
public:
    /// The longest wait for the answer: a model list does not make a model think.
    static constexpr int kMaxWaitMs = 15000;

    explicit ProviderCheck(policy::ProviderConfig provider, QObject *parent = nullptr);
    ~ProviderCheck() override;

    /// Sends the request; finished() follows, also for a provider without an endpoint.
    void start();

Q_SIGNALS:
    void finished(const tollgate::gateway::ProviderCheckResult &result);

private:
    void finish(ProviderCheckResult result);
    /// The text of an error answer: the provider's own message when the body has one.
    QString errorText() const;

    policy::ProviderConfig m_provider;
    http::UpstreamPool *m_pool = nullptr;
    QPointer<http::UpstreamCall> m_call;
    QUrl m_url;
    QByteArray m_body;
    bool m_done = false;
};

} // namespace tollgate::gateway

Q_DECLARE_METATYPE(tollgate::gateway::ProviderCheckResult)
