#include "anthropicmock.h"

namespace tollgate::testsupport {

MockReply AnthropicMock::message(const MockCall &call)
{
    return call.stream ? streamedMessage(call) : singleMessage(call);
}

MockReply AnthropicMock::countTokens(const MockCall &call)
{
    MockReply out = reply(200, call.seq);
    out.body = "{\"input_tokens\":" + QByteArray::number(call.scenario.inputTokens) + '}';
    return out;
}

MockReply AnthropicMock::models(quint64 seq)
{
    MockReply out = reply(200, seq);
    out.body = QByteArrayLiteral(
        R"({"data":[{"type":"model","id":"claude-sonnet-4-20250514","display_name":"Claude Sonnet 4",)"
        R"("created_at":"2025-05-22T00:00:00Z"},{"type":"model","id":"claude-3-haiku-20240307",)"
        R"("display_name":"Claude Haiku 3","created_at":"2024-03-07T00:00:00Z"}],"has_more":false,)"
        R"("first_id":"claude-sonnet-4-20250514","last_id":"claude-3-haiku-20240307"})");
    return out;
}

MockReply AnthropicMock::error(int status, QByteArrayView message, quint64 seq)
{
    MockReply out = reply(status, seq);
    out.body = R"({"type":"error","error":{"type":")" + errorType(status) + R"(","message":)" +
               jsonString(message) + "}}";
    return out;
}

QByteArray AnthropicMock::errorType(int status)
{
    switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 500: return "api_error";
    case 529: return "overloaded_error";
    default: return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

MockReply AnthropicMock::singleMessage(const MockCall &call)
{
    const MockScenario &s = call.scenario;
    QByteArray content;
    if (call.scenario.tool) {
        content = R"({"type":"tool_use","id":"toolu_mock_1","name":)" + jsonString(call.toolName) +
                  R"(,"input":)" + MockCall::toolInput() + '}';
    } else {
        content = R"({"type":"text","text":)" + jsonString(call.textPieces().join()) + '}';
    }
    MockReply out = reply(200, call.seq);
    out.body =
        messageHead(call) + ",\"content\":[" + content + "],\"stop_reason\":" + stopReason(call) +
        ",\"stop_sequence\":null,\"usage\":{\"input_tokens\":" + QByteArray::number(s.inputTokens) +
        ",\"output_tokens\":" + QByteArray::number(s.outputTokens) +
        ",\"cache_creation_input_tokens\":" + QByteArray::number(s.cacheWriteTokens) +
        ",\"cache_read_input_tokens\":" + QByteArray::number(s.cacheReadTokens) + "}}";
    return out;
}

MockReply AnthropicMock::streamedMessage(const MockCall &call)
{
    const MockScenario &s = call.scenario;
    MockReply out = reply(200, call.seq);
    out.streamed = true;
    out.contentType = "text/event-stream";
    out.addEvent("message_start",
                 R"({"type":"message_start","message":)" + messageHead(call) +
                     R"(,"content":[],"stop_reason":null,"stop_sequence":null,)"
                     R"("usage":{"input_tokens":)" +
                     QByteArray::number(s.inputTokens) +
                     ",\"cache_creation_input_tokens\":" + QByteArray::number(s.cacheWriteTokens) +
                     ",\"cache_read_input_tokens\":" + QByteArray::number(s.cacheReadTokens) +
                     ",\"output_tokens\":1}}}");
    out.addEvent("content_block_start", contentBlockStart(call));
    out.addEvent("ping", R"({"type": "ping"})");
    for (const QByteArray &piece : call.scenario.tool ? call.toolInputPieces() : call.textPieces())
        out.addEvent("content_block_delta", contentBlockDelta(call, piece));
    out.addEvent("content_block_stop", R"({"type":"content_block_stop","index":0})");
    out.addEvent("message_delta", R"({"type":"message_delta","delta":{"stop_reason":)" +
                                      stopReason(call) +
                                      R"(,"stop_sequence":null},"usage":{"output_tokens":)" +
                                      QByteArray::number(s.outputTokens) + "}}");
    out.addEvent("message_stop", R"({"type":"message_stop"})");
    return out;
}

// The members every message object starts with, up to and excluding "content".
QByteArray AnthropicMock::messageHead(const MockCall &call)
{
    return R"({"id":"msg_mock_)" + QByteArray::number(call.seq) +
           R"(","type":"message","role":"assistant","model":)" + jsonString(call.model);
}

QByteArray AnthropicMock::contentBlockStart(const MockCall &call)
{
    if (!call.scenario.tool)
        return R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})";
    return R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use",)"
           R"("id":"toolu_mock_1","name":)" +
           jsonString(call.toolName) + R"(,"input":{}}})";
}

QByteArray AnthropicMock::contentBlockDelta(const MockCall &call, QByteArrayView piece)
{
    const QByteArray delta =
        call.scenario.tool
            ? R"({"type":"input_json_delta","partial_json":)" + jsonString(piece) + '}'
            : R"({"type":"text_delta","text":)" + jsonString(piece) + '}';
    return R"({"type":"content_block_delta","index":0,"delta":)" + delta + '}';
}

QByteArray AnthropicMock::stopReason(const MockCall &call)
{
    return call.scenario.tool ? QByteArrayLiteral("\"tool_use\"")
                              : QByteArrayLiteral("\"end_turn\"");
}

MockReply AnthropicMock::reply(int status, quint64 seq)
{
    MockReply out;
    out.status = status;
    out.headers.append({QByteArrayLiteral("request-id"), "req_mock_" + QByteArray::number(seq)});
    return out;
}

} // namespace tollgate::testsupport
