#pragma once

#include <QDir>
#include <QElapsedTimer>
#include <QProcess>
#include <QStandardPaths>
#include <QString>
#include <QStringList>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QThread>

#include <memory>

namespace tollgate::testsupport {

/// A real redis-server for a test, on a free loopback port, without persistence (`--save ''
/// --appendonly no`), in a temporary folder. stop() and the destructor end it by its process id
/// (SIGKILL when asked, to play a crash). Header-only so that tests use it without the support
/// library depending on anything new.
class RedisServer {
public:
    RedisServer() = default;
    ~RedisServer() { stop(); }
    RedisServer(const RedisServer &) = delete;
    RedisServer &operator=(const RedisServer &) = delete;

    static QString program()
    {
        return QStandardPaths::findExecutable(QStringLiteral("redis-server"));
    }

    /// Starts on `port`, or on a free one when 0 (a restart passes the old port), with
    /// `extraArgs` (e.g. {"--requirepass", "pw"}). False, with errorString(), when it did not
    /// answer within timeoutMs.
    bool start(quint16 port = 0, const QStringList &extraArgs = {}, int timeoutMs = 10000)
    {
        stop();
        if (program().isEmpty()) {
            m_error =
                QStringLiteral("redis-server is not installed (scripts/setup.sh installs it)");
            return false;
        }
        if (!m_dir)
            m_dir = std::make_unique<QTemporaryDir>();
        for (int attempt = 0; attempt < 5; ++attempt) {
            m_port = port != 0 ? port : freePort();
            m_process = std::make_unique<QProcess>();
            m_process->setProcessChannelMode(QProcess::MergedChannels);
            QStringList args{QStringLiteral("--port"),       QString::number(m_port),
                             QStringLiteral("--bind"),       QStringLiteral("127.0.0.1"),
                             QStringLiteral("--save"),       QString(),
                             QStringLiteral("--appendonly"), QStringLiteral("no"),
                             QStringLiteral("--dir"),        m_dir->path(),
                             QStringLiteral("--daemonize"),  QStringLiteral("no")};
            m_process->start(program(), args + extraArgs);
            if (!m_process->waitForStarted(timeoutMs)) {
                m_error = m_process->errorString();
                return false;
            }
            if (waitForPing(timeoutMs))
                return true;
            m_error = QStringLiteral("redis-server on port %1 did not answer: %2")
                          .arg(m_port)
                          .arg(QString::fromUtf8(m_process->readAll()));
            stop();
            if (port != 0) // the caller needs that port; do not move to another
                QThread::msleep(200);
        }
        return false;
    }

    /// Ends the server by its process id: SIGTERM, or SIGKILL when `crash`.
    void stop(bool crash = false)
    {
        if (!m_process)
            return;
        if (m_process->state() != QProcess::NotRunning) {
            if (crash)
                m_process->kill();
            else
                m_process->terminate();
            if (!m_process->waitForFinished(5000)) {
                m_process->kill();
                m_process->waitForFinished(5000);
            }
        }
        m_process.reset();
    }

    bool isRunning() const { return m_process && m_process->state() != QProcess::NotRunning; }
    qint64 processId() const { return m_process ? m_process->processId() : 0; }
    quint16 port() const { return m_port; }
    QString url() const { return QStringLiteral("redis://127.0.0.1:%1/0").arg(m_port); }
    QString errorString() const { return m_error; }

private:
    static quint16 freePort()
    {
        QTcpServer probe;
        probe.listen(QHostAddress::LocalHost, 0);
        return probe.serverPort();
    }

    bool waitForPing(int timeoutMs)
    {
        QElapsedTimer clock;
        clock.start();
        while (clock.elapsed() < timeoutMs && m_process->state() != QProcess::NotRunning) {
            QTcpSocket socket;
            socket.connectToHost(QHostAddress::LocalHost, m_port);
            if (socket.waitForConnected(200)) {
                socket.write("PING\r\n");
                // NOAUTH: up, and asking for the password it was started with.
                if (socket.waitForBytesWritten(200) && socket.waitForReadyRead(500)) {
                    const QByteArray answer = socket.readAll();
                    if (answer.startsWith("+PONG") || answer.startsWith("-NOAUTH"))
                        return true;
                }
            }
            QThread::msleep(50);
        }
        return false;
    }

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<QProcess> m_process;
    quint16 m_port = 0;
    QString m_error;
};

} // namespace tollgate::testsupport
