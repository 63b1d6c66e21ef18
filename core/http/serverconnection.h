#pragma once

#include "http/httpexchange.h"
#include "http/requestparser.h"

#include <QBasicTimer>
#include <QElapsedTimer>
#include <QObject>
#include <QPointer>

namespace tollgate::http {

class HttpExchange;
class RequestHandler;
class TcpStream;

/// Timeouts for reading client requests.
struct ConnectionTimeouts {
    int requestMs = 30000; ///< a started request must arrive whole within this
    int idleMs = 60000;    ///< a keep-alive connection with no request is closed after this
};

/// One client connection: parses requests one at a time, hands each to the handler as an
/// HttpExchange and writes responses in request order (pipelining-safe).
class ServerConnection : public QObject {
    Q_OBJECT
public:
    ServerConnection(qintptr descriptor, RequestHandler *handler, RequestLimits limits,
                     ConnectionTimeouts timeouts, QObject *parent);
    ~ServerConnection() override;

    bool isValid() const { return m_socket != nullptr; }
    bool isIdle() const { return !m_exchange && !m_parser.inRequest(); }
    void close();

Q_SIGNALS:
    void closed();

private:
    friend class HttpExchange;
    void write(QByteArrayView head, QByteArrayView body = {});
    qint64 pendingBytes() const;
    void exchangeFinished(bool keepAlive);

    void onReceived(QByteArrayView data);
    void onDisconnected();
    void processNext();
    void rejectRequest(int status, const QString &message);
    void armTimer();
    void setDeadline(int ms);
    void timerEvent(QTimerEvent *event) override;

    TcpStream *m_socket = nullptr;
    QHostAddress m_peer;
    RequestHandler *m_handler;
    RequestParser m_parser;
    ConnectionTimeouts m_timeouts;
    QPointer<HttpExchange> m_exchange;
    QBasicTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_deadlineMs = 0;      ///< m_clock time of the idle or request deadline
    qint64 m_armedForMs = 0;      ///< m_clock time m_timer was started for
    bool m_timingRequest = false; ///< the deadline is the one a started request must meet
    bool m_closing = false;
};

} // namespace tollgate::http
