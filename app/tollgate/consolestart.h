#pragma once

#include "simulatedproviders.h"

#include "gateway/policydocument.h"
#include "gateway/policykeeper.h"

#include <QCommandLineParser>

#include <memory>

namespace tollgate::ui {
class MainWindow;
}

namespace tollgate::app {

/// What the console starts its gateway with: the policy (the --config file, or the one it kept
/// in its data folder, or the defaults), the command line's options over it, the keys from the
/// keychain and the simulator when chosen or needed. main() and the tests start it alike.
class ConsoleStart {
public:
    /// Returns the problem that stops the start, or an empty string.
    QString prepare(const QCommandLineParser &args);

    gateway::PolicyDocument &document() { return m_document; }
    /// None with --config.
    gateway::PolicyKeeper *keeper() const { return m_keeper.get(); }
    const SimulatedProviders &simulated() const { return m_simulated; }
    /// Why keychain entries come from environment variables; empty when a keychain answers.
    QString keychainProblem() const { return m_keychainProblem; }
    /// Lines for the start-up output: the simulator, the kept policy's problems.
    QStringList notes() const;

    /// Shows the simulator and where the policy is in `window`, which keeps it from now on.
    void attach(ui::MainWindow &window) const;

private:
    QString resolveKeys();

    gateway::PolicyDocument m_document;
    std::unique_ptr<gateway::PolicyKeeper> m_keeper;
    SimulatedProviders m_simulated;
    QString m_keychainProblem;
    QString m_configFile;
    gateway::StartUrls m_configUrls; ///< with --config: the file's base URLs and the start's
};

} // namespace tollgate::app
