#include "gatewayprocess.h"

#include <QEventLoop>
#include <QTimer>
#include <QtTest/QTest>

namespace tollgate::testsupport {

GatewayProcess::GatewayProcess() = default;

GatewayProcess::~GatewayProcess()
{
    if (isRunning())
        stop();
}

bool GatewayProcess::start(const QString &program, const QStringList &args,
                           const QProcessEnvironment &env, int timeoutMs)
{
    if (isRunning())
        stop();
    m_process = std::make_unique<QProcess>();
    m_process->setProgram(program);
    m_process->setArguments(args);
    m_process->setProcessEnvironment(env);
    m_process->setProcessChannelMode(QProcess::MergedChannels);
    m_output.clear();
    m_scanFrom = 0;
    m_port = 0;
    m_errorString.clear();
    // Keep reading while the test runs, so a chatty server never blocks on a full pipe.
    QObject::connect(m_process.get(), &QProcess::readyRead, m_process.get(), [this] { drain(); });
    m_process->start();
    if (!m_process->waitForStarted(timeoutMs)) {
        m_errorString =
            QStringLiteral("cannot start %1: %2").arg(program, m_process->errorString());
        return false;
    }
    if (waitUntil([this] { return findListeningLine(); }, timeoutMs))
        return true;
    if (m_errorString.isEmpty())
        m_errorString = QStringLiteral("%1 did not print `listening on HOST:PORT` within %2 ms")
                            .arg(program)
                            .arg(timeoutMs);
    m_process->kill();
    m_process->waitForFinished(timeoutMs);
    drain();
    return false;
}

int GatewayProcess::stop(int timeoutMs)
{
    if (!m_process)
        return -1;
    if (m_process->state() != QProcess::NotRunning) {
        m_process->terminate();
        if (!m_process->waitForFinished(timeoutMs)) {
            m_process->kill();
            m_process->waitForFinished(timeoutMs);
            drain();
            m_errorString = QStringLiteral("%1 ignored SIGTERM for %2 ms and was killed")
                                .arg(m_process->program())
                                .arg(timeoutMs);
            if (QTest::currentTestFunction() != nullptr)
                QTest::qFail(qPrintable(m_errorString), __FILE__, __LINE__);
            return -1;
        }
    }
    drain();
    return m_process->exitStatus() == QProcess::NormalExit ? m_process->exitCode() : -1;
}

bool GatewayProcess::isRunning() const
{
    return m_process && m_process->state() != QProcess::NotRunning;
}

qint64 GatewayProcess::processId() const
{
    return m_process ? m_process->processId() : 0;
}

QUrl GatewayProcess::baseUrl() const
{
    QUrl url;
    url.setScheme(QStringLiteral("http"));
    url.setHost(m_host);
    url.setPort(m_port);
    return url;
}

QByteArray GatewayProcess::output() const
{
    drain();
    return m_output;
}

QString GatewayProcess::failureReport() const
{
    return m_errorString + QLatin1Char('\n') + QString::fromUtf8(output());
}

bool GatewayProcess::waitForOutput(QByteArrayView needle, int timeoutMs)
{
    return waitUntil([&] { return m_output.indexOf(needle, m_scanFrom) >= 0; }, timeoutMs);
}

bool GatewayProcess::waitUntil(const std::function<bool()> &done, int timeoutMs)
{
    if (!m_process)
        return false;
    // An event loop rather than waitForReadyRead(): in-process servers on this thread (an
    // in-process MockUpstream, say) must keep answering while we wait.
    QEventLoop loop;
    QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
    auto check = [&] {
        drain();
        if (done() || m_process->state() == QProcess::NotRunning)
            loop.quit();
    };
    QObject::connect(m_process.get(), &QProcess::readyRead, &loop, check);
    QObject::connect(m_process.get(), &QProcess::finished, &loop, check);
    drain();
    if (!done() && m_process->state() != QProcess::NotRunning)
        loop.exec();
    drain();
    if (done())
        return true;
    if (m_process->state() == QProcess::NotRunning && m_errorString.isEmpty()) {
        m_errorString = QStringLiteral("%1 exited with code %2: %3")
                            .arg(m_process->program())
                            .arg(m_process->exitCode())
                            .arg(QString::fromUtf8(m_output.right(2000)));
    }
    return false;
}

bool GatewayProcess::findListeningLine()
{
    if (m_port != 0)
        return true;
    static constexpr QByteArrayView marker = "listening on ";
    const qsizetype at = m_output.indexOf(marker);
    const qsizetype end = at < 0 ? -1 : m_output.indexOf('\n', at);
    if (end < 0)
        return false; // not yet, or only part of the line so far
    const QString address =
        QString::fromUtf8(m_output.mid(at + marker.size(), end - at - marker.size())).trimmed();
    const qsizetype colon = address.lastIndexOf(QLatin1Char(':'));
    QString host = address.left(colon);
    if (host.startsWith(QLatin1Char('[')) && host.endsWith(QLatin1Char(']')))
        host = host.mid(1, host.size() - 2);
    // A wildcard listener is reached over loopback.
    if (host == QLatin1String("0.0.0.0") || host == QLatin1String("::"))
        host = QStringLiteral("127.0.0.1");
    bool ok = false;
    const uint port = address.mid(colon + 1).toUInt(&ok);
    if (colon <= 0 || !ok || port == 0 || port > 65535) {
        m_errorString = QStringLiteral("cannot parse the listening line: %1").arg(address);
        return false;
    }
    m_host = host;
    m_port = quint16(port);
    m_scanFrom = end + 1;
    return true;
}

void GatewayProcess::drain() const
{
    if (m_process)
        m_output.append(m_process->readAll());
}

} // namespace tollgate::testsupport
