#include "http/httpexchange.h"

#include "http/serverconnection.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <utility>

namespace tollgate::http {

HttpExchange::HttpExchange(ServerConnection *connection, HttpRequest request, QHostAddress peer)
    : QObject(connection)
    , m_connection(connection)
    , m_request(std::move(request))
    , m_peer(std::move(peer))
{
}

QByteArray HttpExchange::statusHead(int status, const HeaderList &headers,
                                    QByteArrayView framing) const
{
    // Sized once and filled in place: this runs for every response, and building it from
    // temporaries cost more allocations than anything else the gateway does per request.
    const QByteArray reason = reasonPhrase(status);
    char code[16];
    const auto codeEnd = std::to_chars(code, code + sizeof code, status).ptr;
    qsizetype size = 9 + (codeEnd - code) + 1 + reason.size() + 2 + framing.size() + 2;
    for (const auto &field : headers)
        size += field.first.size() + 2 + field.second.size() + 2;
    if (!m_request.keepAlive)
        size += 19;
    QByteArray head(size, Qt::Uninitialized);
    char *p = head.data();
    const auto put = [&p](QByteArrayView text) {
        if (!text.isEmpty())
            std::memcpy(p, text.data(), size_t(text.size()));
        p += text.size();
    };
    put("HTTP/1.1 ");
    put(QByteArrayView(code, codeEnd - code));
    put(" ");
    put(reason);
    put("\r\n");
    for (const auto &field : headers) {
        put(field.first);
        put(": ");
        put(field.second);
        put("\r\n");
    }
    if (!m_request.keepAlive)
        put("connection: close\r\n");
    put(framing);
    put("\r\n");
    Q_ASSERT(p == head.constData() + size);
    return head;
}

void HttpExchange::respond(int status, const HeaderList &headers, QByteArrayView body)
{
    if (m_state != State::Waiting || !m_connection)
        return;
    char length[40] = "content-length: ";
    const auto end = std::to_chars(length + 16, length + sizeof length - 2, body.size()).ptr;
    end[0] = '\r';
    end[1] = '\n';
    // The head and the body leave in one system call, and the body is not copied.
    m_connection->write(statusHead(status, headers, QByteArrayView(length, end + 2 - length)),
                        body);
    if (m_copy) {
        copyHead(status, headers, false);
        copyBody(body);
    }
    finish();
}

void HttpExchange::beginStream(int status, const HeaderList &headers)
{
    if (m_state != State::Waiting || !m_connection)
        return;
    m_connection->write(statusHead(status, headers, "transfer-encoding: chunked\r\n"));
    m_state = State::Streaming;
    if (m_copy)
        copyHead(status, headers, true);
}

void HttpExchange::writeChunk(QByteArrayView data)
{
    if (m_state != State::Streaming || !m_connection || data.isEmpty())
        return;
    // Size line, data and line end in one write: an SSE relay writes many small chunks.
    char size[24];
    char *end = std::to_chars(size, size + sizeof size - 2, data.size(), 16).ptr;
    *end++ = '\r';
    *end++ = '\n';
    QByteArray out;
    out.reserve((end - size) + data.size() + 2);
    out.append(size, end - size);
    out.append(data);
    out.append("\r\n");
    m_connection->write(out);
    if (m_copy)
        copyBody(data);
}

void HttpExchange::keepResponseCopy(qint64 limit)
{
    m_copyLimit = std::max<qint64>(limit, 0);
    if (!m_copy)
        m_copy = std::make_unique<ResponseCopy>();
}

void HttpExchange::copyHead(int status, const HeaderList &headers, bool streamed)
{
    m_copy->status = status;
    m_copy->headers = headers;
    m_copy->streamed = streamed;
}

void HttpExchange::copyBody(QByteArrayView data)
{
    m_copy->bytes += data.size();
    const qint64 room = m_copyLimit - m_copy->body.size();
    if (room > 0)
        m_copy->body.append(data.first(std::min<qint64>(room, data.size())));
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
    ended();
}

qint64 HttpExchange::pendingBytes() const
{
    return m_connection ? m_connection->pendingBytes() : 0;
}

void HttpExchange::finish()
{
    m_state = State::Finished;
    ended();
    m_connection->exchangeFinished(m_request.keepAlive);
}

void HttpExchange::ended()
{
    if (m_endHook)
        std::exchange(m_endHook, nullptr)(*this);
}

void HttpExchange::detach()
{
    if (!m_connection)
        return;
    m_connection = nullptr;
    if (m_state != State::Finished) {
        Q_EMIT clientGone();
        ended();
    }
}

} // namespace tollgate::http
