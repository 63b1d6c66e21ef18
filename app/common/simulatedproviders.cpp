#include "simulatedproviders.h"

#include <algorithm>

namespace tollgate::app {

namespace {

const QString kModeOption = QStringLiteral("simulator");

QString modeName(SimulatedProviders::Mode mode)
{
    switch (mode) {
    case SimulatedProviders::Mode::Off: return QStringLiteral("off");
    case SimulatedProviders::Mode::On: return QStringLiteral("on");
    case SimulatedProviders::Mode::Auto: return QStringLiteral("auto");
    }
    return {};
}

Expected<SimulatedProviders::Mode> parseMode(const QString &text)
{
    for (auto mode : {SimulatedProviders::Mode::Off, SimulatedProviders::Mode::On,
                      SimulatedProviders::Mode::Auto}) {
        if (text == modeName(mode))
            return mode;
    }
    return Error(QStringLiteral("--simulator: expected on, off or auto, got \"%1\"").arg(text));
}

// A number option within [low, high]; `value` keeps its default when the option is not given.
QString readNumber(const QCommandLineParser &args, const QString &name, double low, double high,
                   double &value)
{
    if (!args.isSet(name))
        return {};
    bool ok = false;
    const double parsed = args.value(name).toDouble(&ok);
    if (!ok || !(parsed >= low && parsed <= high))
        return QStringLiteral("--%1: expected a number from %2 to %3, got \"%4\"")
            .arg(name)
            .arg(low)
            .arg(high)
            .arg(args.value(name));
    value = parsed;
    return {};
}

Expected<simulator::SimulatorOptions> readOptions(const QCommandLineParser &args)
{
    simulator::SimulatorOptions options;
    if (args.isSet(QStringLiteral("simulator-seed"))) {
        bool ok = false;
        options.seed = args.value(QStringLiteral("simulator-seed")).toULongLong(&ok);
        if (!ok)
            return Error(QStringLiteral("--simulator-seed: expected a whole number, got \"%1\"")
                             .arg(args.value(QStringLiteral("simulator-seed"))));
    }
    for (const QString &problem :
         {readNumber(args, QStringLiteral("simulator-latency-scale"), 0, 100, options.latencyScale),
          readNumber(args, QStringLiteral("simulator-error-rate"), 0, 1, options.errorRate)}) {
        if (!problem.isEmpty())
            return Error(problem);
    }
    return options;
}

bool anyProviderKey(const gateway::PolicyDocument &document)
{
    const auto &providers = document.gateway.providers;
    return std::any_of(providers.begin(), providers.end(),
                       [](const policy::ProviderConfig &p) { return !p.apiKey.isEmpty(); });
}

} // namespace

void SimulatedProviders::addOptions(QCommandLineParser &args, Mode defaultMode)
{
    args.addOptions({
        {kModeOption,
         QStringLiteral("Answer with the built-in simulated provider instead of the real ones: "
                        "on, off, or auto (only when no provider key is configured). Default: %1.")
             .arg(modeName(defaultMode)),
         QStringLiteral("mode"), modeName(defaultMode)},
        {QStringLiteral("simulator-seed"),
         QStringLiteral("Simulator seed: the same seed and request give the same answer."),
         QStringLiteral("n")},
        {QStringLiteral("simulator-latency-scale"),
         QStringLiteral("Multiplies the simulator's delays (0: instant, 2: a slow day)."),
         QStringLiteral("x")},
        {QStringLiteral("simulator-error-rate"),
         QStringLiteral("Share of simulated calls that fail, 0 to 1 (default 0.03)."),
         QStringLiteral("r")},
    });
}

QString SimulatedProviders::start(const QCommandLineParser &args, gateway::PolicyDocument &document)
{
    const auto mode = parseMode(args.value(kModeOption));
    if (!mode)
        return mode.error().message;
    const auto options = readOptions(args);
    if (!options)
        return options.error().message;
    if (*mode == Mode::Off || (*mode == Mode::Auto && anyProviderKey(document)))
        return {};
    m_reason = *mode == Mode::On ? QStringLiteral("chosen with --simulator on")
                                 : QStringLiteral("no provider key is configured");
    auto server = std::make_unique<simulator::SimulatorServer>(*options);
    QString error;
    if (!server->listen(0, &error))
        return QStringLiteral("simulated provider: %1").arg(error);
    m_server = std::move(server);
    redirect(document);
    return {};
}

void SimulatedProviders::redirect(gateway::PolicyDocument &document) const
{
    if (!m_server)
        return;
    for (policy::ProviderConfig &provider : document.gateway.providers)
        provider.baseUrls = {m_server->baseUrl()};
}

QString SimulatedProviders::description() const
{
    if (!m_server)
        return {};
    return QStringLiteral("every provider is simulated at %1 (%2); no real model is called")
        .arg(m_server->baseUrl().toString(), m_reason);
}

} // namespace tollgate::app
