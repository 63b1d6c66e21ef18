#include "policy/gatewayconfig.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

#include <algorithm>
#include <functional>

namespace tollgate::policy {

namespace {

/// Every problem found in one part of the document; empty when that part is valid.
struct Problems {
    Problems() = default;
    Problems(std::nullopt_t) {}
    Problems(Error error) { list.append(std::move(error)); }
    explicit operator bool() const { return !list.isEmpty(); }
    QList<Error> list;
};

using FieldSetter = std::function<Problems(const QJsonValue &, const QString &path)>;

Error typeError(const QString &path, const QString &expected)
{
    return Error(QStringLiteral("expected %1").arg(expected), path);
}

FieldSetter intField(int *target, int minimum)
{
    return [=](const QJsonValue &value, const QString &path) -> Problems {
        const double number = value.toDouble(-1);
        if (!value.isDouble() || number != double(qint64(number)) || number < minimum ||
            number > 2147483647.0)
            return typeError(path, QStringLiteral("an integer >= %1").arg(minimum));
        *target = int(number);
        return std::nullopt;
    };
}

FieldSetter int64Field(qint64 *target, qint64 minimum)
{
    return [=](const QJsonValue &value, const QString &path) -> Problems {
        const double number = value.toDouble(-1);
        if (!value.isDouble() || number != double(qint64(number)) || number < double(minimum))
            return typeError(path, QStringLiteral("an integer >= %1").arg(minimum));
        *target = qint64(number);
        return std::nullopt;
    };
}

FieldSetter qsizeField(qsizetype *target, qsizetype minimum)
{
    return [=](const QJsonValue &value, const QString &path) -> Problems {
        qint64 parsed = 0;
        if (auto error = int64Field(&parsed, minimum)(value, path))
            return error;
        *target = qsizetype(parsed);
        return std::nullopt;
    };
}

/// Applies each known key of `object` with its setter; unknown keys are errors.
Problems applyFields(const QJsonValue &value, const QString &path,
                     const QList<QPair<QString, FieldSetter>> &fields)
{
    if (!value.isObject())
        return typeError(path, QStringLiteral("an object"));
    const QJsonObject object = value.toObject();
    Problems problems;
    for (auto it = object.begin(); it != object.end(); ++it) {
        const QString childPath = path.isEmpty() ? it.key() : path + QLatin1Char('.') + it.key();
        auto field = std::find_if(fields.begin(), fields.end(),
                                  [&](const auto &f) { return f.first == it.key(); });
        if (field == fields.end())
            problems.list.append(Error(QStringLiteral("unknown setting"), childPath));
        else
            problems.list += field->second(it.value(), childPath).list;
    }
    return problems;
}

FieldSetter listenField(GatewayConfig *config)
{
    return [=](const QJsonValue &value, const QString &path) -> Problems {
        auto parsed = parseListenAddress(value.toString());
        if (!value.isString() || !parsed)
            return Error(parsed ? QStringLiteral("expected \"host:port\"") : parsed.error().message,
                         path);
        config->listenAddress = parsed->first;
        config->listenPort = parsed->second;
        return std::nullopt;
    };
}

FieldSetter baseUrlsField(ProviderConfig *provider, bool list)
{
    return [=](const QJsonValue &value, const QString &path) -> Problems {
        if (list && (!value.isArray() || value.toArray().isEmpty()))
            return typeError(path, QStringLiteral("a non-empty array of URLs"));
        const QJsonArray urls = list ? value.toArray() : QJsonArray{value};
        Problems problems;
        provider->baseUrls.clear();
        for (qsizetype i = 0; i < urls.size(); ++i) {
            const QString urlPath = list ? QStringLiteral("%1[%2]").arg(path).arg(i) : path;
            auto url = parseBaseUrl(urls.at(i).toString());
            if (!url)
                problems.list.append(Error(url.error().message, urlPath));
            else
                provider->baseUrls.append(*url);
        }
        return problems;
    };
}

FieldSetter keyField(KeyReference *key)
{
    return [=](const QJsonValue &value, const QString &path) -> Problems {
        if (value.toString() == QLatin1String("none")) {
            *key = {KeyReference::Source::None, {}, true};
            return std::nullopt;
        }
        static const QList<QPair<QString, KeyReference::Source>> sources = {
            {QStringLiteral("env"), KeyReference::Source::Environment},
            {QStringLiteral("file"), KeyReference::Source::File},
            {QStringLiteral("keychain"), KeyReference::Source::Keychain}};
        const QJsonObject object = value.toObject();
        if (!value.isObject() || object.size() != 1 || !object.constBegin().value().isString() ||
            object.constBegin().value().toString().isEmpty())
            return typeError(path, QStringLiteral("{\"env\": NAME}, {\"file\": PATH}, "
                                                  "{\"keychain\": ENTRY} or \"none\""));
        for (const auto &source : sources) {
            if (object.constBegin().key() == source.first) {
                *key = {source.second, object.constBegin().value().toString(), true};
                return std::nullopt;
            }
        }
        return Error(QStringLiteral("unknown key source"),
                     path + QLatin1Char('.') + object.constBegin().key());
    };
}

FieldSetter kindField(ProviderKind *kind)
{
    return [=](const QJsonValue &value, const QString &path) -> Problems {
        for (ProviderKind candidate :
             {ProviderKind::Anthropic, ProviderKind::OpenAI, ProviderKind::OpenAICompatible}) {
            if (value.toString() == providerKindName(candidate)) {
                *kind = candidate;
                return std::nullopt;
            }
        }
        return typeError(path, QStringLiteral("one of anthropic, openai, openai-compatible"));
    };
}

Problems applyProvider(const QJsonValue &value, const QString &path, ProviderConfig *provider)
{
    auto caFile = [=](const QJsonValue &v, const QString &p) -> Problems {
        if (!v.isString() || v.toString().isEmpty())
            return typeError(p, QStringLiteral("the path of a PEM file"));
        auto certificates = loadCaFile(v.toString());
        if (!certificates)
            return Error(certificates.error().message, p);
        provider->extraCaCertificates = *certificates;
        provider->caFile = v.toString();
        return std::nullopt;
    };
    const QJsonObject object = value.toObject();
    Problems problems = applyFields(
        value, path,
        {{QStringLiteral("kind"), kindField(&provider->kind)},
         {QStringLiteral("base_url"), baseUrlsField(provider, false)},
         {QStringLiteral("base_urls"), baseUrlsField(provider, true)},
         {QStringLiteral("key"), keyField(&provider->key)},
         {QStringLiteral("ca_file"), caFile},
         {QStringLiteral("connect_timeout_ms"), intField(&provider->timeouts.connectMs, 1)},
         {QStringLiteral("first_byte_timeout_ms"), intField(&provider->timeouts.firstByteMs, 1)},
         {QStringLiteral("idle_timeout_ms"), intField(&provider->timeouts.idleMs, 1)}});
    if (object.contains(u"base_url") && object.contains(u"base_urls"))
        problems.list.append(Error(QStringLiteral("give base_url or base_urls, not both"),
                                   path + QStringLiteral(".base_urls")));
    return problems;
}

/// Each member names a provider: a default one ("anthropic", "openai") is changed field by
/// field; any other name adds a provider, which needs its kind and base URL.
FieldSetter providersField(QList<ProviderConfig> *providers)
{
    return [=](const QJsonValue &value, const QString &path) -> Problems {
        if (!value.isObject())
            return typeError(path, QStringLiteral("an object of providers by name"));
        const QJsonObject object = value.toObject();
        Problems problems;
        for (auto it = object.begin(); it != object.end(); ++it) {
            const QString providerPath = path + QLatin1Char('.') + it.key();
            if (!isProviderName(it.key())) {
                problems.list.append(
                    Error(QStringLiteral("a provider name uses a-z, 0-9, '.', '_' and '-'"),
                          providerPath));
                continue;
            }
            auto known = std::find_if(providers->begin(), providers->end(),
                                      [&](const ProviderConfig &p) { return p.name == it.key(); });
            const bool isNew = known == providers->end();
            ProviderConfig provider = isNew ? ProviderConfig{} : *known;
            provider.name = it.key();
            if (isNew) {
                const QJsonObject fields = it.value().toObject();
                if (it.value().isObject() && !fields.contains(u"kind"))
                    problems.list.append(Error(QStringLiteral("a new provider needs its kind"),
                                               providerPath + QStringLiteral(".kind")));
                if (it.value().isObject() && !fields.contains(u"base_url") &&
                    !fields.contains(u"base_urls"))
                    problems.list.append(Error(QStringLiteral("a new provider needs a base_url"),
                                               providerPath + QStringLiteral(".base_url")));
            }
            problems.list += applyProvider(it.value(), providerPath, &provider).list;
            if (isNew)
                providers->append(provider);
            else
                *known = provider;
        }
        return problems;
    };
}

Problems parseGatewayKey(const QJsonValue &value, const QString &path, GatewayKey *key)
{
    auto text = [](QString *target) {
        return [=](const QJsonValue &v, const QString &p) -> Problems {
            if (!v.isString() || v.toString().isEmpty())
                return typeError(p, QStringLiteral("a non-empty string"));
            *target = v.toString();
            return std::nullopt;
        };
    };
    auto flag = [](bool *target) {
        return [=](const QJsonValue &v, const QString &p) -> Problems {
            if (!v.isBool())
                return typeError(p, QStringLiteral("true or false"));
            *target = v.toBool();
            return std::nullopt;
        };
    };
    QString hash;
    auto error = applyFields(value, path,
                             {{QStringLiteral("name"), text(&key->name)},
                              {QStringLiteral("sha256"), text(&hash)},
                              {QStringLiteral("user"), text(&key->user)},
                              {QStringLiteral("plan"), text(&key->plan)},
                              {QStringLiteral("team"), text(&key->team)},
                              {QStringLiteral("trusted"), flag(&key->trusted)}});
    static const QRegularExpression hex(QStringLiteral("^[0-9a-f]{64}$"));
    if (!hex.match(hash).hasMatch())
        error.list.append(
            Error(QStringLiteral("expected the key's SHA-256 as 64 lower-case hex digits"),
                  path + QStringLiteral(".sha256")));
    key->sha256Hex = hash.toLatin1();
    return error;
}

FieldSetter gatewayKeysField(QList<GatewayKey> *keys)
{
    return [=](const QJsonValue &value, const QString &path) -> Problems {
        if (!value.isArray())
            return typeError(path, QStringLiteral("an array"));
        keys->clear();
        const QJsonArray array = value.toArray();
        Problems problems;
        for (qsizetype i = 0; i < array.size(); ++i) {
            GatewayKey key;
            problems.list +=
                parseGatewayKey(array.at(i), QStringLiteral("%1[%2]").arg(path).arg(i), &key).list;
            keys->append(key);
        }
        return problems;
    };
}

} // namespace

ProviderConfig *findProvider(GatewayConfig &config, const QString &name)
{
    for (ProviderConfig &provider : config.providers) {
        if (provider.name == name)
            return &provider;
    }
    return nullptr;
}

Expected<QPair<QHostAddress, quint16>> parseListenAddress(const QString &text)
{
    const qsizetype colon = text.lastIndexOf(QLatin1Char(':'));
    if (colon <= 0)
        return Error(QStringLiteral("expected \"host:port\", got \"%1\"").arg(text));
    QString host = text.left(colon);
    if (host.startsWith(QLatin1Char('[')) && host.endsWith(QLatin1Char(']')))
        host = host.mid(1, host.size() - 2);
    bool portOk = false;
    const uint port = text.mid(colon + 1).toUInt(&portOk);
    if (!portOk || port > 65535)
        return Error(QStringLiteral("invalid port in \"%1\"").arg(text));
    QHostAddress address;
    if (host == QLatin1String("localhost"))
        address = QHostAddress::LocalHost;
    else if (!address.setAddress(host))
        return Error(QStringLiteral("\"%1\" is not an IP address").arg(host));
    return QPair<QHostAddress, quint16>(address, quint16(port));
}

Expected<QUrl> parseBaseUrl(const QString &text)
{
    QUrl url(text, QUrl::StrictMode);
    const QString scheme = url.scheme();
    if (!url.isValid() || url.host().isEmpty() ||
        (scheme != QLatin1String("http") && scheme != QLatin1String("https")))
        return Error(QStringLiteral("expected an http(s) URL with a host, got \"%1\"").arg(text));
    QString path = url.path();
    while (path.endsWith(QLatin1Char('/')))
        path.chop(1);
    if (path.endsWith(QLatin1String("/v1")))
        path.chop(3);
    url.setPath(path);
    return url;
}

Expected<QList<QSslCertificate>> loadCaFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return Error(QStringLiteral("cannot read \"%1\": %2").arg(path, file.errorString()));
    const QList<QSslCertificate> certificates =
        QSslCertificate::fromData(file.readAll(), QSsl::Pem);
    if (certificates.isEmpty())
        return Error(QStringLiteral("no PEM certificate in \"%1\"").arg(path));
    return certificates;
}

Expected<GatewayConfig> applyPolicy(const QByteArray &json, GatewayConfig base,
                                    const QStringList &otherSections, QList<Error> *problems)
{
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return Error(QStringLiteral("not valid JSON: %1 at offset %2")
                         .arg(parseError.errorString())
                         .arg(parseError.offset));
    if (!document.isObject())
        return Error(QStringLiteral("the policy must be a JSON object"));
    GatewayConfig config = std::move(base);
    auto version = [](const QJsonValue &value, const QString &path) -> Problems {
        if (value.toInt(-1) != 1)
            return Error(QStringLiteral("unsupported policy version (this build reads 1)"), path);
        return std::nullopt;
    };
    auto gateway = [&](const QJsonValue &value, const QString &path) {
        return applyFields(
            value, path,
            {{QStringLiteral("listen"), listenField(&config)},
             {QStringLiteral("workers"), intField(&config.workers, 0)},
             {QStringLiteral("max_header_bytes"), qsizeField(&config.limits.maxHeaderBytes, 1024)},
             {QStringLiteral("max_body_bytes"), qsizeField(&config.limits.maxBodyBytes, 1024)},
             {QStringLiteral("request_timeout_ms"), intField(&config.clientTimeouts.requestMs, 1)},
             {QStringLiteral("idle_timeout_ms"), intField(&config.clientTimeouts.idleMs, 1)},
             {QStringLiteral("drain_timeout_ms"), intField(&config.drainTimeoutMs, 0)},
             {QStringLiteral("default_max_tokens"), intField(&config.defaultMaxTokens, 1)},
             {QStringLiteral("max_connections_per_host"),
              intField(&config.maxConnectionsPerHost, 1)},
             {QStringLiteral("max_idle_connections_per_host"),
              intField(&config.maxIdleConnectionsPerHost, 0)},
             {QStringLiteral("keys"), gatewayKeysField(&config.gatewayKeys)}});
    };
    auto log = [&](const QJsonValue &value, const QString &path) {
        return applyFields(
            value, path,
            {{QStringLiteral("retention_days"), intField(&config.logRetentionDays, 1)},
             {QStringLiteral("max_rows"), int64Field(&config.logMaxRows, 1000)}});
    };
    QList<QPair<QString, FieldSetter>> sections = {
        {QStringLiteral("version"), version},
        {QStringLiteral("gateway"), gateway},
        {QStringLiteral("providers"), providersField(&config.providers)},
        {QStringLiteral("log"), log}};
    for (const QString &other : otherSections)
        sections.append(
            {other, [](const QJsonValue &, const QString &) -> Problems { return std::nullopt; }});
    const Problems found = applyFields(document.object(), QString(), sections);
    if (problems)
        *problems = found.list;
    if (found.list.size() == 1)
        return found.list.first();
    if (found) {
        QStringList lines;
        for (const Error &problem : found.list)
            lines.append(problem.toString());
        return Error(lines.join(QLatin1Char('\n')));
    }
    return config;
}

QString servingProblem(const GatewayConfig &config)
{
    if (!config.listenAddress.isLoopback() && config.gatewayKeys.isEmpty())
        return QStringLiteral(
                   "refusing to listen on %1 without gateway keys: anyone who can reach it could "
                   "spend the provider keys. Listen on 127.0.0.1, or add gateway.keys to the "
                   "policy.")
            .arg(config.listenAddress.toString());
    const bool anyProviderKey =
        std::any_of(config.providers.begin(), config.providers.end(),
                    [](const ProviderConfig &provider) { return !provider.apiKey.isEmpty(); });
    if (!config.gatewayKeys.isEmpty() && !anyProviderKey)
        return QStringLiteral("gateway keys are configured but no provider key is: set "
                              "ANTHROPIC_API_KEY or OPENAI_API_KEY, or a provider's key");
    return {};
}

} // namespace tollgate::policy
