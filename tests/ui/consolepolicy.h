#pragma once

// The policy the console tests start their embedded gateway with.

#include "common/expected.h"
#include "gateway/policydocument.h"
#include "policy/gatewayconfig.h"

#include <QUrl>

namespace tollgate::testsupport {

/// Both reference providers at the mock upstream, an ephemeral loopback port, one worker and
/// `dataDir` for the log, the spend and the cache.
inline Expected<gateway::PolicyDocument> consolePolicy(const QUrl &mockBaseUrl,
                                                       const QString &dataDir)
{
    gateway::PolicyDocument policy;
    policy.gateway.listenPort = 0;
    policy.gateway.dataDir = dataDir;
    policy.gateway.workers = 1;
    const auto url = policy::parseBaseUrl(mockBaseUrl.toString());
    if (!url)
        return url.error();
    for (const char *name : {"anthropic", "openai"})
        policy::findProvider(policy.gateway, QLatin1String(name))->baseUrls = {*url};
    return policy;
}

} // namespace tollgate::testsupport
