#include "openaimock.h"

#include <QDateTime>

namespace tollgate::testsupport {

namespace {

struct ErrorKind {
    QByteArrayView type;
    QByteArrayView code; ///< a JSON literal: null or a quoted string
};

ErrorKind errorKind(int status)
{
    switch (status) {
    case 401: return {"invalid_request_error", "\"invalid_api_key\""};
    case 403: return {"permission_error", "null"};
    case 413: return {"invalid_request_error", "\"request_too_large\""};
    case 429: return {"requests", "\"rate_limit_exceeded\""};
    default:
        return status >= 500 ? ErrorKind{"server_error", "null"}
                             : ErrorKind{"invalid_request_error", "null"};
    }
}

} // namespace

MockReply OpenAiMock::completion(const MockCall &call)
{
    return call.stream ? streamedCompletion(call) : singleCompletion(call);
}

MockReply OpenAiMock::models(quint64 seq)
{
    MockReply out = reply(200, seq);
    out.body = QByteArrayLiteral(
        R"({"object":"list","data":[{"id":"gpt-4o","object":"model","created":1715367049,)"
        R"("owned_by":"system"},{"id":"gpt-4o-mini","object":"model","created":1721172741,)"
        R"("owned_by":"system"}]})");
    return out;
}

MockReply OpenAiMock::error(int status, QByteArrayView message, quint64 seq)
{
    const ErrorKind kind = errorKind(status);
    MockReply out = reply(status, seq);
    out.body = R"({"error":{"message":)" + jsonString(message) + R"(,"type":")" +
               kind.type.toByteArray() + R"(","param":null,"code":)" + kind.code.toByteArray() +
               "}}";
    return out;
}

MockReply OpenAiMock::singleCompletion(const MockCall &call)
{
    QByteArray message;
    if (call.scenario.tool) {
        message = R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_mock_1",)"
                  R"("type":"function","function":{"name":)" +
                  jsonString(call.toolName) + R"(,"arguments":)" +
                  jsonString(MockCall::toolInput()) + "}}],\"refusal\":null}";
    } else {
        message = R"({"role":"assistant","content":)" + jsonString(call.textPieces().join()) +
                  ",\"refusal\":null}";
    }
    MockReply out = reply(200, call.seq);
    out.body = objectHead(call, "chat.completion") + R"(,"choices":[{"index":0,"message":)" +
               message + R"(,"logprobs":null,"finish_reason":)" + finishReason(call) +
               "}],\"usage\":" + usage(call.scenario) + ",\"system_fingerprint\":\"fp_mock\"}";
    return out;
}

MockReply OpenAiMock::streamedCompletion(const MockCall &call)
{
    MockReply out = reply(200, call.seq);
    out.streamed = true;
    out.contentType = "text/event-stream";
    out.addEvent({}, chunk(call, firstDelta(call), "null"));
    for (const QByteArray &piece : call.scenario.tool ? call.toolInputPieces() : call.textPieces())
        out.addEvent({}, chunk(call, pieceDelta(call, piece), "null"));
    out.addEvent({}, chunk(call, "{}", finishReason(call)));
    if (call.includeUsage) {
        out.addEvent({}, objectHead(call, "chat.completion.chunk") +
                             ",\"choices\":[],\"usage\":" + usage(call.scenario) + '}');
    }
    out.addEvent({}, "[DONE]");
    return out;
}

QByteArray OpenAiMock::objectHead(const MockCall &call, QByteArrayView object)
{
    return R"({"id":"chatcmpl-mock-)" + QByteArray::number(call.seq) + R"(","object":")" +
           object.toByteArray() + R"(","created":)" +
           QByteArray::number(QDateTime::currentSecsSinceEpoch()) +
           ",\"model\":" + jsonString(call.model);
}

QByteArray OpenAiMock::chunk(const MockCall &call, QByteArrayView delta, QByteArrayView finish)
{
    QByteArray out = objectHead(call, "chat.completion.chunk") +
                     R"(,"system_fingerprint":"fp_mock","choices":[{"index":0,"delta":)" +
                     delta.toByteArray() + R"(,"logprobs":null,"finish_reason":)" +
                     finish.toByteArray() + "}]";
    if (call.includeUsage)
        out.append(",\"usage\":null");
    return out.append('}');
}

QByteArray OpenAiMock::firstDelta(const MockCall &call)
{
    if (!call.scenario.tool)
        return R"({"role":"assistant","content":"","refusal":null})";
    return R"({"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_mock_1",)"
           R"("type":"function","function":{"name":)" +
           jsonString(call.toolName) + R"(,"arguments":""}}]})";
}

QByteArray OpenAiMock::pieceDelta(const MockCall &call, QByteArrayView piece)
{
    if (!call.scenario.tool)
        return "{\"content\":" + jsonString(piece) + '}';
    return R"({"tool_calls":[{"index":0,"function":{"arguments":)" + jsonString(piece) + "}}]}";
}

QByteArray OpenAiMock::usage(const MockScenario &s)
{
    const int prompt = s.inputTokens + s.cacheReadTokens;
    return "{\"prompt_tokens\":" + QByteArray::number(prompt) +
           ",\"completion_tokens\":" + QByteArray::number(s.outputTokens) +
           ",\"total_tokens\":" + QByteArray::number(prompt + s.outputTokens) +
           ",\"prompt_tokens_details\":{\"cached_tokens\":" +
           QByteArray::number(s.cacheReadTokens) + "}}";
}

QByteArray OpenAiMock::finishReason(const MockCall &call)
{
    return call.scenario.tool ? QByteArrayLiteral("\"tool_calls\"") : QByteArrayLiteral("\"stop\"");
}

MockReply OpenAiMock::reply(int status, quint64 seq)
{
    MockReply out;
    out.status = status;
    out.headers.append({QByteArrayLiteral("x-request-id"), "req_mock_" + QByteArray::number(seq)});
    return out;
}

} // namespace tollgate::testsupport
