#pragma once

#include "http/httpmessage.h"

#include <QHostAddress>
#include <QObject>

#include <functional>
#include <memory>

namespace tollgate::http {

class ServerConnection;

/// What the client was sent, kept when a handler asks for it (the console's request detail).
struct ResponseCopy {
    int status = 0;
    HeaderList headers; ///< as the handler gave them, without the framing line
    QByteArray body;    ///< the first `limit` bytes as sent; a stream's data without its chunking
    qint64 bytes = 0;   ///< the whole body's size
    bool streamed = false;
};

/// One request and its response on a client connection. The handler answers with respond(), or
/// with beginStream() / writeChunk() / endStream() for a chunked stream. When the client hangs
/// up first, clientGone() fires once and every write becomes a no-op.
class HttpExchange : public QObject {
    Q_OBJECT
public:
    HttpExchange(ServerConnection *connection, HttpRequest request, QHostAddress peer);

    const HttpRequest &request() const { return m_request; }
    const QHostAddress &peerAddress() const { return m_peer; }

    void respond(int status, const HeaderList &headers, QByteArrayView body);
    void beginStream(int status, const HeaderList &headers);
    void writeChunk(QByteArrayView data);
    void endStream();
    /// Ends the connection without completing the response, so the client cannot mistake a
    /// broken response for a whole one.
    void abort();

    bool isResponding() const { return m_state == State::Streaming; }
    bool isFinished() const { return m_state == State::Finished; }
    bool isClientGone() const { return m_connection == nullptr; }
    /// Response bytes accepted but not yet handed to the kernel.
    qint64 pendingBytes() const;

    /// From now on keeps a copy of the response: its status, headers and the first `limit` bytes
    /// of its body. Off by default, so a response costs nothing extra unless someone looks.
    void keepResponseCopy(qint64 limit);
    /// The copy kept; nullptr when not asked for.
    const ResponseCopy *responseCopy() const { return m_copy.get(); }
    /// Called once when the exchange ends: its response written, aborted, or its client gone.
    void setEndHook(std::function<void(const HttpExchange &)> hook) { m_endHook = std::move(hook); }

Q_SIGNALS:
    void clientGone();
    /// Pending bytes fell after a write: a paused producer may go on.
    void drained();

private:
    friend class ServerConnection;

    enum class State { Waiting, Streaming, Finished };

    /// The status line and headers, then `framing` (the content-length or transfer-encoding
    /// line) and the blank line.
    QByteArray statusHead(int status, const HeaderList &headers, QByteArrayView framing) const;
    void finish();
    void copyHead(int status, const HeaderList &headers, bool streamed);
    void copyBody(QByteArrayView data);
    void ended();
    void detach(); ///< called by the connection when the client is gone

    ServerConnection *m_connection;
    HttpRequest m_request;
    QHostAddress m_peer;
    State m_state = State::Waiting;
    std::unique_ptr<ResponseCopy> m_copy;
    qint64 m_copyLimit = 0;
    std::function<void(const HttpExchange &)> m_endHook;
};

} // namespace tollgate::http
