#include "consolestart.h"

#include "gatewayoptions.h"
#include "keychain.h"
#include "mainwindow.h"

namespace tollgate::app {

QString ConsoleStart::prepare(const QCommandLineParser &args)
{
    m_configFile = args.value(QStringLiteral("config"));
    m_keeper = consolePolicyKeeper(args);
    gateway::PolicyDocument loaded;
    auto document = configureGateway(args, m_keeper.get(), &loaded);
    if (!document)
        return document.error().message;
    m_document = *document;
    m_configUrls.setLoaded(loaded);
    if (const QString problem = resolveKeys(); !problem.isEmpty())
        return problem;
    if (const QString problem = m_simulated.start(args, m_document); !problem.isEmpty())
        return problem;
    if (m_keeper)
        m_keeper->setStarted(m_document);
    m_configUrls.setStarted(m_document);
    return {};
}

QString ConsoleStart::resolveKeys()
{
    // Keys named by keychain entries come from the OS keychain; without one, from environment
    // variables (the Providers page says so too).
    ui::Keychain keychain;
    QStringList problems;
    for (const Error &problem :
         ui::resolveConsoleKeys(m_document.gateway.providers, keychain, &m_keychainProblem))
        problems.append(problem.toString());
    if (problems.isEmpty())
        return {};
    // A kept policy is the console's own: a key that no longer resolves must not lock the user
    // out of the console that fixes it. A --config file is the user's, and is taken as given.
    if (!m_keeper)
        return problems.join(QLatin1Char('\n'));
    m_keeper->noteIssue(
        QStringLiteral("%1 (until it is fixed, that provider has no key of its own)")
            .arg(problems.join(QStringLiteral("; "))));
    return {};
}

QStringList ConsoleStart::notes() const
{
    QStringList notes;
    if (!m_keychainProblem.isEmpty())
        notes.append(QStringLiteral("%1; keys of keychain entries come from environment variables")
                         .arg(m_keychainProblem));
    if (m_keeper && !m_keeper->issue().isEmpty())
        notes.append(m_keeper->issue());
    if (m_simulated.isActive())
        notes.append(m_simulated.description());
    return notes;
}

void ConsoleStart::attach(ui::MainWindow &window) const
{
    window.setSimulated(m_simulated.isActive());
    if (m_keeper)
        window.keepPolicy(m_keeper.get());
    else
        window.showPolicyFile(m_configFile, m_configUrls);
}

} // namespace tollgate::app
