#include "http/serverconnection.h"

#include "http/httpexchange.h"
#include "http/requesthandler.h"

#include <QTcpSocket>
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
    auto *socket = new QTcpSocket(this);
    if (!socket->setSocketDescriptor(descriptor)) {
        delete socket;
        return;
    }
    socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    m_socket = socket;
    connect(socket, &QTcpSocket::readyRead, this, &ServerConnection::onReadyRead);
    connect(socket, &QTcpSocket::disconnected, this, &ServerConnection::onDisconnected);
    connect(socket, &QTcpSocket::bytesWritten, this, [this] {
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

void ServerConnection::write(QByteArrayView data)
{
    if (m_socket)
        m_socket->write(data.data(), data.size());
}

qint64 ServerConnection::pendingBytes() const
{
    return m_socket ? m_socket->bytesToWrite() : 0;
}

void ServerConnection::onReadyRead()
{
    // readAll() allocates what arrived, not a fixed chunk per read.
    m_parser.append(m_socket->readAll());
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
    m_timer.stop();
    m_timingRequest = false;
    HttpRequest request = m_parser.takeRequest();
    m_exchange = new HttpExchange(this, std::move(request), m_socket->peerAddress());
    m_handler->handle(m_exchange);
}

void ServerConnection::exchangeFinished(bool keepAlive)
{
    if (m_exchange)
        m_exchange->deleteLater();
    m_exchange.clear();
    if (!keepAlive) {
        m_closing = true;
        m_socket->disconnectFromHost();
        return;
    }
    // Queued, so a burst of pipelined requests does not recurse through the handler.
    QMetaObject::invokeMethod(this, &ServerConnection::processNext, Qt::QueuedConnection);
}

void ServerConnection::rejectRequest(int status, const QString &message)
{
    const QByteArray body = m_handler->errorBody(m_parser.currentPath(), status, message);
    QByteArray head =
        "HTTP/1.1 " + QByteArray::number(status) + ' ' + reasonPhrase(status) +
        "\r\ncontent-type: application/json\r\ncontent-length: " + QByteArray::number(body.size()) +
        "\r\nconnection: close\r\n\r\n";
    write(head + body);
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
            m_timer.start(m_timeouts.requestMs, this);
        m_timingRequest = true;
        return;
    }
    m_timingRequest = false;
    m_timer.start(m_timeouts.idleMs, this);
}

void ServerConnection::timerEvent(QTimerEvent *event)
{
    if (event->timerId() != m_timer.timerId())
        return QObject::timerEvent(event);
    m_timer.stop();
    if (m_exchange)
        return;
    if (m_parser.inRequest())
        rejectRequest(
            408, QStringLiteral("request not received within %1 ms").arg(m_timeouts.requestMs));
    else
        close();
}

} // namespace tollgate::http
