#include "keychain.h"

#include <qt6keychain/keychain.h>

#include <QEventLoop>
#include <QPointer>
#include <QTimer>

#include <algorithm>

namespace tollgate::ui {

const QString Keychain::kUnavailable = QStringLiteral("no keychain available");
QString Keychain::s_stuck;

Keychain::Keychain(QString service, int timeoutMs)
    : m_service(std::move(service))
    , m_timeoutMs(timeoutMs)
{
}

QString Keychain::entryFor(const QString &providerName)
{
    return QStringLiteral("provider/") + providerName;
}

Keychain::Outcome Keychain::run(QKeychain::Job *job)
{
    job->setAutoDelete(true);
    job->setInsecureFallback(false); // never a cleartext copy in a settings file
    if (!s_stuck.isEmpty()) {
        delete job;
        return {QKeychain::NoBackendAvailable, s_stuck, {}};
    }
    Outcome outcome;
    bool answered = false;
    QEventLoop loop;
    QObject::connect(job, &QKeychain::Job::finished, &loop, [&](QKeychain::Job *done) {
        answered = true;
        outcome.error = done->error();
        outcome.message = done->errorString();
        if (auto *read = qobject_cast<QKeychain::ReadPasswordJob *>(done))
            outcome.data = read->binaryData();
        loop.quit();
    });
    QTimer bound;
    bound.setSingleShot(true);
    QObject::connect(&bound, &QTimer::timeout, &loop, &QEventLoop::quit);
    bound.start(m_timeoutMs);
    job->start();
    // A job may finish inside start() when the keychain fails at once.
    if (!answered)
        loop.exec(QEventLoop::ExcludeUserInputEvents);
    if (!answered) {
        // The job stays queued in QtKeychain and deletes itself if it ever finishes; the
        // connection above ends with the loop.
        s_stuck = QStringLiteral("the keychain did not answer within %1 s").arg(m_timeoutMs / 1000);
        return {QKeychain::NoBackendAvailable, s_stuck, {}};
    }
    return outcome;
}

Error Keychain::problem(const Outcome &outcome, const QString &what) const
{
    switch (outcome.error) {
    case QKeychain::AccessDeniedByUser:
    case QKeychain::AccessDenied:
        return Error(
            QStringLiteral("%1: the keychain refused access (%2)").arg(what, outcome.message));
    case QKeychain::EntryNotFound:
        return Error(QStringLiteral("%1: the keychain has no such entry").arg(what));
    default: break;
    }
    return Error(QStringLiteral("%1: %2").arg(kUnavailable, outcome.message));
}

Expected<QByteArray> Keychain::read(const QString &entry)
{
    auto *job = new QKeychain::ReadPasswordJob(m_service);
    job->setKey(entry);
    const Outcome outcome = run(job);
    if (outcome.error != QKeychain::NoError)
        return problem(outcome, QStringLiteral("keychain entry %1").arg(entry));
    return outcome.data;
}

Expected<bool> Keychain::write(const QString &entry, const QByteArray &key)
{
    auto *job = new QKeychain::WritePasswordJob(m_service);
    job->setKey(entry);
    // As text: the Secret Service then holds the key itself (binary data would be base64),
    // which is what the system's keyring tools show and `secret-tool lookup` prints.
    job->setTextData(QString::fromUtf8(key));
    const Outcome outcome = run(job);
    if (outcome.error != QKeychain::NoError)
        return problem(outcome, QStringLiteral("keychain entry %1").arg(entry));
    return true;
}

Expected<bool> Keychain::remove(const QString &entry)
{
    auto *job = new QKeychain::DeletePasswordJob(m_service);
    job->setKey(entry);
    const Outcome outcome = run(job);
    if (outcome.error != QKeychain::NoError && outcome.error != QKeychain::EntryNotFound)
        return problem(outcome, QStringLiteral("keychain entry %1").arg(entry));
    return true;
}

Expected<bool> Keychain::probe()
{
    auto *job = new QKeychain::ReadPasswordJob(m_service);
    job->setKey(QStringLiteral("tollgate/availability-probe"));
    const Outcome outcome = run(job);
    if (outcome.error == QKeychain::NoError || outcome.error == QKeychain::EntryNotFound)
        return true;
    const Error error = problem(outcome, QStringLiteral("keychain"));
    if (error.message.startsWith(kUnavailable))
        return error;
    return Error(kUnavailable + QStringLiteral(": ") + error.message);
}

policy::KeychainReader Keychain::reader()
{
    return [this](const QString &entry) { return read(entry); };
}

QString fallbackVariable(const QString &providerName)
{
    QString name = providerName.toUpper();
    name.replace(QLatin1Char('-'), QLatin1Char('_')).replace(QLatin1Char('.'), QLatin1Char('_'));
    return name + QStringLiteral("_API_KEY");
}

QList<Error> resolveConsoleKeys(QList<policy::ProviderConfig> &providers, Keychain &keychain,
                                QString *keychainProblem)
{
    using Source = policy::KeyReference::Source;
    keychainProblem->clear();
    const bool usesKeychain =
        std::any_of(providers.begin(), providers.end(), [](const policy::ProviderConfig &p) {
            return p.key.source == Source::Keychain;
        });
    if (!usesKeychain)
        return policy::resolveProviderKeys(providers);
    if (const auto available = keychain.probe(); available)
        return policy::resolveProviderKeys(providers, keychain.reader());
    else
        *keychainProblem = available.error().message;

    QList<Error> problems;
    for (policy::ProviderConfig &provider : providers) {
        QList<policy::ProviderConfig> one{provider};
        const bool fallBack = provider.key.source == Source::Keychain;
        if (fallBack) // unset is no error: the provider then passes clients' keys through
            one.first().key = {Source::Environment, fallbackVariable(provider.name), false};
        problems += policy::resolveProviderKeys(one);
        provider.apiKey = one.first().apiKey;
        provider.keySource = one.first().keySource;
        if (fallBack && !provider.apiKey.isEmpty())
            provider.keySource += QStringLiteral(" (no keychain)");
    }
    return problems;
}

} // namespace tollgate::ui
