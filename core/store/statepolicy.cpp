#include "store/statepolicy.h"

#include <QJsonValue>
#include <QRegularExpression>

#include <cmath>

namespace tollgate::store {

namespace {

const QString kStateKey = QStringLiteral("state");
constexpr int kMaxTimeoutMs = 10000;
constexpr int kMaxKeyPrefix = 64;

void readRedis(const QJsonValue &value, const QString &path, RedisSettings *settings,
               QList<Error> *problems)
{
    if (value.isNull())
        return;
    if (!value.isObject()) {
        problems->append(Error(QStringLiteral("expected an object"), path));
        return;
    }
    const QJsonObject object = value.toObject();
    for (auto it = object.begin(); it != object.end(); ++it) {
        const QString key = it.key();
        const QJsonValue field = it.value();
        const QString fieldPath = path + QLatin1Char('.') + key;
        if (key == QLatin1String("url")) {
            if (!field.isString()) {
                problems->append(Error(QStringLiteral("expected a string"), fieldPath));
                continue;
            }
            const QString url = field.toString();
            if (url.isEmpty()) {
                settings->url.clear();
                continue;
            }
            auto endpoint = RedisEndpoint::parse(url);
            if (!endpoint) {
                problems->append(Error(endpoint.error().message, fieldPath));
            } else if (!endpoint->password.isEmpty()) {
                // The document is exported to ConfigMaps and shown by check-config.
                problems->append(Error(QStringLiteral("a password does not belong in the policy "
                                                      "document; name the environment variable "
                                                      "that holds it in password_env"),
                                       fieldPath));
            } else {
                settings->url = url;
            }
        } else if (key == QLatin1String("password_env")) {
            static const QRegularExpression name(QStringLiteral("^[A-Za-z_][A-Za-z0-9_]*$"));
            if (!field.isString() ||
                (!field.toString().isEmpty() && !name.match(field.toString()).hasMatch()))
                problems->append(
                    Error(QStringLiteral("expected an environment variable name"), fieldPath));
            else
                settings->passwordEnv = field.toString();
        } else if (key == QLatin1String("key_prefix")) {
            static const QRegularExpression printable(QStringLiteral("^[\\x21-\\x7e]*$"));
            if (!field.isString() || field.toString().size() > kMaxKeyPrefix ||
                !printable.match(field.toString()).hasMatch())
                problems->append(Error(QStringLiteral("expected up to %1 printable ASCII "
                                                      "characters without spaces")
                                           .arg(kMaxKeyPrefix),
                                       fieldPath));
            else
                settings->keyPrefix = field.toString();
        } else if (key == QLatin1String("timeout_ms")) {
            const double number = field.toDouble();
            if (!field.isDouble() || number != std::floor(number) || number < 1 ||
                number > kMaxTimeoutMs)
                problems->append(
                    Error(QStringLiteral("expected an integer from 1 to %1").arg(kMaxTimeoutMs),
                          fieldPath));
            else
                settings->timeoutMs = int(number);
        } else if (key == QLatin1String("rate_limits") || key == QLatin1String("cache") ||
                   key == QLatin1String("budgets")) {
            if (!field.isBool())
                problems->append(Error(QStringLiteral("expected true or false"), fieldPath));
            else if (key == QLatin1String("cache"))
                settings->cache = field.toBool();
            else if (key == QLatin1String("budgets"))
                settings->budgets = field.toBool();
            else
                settings->rateLimits = field.toBool();
        } else {
            problems->append(Error(QStringLiteral("unknown setting"), fieldPath));
        }
    }
}

} // namespace

Expected<RedisClient::Options> RedisSettings::clientOptions() const
{
    auto endpoint = RedisEndpoint::parse(url);
    if (!endpoint)
        return Error(endpoint.error().message, QStringLiteral("state.redis.url"));
    if (!passwordEnv.isEmpty()) {
        const QByteArray password = qgetenv(passwordEnv.toLocal8Bit().constData());
        if (password.isEmpty())
            return Error(QStringLiteral("the environment variable %1 is not set").arg(passwordEnv),
                         QStringLiteral("state.redis.password_env"));
        endpoint->password = password;
    }
    RedisClient::Options options;
    options.endpoint = *endpoint;
    options.timeoutMs = timeoutMs;
    return options;
}

StatePolicy StatePolicy::parse(const QJsonObject &document, QList<Error> *problems)
{
    StatePolicy policy;
    const QJsonValue state = document.value(kStateKey);
    if (state.isUndefined() || state.isNull())
        return policy;
    if (!state.isObject()) {
        problems->append(Error(QStringLiteral("expected an object"), kStateKey));
        return policy;
    }
    const QJsonObject object = state.toObject();
    for (auto it = object.begin(); it != object.end(); ++it) {
        const QString path = kStateKey + QLatin1Char('.') + it.key();
        if (it.key() == QLatin1String("redis"))
            readRedis(it.value(), path, &policy.redis, problems);
        else
            problems->append(Error(QStringLiteral("unknown setting"), path));
    }
    return policy;
}

QList<Error> StatePolicy::validate(const QJsonObject &document)
{
    QList<Error> problems;
    parse(document, &problems);
    return problems;
}

Expected<StatePolicy> StatePolicy::fromJson(const QJsonObject &document)
{
    QList<Error> problems;
    StatePolicy policy = parse(document, &problems);
    if (!problems.isEmpty())
        return problems.constFirst();
    return policy;
}

QJsonObject StatePolicy::toJson() const
{
    QString url;
    if (redis.enabled()) {
        auto endpoint = RedisEndpoint::parse(redis.url);
        url = endpoint ? endpoint->urlWithoutPassword() : QString();
    }
    return {
        {QStringLiteral("redis"), QJsonObject{{QStringLiteral("url"), url},
                                              {QStringLiteral("password_env"), redis.passwordEnv},
                                              {QStringLiteral("key_prefix"), redis.keyPrefix},
                                              {QStringLiteral("timeout_ms"), redis.timeoutMs},
                                              {QStringLiteral("rate_limits"), redis.rateLimits},
                                              {QStringLiteral("cache"), redis.cache},
                                              {QStringLiteral("budgets"), redis.budgets}}}};
}

} // namespace tollgate::store
