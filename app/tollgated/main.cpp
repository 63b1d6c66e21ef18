// tollgated: the Tollgate gateway without a GUI, for servers and scripts.

#include "gatewayoptions.h"
#include "simulatedproviders.h"

#include "gateway/gateway.h"
#include "policy/gatewayconfig.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFileSystemWatcher>
#include <QJsonDocument>
#include <QSocketNotifier>
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

gateway::PolicyDocument orFail(Expected<gateway::PolicyDocument> document)
{
    if (!document)
        fail(document.error().message);
    return *document;
}

/// Reads the policy file again and puts it in force; on any problem the running policy stays.
void reload(const QCommandLineParser &args, const app::SimulatedProviders &simulated,
            gateway::Gateway &gateway)
{
    const QString path = args.value(QStringLiteral("config"));
    auto document = app::readPolicyFile(path, {});
    QString error = document ? QString() : document.error().message;
    if (document) {
        error = app::applyGatewayOptions(args, *document);
        if (error.isEmpty())
            error = app::resolveKeys(*document);
        simulated.redirect(*document);
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
void watchPolicyFile(const QCommandLineParser &args, const app::SimulatedProviders &simulated,
                     gateway::Gateway &gateway, QObject *owner)
{
    const QString path = args.value(QStringLiteral("config"));
    auto *watcher = new QFileSystemWatcher({path}, owner);
    auto *debounce = new QTimer(owner);
    debounce->setSingleShot(true);
    debounce->setInterval(200);
    QObject::connect(watcher, &QFileSystemWatcher::fileChanged, debounce,
                     qOverload<>(&QTimer::start));
    QObject::connect(debounce, &QTimer::timeout, owner, [&, watcher, path] {
        if (!watcher->files().contains(path))
            watcher->addPath(path);
        reload(args, simulated, gateway);
    });
}

/// `tollgated check-config FILE`: validates a policy and prints it with every default filled in.
int checkConfig(const QString &path)
{
    const gateway::PolicyDocument document = orFail(app::readPolicyFile(path, {}));
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
    app::addGatewayOptions(args);
    app::SimulatedProviders::addOptions(args, app::SimulatedProviders::Mode::Off);
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

    gateway::PolicyDocument document = orFail(app::configureGateway(args));
    if (const QString problems = app::resolveKeys(document); !problems.isEmpty())
        fail(problems);
    app::SimulatedProviders simulated;
    if (const QString problem = simulated.start(args, document); !problem.isEmpty())
        fail(problem);

    gateway::Gateway gateway(document);
    QString error;
    if (!gateway.start(&error))
        fail(error);
    for (const policy::ProviderConfig &provider : document.gateway.providers)
        std::fprintf(stderr, "tollgated: %s\n", qPrintable(policy::describeProvider(provider)));
    if (simulated.isActive())
        std::fprintf(stderr, "tollgated: %s\n", qPrintable(simulated.description()));
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
        [&args, &simulated, &gateway, hasPolicyFile] {
            if (hasPolicyFile)
                reload(args, simulated, gateway);
            else
                std::fprintf(stderr, "tollgated: SIGHUP: no --config file to reload\n");
        });
    if (hasPolicyFile)
        watchPolicyFile(args, simulated, gateway, &app);
    return app.exec();
}
