#pragma once

#include "mockcall.h"
#include "mockreply.h"

namespace tollgate::testsupport {

/// The Anthropic Messages API as the mock speaks it: bodies, the exact SSE event sequence, the
/// model list and error shapes.
class AnthropicMock {
public:
    static MockReply message(const MockCall &call);
    static MockReply countTokens(const MockCall &call);
    static MockReply models(quint64 seq);
    static MockReply error(int status, QByteArrayView message, quint64 seq);
    static QByteArray errorType(int status);

private:
    static MockReply singleMessage(const MockCall &call);
    static MockReply streamedMessage(const MockCall &call);
    static QByteArray messageHead(const MockCall &call);
    static QByteArray contentBlockStart(const MockCall &call);
    static QByteArray contentBlockDelta(const MockCall &call, QByteArrayView piece);
    static QByteArray stopReason(const MockCall &call);
    static MockReply reply(int status, quint64 seq);
};

} // namespace tollgate::testsupport
