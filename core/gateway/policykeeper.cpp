#include "gateway/policykeeper.h"

#include "gateway/policyedit.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>

namespace tollgate::gateway {

namespace {

const QString kProviders = QStringLiteral("providers");
const QString kModels = QStringLiteral("models");

/// A provider's entry of the effective policy as the kept file spells it: the key only when the
/// policy states it, because the implicit variables of the built-in providers, written out, would
/// make an unset one an error at the next start.
QJsonObject entryToKeep(QJsonObject entry, const policy::ProviderConfig &provider)
{
    if (!provider.key.stated)
        entry.remove(QStringLiteral("key"));
    return entry;
}

QJsonArray urlsJson(const QList<QUrl> &urls)
{
    QJsonArray result;
    for (const QUrl &url : urls)
        result.append(url.toString());
    return result;
}

/// The models of `running` that `shipped` lacks or describes otherwise. The others are left to the
/// built-in table, which a policy's models are laid over, so a later release's prices reach them.
QJsonArray modelsToKeep(const QJsonArray &running, const QJsonArray &shipped)
{
    QHash<QString, QJsonObject> shippedById;
    for (const QJsonValue &model : shipped)
        shippedById.insert(model.toObject().value(u"id").toString(), model.toObject());
    QJsonArray kept;
    for (const QJsonValue &model : running) {
        const auto builtIn = shippedById.constFind(model.toObject().value(u"id").toString());
        if (builtIn == shippedById.constEnd() || *builtIn != model.toObject())
            kept.append(model);
    }
    return kept;
}

/// Replaces the file at `path` whole or not at all. Returns the problem, or an empty string.
QString writeAtomically(const QString &path, const QByteArray &content)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(content) < 0 || !file.commit())
        return QStringLiteral("cannot write %1: %2").arg(path, file.errorString());
    return {};
}

} // namespace

void StartUrls::setLoaded(const PolicyDocument &loaded)
{
    for (const policy::ProviderConfig &provider : loaded.gateway.providers)
        m_loaded.insert(provider.name, provider.baseUrls);
}

void StartUrls::setStarted(const PolicyDocument &started)
{
    m_overridden.clear();
    for (const policy::ProviderConfig &provider : started.gateway.providers) {
        const auto loaded = m_loaded.constFind(provider.name);
        if (loaded != m_loaded.constEnd() && *loaded != provider.baseUrls)
            m_overridden.insert(provider.name, provider.baseUrls);
    }
}

QHash<QString, QList<QUrl>> StartUrls::toWrite(const PolicyDocument &running) const
{
    QHash<QString, QList<QUrl>> urls;
    for (const policy::ProviderConfig &provider : running.gateway.providers) {
        const auto overridden = m_overridden.constFind(provider.name);
        if (overridden != m_overridden.constEnd() && *overridden == provider.baseUrls)
            urls.insert(provider.name, m_loaded.value(provider.name));
    }
    return urls;
}

QJsonObject providersToKeep(const PolicyDocument &running,
                            const QHash<QString, QList<QUrl>> &urlsToWrite)
{
    const PolicyDocument shipped{};
    const QJsonObject shippedEntries = effectivePolicy(shipped).value(kProviders).toObject();
    const QJsonObject runningEntries = effectivePolicy(running).value(kProviders).toObject();
    QJsonObject providers;
    for (const policy::ProviderConfig &provider : running.gateway.providers) {
        QJsonObject entry = entryToKeep(runningEntries.value(provider.name).toObject(), provider);
        if (const auto urls = urlsToWrite.constFind(provider.name); urls != urlsToWrite.constEnd())
            entry.insert(QStringLiteral("base_urls"), urlsJson(*urls));
        // A built-in provider as shipped is left out, so that it follows the defaults.
        const policy::ProviderConfig *builtIn =
            policy::findProvider(shipped.gateway.providers, provider.name);
        if (!builtIn ||
            entry != entryToKeep(shippedEntries.value(provider.name).toObject(), *builtIn))
            providers.insert(provider.name, entry);
    }
    return providers;
}

const QString PolicyKeeper::kFileName = QStringLiteral("console-policy.json");

PolicyKeeper::PolicyKeeper(const QString &dataDir, QObject *parent)
    : QObject(parent)
    , m_path(QDir(dataDir).filePath(kFileName))
{
    m_writer.setMaxThreadCount(1); // one writer: the last policy applied is the one on disk
}

PolicyKeeper::~PolicyKeeper()
{
    m_writer.waitForDone();
}

PolicyDocument PolicyKeeper::load(PolicyDocument base, const QDateTime &now)
{
    m_urls.setLoaded(base);
    QFile file(m_path);
    if (!file.exists())
        return base;
    const QByteArray json = file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
    auto loaded = file.error() == QFileDevice::NoError
                      ? loadPolicy(json, metering::PriceTable::builtin(), base)
                      : Expected<PolicyDocument>(Error(file.errorString()));
    file.close();
    if (!loaded) {
        const QString aside = setAside(now);
        // A short first line for the status line, then the whole reason.
        m_startIssues.append(
            aside.isEmpty()
                ? tr("Started on the defaults, and not keeping changes: the kept policy %1 is "
                     "broken and could not be set aside.\n%2")
                      .arg(m_path, loaded.error().toString())
                : tr("Started on the defaults: the kept policy was broken (now %1).\n%2")
                      .arg(QFileInfo(aside).fileName(), loaded.error().toString()));
        return base;
    }
    m_otherSections = QJsonDocument::fromJson(json).object();
    for (const QString &section : editableSections() + QStringList{kProviders})
        m_otherSections.remove(section);
    m_urls.setLoaded(*loaded);
    return *loaded;
}

QString PolicyKeeper::setAside(const QDateTime &now)
{
    const QString stamp = now.toUTC().toString(QStringLiteral("yyyyMMdd-HHmmss"));
    QString aside = m_path + QStringLiteral(".broken-") + stamp;
    for (int n = 2; QFile::exists(aside); ++n)
        aside = m_path + QStringLiteral(".broken-%1-%2").arg(stamp).arg(n);
    if (QFile::rename(m_path, aside))
        return aside;
    m_writable = false; // writing now would overwrite what the user may want back
    return {};
}

void PolicyKeeper::setStarted(const PolicyDocument &started)
{
    m_urls.setStarted(started);
}

QByteArray PolicyKeeper::fileFor(const PolicyDocument &running) const
{
    QJsonObject file = m_otherSections;
    const QJsonObject effective = effectivePolicy(running);
    for (const QString &section : editableSections())
        file.insert(section, effective.value(section));
    const PolicyDocument shipped{};
    const QJsonArray models = modelsToKeep(effective.value(kModels).toArray(),
                                           effectivePolicy(shipped).value(kModels).toArray());
    if (models.isEmpty())
        file.remove(kModels);
    else
        file.insert(kModels, models);

    const QJsonObject providers = providersToKeep(running, m_urls.toWrite(running));
    if (!providers.isEmpty())
        file.insert(kProviders, providers);
    return QJsonDocument(file).toJson(QJsonDocument::Indented);
}

void PolicyKeeper::keep(const PolicyDocument &running)
{
    if (!m_writable)
        return;
    m_writer.start([this, path = m_path, content = fileFor(running)] {
        const QString problem = writeAtomically(path, content);
        QMetaObject::invokeMethod(
            this, [this, problem] { setWriteProblem(problem); }, Qt::QueuedConnection);
    });
}

void PolicyKeeper::waitForWrites()
{
    m_writer.waitForDone();
    QCoreApplication::sendPostedEvents(this, QEvent::MetaCall);
}

QString PolicyKeeper::issue() const
{
    QStringList issues = m_startIssues;
    if (!m_writeProblem.isEmpty())
        issues.append(tr("The policy in force is not kept: %1").arg(m_writeProblem));
    return issues.join(QLatin1Char('\n'));
}

void PolicyKeeper::noteIssue(const QString &text)
{
    m_startIssues.append(text);
    Q_EMIT issueChanged(issue());
}

void PolicyKeeper::setWriteProblem(const QString &problem)
{
    if (problem == m_writeProblem)
        return;
    m_writeProblem = problem;
    Q_EMIT issueChanged(issue());
}

} // namespace tollgate::gateway
