#pragma once

#include <QByteArray>
#include <QProcess>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>
#include <QUrl>

#include <functional>
#include <memory>

namespace tollgate::testsupport {

/// Runs a server program for a test — the real tollgated, or the mock upstream — and knows it
/// is ready when it prints `listening on HOST:PORT`. Captures stdout and stderr together so
/// tests can search them (for leaked secrets, for example). Stops it with SIGTERM.
class GatewayProcess {
public:
    GatewayProcess();
    virtual ~GatewayProcess();
    GatewayProcess(const GatewayProcess &) = delete;
    GatewayProcess &operator=(const GatewayProcess &) = delete;

    /// Starts `program` and waits up to timeoutMs for its `listening on` line. False (with
    /// errorString()) if it exits, fails to start or stays silent; it is then killed.
    bool start(const QString &program, const QStringList &args,
               const QProcessEnvironment &env = QProcessEnvironment::systemEnvironment(),
               int timeoutMs = 10000);
    /// SIGTERM, then waits. Returns the exit code, or -1 after a crash or when it had to be
    /// killed — which also fails the running Qt test.
    int stop(int timeoutMs = 10000);

    bool isRunning() const;
    qint64 processId() const;
    quint16 port() const { return m_port; }
    QString host() const { return m_host; }
    /// http://HOST:PORT, without a path.
    QUrl baseUrl() const;
    /// Everything it wrote to stdout and stderr so far.
    QByteArray output() const;
    /// Waits (running the event loop) until the output after the `listening on` line contains
    /// `needle`; false if the process exits or the time runs out first.
    bool waitForOutput(QByteArrayView needle, int timeoutMs = 5000);
    QString errorString() const { return m_errorString; }
    /// errorString() followed by everything the process printed: what a failed start() reports.
    QString failureReport() const;

protected:
    /// For a subclass that fails before the process starts (no folder, an unwritable file).
    void setErrorString(const QString &text) { m_errorString = text; }

private:
    bool waitUntil(const std::function<bool()> &done, int timeoutMs);
    bool findListeningLine();
    void drain() const;

    std::unique_ptr<QProcess> m_process;
    mutable QByteArray m_output;
    qsizetype m_scanFrom = 0;
    QString m_host;
    quint16 m_port = 0;
    QString m_errorString;
};

} // namespace tollgate::testsupport
