#include "http/tcpstream.h"

#include "http/deferreddelete.h"

#include <QHostInfo>
#include <QSocketNotifier>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

namespace tollgate::http {

namespace {

// One read takes at most this much; a stream that has more is read again on the next wake-up,
// so one busy connection cannot hold the worker for long.
constexpr size_t kReadChunk = 64 * 1024;
constexpr int kReadsPerWakeUp = 4;

QString systemError(int error)
{
    switch (error) {
    case ECONNREFUSED: return QStringLiteral("Connection refused");
    case ECONNRESET: return QStringLiteral("Connection reset by peer");
    case ETIMEDOUT: return QStringLiteral("Connection timed out");
    case EHOSTUNREACH: return QStringLiteral("Host unreachable");
    case ENETUNREACH: return QStringLiteral("Network unreachable");
    case EPIPE: return QStringLiteral("The remote host closed the connection");
    default: return QString::fromLocal8Bit(std::strerror(error));
    }
}

bool toSockaddr(const QHostAddress &address, quint16 port, sockaddr_storage *storage,
                socklen_t *length)
{
    std::memset(storage, 0, sizeof *storage);
    if (address.protocol() == QAbstractSocket::IPv4Protocol) {
        auto *in = reinterpret_cast<sockaddr_in *>(storage);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        in->sin_addr.s_addr = htonl(address.toIPv4Address());
        *length = sizeof(sockaddr_in);
        return true;
    }
    if (address.protocol() == QAbstractSocket::IPv6Protocol) {
        auto *in6 = reinterpret_cast<sockaddr_in6 *>(storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        const Q_IPV6ADDR bytes = address.toIPv6Address();
        std::memcpy(&in6->sin6_addr, bytes.c, sizeof bytes.c);
        in6->sin6_scope_id = address.scopeId().toUInt();
        *length = sizeof(sockaddr_in6);
        return true;
    }
    return false;
}

QHostAddress peerOf(int fd)
{
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    if (::getpeername(fd, reinterpret_cast<sockaddr *>(&storage), &length) != 0)
        return {};
    QHostAddress address;
    address.setAddress(reinterpret_cast<const sockaddr *>(&storage));
    return address;
}

} // namespace

TcpStream::TcpStream(QObject *parent)
    : QObject(parent)
{
}

TcpStream::~TcpStream()
{
    for (AliveGuard *guard = m_guard; guard; guard = guard->m_outer)
        guard->alive = false;
    if (m_lookupId >= 0)
        QHostInfo::abortHostLookup(m_lookupId);
    closeDescriptor();
}

bool TcpStream::adopt(qintptr descriptor)
{
    const int fd = int(descriptor);
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || (!(flags & O_NONBLOCK) && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)) {
        ::close(fd);
        return false;
    }
    m_peer = peerOf(fd);
    open(fd);
    m_connected = true;
    return true;
}

void TcpStream::open(int fd)
{
    m_fd = fd;
    // Requests and responses are written whole: Nagle would only hold their last segment back.
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    m_readNotifier = new QSocketNotifier(fd, QSocketNotifier::Read, this);
    m_readNotifier->setEnabled(m_reading);
    connect(m_readNotifier, &QSocketNotifier::activated, this, &TcpStream::onReadable);
    m_writeNotifier = new QSocketNotifier(fd, QSocketNotifier::Write, this);
    m_writeNotifier->setEnabled(false);
    connect(m_writeNotifier, &QSocketNotifier::activated, this, &TcpStream::onWritable);
}

void TcpStream::connectToHost(const QString &host, quint16 port)
{
    m_port = port;
    m_error.clear();
    QHostAddress address;
    if (address.setAddress(host)) {
        m_addresses = {address};
        // Even a failure to start must not be reported from inside this call.
        QMetaObject::invokeMethod(this, &TcpStream::connectNext, Qt::QueuedConnection);
        return;
    }
    m_lookupId = QHostInfo::lookupHost(host, this, &TcpStream::onLookup);
}

void TcpStream::onLookup(const QHostInfo &info)
{
    m_lookupId = -1;
    m_addresses = info.addresses();
    if (m_addresses.isEmpty()) {
        fail(info.errorString().isEmpty() ? QStringLiteral("Host not found") : info.errorString());
        return;
    }
    connectNext();
}

void TcpStream::connectNext()
{
    int lastError = ECONNREFUSED;
    while (!m_addresses.isEmpty()) {
        const QHostAddress address = m_addresses.takeFirst();
        sockaddr_storage storage{};
        socklen_t length = 0;
        if (!toSockaddr(address, m_port, &storage, &length))
            continue;
        const int fd = ::socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            lastError = errno;
            continue;
        }
        if (::connect(fd, reinterpret_cast<const sockaddr *>(&storage), length) != 0 &&
            errno != EINPROGRESS) {
            lastError = errno;
            ::close(fd);
            continue;
        }
        m_peer = address;
        open(fd);
        // Writability reports the end of the handshake, whether it worked or not.
        setWriteInterest(true);
        return;
    }
    fail(systemError(lastError));
}

void TcpStream::onReadable()
{
    DeferredDelete::Scope scope;
    const AliveGuard guard(this);
    char buffer[kReadChunk];
    for (int round = 0; round < kReadsPerWakeUp && m_fd >= 0 && m_reading; ++round) {
        const ssize_t got = ::read(m_fd, buffer, sizeof buffer);
        if (got > 0) {
            Q_EMIT received(QByteArrayView(buffer, qsizetype(got)));
            if (!guard.alive)
                return;
            if (size_t(got) < sizeof buffer)
                return; // most likely all there was; level-triggered readiness says otherwise
            continue;
        }
        if (got == 0) {
            fail(QString()); // the peer closed the connection
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        fail(systemError(errno));
        return;
    }
}

void TcpStream::onWritable()
{
    DeferredDelete::Scope scope;
    if (m_fd < 0)
        return;
    if (!m_connected) {
        int error = 0;
        socklen_t length = sizeof error;
        ::getsockopt(m_fd, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) {
            closeDescriptor();
            if (!m_addresses.isEmpty()) {
                connectNext();
                return;
            }
            fail(systemError(error));
            return;
        }
        m_connected = true;
        setWriteInterest(bytesToWrite() > 0);
        const AliveGuard guard(this);
        Q_EMIT connected();
        if (!guard.alive || m_fd < 0)
            return;
        if (bytesToWrite() == 0)
            return;
    }
    const qint64 before = bytesToWrite();
    if (!flush())
        return;
    if (bytesToWrite() < before) {
        const AliveGuard guard(this);
        Q_EMIT bytesWritten();
        if (!guard.alive)
            return;
    }
    if (bytesToWrite() == 0 && m_closing) {
        closeDescriptor();
        Q_EMIT disconnected();
    }
}

bool TcpStream::flush()
{
    while (bytesToWrite() > 0) {
        const ssize_t sent =
            ::send(m_fd, m_out.constData() + m_outAt, size_t(bytesToWrite()), MSG_NOSIGNAL);
        if (sent > 0) {
            m_outAt += sent;
            continue;
        }
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            setWriteInterest(true);
            return true;
        }
        fail(systemError(errno));
        return false;
    }
    m_out.clear();
    m_outAt = 0;
    setWriteInterest(false);
    return true;
}

void TcpStream::write(QByteArrayView head, QByteArrayView body)
{
    if (m_fd < 0 && m_addresses.isEmpty() && m_lookupId < 0)
        return; // closed, or never opened
    if (m_closing || m_failing || (head.isEmpty() && body.isEmpty()))
        return;
    qsizetype sent = 0;
    if (m_connected && bytesToWrite() == 0) {
        iovec parts[2] = {{const_cast<char *>(head.data()), size_t(head.size())},
                          {const_cast<char *>(body.data()), size_t(body.size())}};
        msghdr message{};
        message.msg_iov = parts;
        message.msg_iovlen = body.isEmpty() ? 1 : 2;
        ssize_t result;
        do {
            result = ::sendmsg(m_fd, &message, MSG_NOSIGNAL);
        } while (result < 0 && errno == EINTR);
        if (result < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            failLater(systemError(errno));
            return;
        }
        sent = result < 0 ? 0 : qsizetype(result);
        if (sent == head.size() + body.size())
            return;
    }
    // Keep what the kernel did not take, and send it when the socket drains.
    if (sent < head.size()) {
        m_out.append(head.sliced(sent));
        m_out.append(body);
    } else {
        m_out.append(body.sliced(sent - head.size()));
    }
    if (m_connected)
        setWriteInterest(true);
}

void TcpStream::setReading(bool on)
{
    m_reading = on;
    if (m_readNotifier)
        m_readNotifier->setEnabled(on);
}

void TcpStream::disconnectFromHost()
{
    if (m_fd < 0 || m_closing)
        return;
    if (m_connected && bytesToWrite() > 0) {
        m_closing = true; // onWritable() closes once the rest is out
        return;
    }
    closeDescriptor();
    Q_EMIT disconnected();
}

void TcpStream::abort()
{
    m_failing = false;
    m_addresses.clear();
    if (m_lookupId >= 0) {
        QHostInfo::abortHostLookup(m_lookupId);
        m_lookupId = -1;
    }
    closeDescriptor();
}

void TcpStream::setWriteInterest(bool on)
{
    if (m_writeNotifier && m_writeNotifier->isEnabled() != on)
        m_writeNotifier->setEnabled(on);
}

void TcpStream::closeDescriptor()
{
    // The notifiers may be the senders of the signal being handled: they are disabled now and
    // deleted from the event loop, and never watch a descriptor that is closed.
    for (QSocketNotifier *notifier : {m_readNotifier, m_writeNotifier}) {
        if (!notifier)
            continue;
        notifier->setEnabled(false);
        notifier->disconnect(this);
        notifier->deleteLater();
    }
    m_readNotifier = nullptr;
    m_writeNotifier = nullptr;
    if (m_fd >= 0)
        ::close(m_fd);
    m_fd = -1;
    m_connected = false;
    m_closing = false;
    m_out.clear();
    m_outAt = 0;
}

void TcpStream::failLater(const QString &error)
{
    // Found inside a caller's write(): reporting it there would tear the caller down under its
    // own feet, so the end is reported from the event loop, as a buffered socket would.
    m_failing = true;
    m_error = error;
    QMetaObject::invokeMethod(
        this,
        [this] {
            if (!m_failing)
                return; // aborted, or the failure was reported another way meanwhile
            DeferredDelete::Scope scope;
            fail(m_error);
        },
        Qt::QueuedConnection);
}

void TcpStream::fail(const QString &error)
{
    m_failing = false;
    m_error = error;
    m_addresses.clear();
    closeDescriptor();
    Q_EMIT disconnected();
}

} // namespace tollgate::http
