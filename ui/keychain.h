#pragma once

#include "common/expected.h"
#include "policy/providers.h"

#include <QByteArray>
#include <QString>

namespace QKeychain {
class Job;
}

namespace tollgate::ui {

/// The console's provider keys in the OS keychain (the Secret Service on Linux, through
/// QtKeychain): one entry per provider under the service "tollgate". Calls look synchronous but
/// wait at most a bounded time, so a keychain that never answers (no Secret Service, a prompt
/// nobody sees) costs seconds, not the console. Nothing here ever writes a key anywhere else:
/// QtKeychain's insecure fallback stays off.
class Keychain {
public:
    static constexpr int kDefaultTimeoutMs = 5000;
    /// Problems with the keychain itself (not with one entry) start with this.
    static const QString kUnavailable;

    explicit Keychain(QString service = QStringLiteral("tollgate"),
                      int timeoutMs = kDefaultTimeoutMs);

    /// The entry that holds a provider's key: "provider/<name>".
    static QString entryFor(const QString &providerName);

    Expected<QByteArray> read(const QString &entry);
    Expected<bool> write(const QString &entry, const QByteArray &key);
    /// Removing an entry that does not exist succeeds.
    Expected<bool> remove(const QString &entry);
    /// Whether a keychain answers: looks up an entry that does not exist. The error says why not
    /// (starting with kUnavailable).
    Expected<bool> probe();
    /// For policy::resolveProviderKeys.
    policy::KeychainReader reader();

    QString service() const { return m_service; }

private:
    struct Outcome {
        int error = 0; ///< QKeychain::Error
        QString message;
        QByteArray data;
    };
    /// Starts the job and waits for it, up to the bound.
    Outcome run(QKeychain::Job *job);
    Error problem(const Outcome &outcome, const QString &what) const;

    QString m_service;
    int m_timeoutMs;
    /// Set once a job went unanswered: QtKeychain runs the process's jobs one at a time, so
    /// every later job would wait behind it. GUI thread only.
    static QString s_stuck;
};

/// The environment variable a provider's key comes from when no keychain answers: the name in
/// capitals, '-' and '.' as '_', then _API_KEY (ANTHROPIC_API_KEY, OPENAI_API_KEY,
/// LOCAL_VLLM_API_KEY).
QString fallbackVariable(const QString &providerName);

/// The console's key resolution: as policy::resolveProviderKeys with the keychain, but when no
/// keychain answers, a provider whose key is a keychain entry takes it from its fallback
/// variable instead (and goes without one when that is unset). `keychainProblem` then says why
/// there is no keychain. Returns the problems that must stop the start, never naming a key.
QList<Error> resolveConsoleKeys(QList<policy::ProviderConfig> &providers, Keychain &keychain,
                                QString *keychainProblem);

} // namespace tollgate::ui
