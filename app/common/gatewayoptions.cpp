#include "gatewayoptions.h"

#include "gateway/policykeeper.h"
#include "metering/pricetable.h"
#include "policy/gatewayconfig.h"
#include "store/redisendpoint.h"

#include <QDateTime>
#include <QFile>
#include <QStandardPaths>

namespace tollgate::app {

void addGatewayOptions(QCommandLineParser &args)
{
    args.addOptions({
        {QStringLiteral("config"), QStringLiteral("Policy document (JSON)."),
         QStringLiteral("policy.json")},
        {QStringLiteral("listen"), QStringLiteral("Address to serve (default 127.0.0.1:8080)."),
         QStringLiteral("host:port")},
        {QStringLiteral("data-dir"),
         QStringLiteral("Folder of the request log (default: the user's data folder)."),
         QStringLiteral("dir")},
        {QStringLiteral("anthropic-base-url"),
         QStringLiteral("Anthropic API (default https://api.anthropic.com)."),
         QStringLiteral("url")},
        {QStringLiteral("openai-base-url"),
         QStringLiteral("OpenAI-compatible API (default https://api.openai.com)."),
         QStringLiteral("url")},
        {QStringLiteral("workers"), QStringLiteral("I/O worker threads (default: one per core)."),
         QStringLiteral("n")},
        {QStringLiteral("redis"),
         QStringLiteral("Share rate limits and the cache with other replicas through this Redis "
                        "(policy state.redis.url; prefer its password_env for a password)."),
         QStringLiteral("redis://host:port/db")},
    });
}

Expected<gateway::PolicyDocument> readPolicyFile(const QString &path, gateway::PolicyDocument base)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return Error(QStringLiteral("cannot read %1: %2").arg(path, file.errorString()));
    auto loaded = gateway::loadPolicy(file.readAll(), metering::PriceTable::builtin(), base);
    if (!loaded)
        return Error(QStringLiteral("%1:\n%2").arg(path, loaded.error().toString()));
    return loaded;
}

QString applyGatewayOptions(const QCommandLineParser &args, gateway::PolicyDocument &document)
{
    policy::GatewayConfig &config = document.gateway;
    if (args.isSet(QStringLiteral("listen"))) {
        auto listen = policy::parseListenAddress(args.value(QStringLiteral("listen")));
        if (!listen)
            return QStringLiteral("--listen: %1").arg(listen.error().message);
        config.listenAddress = listen->first;
        config.listenPort = listen->second;
    }
    for (const auto &[option, providerName] :
         {std::pair{"anthropic-base-url", "anthropic"}, std::pair{"openai-base-url", "openai"}}) {
        if (!args.isSet(QLatin1String(option)))
            continue;
        auto url = policy::parseBaseUrl(args.value(QLatin1String(option)));
        if (!url)
            return QStringLiteral("--%1: %2").arg(QLatin1String(option), url.error().message);
        if (policy::ProviderConfig *provider =
                policy::findProvider(config, QLatin1String(providerName)))
            provider->baseUrls = {*url};
    }
    if (args.isSet(QStringLiteral("data-dir")))
        config.dataDir = args.value(QStringLiteral("data-dir"));
    if (args.isSet(QStringLiteral("workers")))
        config.workers = args.value(QStringLiteral("workers")).toInt();
    if (args.isSet(QStringLiteral("redis"))) {
        // The URL may carry a password, so the error never repeats it.
        const QString url = args.value(QStringLiteral("redis"));
        if (auto endpoint = store::RedisEndpoint::parse(url); !endpoint)
            return QStringLiteral("--redis: %1").arg(endpoint.error().message);
        document.state.redis.url = url;
    }
    return {};
}

QString dataFolder(const QCommandLineParser &args)
{
    return args.isSet(QStringLiteral("data-dir"))
               ? args.value(QStringLiteral("data-dir"))
               : QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
}

Expected<gateway::PolicyDocument> configureGateway(const QCommandLineParser &args,
                                                   gateway::PolicyKeeper *keeper,
                                                   gateway::PolicyDocument *asRead)
{
    gateway::PolicyDocument document;
    document.gateway.dataDir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    if (args.isSet(QStringLiteral("config"))) {
        auto loaded = readPolicyFile(args.value(QStringLiteral("config")), document);
        if (!loaded)
            return loaded.error();
        document = *loaded;
    } else if (keeper) {
        document = keeper->load(document, QDateTime::currentDateTimeUtc());
    }
    if (asRead)
        *asRead = document;
    if (const QString problem = applyGatewayOptions(args, document); !problem.isEmpty())
        return Error(problem);
    return document;
}

std::unique_ptr<gateway::PolicyKeeper> consolePolicyKeeper(const QCommandLineParser &args)
{
    if (args.isSet(QStringLiteral("config")))
        return nullptr;
    return std::make_unique<gateway::PolicyKeeper>(dataFolder(args));
}

QString resolveKeys(gateway::PolicyDocument &document)
{
    QStringList lines;
    for (const Error &problem : policy::resolveProviderKeys(document.gateway.providers))
        lines.append(problem.toString());
    return lines.join(QLatin1Char('\n'));
}

} // namespace tollgate::app
