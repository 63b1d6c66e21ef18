#pragma once

#include "mockcall.h"
#include "mockreply.h"

namespace tollgate::testsupport {

/// The OpenAI Chat Completions API as the mock speaks it: completion objects, chunk streams
/// (with and without include_usage), the model list and error shapes.
class OpenAiMock {
public:
    static MockReply completion(const MockCall &call);
    static MockReply models(quint64 seq);
    static MockReply error(int status, QByteArrayView message, quint64 seq);

private:
    static MockReply singleCompletion(const MockCall &call);
    static MockReply streamedCompletion(const MockCall &call);
    static QByteArray objectHead(const MockCall &call, QByteArrayView object);
    static QByteArray chunk(const MockCall &call, QByteArrayView delta, QByteArrayView finish);
    static QByteArray firstDelta(const MockCall &call);
    static QByteArray pieceDelta(const MockCall &call, QByteArrayView piece);
    static QByteArray usage(const MockScenario &scenario);
    static QByteArray finishReason(const MockCall &call);
    static MockReply reply(int status, quint64 seq);
};

} // namespace tollgate::testsupport
