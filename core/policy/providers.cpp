#include "policy/providers.h"

#include <QFile>
#include <QJsonObject>
#include <QRegularExpression>
#include <QStringList>

namespace tollgate::policy {

namespace {

KeyReference environmentKey(const char *variable)
{
    return {KeyReference::Source::Environment, QString::fromLatin1(variable), false};
}

Expected<QByteArray> readKeyFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return Error(
            QStringLiteral("cannot read the key file %1: %2").arg(path, file.errorString()));
    return file.readAll().trimmed();
}

/// The key of one reference, and where it was read from; an empty key when there is none.
Expected<QPair<QByteArray, QString>> readKey(const KeyReference &key,
                                             const KeychainReader &keychain)
{
    switch (key.source) {
    case KeyReference::Source::None: return QPair<QByteArray, QString>();
    case KeyReference::Source::Environment: {
        const QByteArray value = qgetenv(key.name.toLocal8Bit().constData()).trimmed();
        if (!value.isEmpty())
            return qMakePair(value, key.name);
        const QString fileVariable = key.name + QStringLiteral("_FILE");
        const QString path = qEnvironmentVariable(fileVariable.toLocal8Bit().constData());
        if (path.isEmpty())
            return QPair<QByteArray, QString>();
        auto read = readKeyFile(path);
        if (!read)
            return Error(QStringLiteral("%1: %2").arg(fileVariable, read.error().message));
        return qMakePair(*read, path);
    }
    case KeyReference::Source::File: {
        auto read = readKeyFile(key.name);
        if (!read)
            return read.error();
        return qMakePair(*read, key.name);
    }
    case KeyReference::Source::Keychain: {
        if (!keychain)
            return Error(QStringLiteral("keychain entries are read by the console; tollgated "
                                        "takes keys from {\"env\": ...} or {\"file\": ...}"));
        auto read = keychain(key.name);
        if (!read)
            return read.error();
        return qMakePair(*read, QStringLiteral("keychain entry %1").arg(key.name));
    }
    }
    return QPair<QByteArray, QString>();
}

QString missingKeyMessage(const KeyReference &key)
{
    switch (key.source) {
    case KeyReference::Source::Environment:
        return QStringLiteral("neither %1 nor %1_FILE is set").arg(key.name);
    case KeyReference::Source::File:
        return QStringLiteral("the key file %1 is empty").arg(key.name);
    case KeyReference::Source::Keychain:
        return QStringLiteral("the keychain entry %1 is empty").arg(key.name);
    case KeyReference::Source::None: break;
    }
    return {};
}

} // namespace

QString providerKindName(ProviderKind kind)
{
    switch (kind) {
    case ProviderKind::Anthropic: return QStringLiteral("anthropic");
    case ProviderKind::OpenAI: return QStringLiteral("openai");
    case ProviderKind::OpenAICompatible: return QStringLiteral("openai-compatible");
    }
    return {};
}

api::Flavor flavorOf(ProviderKind kind)
{
    return kind == ProviderKind::Anthropic ? api::Flavor::Anthropic : api::Flavor::OpenAI;
}

QJsonValue KeyReference::toJson() const
{
    switch (source) {
    case Source::Environment: return QJsonObject{{QStringLiteral("env"), name}};
    case Source::File: return QJsonObject{{QStringLiteral("file"), name}};
    case Source::Keychain: return QJsonObject{{QStringLiteral("keychain"), name}};
    case Source::None: break;
    }
    return QStringLiteral("none");
}

QList<ProviderConfig> defaultProviders()
{
    ProviderConfig anthropic;
    anthropic.name = QStringLiteral("anthropic");
    anthropic.kind = ProviderKind::Anthropic;
    anthropic.baseUrls = {QUrl(QStringLiteral("https://api.anthropic.com"))};
    anthropic.key = environmentKey("ANTHROPIC_API_KEY");
    ProviderConfig openai;
    openai.name = QStringLiteral("openai");
    openai.kind = ProviderKind::OpenAI;
    openai.baseUrls = {QUrl(QStringLiteral("https://api.openai.com"))};
    openai.key = environmentKey("OPENAI_API_KEY");
    return {anthropic, openai};
}

bool isProviderName(const QString &name)
{
    static const QRegularExpression validName(QStringLiteral("^[a-z0-9][a-z0-9._-]*$"));
    return validName.match(name).hasMatch();
}

http::HeaderList providerKeyHeaders(api::Flavor flavor, const QByteArray &apiKey)
{
    if (flavor == api::Flavor::Anthropic)
        return {{"x-api-key", apiKey}};
    return {{"authorization", "Bearer " + apiKey}};
}

const ProviderConfig *findProvider(const QList<ProviderConfig> &providers, const QString &name)
{
    for (const ProviderConfig &provider : providers) {
        if (provider.name == name)
            return &provider;
    }
    return nullptr;
}

const ProviderConfig *defaultProviderFor(const QList<ProviderConfig> &providers, api::Flavor flavor)
{
    const ProviderConfig *named = findProvider(providers, QLatin1String(api::flavorName(flavor)));
    if (named && named->flavor() == flavor)
        return named;
    for (const ProviderConfig &provider : providers) {
        if (provider.flavor() == flavor)
            return &provider;
    }
    return nullptr;
}

QList<Error> resolveProviderKeys(QList<ProviderConfig> &providers, const KeychainReader &keychain)
{
    QList<Error> problems;
    for (ProviderConfig &provider : providers) {
        const QString path = QStringLiteral("providers.%1.key").arg(provider.name);
        provider.apiKey.clear();
        provider.keySource.clear();
        auto read = readKey(provider.key, keychain);
        if (!read) {
            problems.append(Error(read.error().message, path));
            continue;
        }
        if (read->first.isEmpty() && provider.key.stated &&
            provider.key.source != KeyReference::Source::None) {
            problems.append(Error(missingKeyMessage(provider.key), path));
            continue;
        }
        provider.apiKey = read->first;
        provider.keySource = read->second;
    }
    return problems;
}

QString describeProvider(const ProviderConfig &provider)
{
    QStringList urls;
    for (const QUrl &url : provider.baseUrls)
        urls.append(url.toString());
    const QString key = provider.apiKey.isEmpty()
                            ? QStringLiteral("no provider key: clients' own keys pass through")
                            : QStringLiteral("provider key from %1").arg(provider.keySource);
    return QStringLiteral("%1 (%2) -> %3 (%4)")
        .arg(provider.name, providerKindName(provider.kind), urls.join(QStringLiteral(", ")), key);
}

} // namespace tollgate::policy
