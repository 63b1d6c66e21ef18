#include "http/httpexchange.h"

#include "http/serverconnection.h"

namespace tollgate::http {

HttpExchange::HttpExchange(ServerConnection *connection, HttpRequest request, QHostAddress peer)
    : QObject(connection)
    , m_connection(connection)
    , m_request(std::move(request))
    , m_peer(std::move(peer))
{
}

QByteArray HttpExchange::statusHead(int status, const HeaderList &headers) const
{
    QByteArray head;
    head.reserve(256);
    head += "HTTP/1.1 " + QByteArray::number(status) + ' ' + reasonPhrase(status) + "\r\n";
    for (const auto &field : headers)
        head += field.first + ": " + field.second + "\r\n";
    if (!m_request.keepAlive)
        head += "connection: close\r\n";
    return head;
}

void HttpExchange::respond(int status, const HeaderList &headers, QByteArrayView body)
{
    if (m_state != State::Waiting || !m_connection)
        return;
    QByteArray out = statusHead(status, headers);
    out += "content-length: " + QByteArray::number(body.size()) + "\r\n\r\n";
    out.append(body);
    m_connection->write(out);
    finish();
}

void HttpExchange::beginStream(int status, const HeaderList &headers)
{
    if (m_state != State::Waiting || !m_connection)
        return;
    m_connection->write(statusHead(status, headers) + "transfer-encoding: chunked\r\n\r\n");
    m_state = State::Streaming;
}

void HttpExchange::writeChunk(QByteArrayView data)
{
    if (m_state != State::Streaming || !m_connection || data.isEmpty())
        return;
    QByteArray out = QByteArray::number(data.size(), 16) + "\r\n";
    out.reserve(out.size() + data.size() + 2);
    out.append(data);
    out += "\r\n";
    m_connection->write(out);
}

void HttpExchange::endStream()
{
    if (m_state != State::Streaming || !m_connection)
        return;
    m_connection->write("0\r\n\r\n");
    finish();
}

void HttpExchange::abort()
{
    if (m_state == State::Finished || !m_connection)
        return;
    m_state = State::Finished;
    m_connection->close();
}

qint64 HttpExchange::pendingBytes() const
{
    return m_connection ? m_connection->pendingBytes() : 0;
}

void HttpExchange::finish()
{
    m_state = State::Finished;
    m_connection->exchangeFinished(m_request.keepAlive);
}

void HttpExchange::detach()
{
    if (!m_connection)
        return;
    m_connection = nullptr;
    if (m_state != State::Finished)
        Q_EMIT clientGone();
}

} // namespace tollgate::http
