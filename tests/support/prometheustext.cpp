#include "prometheustext.h"

#include <QFile>
#include <QProcess>

#include <cmath>

namespace tollgate::testsupport {

double PrometheusText::sample(const QByteArray &exposition, const QByteArray &series)
{
    const QByteArray prefix = series + ' ';
    for (const QByteArray &line : exposition.split('\n')) {
        if (line.startsWith(prefix)) {
            bool ok = false;
            const double value = line.mid(prefix.size()).trimmed().toDouble(&ok);
            return ok ? value : std::nan("");
        }
    }
    return std::nan("");
}

QString PrometheusText::promtool()
{
    const QString path = QStringLiteral("/usr/bin/promtool");
    return QFile::exists(path) ? path : QString();
}

QString PrometheusText::lintProblem(const QByteArray &exposition)
{
    const QString program = promtool();
    if (program.isEmpty())
        return QStringLiteral("promtool is not installed");
    QProcess check;
    check.setProcessChannelMode(QProcess::MergedChannels);
    check.start(program, {QStringLiteral("check"), QStringLiteral("metrics")});
    if (!check.waitForStarted(10000))
        return QStringLiteral("promtool did not start: ") + check.errorString();
    check.write(exposition);
    check.closeWriteChannel();
    if (!check.waitForFinished(20000)) {
        check.kill();
        check.waitForFinished(5000);
        return QStringLiteral("promtool did not finish");
    }
    if (check.exitStatus() != QProcess::NormalExit || check.exitCode() != 0)
        return QStringLiteral("promtool check metrics (exit %1): %2")
            .arg(check.exitCode())
            .arg(QString::fromUtf8(check.readAll()));
    return {};
}

} // namespace tollgate::testsupport
