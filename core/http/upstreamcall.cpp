#include "http/upstreamcall.h"

#include "http/upstreamconnection.h"
#include "http/upstreampool.h"

#include <QTimerEvent>

namespace tollgate::http {

UpstreamCall::UpstreamCall(UpstreamPool *pool, UpstreamRequest request, QObject *parent)
    : QObject(parent)
    , m_pool(pool)
    , m_request(std::move(request))
{
    m_clock.start();
    m_timeoutMessage = QStringLiteral("no connection to the upstream within %1 ms")
                           .arg(m_request.timeouts.connectMs);
    armTimer(m_request.timeouts.connectMs);
}

UpstreamCall::~UpstreamCall()
{
    cancel();
}

void UpstreamCall::cancel()
{
    m_timer.stop();
    if (m_done)
        return;
    m_done = true;
    release(false);
}

void UpstreamCall::pause()
{
    if (m_done || m_paused || !m_connection)
        return;
    m_paused = true;
    m_timer.stop();
    m_connection->setPaused(true);
}

void UpstreamCall::resume()
{
    if (!m_paused)
        return;
    m_paused = false;
    if (m_done || !m_connection)
        return;
    armTimer(m_request.timeouts.idleMs);
    m_connection->setPaused(false);
}

QByteArray UpstreamCall::serialize() const
{
    const QUrl &url = m_request.baseUrl;
    QByteArray path = url.path(QUrl::FullyEncoded).toLatin1();
    if (path.endsWith('/'))
        path.chop(1);
    const int defaultPort = url.scheme() == QLatin1String("https") ? 443 : 80;
    QByteArray host = url.host(QUrl::FullyEncoded).toLatin1();
    if (url.port(defaultPort) != defaultPort)
        host += ':' + QByteArray::number(url.port());

    QByteArray out;
    out.reserve(512 + m_request.body.size());
    out += m_request.method + ' ' + path + m_request.target + " HTTP/1.1\r\nhost: " + host + "\r\n";
    for (const auto &field : m_request.headers)
        out += field.first + ": " + field.second + "\r\n";
    if (!m_request.body.isEmpty() || m_request.method == "POST")
        out += "content-length: " + QByteArray::number(m_request.body.size()) + "\r\n";
    out += "\r\n";
    out += m_request.body;
    return out;
}

void UpstreamCall::attach(UpstreamConnection *connection)
{
    m_connection = connection;
    connection->send(this, serialize());
}

void UpstreamCall::onSent()
{
    m_timeoutMessage = QStringLiteral("no response from the upstream within %1 ms")
                           .arg(m_request.timeouts.firstByteMs);
    armTimer(m_request.timeouts.firstByteMs);
}

void UpstreamCall::onHeaders(int status, const HeaderList &headers)
{
    m_status = status;
    m_headers = headers;
    m_timeoutMessage =
        QStringLiteral("the upstream went silent for %1 ms").arg(m_request.timeouts.idleMs);
    armTimer(m_request.timeouts.idleMs);
    Q_EMIT responseStarted(status);
}

void UpstreamCall::onBody(const QByteArray &data)
{
    armTimer(m_request.timeouts.idleMs);
    Q_EMIT bodyReceived(data);
}

void UpstreamCall::onComplete()
{
    m_timer.stop();
    m_done = true;
    release(m_connection && m_connection->keepAlive());
    Q_EMIT finished();
}

void UpstreamCall::onConnectionLost(const UpstreamError &error, bool wasReused)
{
    release(false);
    // A reused keep-alive connection that dies before any response byte was most likely
    // closed by the upstream while idle: the request never reached it, so one retry is safe.
    if (wasReused && !error.responseStarted && !m_retried && m_pool) {
        m_retried = true;
        m_pool->acquire(this, true);
        return;
    }
    m_timer.stop();
    m_done = true;
    Q_EMIT failed(error);
}

void UpstreamCall::armTimer(int ms)
{
    m_timer.start(ms, this);
}

void UpstreamCall::timerEvent(QTimerEvent *event)
{
    if (event->timerId() != m_timer.timerId())
        return QObject::timerEvent(event);
    m_timer.stop();
    if (m_done)
        return;
    m_done = true;
    const bool started = m_status != 0;
    release(false);
    Q_EMIT failed({UpstreamError::Kind::Timeout, m_timeoutMessage, started});
}

void UpstreamCall::release(bool reusable)
{
    UpstreamConnection *connection = m_connection;
    m_connection = nullptr;
    if (m_pool)
        m_pool->release(this, connection, reusable);
}

} // namespace tollgate::http
