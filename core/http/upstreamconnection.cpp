#include "http/upstreamconnection.h"

#include "http/deferreddelete.h"
#include "http/tcpstream.h"
#include "http/upstreamcall.h"
#include "http/upstreampool.h"

#include <QSslSocket>
#include <QTimerEvent>

namespace tollgate::http {

namespace {
constexpr qint64 kReadBufferBytes = 256 * 1024;
}

UpstreamConnection::UpstreamConnection(const UpstreamRequest &request, UpstreamPool *pool)
    : QObject(pool)
    , m_pool(pool)
    , m_url(request.baseUrl)
    , m_tls(request.baseUrl.scheme() == QLatin1String("https"))
{
    if (!m_tls) {
        m_tcp = new TcpStream(this);
        connect(m_tcp, &TcpStream::connected, this, &UpstreamConnection::onConnected);
        connect(m_tcp, &TcpStream::received, this, &UpstreamConnection::onReceived);
        connect(m_tcp, &TcpStream::disconnected, this, [this] {
            const QString error = m_tcp->errorString();
            onClosed(error.isEmpty() ? QStringLiteral("upstream closed the connection") : error);
        });
        return;
    }
    m_ssl = new QSslSocket(this);
    m_ssl->setSslConfiguration(tlsConfiguration(request.extraCaCertificates));
    connect(m_ssl, &QSslSocket::encrypted, this, &UpstreamConnection::onConnected);
    // Only noted: Qt then fails the handshake with errorOccurred, and that reports it once.
    connect(m_ssl, &QSslSocket::sslErrors, this,
            [this](const QList<QSslError> &errors) { m_tlsErrors = errors; });
    m_ssl->setReadBufferSize(kReadBufferBytes);
    connect(m_ssl, &QSslSocket::connected, this, [this] { m_tcpConnected = true; });
    connect(m_ssl, &QSslSocket::readyRead, this, &UpstreamConnection::onReadyRead);
    connect(m_ssl, &QSslSocket::disconnected, this,
            [this] { onClosed(QStringLiteral("upstream closed the connection")); });
    connect(m_ssl, &QSslSocket::errorOccurred, this, &UpstreamConnection::onSocketError);
}

UpstreamConnection::~UpstreamConnection()
{
    if (m_tcp) {
        m_tcp->abort();
        return;
    }
    m_ssl->disconnect(this);
    m_ssl->abort();
}

QSslConfiguration
UpstreamConnection::tlsConfiguration(const QList<QSslCertificate> &extraCaCertificates)
{
    QSslConfiguration config = QSslConfiguration::defaultConfiguration();
    // Whatever the process-wide default was set to, an upstream is verified (chain and host
    // name) and told the host name it is expected to be (SNI).
    config.setPeerVerifyMode(QSslSocket::VerifyPeer);
    config.setSslOption(QSsl::SslOptionDisableServerNameIndication, false);
    if (extraCaCertificates.isEmpty())
        return config;
    // Qt looks the system CAs up on demand only while no CA is named, so an empty list here
    // means "the system's"; naming the extra ones turns that off, so the system's are named
    // too. Reading them scans a directory, hence once per process.
    static const QList<QSslCertificate> systemCaCertificates =
        QSslConfiguration::systemCaCertificates();
    QList<QSslCertificate> caCertificates = config.caCertificates();
    if (caCertificates.isEmpty())
        caCertificates = systemCaCertificates;
    config.setCaCertificates(caCertificates + extraCaCertificates);
    return config;
}

bool UpstreamConnection::isOpen() const
{
    if (m_tcp)
        return m_connected && m_tcp->isOpen();
    return m_connected && m_ssl->state() == QAbstractSocket::ConnectedState;
}

void UpstreamConnection::send(UpstreamCall *call, QByteArray request)
{
    m_call = call;
    m_paused = false;
    if (m_tcp)
        m_tcp->setReading(true);
    ++m_uses;
    m_parser.reset();
    m_idleDeadlineMs = -1;
    if (isOpen()) {
        if (m_tcp)
            m_tcp->write(request);
        else
            m_ssl->write(request);
        call->onSent();
        return;
    }
    m_pendingRequest = std::move(request);
    const quint16 port = quint16(m_url.port(m_tls ? 443 : 80));
    if (m_tcp)
        m_tcp->connectToHost(m_url.host(), port);
    else
        m_ssl->connectToHostEncrypted(m_url.host(), port);
}

void UpstreamConnection::onConnected()
{
    m_connected = true;
    m_tcpConnected = true;
    if (m_ssl)
        m_ssl->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    if (m_call && !m_pendingRequest.isEmpty()) {
        const QByteArray request = std::exchange(m_pendingRequest, QByteArray());
        if (m_tcp)
            m_tcp->write(request);
        else
            m_ssl->write(request);
        m_call->onSent();
    }
}

void UpstreamConnection::setPaused(bool paused)
{
    m_paused = paused;
    if (m_tcp) {
        // Bytes not read stay in the kernel, whose window then slows the upstream down.
        m_tcp->setReading(!paused || !m_call);
        return;
    }
    if (!paused && m_ssl->bytesAvailable() > 0)
        QMetaObject::invokeMethod(this, &UpstreamConnection::onReadyRead, Qt::QueuedConnection);
}

void UpstreamConnection::onReadyRead()
{
    DeferredDelete::Scope scope;
    if (m_paused && m_call)
        return;
    const QByteArray data = m_ssl->readAll();
    if (!m_call) {
        // Bytes on an idle connection belong to no request: the connection is unusable.
        m_ssl->abort();
        return;
    }
    deliver(m_parser.feed(data));
}

void UpstreamConnection::onReceived(QByteArrayView data)
{
    if (!m_call) {
        // Bytes on an idle connection belong to no request: the connection is unusable.
        m_tcp->abort();
        onClosed(QStringLiteral("upstream sent bytes nobody asked for"));
        return;
    }
    deliver(m_parser.feed(data));
}

void UpstreamConnection::deliver(const ResponseParser::Progress &progress)
{
    // The call may cancel itself from any signal it emits; check it is still ours each step.
    if (m_call && progress.headersDone)
        m_call->onHeaders(m_parser.status(), m_parser.headers());
    if (m_call && !progress.body.isEmpty())
        m_call->onBody(progress.body);
    if (m_call && progress.failed)
        m_call->onConnectionLost({UpstreamError::Kind::Protocol, progress.error, true}, false);
    else if (m_call && progress.messageDone)
        m_call->onComplete();
}

void UpstreamConnection::onSocketError()
{
    // A refused certificate: Qt's error string names only the first reason; give them all.
    QStringList reasons;
    for (const QSslError &error : std::as_const(m_tlsErrors)) {
        if (!reasons.contains(error.errorString()))
            reasons.append(error.errorString());
    }
    onClosed(reasons.isEmpty() ? m_ssl->errorString() : reasons.join(QLatin1String("; ")));
}

void UpstreamConnection::onClosed(const QString &reason)
{
    // errorOccurred and disconnected both follow one failure; the first says why.
    if (m_closed)
        return;
    m_closed = true;
    // TCP came up but `encrypted` never did: the TLS handshake failed (certificate, host name,
    // protocol), and an operator must be able to tell that from a refused connection.
    const bool inHandshake = m_tls && m_tcpConnected && !m_connected;
    m_connected = false;
    if (m_call && m_parser.started()) {
        const auto progress = m_parser.finishAtEof();
        if (progress.messageDone) {
            deliver(progress);
            return;
        }
    }
    if (m_call) {
        UpstreamError error;
        // A request still pending means the connection (or its TLS handshake) never came up.
        error.kind =
            m_pendingRequest.isEmpty() ? UpstreamError::Kind::Broken : UpstreamError::Kind::Connect;
        error.message = inHandshake ? QStringLiteral("TLS error: %1").arg(reason) : reason;
        error.responseStarted = m_parser.started();
        UpstreamCall *call = m_call;
        m_call = nullptr;
        call->onConnectionLost(error, wasReused());
        return;
    }
    if (m_pool)
        m_pool->forget(this);
}

void UpstreamConnection::startIdleTimer(int ms)
{
    if (!m_clock.isValid())
        m_clock.start();
    m_idleDeadlineMs = m_clock.elapsed() + ms;
    if (m_idleTimer.isActive() && m_idleArmedForMs <= m_idleDeadlineMs)
        return;
    m_idleTimer.start(ms, this);
    m_idleArmedForMs = m_idleDeadlineMs;
}

void UpstreamConnection::timerEvent(QTimerEvent *event)
{
    if (event->timerId() != m_idleTimer.timerId())
        return QObject::timerEvent(event);
    if (m_idleDeadlineMs < 0) {
        m_idleTimer.stop(); // serving a call: armed again when it is released
        return;
    }
    if (const qint64 left = m_idleDeadlineMs - m_clock.elapsed(); left > 0) {
        m_idleTimer.start(int(left), this);
        m_idleArmedForMs = m_idleDeadlineMs;
        return;
    }
    m_idleTimer.stop();
    if (m_tcp) {
        m_tcp->abort();
    } else {
        m_ssl->disconnect(this);
        m_ssl->abort();
    }
    if (m_pool)
        m_pool->forget(this);
}

} // namespace tollgate::http
