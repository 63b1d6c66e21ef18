#pragma once

#include "gateway/policydocument.h"
#include "simulator/simulatorserver.h"

#include <QCommandLineParser>

#include <memory>

namespace tollgate::app {

/// The built-in simulated provider in front of every configured provider: used when chosen
/// (`--simulator on`), or with `--simulator auto` (the console's default) when no provider key
/// resolves, so a newcomer without keys still sees traffic. Never used otherwise: a key means
/// the real provider.
class SimulatedProviders {
public:
    enum class Mode { Off, On, Auto };

    /// --simulator MODE (default `defaultMode`), --simulator-seed, --simulator-latency-scale and
    /// --simulator-error-rate.
    static void addOptions(QCommandLineParser &args, Mode defaultMode);

    /// Reads the options and, when the simulator is chosen or needed for `document` (keys already
    /// resolved), starts it and points the document's providers at it. Returns the problem with
    /// an option or with starting, or an empty string.
    QString start(const QCommandLineParser &args, gateway::PolicyDocument &document);
    /// Points a newly loaded document's providers at the simulator when it serves.
    void redirect(gateway::PolicyDocument &document) const;

    bool isActive() const { return m_server != nullptr; }
    /// A line for the start-up summary; empty when inactive.
    QString description() const;

private:
    Mode m_defaultMode = Mode::Off;
    QString m_reason; // why the simulator serves
    std::unique_ptr<simulator::SimulatorServer> m_server;
};

} // namespace tollgate::app
