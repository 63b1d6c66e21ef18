#pragma once

#include "http/responseparser.h"

#include <QBasicTimer>
#include <QElapsedTimer>
#include <QObject>
#include <QPointer>
#include <QSslConfiguration>
#include <QSslError>
#include <QUrl>

class QSslSocket;

namespace tollgate::http {

class TcpStream;
class UpstreamCall;
class UpstreamPool;
struct UpstreamRequest;

/// One keep-alive TCP or TLS connection to an upstream host, serving one call at a time.
class UpstreamConnection : public QObject {
    Q_OBJECT
public:
    /// Reaches `request`'s base URL; for https it trusts the request's extra CAs as well.
    UpstreamConnection(const UpstreamRequest &request, UpstreamPool *pool);
    ~UpstreamConnection() override;

    /// The TLS settings of an upstream connection: Qt's defaults (system CAs, peer and host
    /// name verification, SNI) plus `extraCaCertificates`, never with verification relaxed.
    static QSslConfiguration tlsConfiguration(const QList<QSslCertificate> &extraCaCertificates);

    /// Sends the call's request, connecting first when needed.
    void send(UpstreamCall *call, QByteArray request);
    /// Leaves the call: the connection is idle again (when its response was read whole).
    void detach() { m_call = nullptr; }
    /// Closes the connection after `ms` without a call. The timer stays registered between
    /// calls (registering one per call cost more than the call's own socket work): only the
    /// deadline moves.
    void startIdleTimer(int ms);
    void stopIdleTimer() { m_idleDeadlineMs = -1; }
    bool isOpen() const;
    /// Served a call before: a failure before any response byte may be a stale keep-alive.
    bool wasReused() const { return m_uses > 1; }
    bool keepAlive() const { return m_parser.keepAlive(); }
    bool responseStarted() const { return m_parser.started(); }
    /// Stops reading the response; the socket's bounded buffer then fills and TCP flow control
    /// slows the upstream down, so a slow client never makes the gateway hoard a response.
    void setPaused(bool paused);

private:
    void onConnected();
    void onReadyRead();
    void onReceived(QByteArrayView data);
    void onSocketError();
    void onClosed(const QString &reason);
    void deliver(const ResponseParser::Progress &progress);
    void timerEvent(QTimerEvent *event) override;

    QPointer<UpstreamPool> m_pool;
    // Exactly one of the two: plain HTTP on a TcpStream (fewest system calls per request), TLS on
    // a QSslSocket.
    TcpStream *m_tcp = nullptr;
    QSslSocket *m_ssl = nullptr;
    QUrl m_url;
    bool m_tls;
    bool m_tcpConnected = false; ///< TCP is up; with TLS the handshake may still be running
    bool m_connected = false;
    bool m_closed = false; ///< the end was handled: later socket signals report nothing
    bool m_paused = false;
    int m_uses = 0;
    QPointer<UpstreamCall> m_call;
    QByteArray m_pendingRequest;
    QList<QSslError> m_tlsErrors; ///< why the peer's certificate was refused
    ResponseParser m_parser;
    QBasicTimer m_idleTimer;
    QElapsedTimer m_clock;
    qint64 m_idleDeadlineMs = -1; ///< m_clock time to close at; -1: in use, no deadline
    qint64 m_idleArmedForMs = 0;
};

} // namespace tollgate::http
