#pragma once

#include "gateway/policydocument.h"

#include <QDateTime>
#include <QHash>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QThreadPool>
#include <QUrl>

namespace tollgate::gateway {

/// The `providers` section of a policy file for `running`: each provider's entry with its key only
/// as the reference the policy states (an environment variable or keychain entry, never the key),
/// built-in providers left out where they are as shipped. `urlsToWrite` replaces the base URLs of
/// the providers it names.
QJsonObject providersToKeep(const PolicyDocument &running,
                            const QHash<QString, QList<QUrl>> &urlsToWrite = {});

/// The providers' base URLs as a policy file gave them, and those the start (the command line,
/// the simulator) put in their place for one run. A file written for the running policy gives a
/// provider that still has the start's URLs the file's again, so the next start means what the
/// last one did.
class StartUrls {
public:
    /// Records the URLs of `loaded` (later calls win, provider by provider).
    void setLoaded(const PolicyDocument &loaded);
    /// Records which providers the start moved away from their loaded URLs.
    void setStarted(const PolicyDocument &started);
    /// The URLs to write, by provider, for `running` (see providersToKeep).
    QHash<QString, QList<QUrl>> toWrite(const PolicyDocument &running) const;

private:
    QHash<QString, QList<QUrl>> m_loaded;     ///< each provider's base URLs as loaded
    QHash<QString, QList<QUrl>> m_overridden; ///< base URLs the start put in their place
};

/// Keeps the console's working policy as a policy file in its data folder, so that what the user
/// applied and the providers they added are there at the next start. The file has the format
/// `tollgated --config` reads: the editable sections and the providers (keys only as references),
/// plus whatever other sections the file already had, as they were. Models and built-in providers
/// are written only where they differ from what ships, so the rest follows a later release. What
/// the command line or the simulator changed for this run (listen address, workers, data folder,
/// Redis, base URLs) is never written, so a start without those options means what it meant before.
class PolicyKeeper : public QObject {
    Q_OBJECT
public:
    static const QString kFileName; ///< console-policy.json

    /// Keeps the policy in `dataDir`/console-policy.json.
    explicit PolicyKeeper(const QString &dataDir, QObject *parent = nullptr);
    /// Waits for the last write.
    ~PolicyKeeper() override;

    QString path() const { return m_path; }

    /// The kept policy read over `base` (the defaults with the data folder), or `base` when there
    /// is none. A file that cannot be read or is not a valid policy is renamed aside
    /// (console-policy.json.broken-<now>) rather than overwritten, and issue() says so.
    PolicyDocument load(PolicyDocument base, const QDateTime &now);
    /// The document the gateway starts with, after the command line and the simulator: base URLs
    /// they changed are written as the file had them while the user leaves them alone.
    void setStarted(const PolicyDocument &started);

    /// Writes `running` atomically, on a thread of its own; writes happen in order.
    void keep(const PolicyDocument &running);
    /// Blocks until the writes asked for so far are done.
    void waitForWrites();
    /// The file's content for `running` (what keep() writes).
    QByteArray fileFor(const PolicyDocument &running) const;

    /// Problems with the kept policy (a broken file set aside, a key that did not resolve, a
    /// failed write), one per line; empty when none.
    QString issue() const;
    /// Adds a problem found while starting with the kept policy.
    void noteIssue(const QString &text);

Q_SIGNALS:
    void issueChanged(const QString &issue);

private:
    QString setAside(const QDateTime &now);
    void setWriteProblem(const QString &problem);

    QString m_path;
    bool m_writable = true;      ///< false once a broken file could not be set aside
    QJsonObject m_otherSections; ///< the file's sections the console does not edit, as read
    StartUrls m_urls;
    QStringList m_startIssues;
    QString m_writeProblem;
    QThreadPool m_writer;
};

} // namespace tollgate::gateway
