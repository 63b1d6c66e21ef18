#pragma once

#include "common/expected.h"
#include "gateway/policydocument.h"

#include <QCommandLineParser>

namespace tollgate::app {

/// The options tollgated and the console share: --config, --listen, --data-dir, the providers'
/// base URLs, --workers and --redis.
void addGatewayOptions(QCommandLineParser &args);

/// Reads and validates a policy file over `base`.
Expected<gateway::PolicyDocument> readPolicyFile(const QString &path, gateway::PolicyDocument base);

/// Applies the command line's options over `document` (they override the policy file). Returns
/// the problem with an option, or an empty string.
QString applyGatewayOptions(const QCommandLineParser &args, gateway::PolicyDocument &document);

/// The policy to start with: the --config file (or the defaults, with the data folder in the
/// user's data location), then the options.
Expected<gateway::PolicyDocument> configureGateway(const QCommandLineParser &args);

/// Reads each provider's key from its reference. Returns the problems, one per line (naming the
/// variable or file, never a key), or an empty string.
QString resolveKeys(gateway::PolicyDocument &document);

} // namespace tollgate::app
