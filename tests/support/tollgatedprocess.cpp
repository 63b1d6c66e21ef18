#include "tollgatedprocess.h"

#include <QDir>
#include <QFile>
#include <QtTest/QTest>

#include <cstdio>

#include <signal.h>
#include <sys/types.h>

namespace tollgate::testsupport {

TollgatedProcess::Options TollgatedProcess::Options::forUpstreams(const QUrl &anthropic,
                                                                  const QUrl &openAi)
{
    Options options;
    options.anthropicBaseUrl = anthropic.toString();
    options.openAiBaseUrl = openAi.toString() + QStringLiteral("/v1");
    return options;
}

TollgatedProcess::~TollgatedProcess()
{
    if (isRunning())
        stop();
}

QString TollgatedProcess::program()
{
    const QString fromEnvironment = qEnvironmentVariable("TOLLGATED");
    return fromEnvironment.isEmpty() ? QStringLiteral(TOLLGATED_PATH) : fromEnvironment;
}

QProcessEnvironment TollgatedProcess::environment(const QByteArray &anthropicKey,
                                                  const QByteArray &openAiKey)
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const char *name :
         {"ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY_FILE", "OPENAI_API_KEY", "OPENAI_API_KEY_FILE"})
        env.remove(QLatin1String(name));
    if (!anthropicKey.isEmpty())
        env.insert(QStringLiteral("ANTHROPIC_API_KEY"), QString::fromLatin1(anthropicKey));
    if (!openAiKey.isEmpty())
        env.insert(QStringLiteral("OPENAI_API_KEY"), QString::fromLatin1(openAiKey));
    return env;
}

TollgatedProcess::Exit TollgatedProcess::runToExit(const QStringList &args,
                                                   const QProcessEnvironment &env, int timeoutMs)
{
    Exit result;
    QProcess process;
    process.setProcessEnvironment(env);
    process.start(program(), args);
    result.exited = process.waitForFinished(timeoutMs);
    if (!result.exited) {
        process.kill();
        process.waitForFinished(timeoutMs);
    }
    result.code = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    result.out = process.readAllStandardOutput();
    result.err = process.readAllStandardError();
    return result;
}

TollgatedProcess::Exit TollgatedProcess::checkConfig(const QByteArray &policy)
{
    QTemporaryDir dir;
    QFile file(dir.filePath(QStringLiteral("policy.json")));
    if (!file.open(QIODevice::WriteOnly) || file.write(policy) != policy.size())
        return {};
    file.close();
    return runToExit({QStringLiteral("check-config"), file.fileName()});
}

bool TollgatedProcess::start(const Options &options, int timeoutMs)
{
    if (isRunning())
        stop();
    if (!options.keepDataDir || !m_dataDir)
        m_dataDir = std::make_unique<QTemporaryDir>();
    QStringList args{QStringLiteral("--listen"), options.listen, QStringLiteral("--data-dir"),
                     dataDir()};
    if (!options.anthropicBaseUrl.isEmpty())
        args << QStringLiteral("--anthropic-base-url") << options.anthropicBaseUrl;
    if (!options.openAiBaseUrl.isEmpty())
        args << QStringLiteral("--openai-base-url") << options.openAiBaseUrl;
    if (!options.policy.isEmpty())
        args << QStringLiteral("--config") << policyPath();
    args += options.extraArgs;

    if (!m_dataDir->isValid()) {
        setErrorString(QStringLiteral("no temporary folder"));
        return false;
    }
    if (!options.policy.isEmpty()) {
        QFile file(policyPath());
        if (!file.open(QIODevice::WriteOnly) ||
            file.write(options.policy) != options.policy.size()) {
            setErrorString(QStringLiteral("cannot write the policy: ") + file.errorString());
            return false;
        }
    }
    return GatewayProcess::start(program(), args,
                                 environment(options.anthropicKey, options.openAiKey), timeoutMs);
}

QString TollgatedProcess::dataDir() const
{
    return m_dataDir ? m_dataDir->path() : QString();
}

QString TollgatedProcess::policyPath() const
{
    return QDir(dataDir()).filePath(QStringLiteral("policy.json"));
}

QString TollgatedProcess::requestLogPath() const
{
    return QDir(dataDir()).filePath(QStringLiteral("requests.sqlite"));
}

QByteArray TollgatedProcess::dataBytes() const
{
    QByteArray all;
    const QFileInfoList files = QDir(dataDir()).entryInfoList(QDir::Files);
    for (const QFileInfo &info : files) {
        QFile file(info.filePath());
        if (file.open(QIODevice::ReadOnly))
            all += file.readAll();
    }
    return all;
}

void TollgatedProcess::removeDataDir()
{
    m_dataDir.reset();
}

bool TollgatedProcess::replacePolicy(const QByteArray &policy)
{
    QFile file(policyPath() + QStringLiteral(".new"));
    if (!file.open(QIODevice::WriteOnly) || file.write(policy) != policy.size())
        return false;
    file.close();
    return std::rename(QFile::encodeName(file.fileName()).constData(),
                       QFile::encodeName(policyPath()).constData()) == 0;
}

bool TollgatedProcess::reloadPolicy(const QByteArray &policy, int timeoutMs)
{
    const qsizetype reloads = reloadCount();
    return replacePolicy(policy) &&
           QTest::qWaitFor([&] { return reloadCount() > reloads; }, timeoutMs);
}

bool TollgatedProcess::reloadOnSignal(int timeoutMs)
{
    const qsizetype reloads = reloadCount();
    return processId() > 0 && ::kill(pid_t(processId()), SIGHUP) == 0 &&
           QTest::qWaitFor([&] { return reloadCount() > reloads; }, timeoutMs);
}

qsizetype TollgatedProcess::reloadCount() const
{
    return output().count("policy reloaded");
}

HttpTestResponse TollgatedProcess::send(const HttpTestRequest &request) const
{
    return HttpTestClient::send(port(), request);
}

QByteArray TollgatedProcess::scrapeMetrics() const
{
    const HttpTestResponse response = send(HttpTestRequest::get("/metrics"));
    return response.status == 200 ? response.body : QByteArray();
}

} // namespace tollgate::testsupport
