#include "http/upstreamcall.h"

#include "http/upstreamconnection.h"
#include "http/upstreampool.h"

#include <QTimerEvent>

#include <charconv>
#include <cstring>
#include <utility>

namespace tollgate::http {

UpstreamCall::UpstreamCall(UpstreamPool *pool, UpstreamRequest request, QObject *parent)
    : QObject(parent)
    , m_pool(pool)
    , m_request(std::move(request))
{
    m_clock.start();
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
    const bool tls = url.scheme() == QLatin1String("https");
    const int defaultPort = tls ? 443 : 80;
    const QByteArray host = url.host(QUrl::FullyEncoded).toLatin1();
    const int port = url.port(defaultPort);
    char portText[8] = {':'};
    const qsizetype portSize =
        port == defaultPort
            ? 0
            : std::to_chars(portText + 1, portText + sizeof portText, port).ptr - portText;
    const bool withLength = !m_request.body.isEmpty() || m_request.method == "POST";
    char length[24];
    const qsizetype lengthSize =
        withLength
            ? std::to_chars(length, length + sizeof length, m_request.body.size()).ptr - length
            : 0;

    // Sized once and filled in place, like the response head: no temporaries per header.
    qsizetype size = m_request.method.size() + 1 + path.size() + m_request.target.size() + 17 +
                     host.size() + portSize + 2 + 2 + m_request.body.size();
    for (const auto &field : m_request.headers)
        size += field.first.size() + 2 + field.second.size() + 2;
    if (withLength)
        size += 16 + lengthSize + 2;
    QByteArray out(size, Qt::Uninitialized);
    char *p = out.data();
    const auto put = [&p](QByteArrayView text) {
        if (!text.isEmpty())
            std::memcpy(p, text.data(), size_t(text.size()));
        p += text.size();
    };
    put(m_request.method);
    put(" ");
    put(path);
    put(m_request.target);
    put(" HTTP/1.1\r\nhost: ");
    put(host);
    put(QByteArrayView(portText, portSize));
    put("\r\n");
    for (const auto &field : m_request.headers) {
        put(field.first);
        put(": ");
        put(field.second);
        put("\r\n");
    }
    if (withLength) {
        put("content-length: ");
        put(QByteArrayView(length, lengthSize));
        put("\r\n");
    }
    put("\r\n");
    put(m_request.body);
    Q_ASSERT(p == out.constData() + size);
    return out;
}

void UpstreamCall::attach(UpstreamConnection *connection)
{
    m_attachedAtMs = elapsedMs();
    if (m_queuedMs < 0)
        m_queuedMs = m_attachedAtMs;
    m_connecting = !connection->isOpen();
    m_connection = connection;
    connection->send(this, serialize());
}

void UpstreamCall::endConnecting()
{
    if (std::exchange(m_connecting, false))
        m_connectMs += elapsedMs() - m_attachedAtMs;
}

void UpstreamCall::onSent()
{
    endConnecting();
    m_phase = Phase::FirstByte;
    armTimer(m_request.timeouts.firstByteMs);
}

void UpstreamCall::onHeaders(int status, const HeaderList &headers)
{
    m_status = status;
    m_headers = headers;
    m_phase = Phase::Idle;
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
    endConnecting(); // a connection that failed to open took its time too
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
    // The deadline moves with every phase and every body chunk, but the timer is registered
    // again only when the new deadline comes before the armed one (phases only get longer); a
    // timer that fires early re-arms for the rest. Registering a timer per chunk cost more than
    // the rest of a chunk's relay.
    const qint64 now = m_clock.elapsed();
    m_deadlineMs = now + ms;
    if (m_timer.isActive() && m_armedForMs <= m_deadlineMs)
        return;
    m_timer.start(ms, this);
    m_armedForMs = m_deadlineMs;
}

void UpstreamCall::timerEvent(QTimerEvent *event)
{
    if (event->timerId() != m_timer.timerId())
        return QObject::timerEvent(event);
    if (const qint64 left = m_deadlineMs - m_clock.elapsed(); left > 0 && !m_done) {
        m_timer.start(int(left), this);
        m_armedForMs = m_deadlineMs;
        return;
    }
    m_timer.stop();
    if (m_done)
        return;
    m_done = true;
    endConnecting();
    const bool started = m_status != 0;
    release(false);
    // Worded only now: building it for every phase of every call cost more than a timeout ever
    // does.
    const QString message =
        m_phase == Phase::Connect ? QStringLiteral("no connection to the upstream within %1 ms")
                                        .arg(m_request.timeouts.connectMs)
        : m_phase == Phase::FirstByte
            ? QStringLiteral("no response from the upstream within %1 ms")
                  .arg(m_request.timeouts.firstByteMs)
            : QStringLiteral("the upstream went silent for %1 ms").arg(m_request.timeouts.idleMs);
    Q_EMIT failed({UpstreamError::Kind::Timeout, message, started});
}

void UpstreamCall::release(bool reusable)
{
    UpstreamConnection *connection = m_connection;
    m_connection = nullptr;
    if (m_pool)
        m_pool->release(this, connection, reusable);
}

} // namespace tollgate::http
