#include "gateway/policydocument.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace tollgate::gateway {

namespace {

const QStringList kPartSections = {
    QStringLiteral("routes"),       QStringLiteral("plans"),
    QStringLiteral("default_plan"), QStringLiteral("local_owner_plan"),
    QStringLiteral("retries"),      QStringLiteral("breakers"),
    QStringLiteral("cache"),        QStringLiteral("budgets"),
    QStringLiteral("models"),       QStringLiteral("alerts"),
    QStringLiteral("state")};

QString describe(const QList<Error> &problems)
{
    QStringList lines;
    for (const Error &problem : problems)
        lines.append(problem.toString());
    return lines.join(QLatin1Char('\n'));
}

QJsonObject providersJson(const QList<policy::ProviderConfig> &providers)
{
    QJsonObject result;
    for (const policy::ProviderConfig &provider : providers) {
        QJsonArray urls;
        for (const QUrl &url : provider.baseUrls)
            urls.append(url.toString());
        QJsonObject entry{{QStringLiteral("kind"), policy::providerKindName(provider.kind)},
                          {QStringLiteral("base_urls"), urls},
                          {QStringLiteral("key"), provider.key.toJson()},
                          {QStringLiteral("connect_timeout_ms"), provider.timeouts.connectMs},
                          {QStringLiteral("first_byte_timeout_ms"), provider.timeouts.firstByteMs},
                          {QStringLiteral("idle_timeout_ms"), provider.timeouts.idleMs}};
        if (!provider.caFile.isEmpty())
            entry.insert(QStringLiteral("ca_file"), provider.caFile);
        result.insert(provider.name, entry);
    }
    return result;
}

/// Every model names a provider the document has.
QList<Error> checkModelProviders(const QList<policy::ProviderConfig> &providers,
                                 const QJsonValue &models)
{
    QList<Error> problems;
    const QJsonArray list = models.toArray();
    for (qsizetype i = 0; i < list.size(); ++i) {
        const QString provider = list.at(i).toObject().value(u"provider").toString();
        if (!provider.isEmpty() && !policy::findProvider(providers, provider))
            problems.append(Error(QStringLiteral("unknown provider \"%1\"").arg(provider),
                                  QStringLiteral("models[%1].provider").arg(i)));
    }
    return problems;
}

QJsonObject gatewayJson(const policy::GatewayConfig &config)
{
    QJsonArray keys;
    for (const policy::GatewayKey &key : config.gatewayKeys)
        keys.append(QJsonObject{{QStringLiteral("name"), key.name},
                                {QStringLiteral("sha256"), QString::fromLatin1(key.sha256Hex)},
                                {QStringLiteral("user"), key.user},
                                {QStringLiteral("plan"), key.plan},
                                {QStringLiteral("team"), key.team},
                                {QStringLiteral("trusted"), key.trusted}});
    const QString host = config.listenAddress.protocol() == QAbstractSocket::IPv6Protocol
                             ? QLatin1Char('[') + config.listenAddress.toString() + QLatin1Char(']')
                             : config.listenAddress.toString();
    return {
        {QStringLiteral("listen"), host + QLatin1Char(':') + QString::number(config.listenPort)},
        {QStringLiteral("workers"), config.workers},
        {QStringLiteral("max_header_bytes"), double(config.limits.maxHeaderBytes)},
        {QStringLiteral("max_body_bytes"), double(config.limits.maxBodyBytes)},
        {QStringLiteral("request_timeout_ms"), config.clientTimeouts.requestMs},
        {QStringLiteral("idle_timeout_ms"), config.clientTimeouts.idleMs},
        {QStringLiteral("drain_timeout_ms"), config.drainTimeoutMs},
        {QStringLiteral("default_max_tokens"), config.defaultMaxTokens},
        {QStringLiteral("max_connections_per_host"), config.maxConnectionsPerHost},
        {QStringLiteral("max_idle_connections_per_host"), config.maxIdleConnectionsPerHost},
        {QStringLiteral("keys"), keys}};
}

} // namespace

Expected<PolicyDocument> loadPolicy(const QByteArray &json, const metering::PriceTable &prices,
                                    PolicyDocument base, QList<Error> *found)
{
    QList<Error> problems;
    auto gateway = policy::applyPolicy(json, base.gateway, kPartSections, &problems);
    // Not JSON, or not an object: nothing else can be read.
    if (!gateway && problems.isEmpty()) {
        if (found)
            *found = {gateway.error()};
        return gateway.error();
    }
    const QJsonObject document = QJsonDocument::fromJson(json).object();
    metering::PriceTable table = prices;
    if (document.contains(u"models")) {
        table = prices.withModels(document.value(u"models"), QStringLiteral("models"), &problems);
        problems += checkModelProviders(gateway ? gateway->providers : base.gateway.providers,
                                        document.value(u"models"));
    }
    if (document.contains(u"routes"))
        problems += routing::RoutingPolicy::validate(document.value(u"routes"),
                                                     QStringLiteral("routes"), table);
    problems += limits::PlanPolicy::validate(document);
    problems += routing::ReliabilityPolicy::validate(document);
    problems += limits::BudgetPolicy::validate(document);
    problems += store::StatePolicy::validate(document);
    problems += alerts::AlertPolicy::validate(document);
    if (document.contains(u"cache"))
        problems += cache::CachePolicy::validate(document.value(u"cache"), QStringLiteral("cache"));
    if (found)
        *found = problems;
    if (problems.size() == 1)
        return problems.first();
    if (!problems.isEmpty())
        return Error(describe(problems));

    PolicyDocument result = std::move(base);
    result.gateway = *gateway;
    result.prices = std::move(table);
    if (document.contains(u"routes"))
        result.routes = *routing::RoutingPolicy::fromJson(document.value(u"routes"),
                                                          QStringLiteral("routes"), result.prices);
    result.plans = *limits::PlanPolicy::fromJson(document);
    result.reliability = *routing::ReliabilityPolicy::fromJson(document);
    result.budgets = *limits::BudgetPolicy::fromJson(document);
    result.state = *store::StatePolicy::fromJson(document);
    result.alerts = *alerts::AlertPolicy::fromJson(document);
    if (document.contains(u"cache"))
        result.cache =
            *cache::CachePolicy::fromJson(document.value(u"cache"), QStringLiteral("cache"));
    return result;
}

QJsonObject effectivePolicy(const PolicyDocument &document)
{
    const policy::GatewayConfig &config = document.gateway;
    QJsonObject result{{QStringLiteral("version"), 1},
                       {QStringLiteral("gateway"), gatewayJson(config)},
                       {QStringLiteral("providers"), providersJson(config.providers)},
                       {QStringLiteral("models"), document.prices.toJson()},
                       {QStringLiteral("log"),
                        QJsonObject{{QStringLiteral("retention_days"), config.logRetentionDays},
                                    {QStringLiteral("max_rows"), double(config.logMaxRows)}}},
                       {QStringLiteral("routes"), document.routes.toJson()},
                       {QStringLiteral("cache"), document.cache.toJson()}};
    const QJsonObject plans = document.plans.toJson();
    for (auto it = plans.begin(); it != plans.end(); ++it)
        result.insert(it.key(), it.value());
    const QJsonObject budgets = document.budgets.toJson();
    for (auto it = budgets.begin(); it != budgets.end(); ++it)
        result.insert(it.key(), it.value());
    const QJsonObject reliability = document.reliability.toJson();
    for (auto it = reliability.begin(); it != reliability.end(); ++it)
        result.insert(it.key(), it.value());
    const QJsonObject alertRules = document.alerts.toJson();
    for (auto it = alertRules.begin(); it != alertRules.end(); ++it)
        result.insert(it.key(), it.value());
    result.insert(QStringLiteral("state"), document.state.toJson());
    return result;
}

} // namespace tollgate::gateway
