// tollgated: the Tollgate gateway without a GUI, for servers and scripts.

#include "gateway/gateway.h"
#include "metering/pricetable.h"
#include "policy/gatewayconfig.h"
#include "store/redisendpoint.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFile>
#include <QFileSystemWatcher>
#include <QJsonDocument>
#include <QSocketNotifier>
#include <QStandardPaths>
#include <QTimer>

#include <csignal>
#include <cstdio>
#include <sys/socket.h>
#include <unistd.h>

using namespace tollgate;

namespace {

int g_signalPipe[2] = {-1, -1};

void onSignal(int signal)
{
    const char byte = char(signal);
    [[maybe_unused]] auto written = ::write(g_signalPipe[1], &byte, 1);
}

/// Turns SIGINT/SIGTERM (terminate) and SIGHUP (reload) into calls on the event loop; a signal
/// handler may only write a byte.
void watchSignals(QObject *owner, std::function<void()> onTerminate, std::function<void()> onReload)
{
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, g_signalPipe) != 0)
        return;
    auto *notifier = new QSocketNotifier(g_signalPipe[0], QSocketNotifier::Read, owner);
    QObject::connect(notifier, &QSocketNotifier::activated, owner, [=] {
        char byte = 0;
        [[maybe_unused]] auto bytes = ::read(g_signalPipe[0], &byte, 1);
        if (byte == SIGHUP) {
            onReload();
            return;
        }
        notifier->setEnabled(false);
        onTerminate();
    });
    struct sigaction action = {};
    action.sa_handler = onSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGHUP, &action, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

void fail(const QString &message)
{
    std::fprintf(stderr, "tollgated: %s\n", qPrintable(message));
    std::exit(2);
}

/// Reads each provider's key from its reference. Returns the problems, one per line (naming the
/// variable or file, never a key), or an empty string.
QString resolveKeys(gateway::PolicyDocument &document)
{
    QStringList lines;
    for (const Error &problem : policy::resolveProviderKeys(document.gateway.providers))
        lines.append(problem.toString());
    return lines.join(QLatin1Char('\n'));
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

gateway::PolicyDocument loadPolicyFile(const QString &path, gateway::PolicyDocument base)
{
    auto document = readPolicyFile(path, std::move(base));
    if (!document)
        fail(document.error().message);
    return *document;
}

/// Flags override the policy file.
void applyFlags(const QCommandLineParser &args, gateway::PolicyDocument &document)
{
    policy::GatewayConfig &config = document.gateway;
    if (args.isSet(QStringLiteral("listen"))) {
        auto listen = policy::parseListenAddress(args.value(QStringLiteral("listen")));
        if (!listen)
            fail(QStringLiteral("--listen: %1").arg(listen.error().message));
        config.listenAddress = listen->first;
        config.listenPort = listen->second;
    }
    const auto baseUrl = [&](const char *option, const char *providerName) {
        if (!args.isSet(QLatin1String(option)))
            return;
        auto url = policy::parseBaseUrl(args.value(QLatin1String(option)));
        if (!url)
            fail(QStringLiteral("--%1: %2").arg(QLatin1String(option), url.error().message));
        if (policy::ProviderConfig *provider =
                policy::findProvider(config, QLatin1String(providerName)))
            provider->baseUrls = {*url};
    };
    baseUrl("anthropic-base-url", "anthropic");
    baseUrl("openai-base-url", "openai");
    if (args.isSet(QStringLiteral("data-dir")))
        config.dataDir = args.value(QStringLiteral("data-dir"));
    if (args.isSet(QStringLiteral("workers")))
        config.workers = args.value(QStringLiteral("workers")).toInt();
    if (args.isSet(QStringLiteral("redis"))) {
        // The URL may carry a password, so the error never repeats it.
        const QString url = args.value(QStringLiteral("redis"));
        if (auto endpoint = store::RedisEndpoint::parse(url); !endpoint)
            fail(QStringLiteral("--redis: %1").arg(endpoint.error().message));
        document.state.redis.url = url;
    }
}

gateway::PolicyDocument configure(const QCommandLineParser &args)
{
    gateway::PolicyDocument document;
    document.gateway.dataDir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    if (args.isSet(QStringLiteral("config")))
        document = loadPolicyFile(args.value(QStringLiteral("config")), document);
    applyFlags(args, document);
    return document;
}

/// Reads the policy file again and puts it in force; on any problem the running policy stays.
void reload(const QCommandLineParser &args, gateway::Gateway &gateway)
{
    const QString path = args.value(QStringLiteral("config"));
    auto document = readPolicyFile(path, {});
    QString error = document ? QString() : document.error().message;
    if (document) {
        applyFlags(args, *document);
        error = resolveKeys(*document);
    }
    if (error.isEmpty()) {
        if (gateway.applyPolicy(*document, &error)) {
            std::fprintf(stderr, "tollgated: policy reloaded from %s\n", qPrintable(path));
            return;
        }
    }
    std::fprintf(stderr, "tollgated: policy not reloaded, the running one stays: %s\n",
                 qPrintable(error));
}

/// Reloads when the policy file changes (debounced: editors write in several steps, and some
/// replace the file, which ends the watch on the old one).
void watchPolicyFile(const QCommandLineParser &args, gateway::Gateway &gateway, QObject *owner)
{
    const QString path = args.value(QStringLiteral("config"));
    auto *watcher = new QFileSystemWatcher({path}, owner);
    auto *debounce = new QTimer(owner);
    debounce->setSingleShot(true);
    debounce->setInterval(200);
    QObject::connect(watcher, &QFileSystemWatcher::fileChanged, debounce,
                     qOverload<>(&QTimer::start));
    QObject::connect(debounce, &QTimer::timeout, owner, [&args, &gateway, watcher, path] {
        if (!watcher->files().contains(path))
            watcher->addPath(path);
        reload(args, gateway);
    });
}

/// `tollgated check-config FILE`: validates a policy and prints it with every default filled in.
int checkConfig(const QString &path)
{
    const gateway::PolicyDocument document = loadPolicyFile(path, {});
    std::fputs(QJsonDocument(gateway::effectivePolicy(document)).toJson().constData(), stdout);
    return 0;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("tollgate"));
    QCoreApplication::setApplicationVersion(QStringLiteral(TOLLGATE_VERSION));

    QCommandLineParser args;
    args.setApplicationDescription(QStringLiteral(
        "Tollgate gateway: meters, logs and relays Anthropic and OpenAI API calls.\n"
        "Provider keys come from ANTHROPIC_API_KEY / OPENAI_API_KEY (or *_FILE), or from\n"
        "the env or file each provider's `key` names in the policy."));
    args.addHelpOption();
    args.addVersionOption();
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
    args.addPositionalArgument(QStringLiteral("check-config"),
                               QStringLiteral("check-config FILE: validate a policy and print it "
                                              "with every default filled in."),
                               QStringLiteral("[check-config FILE]"));
    args.process(app);
    const QStringList positional = args.positionalArguments();
    if (positional.value(0) == QLatin1String("check-config") && positional.size() == 2)
        return checkConfig(positional.at(1));
    if (!positional.isEmpty())
        fail(QStringLiteral("unexpected arguments: %1 (see --help)").arg(positional.join(u' ')));

    gateway::PolicyDocument document = configure(args);
    if (const QString problems = resolveKeys(document); !problems.isEmpty())
        fail(problems);

    gateway::Gateway gateway(document);
    QString error;
    if (!gateway.start(&error))
        fail(error);
    for (const policy::ProviderConfig &provider : document.gateway.providers)
        std::fprintf(stderr, "tollgated: %s\n", qPrintable(policy::describeProvider(provider)));
    std::fprintf(stdout, "listening on %s:%u\n", qPrintable(gateway.address().toString()),
                 unsigned(gateway.port()));
    std::fflush(stdout);

    const bool hasPolicyFile = args.isSet(QStringLiteral("config"));
    watchSignals(
        &app,
        [&gateway] {
            std::fprintf(stderr, "tollgated: draining in-flight requests\n");
            gateway.drain([] { QCoreApplication::exit(0); });
        },
        [&args, &gateway, hasPolicyFile] {
            if (hasPolicyFile)
                reload(args, gateway);
            else
                std::fprintf(stderr, "tollgated: SIGHUP: no --config file to reload\n");
        });
    if (hasPolicyFile)
        watchPolicyFile(args, gateway, &app);
    return app.exec();
}
