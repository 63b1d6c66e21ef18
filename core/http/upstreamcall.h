#pragma once

#include "http/httpmessage.h"
#include "http/upstreamconnection.h"

#include <QBasicTimer>
#include <QElapsedTimer>
#include <QObject>
#include <QPointer>
#include <QSslCertificate>
#include <QUrl>

namespace tollgate::http {

class UpstreamConnection;
class UpstreamPool;

/// Limits on how long each phase of an upstream call may take.
struct UpstreamTimeouts {
    int connectMs = 10000;    ///< TCP (and TLS) connection established
    int firstByteMs = 600000; ///< request sent -> first response byte (long: LLMs think)
    int idleMs = 300000;      ///< longest silence between response bytes
};

/// A request to send upstream. `target` is the path and query appended to the base URL's path.
struct UpstreamRequest {
    QUrl baseUrl;
    QByteArray method;
    QByteArray target;
    HeaderList headers; ///< without host, content-length and connection: the client adds them
    QByteArray body;
    UpstreamTimeouts timeouts;
    /// Trusted for https besides the system CAs (a corporate TLS proxy, a self-hosted server).
    QList<QSslCertificate> extraCaCertificates;
};

/// Why an upstream call failed.
struct UpstreamError {
    enum class Kind { Connect, Timeout, Broken, Protocol };
    Kind kind = Kind::Broken;
    QString message;
    bool responseStarted = false; ///< some of the response had already been delivered
};

/// One request/response exchange with an upstream over a pooled keep-alive connection.
/// Delivers the response as it arrives: headers once, then body bytes, then finished() or
/// failed(). cancel() (or deleting the call) abandons it and drops its connection.
class UpstreamCall : public QObject {
    Q_OBJECT
public:
    ~UpstreamCall() override;

    void cancel();
    /// Stops and restarts delivering the response (backpressure from a slow client). The idle
    /// timeout does not run while paused: the silence is ours, not the upstream's.
    void pause();
    void resume();
    bool isPaused() const { return m_paused; }
    int status() const { return m_status; }
    const HeaderList &headers() const { return m_headers; }
    /// Milliseconds from start to now.
    double elapsedMs() const { return double(m_clock.nsecsElapsed()) / 1e6; }
    /// Milliseconds from start until the call had a connection of its own (it waits in the
    /// pool while the host's connections are all busy); -1 until then.
    double queuedMs() const { return m_queuedMs; }
    /// Milliseconds spent opening connections (TCP, and TLS for https), those that failed to open
    /// included: 0 on a pooled keep-alive connection.
    double connectMs() const { return m_connectMs; }

Q_SIGNALS:
    void responseStarted(int status);
    void bodyReceived(const QByteArray &data);
    void finished();
    void failed(const tollgate::http::UpstreamError &error);

private:
    friend class UpstreamPool;
    friend class UpstreamConnection;
    UpstreamCall(UpstreamPool *pool, UpstreamRequest request, QObject *parent);

    QByteArray serialize() const;
    void attach(UpstreamConnection *connection);
    /// Adds the time since the connection was assigned, if it was still opening, to connectMs.
    void endConnecting();
    void onSent();
    void onHeaders(int status, const HeaderList &headers);
    void onBody(const QByteArray &data);
    void onComplete();
    void onConnectionLost(const UpstreamError &error, bool wasReused);
    void timerEvent(QTimerEvent *event) override;
    void armTimer(int ms);
    void release(bool reusable);

    QPointer<UpstreamPool> m_pool;
    UpstreamRequest m_request;
    QString m_hostKey; ///< the pool's key for the request, computed once
    QPointer<UpstreamConnection> m_connection;
    QBasicTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_deadlineMs = 0; ///< m_clock time at which the current phase times out
    qint64 m_armedForMs = 0; ///< m_clock time m_timer was started for
    double m_queuedMs = -1;
    double m_attachedAtMs = 0; ///< elapsedMs() when the current connection was assigned
    double m_connectMs = 0;
    bool m_connecting = false; ///< the current connection was not open yet when assigned
    enum class Phase { Connect, FirstByte, Idle };
    Phase m_phase = Phase::Connect; ///< what the running timer waits for
    HeaderList m_headers;
    int m_status = 0;
    bool m_retried = false;
    bool m_paused = false;
    bool m_done = false;
};

} // namespace tollgate::http

Q_DECLARE_METATYPE(tollgate::http::UpstreamError)
