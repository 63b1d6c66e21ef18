#pragma once

#include "common/expected.h"
#include "gateway/policydocument.h"

#include <QCommandLineParser>

#include <memory>

namespace tollgate::gateway {
class PolicyKeeper;
}

namespace tollgate::app {

/// The options tollgated and the console share: --config, --listen, --data-dir, the providers'
/// base URLs, --workers and --redis.
void addGatewayOptions(QCommandLineParser &args);

/// Reads and validates a policy file over `base`.
Expected<gateway::PolicyDocument> readPolicyFile(const QString &path, gateway::PolicyDocument base);

/// Applies the command line's options over `document` (they override the policy file). Returns
/// the problem with an option, or an empty string.
QString applyGatewayOptions(const QCommandLineParser &args, gateway::PolicyDocument &document);

/// The folder of the request log: --data-dir, or the user's data location.
QString dataFolder(const QCommandLineParser &args);

/// The policy to start with: the --config file (or the defaults, with the data folder), then the
/// options. Without --config, `keeper` (when given) loads the policy it kept over the defaults.
/// `asRead` (when given) receives the policy as read, before the options.
Expected<gateway::PolicyDocument> configureGateway(const QCommandLineParser &args,
                                                   gateway::PolicyKeeper *keeper = nullptr,
                                                   gateway::PolicyDocument *asRead = nullptr);

/// The console's keeper of its working policy, in its data folder; none with --config, whose
/// file is in force and is never written behind the user's back.
std::unique_ptr<gateway::PolicyKeeper> consolePolicyKeeper(const QCommandLineParser &args);

/// Reads each provider's key from its reference. Returns the problems, one per line (naming the
/// variable or file, never a key), or an empty string.
QString resolveKeys(gateway::PolicyDocument &document);

} // namespace tollgate::app
