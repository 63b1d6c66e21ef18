#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QHostAddress>
#include <QList>
#include <QObject>
#include <QString>

class QHostInfo;
class QSocketNotifier;

namespace tollgate::http {

/// A non-blocking TCP connection on a plain descriptor, with as few system calls per message as
/// the kernel allows: a read goes straight from the kernel into a buffer on the stack and is
/// handed on as a view; a write goes straight to the kernel and is kept only when the socket
/// would block; and the read notifier stays on for the connection's life, so the event loop's
/// poll set does not change per message. (A buffered QTcpSocket sends a write one loop iteration
/// late, asks the kernel how much there is to read before reading, and toggles its notifiers,
/// each toggle a wake-up of the glib event loop.)
///
/// Used for plain HTTP on both sides of the gateway; TLS stays with QSslSocket.
class TcpStream : public QObject {
    Q_OBJECT
public:
    explicit TcpStream(QObject *parent = nullptr);
    ~TcpStream() override;

    /// Takes over a connected socket (from accept()). False if it cannot be used.
    bool adopt(qintptr descriptor);
    /// Connects to `host` (an address, or a name looked up with QHostInfo, its addresses tried
    /// in order); connected() or disconnected() follows, never from within this call.
    void connectToHost(const QString &host, quint16 port);

    bool isOpen() const { return m_fd >= 0 && m_connected && !m_closing; }
    QHostAddress peerAddress() const { return m_peer; }
    /// Why the connection ended; empty for an orderly close by the peer.
    QString errorString() const { return m_error; }

    /// Sends `head` then `body` (one system call for both); what the kernel does not take now is
    /// kept and sent as the socket drains. Before the connection is up, everything waits.
    void write(QByteArrayView head, QByteArrayView body = {});
    /// Bytes accepted by write() and not yet handed to the kernel.
    qint64 bytesToWrite() const { return m_out.size() - m_outAt; }
    /// Stops and restarts reading: a paused stream leaves the bytes in the kernel, whose buffer
    /// then fills and slows the peer down through TCP flow control.
    void setReading(bool on);

    /// Closes once everything written has been sent; disconnected() follows.
    void disconnectFromHost();
    /// Closes now, dropping what was not sent. Emits nothing.
    void abort();

Q_SIGNALS:
    void connected();
    /// Bytes that arrived. `data` is valid only during the emission.
    void received(QByteArrayView data);
    /// Kept bytes went out to the kernel (bytesToWrite() fell).
    void bytesWritten();
    /// The connection ended: the peer closed it, an error broke it (errorString() says which),
    /// or disconnectFromHost() finished. Not emitted by abort().
    void disconnected();

private:
    // Tells a handler whether a signal it emitted deleted the stream: a flag on the handler's
    // stack that the destructor clears, for every handler on the stack (a QPointer costs a
    // reference count per handler call).
    struct AliveGuard {
        explicit AliveGuard(TcpStream *stream)
            : m_stream(stream)
            , m_outer(stream->m_guard)
        {
            stream->m_guard = this;
        }
        ~AliveGuard()
        {
            if (alive)
                m_stream->m_guard = m_outer;
        }
        AliveGuard(const AliveGuard &) = delete;
        AliveGuard &operator=(const AliveGuard &) = delete;
        bool alive = true;

    private:
        friend class TcpStream;
        TcpStream *m_stream;
        AliveGuard *m_outer;
    };

    void open(int fd);
    void onLookup(const QHostInfo &info);
    void connectNext();
    void onReadable();
    void onWritable();
    bool flush();
    void setWriteInterest(bool on);
    void closeDescriptor();
    /// Ends the connection with `error` and emits disconnected() from the event loop, for
    /// failures found inside a caller's write().
    void failLater(const QString &error);
    void fail(const QString &error);

    int m_fd = -1;
    bool m_connected = false;
    bool m_closing = false; ///< disconnectFromHost() waits for the kept bytes
    bool m_reading = true;
    bool m_failing = false;
    QSocketNotifier *m_readNotifier = nullptr;
    QSocketNotifier *m_writeNotifier = nullptr;
    QByteArray m_out;
    qsizetype m_outAt = 0;
    QList<QHostAddress> m_addresses; ///< still to try while connecting
    quint16 m_port = 0;
    int m_lookupId = -1;
    QHostAddress m_peer;
    QString m_error;
    AliveGuard *m_guard = nullptr; ///< the innermost handler's guard
};

} // namespace tollgate::http
