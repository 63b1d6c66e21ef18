#pragma once

#include "gatewayprocess.h"

#include <QJsonArray>

namespace tollgate::testsupport {

/// The tollgate-mock-upstream executable run as a child process, as the SDK tests and the
/// benchmark use it; the journal is read over HTTP from /_mock/journal.
class MockProcess : public GatewayProcess {
public:
    /// Starts the mock on 127.0.0.1 with an ephemeral port; extraArgs e.g. {"--threads", "2"}.
    bool start(const QStringList &extraArgs = {}, int timeoutMs = 10000);
    /// $TOLLGATE_MOCK_UPSTREAM if set, else the executable this build produced.
    static QString program();

    QJsonArray journal(int timeoutMs = 5000) const;
    bool resetJournal(int timeoutMs = 5000) const;
};

} // namespace tollgate::testsupport
