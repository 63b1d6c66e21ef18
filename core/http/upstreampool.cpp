#include "http/upstreampool.h"

#include "http/upstreamconnection.h"

namespace tollgate::http {

UpstreamPool::UpstreamPool(Options options, QObject *parent)
    : QObject(parent)
    , m_options(options)
{
}

UpstreamPool::~UpstreamPool() = default;

QString UpstreamPool::hostKey(const QUrl &url)
{
    const bool tls = url.scheme() == QLatin1String("https");
    return url.scheme() + QLatin1String("://") + url.host() + QLatin1Char(':') +
           QString::number(url.port(tls ? 443 : 80));
}

UpstreamCall *UpstreamPool::start(UpstreamRequest request, QObject *parent)
{
    auto *call = new UpstreamCall(this, std::move(request), parent);
    acquire(call, false);
    return call;
}

void UpstreamPool::acquire(UpstreamCall *call, bool fresh)
{
    Host &host = m_hosts[hostKey(call->m_request.baseUrl)];
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
    call->attach(new UpstreamConnection(call->m_request.baseUrl, this));
}

void UpstreamPool::release(UpstreamCall *call, UpstreamConnection *connection, bool reusable)
{
    Host &host = m_hosts[hostKey(call->m_request.baseUrl)];
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
