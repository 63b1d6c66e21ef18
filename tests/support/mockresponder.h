#pragma once

#include "mockreply.h"
#include "mockrequest.h"
#include "mockscenario.h"

namespace tollgate::testsupport {

/// Decides the mock's answer to one provider request: authentication, injected faults, routing to
/// the Anthropic or OpenAI shape, and the pacing the scenario asks for. Pure: no I/O, no state.
class MockResponder {
public:
    static MockReply respond(const MockRequest &request, const QByteArray &requiredKey);

private:
    enum class Provider { Anthropic, OpenAi };

    static MockReply answer(const MockRequest &request, const MockScenario &scenario,
                            const QByteArray &requiredKey);
    static MockReply completion(const MockRequest &request, const MockScenario &scenario,
                                Provider provider);
    static void addRetryAfter(MockReply &reply, const MockScenario &scenario);
    static MockReply injectedError(const MockScenario &scenario, Provider provider, quint64 seq);
    static MockReply error(Provider provider, int status, QByteArrayView message, quint64 seq);
    static Provider providerOf(const MockRequest &request);
    static bool authorized(const MockRequest &request, const QByteArray &requiredKey);
    static QByteArray defaultMessage(int status);
};

} // namespace tollgate::testsupport
