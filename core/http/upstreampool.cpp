#include "http/upstreampool.h"

#include "http/upstreamconnection.h"

#include <QCryptographicHash>

namespace tollgate::http {

UpstreamPool::UpstreamPool(Options options, QObject *parent)
    : QObject(parent)
    , m_options(options)
{
}

UpstreamPool::~UpstreamPool() = default;

QString UpstreamPool::hostKey(const UpstreamRequest &request)
{
    const QUrl &url = request.baseUrl;
    const bool tls = url.scheme() == QLatin1String("https");
    QString key = url.scheme() + QLatin1String("://") + url.host() + QLatin1Char(':') +
                  QString::number(url.port(tls ? 443 : 80));
    if (tls && !request.extraCaCertificates.isEmpty()) {
        QCryptographicHash trust(QCryptographicHash::Sha256);
        for (const QSslCertificate &certificate : request.extraCaCertificates)
            trust.addData(certificate.digest(QCryptographicHash::Sha256));
        key += QLatin1String(" ca=") + QString::fromLatin1(trust.result().toHex());
    }
    return key;
}

UpstreamCall *UpstreamPool::start(UpstreamRequest request, QObject *parent)
{
    auto *call = new UpstreamCall(this, std::move(request), parent);
    // Nearly every call goes where the one before went: the key is spelled once per origin.
    const UpstreamRequest &sent = call->m_request;
    if (m_lastKey.isEmpty() || sent.baseUrl != m_lastUrl ||
        sent.extraCaCertificates != m_lastCaCertificates) {
        m_lastUrl = sent.baseUrl;
        m_lastCaCertificates = sent.extraCaCertificates;
        m_lastKey = hostKey(sent);
    }
    call->m_hostKey = m_lastKey;
    acquire(call, false);
    return call;
}

void UpstreamPool::acquire(UpstreamCall *call, bool fresh)
{
    Host &host = m_hosts[call->m_hostKey];
    while (!fresh && !host.idle.isEmpty()) {
        UpstreamConnection *connection = host.idle.takeLast();
        if (!connection->isOpen()) {
            connection->deleteLater();
            continue;
        }
        connection->stopIdleTimer();
        ++host.active;
        call->attach(connection);
        return;
    }
    if (host.active >= m_options.maxConnectionsPerHost) {
        host.waiting.enqueue(call);
        return;
    }
    ++host.active;
    call->attach(new UpstreamConnection(call->m_request, this));
}

void UpstreamPool::release(UpstreamCall *call, UpstreamConnection *connection, bool reusable)
{
    Host &host = m_hosts[call->m_hostKey];
    if (!connection) {
        host.waiting.removeAll(call);
        return;
    }
    --host.active;
    connection->detach();
    if (reusable && connection->isOpen() && host.idle.size() < m_options.maxIdlePerHost) {
        host.idle.append(connection);
        connection->startIdleTimer(m_options.idleCloseMs);
    } else {
        connection->deleteLater();
    }
    serveWaiting(host);
}

void UpstreamPool::serveWaiting(Host &host)
{
    while (!host.waiting.isEmpty() && host.active < m_options.maxConnectionsPerHost) {
        QPointer<UpstreamCall> next = host.waiting.dequeue();
        if (next && !next->m_done)
            acquire(next, false);
    }
}

void UpstreamPool::forget(UpstreamConnection *connection)
{
    for (Host &host : m_hosts)
        host.idle.removeAll(connection);
    connection->deleteLater();
}

int UpstreamPool::idleConnections() const
{
    int count = 0;
    for (const Host &host : m_hosts)
        count += int(host.idle.size());
    return count;
}

int UpstreamPool::activeConnections() const
{
    int count = 0;
    for (const Host &host : m_hosts)
        count += host.active;
    return count;
}

} // namespace tollgate::http
