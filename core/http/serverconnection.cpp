#include "http/serverconnection.h"

#include "http/deferreddelete.h"
#include "http/httpexchange.h"
#include "http/requesthandler.h"
#include "http/tcpstream.h"

#include <QTimerEvent>

namespace tollgate::http {

ServerConnection::ServerConnection(qintptr descriptor, RequestHandler *handler,
                                   RequestLimits limits, ConnectionTimeouts timeouts,
                                   QObject *parent)
    : QObject(parent)
    , m_handler(handler)
    , m_parser(limits)
    , m_timeouts(timeouts)
{
    m_clock.start();
    auto *socket = new TcpStream(this);
    if (!socket->adopt(descriptor)) {
        delete socket;
        return;
    }
    m_socket = socket;
    m_peer = socket->peerAddress();
    connect(socket, &TcpStream::received, this, &ServerConnection::onReceived);
    connect(socket, &TcpStream::disconnected, this, &ServerConnection::onDisconnected);
    connect(socket, &TcpStream::bytesWritten, this, [this] {
        if (m_exchange)
            Q_EMIT m_exchange->drained();
    });
    armTimer();
}

ServerConnection::~ServerConnection()
{
    if (m_exchange)
        m_exchange->detach();
}

void ServerConnection::close()
{
    if (!m_socket || m_closing)
        return;
    m_closing = true;
    m_socket->abort();
    onDisconnected();
}

void ServerConnection::write(QByteArrayView head, QByteArrayView body)
{
    if (m_socket)
        m_socket->write(head, body);
}

qint64 ServerConnection::pendingBytes() const
{
    return m_socket ? m_socket->bytesToWrite() : 0;
}

void ServerConnection::onReceived(QByteArrayView data)
{
    m_parser.append(data);
    if (!m_exchange)
        processNext();
}

void ServerConnection::processNext()
{
    if (!m_socket || m_closing)
        return;
    const RequestParser::State state = m_parser.parse();
    if (state != RequestParser::State::Failed && m_parser.takeContinueRequest())
        write("HTTP/1.1 100 Continue\r\n\r\n");
    switch (state) {
    case RequestParser::State::NeedMore: armTimer(); return;
    case RequestParser::State::Failed:
        rejectRequest(m_parser.errorStatus(), m_parser.errorMessage());
        return;
    case RequestParser::State::Ready: break;
    }
    // The timer stays registered: it finds the exchange when it fires, and the deadline moves
    // again when the exchange ends.
    m_timingRequest = false;
    HttpRequest request = m_parser.takeRequest();
    m_exchange = new HttpExchange(this, std::move(request), m_peer);
    m_handler->handle(m_exchange);
}

void ServerConnection::exchangeFinished(bool keepAlive)
{
    // The exchange's handler is still on the stack: it goes once that has returned, without a
    // posted event (and the event loop wake-up that would cost every request).
    DeferredDelete::later(m_exchange);
    m_exchange.clear();
    if (!keepAlive) {
        m_closing = true;
        m_socket->disconnectFromHost();
        return;
    }
    if (m_parser.inRequest()) {
        // Pipelined bytes wait: queued, so a burst of them does not recurse through the handler.
        QMetaObject::invokeMethod(this, &ServerConnection::processNext, Qt::QueuedConnection);
        return;
    }
    armTimer(); // idle until the next request
}

void ServerConnection::rejectRequest(int status, const QString &message)
{
    const QByteArray body = m_handler->errorBody(m_parser.currentPath(), status, message);
    QByteArray head =
        "HTTP/1.1 " + QByteArray::number(status) + ' ' + reasonPhrase(status) +
        "\r\ncontent-type: application/json\r\ncontent-length: " + QByteArray::number(body.size()) +
        "\r\nconnection: close\r\n\r\n";
    write(head, body);
    m_closing = true;
    m_timer.stop();
    m_socket->disconnectFromHost();
}

void ServerConnection::onDisconnected()
{
    if (!m_socket)
        return;
    m_timer.stop();
    m_socket->deleteLater();
    m_socket = nullptr;
    if (m_exchange) {
        HttpExchange *exchange = m_exchange;
        m_exchange.clear();
        exchange->detach();
        exchange->deleteLater();
    }
    Q_EMIT closed();
    deleteLater();
}

void ServerConnection::armTimer()
{
    // A started request gets one deadline for all of it: bytes trickling in do not extend it.
    if (m_parser.inRequest()) {
        if (!m_timingRequest)
            setDeadline(m_timeouts.requestMs);
        m_timingRequest = true;
        return;
    }
    m_timingRequest = false;
    setDeadline(m_timeouts.idleMs);
}

void ServerConnection::setDeadline(int ms)
{
    // Moved for every request, registered again only when it comes before the armed one: a
    // timer that fires early re-arms for the rest (see timerEvent).
    m_deadlineMs = m_clock.elapsed() + ms;
    if (m_timer.isActive() && m_armedForMs <= m_deadlineMs)
        return;
    m_timer.start(ms, this);
    m_armedForMs = m_deadlineMs;
}

void ServerConnection::timerEvent(QTimerEvent *event)
{
    if (event->timerId() != m_timer.timerId())
        return QObject::timerEvent(event);
    if (m_exchange) {
        m_timer.stop(); // no deadline while a response is on its way; armed again after it
        return;
    }
    if (const qint64 left = m_deadlineMs - m_clock.elapsed(); left > 0) {
        m_timer.start(int(left), this);
        m_armedForMs = m_deadlineMs;
        return;
    }
    m_timer.stop();
    if (m_parser.inRequest())
        rejectRequest(
            408, QStringLiteral("request not received within %1 ms").arg(m_timeouts.requestMs));
    else
        close();
}

} // namespace tollgate::http
