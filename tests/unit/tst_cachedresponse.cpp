#include "api/streammeter.h"
#include "cache/cachedresponse.h"
#include "cache/streamrecorder.h"
#include "http/sseparser.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using tollgate::api::Flavor;
using tollgate::api::StreamMeter;
using tollgate::api::Usage;
using tollgate::cache::CachedResponse;
using tollgate::cache::StreamRecorder;
using tollgate::http::SseEvent;
using tollgate::http::SseParser;

namespace {

Usage usage(qint64 input, qint64 output, qint64 cacheWrite, qint64 cacheRead)
{
    Usage u;
    u.inputTokens = input;
    u.outputTokens = output;
    u.cacheWriteTokens = cacheWrite;
    u.cacheReadTokens = cacheRead;
    return u;
}

QList<SseEvent> parseAll(const QList<QByteArray> &raw)
{
    SseParser parser;
    QList<SseEvent> out;
    for (const QByteArray &event : raw)
        out += parser.feed(event);
    return out;
}

QList<QByteArray> rawEvents(const QByteArray &stream)
{
    QList<QByteArray> out;
    SseParser parser;
    for (const SseEvent &e : parser.feed(stream))
        out.append(e.raw);
    return out;
}

QJsonObject object(const QByteArray &json)
{
    return QJsonDocument::fromJson(json).object();
}

// Event names in order (Anthropic), or each chunk's kind (OpenAI) for sequence checks.
QStringList names(const QList<QByteArray> &raw)
{
    QStringList out;
    for (const SseEvent &e : parseAll(raw))
        out.append(QString::fromLatin1(e.event));
    return out;
}

Usage metered(Flavor flavor, const QList<QByteArray> &raw, bool *completed = nullptr)
{
    StreamMeter meter(flavor);
    for (const SseEvent &e : parseAll(raw))
        meter.onEvent(e);
    if (completed)
        *completed = meter.completed();
    return meter.usage();
}

CachedResponse streamEntry(Flavor flavor, const QByteArray &stream, Usage u)
{
    CachedResponse r;
    r.flavor = flavor;
    r.contentType = "text/event-stream; charset=utf-8";
    r.events = rawEvents(stream);
    r.usage = u;
    r.model = QStringLiteral("m");
    return r;
}

CachedResponse bodyEntry(Flavor flavor, const QByteArray &body, Usage u)
{
    CachedResponse r;
    r.flavor = flavor;
    r.contentType = "application/json";
    r.body = body;
    r.usage = u;
    r.model = QStringLiteral("m");
    return r;
}

// Recorded from the live API shape: text then a tool call, pieces of input JSON, pings, CRLF-free.
const QByteArray kAnthropicToolStream =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\","
    "\"role\":\"assistant\",\"model\":\"claude-sonnet-4-20250514\",\"content\":[],"
    "\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,"
    "\"cache_creation_input_tokens\":100,\"cache_read_input_tokens\":300,"
    "\"output_tokens\":1}}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
    "\"text\":\"\"}}\n\n"
    "event: ping\n"
    "data: {\"type\": \"ping\"}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"Let me \"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"check \\u00e9\\\"x\\\".\"}}\n\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":"
    "\"tool_use\",\"id\":\"toolu_01\",\"name\":\"get_weather\",\"input\":{}}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \\\"Par\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"is\\\", \\\"days\\\": 3}\"}}\n\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\","
    "\"stop_sequence\":null},\"usage\":{\"output_tokens\":89}}\n\n"
    "event: message_stop\n"
    "data: {\"type\":\"message_stop\"}\n\n";

const QByteArray kOpenAiToolStream =
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
    "\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},\"logprobs\":null,"
    "\"finish_reason\":null}],\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
    "\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"content\":\"Checking \"},\"logprobs\":null,\"finish_reason\":null}],"
    "\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
    "\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"content\":\"now.\"},\"logprobs\":null,\"finish_reason\":null}],"
    "\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
    "\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\","
    "\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"logprobs\":null,"
    "\"finish_reason\":null}],\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
    "\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]},"
    "\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
    "\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Paris\\\"}\"}}]},"
    "\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
    "\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,"
    "\"delta\":{},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
    "\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_1\",\"choices\":[],"
    "\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":30,\"total_tokens\":150,"
    "\"prompt_tokens_details\":{\"cached_tokens\":20}}}\n\n"
    "data: [DONE]\n\n";

const QByteArray kAnthropicThinkingBody =
    R"({"id":"msg_02","type":"message","role":"assistant","model":"claude-sonnet-4-20250514",)"
    R"("content":[{"type":"thinking","thinking":"Two plus two.","signature":"sig=="},)"
    R"({"type":"redacted_thinking","data":"opaque"},{"type":"text","text":"4"}],)"
    R"("stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":10,)"
    R"("cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":12}})";

} // namespace

class TestCachedResponse : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // --- Anthropic ------------------------------------------------------------------------

    void anthropicStreamToJson()
    {
        const CachedResponse entry =
            streamEntry(Flavor::Anthropic, kAnthropicToolStream, usage(25, 89, 100, 300));
        const QJsonObject message = object(entry.toJsonBody());
        QCOMPARE(message.value("id").toString(), "msg_01");
        QCOMPARE(message.value("type").toString(), "message");
        QCOMPARE(message.value("role").toString(), "assistant");
        QCOMPARE(message.value("model").toString(), "claude-sonnet-4-20250514");
        QCOMPARE(message.value("stop_reason").toString(), "tool_use");
        QVERIFY(message.value("stop_sequence").isNull());
        const QJsonArray content = message.value("content").toArray();
        QCOMPARE(content.size(), 2);
        QCOMPARE(
            content.at(0).toObject(),
            QJsonObject({{"type", "text"}, {"text", QStringLiteral("Let me check \u00e9\"x\".")}}));
        QCOMPARE(content.at(1).toObject(),
                 object(R"({"type":"tool_use","id":"toolu_01","name":"get_weather",)"
                        R"("input":{"city":"Paris","days":3}})"));
        QCOMPARE(message.value("usage").toObject(),
                 object(R"({"input_tokens":25,"cache_creation_input_tokens":100,)"
                        R"("cache_read_input_tokens":300,"output_tokens":89})"));
    }

    void anthropicJsonToStreamHasTheApiEventOrder()
    {
        const CachedResponse live =
            streamEntry(Flavor::Anthropic, kAnthropicToolStream, usage(25, 89, 100, 300));
        const CachedResponse entry =
            bodyEntry(Flavor::Anthropic, live.toJsonBody(), usage(25, 89, 100, 300));
        const QList<QByteArray> events = entry.toSseEvents(false);
        QCOMPARE(names(events),
                 QStringList({"message_start", "content_block_start", "ping", "content_block_delta",
                              "content_block_stop", "content_block_start", "content_block_delta",
                              "content_block_stop", "message_delta", "message_stop"}));
        for (const SseEvent &e : parseAll(events)) {
            // Every data payload is one JSON object whose type names its event.
            QCOMPARE(object(e.data).value("type").toString(), QString::fromLatin1(e.event));
            QVERIFY(e.raw.endsWith("\n\n"));
        }
        const QJsonObject start = object(parseAll(events).first().data).value("message").toObject();
        QCOMPARE(start.value("content").toArray().size(), 0);
        QVERIFY(start.value("stop_reason").isNull());
        QCOMPARE(start.value("usage").toObject().value("input_tokens").toInt(), 25);
        bool completed = false;
        QCOMPARE(metered(Flavor::Anthropic, events, &completed), usage(25, 89, 100, 300));
        QVERIFY(completed);
    }

    void anthropicRoundTripKeepsTextToolsAndUsage()
    {
        const CachedResponse live =
            streamEntry(Flavor::Anthropic, kAnthropicToolStream, usage(25, 89, 100, 300));
        const QByteArray json = live.toJsonBody();
        const CachedResponse fromJson = bodyEntry(Flavor::Anthropic, json, live.usage);
        const CachedResponse replayed =
            streamEntry(Flavor::Anthropic, fromJson.toSseEvents(false).join(), live.usage);
        QCOMPARE(object(replayed.toJsonBody()), object(json));
    }

    void anthropicThinkingAndOpaqueBlocksRoundTrip()
    {
        const CachedResponse entry =
            bodyEntry(Flavor::Anthropic, kAnthropicThinkingBody, usage(10, 12, 0, 0));
        const QList<QByteArray> events = entry.toSseEvents(false);
        QCOMPARE(names(events),
                 QStringList({"message_start", "content_block_start", "ping", "content_block_delta",
                              "content_block_delta", "content_block_stop", "content_block_start",
                              "content_block_stop", "content_block_start", "content_block_delta",
                              "content_block_stop", "message_delta", "message_stop"}));
        const CachedResponse replayed =
            streamEntry(Flavor::Anthropic, events.join(), usage(10, 12, 0, 0));
        QCOMPARE(object(replayed.toJsonBody()), object(kAnthropicThinkingBody));
    }

    void anthropicIncompleteStreamIsNoBody()
    {
        QByteArray cut = kAnthropicToolStream;
        cut.chop(QByteArray("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n").size());
        QVERIFY(streamEntry(Flavor::Anthropic, cut, {}).toJsonBody().isEmpty());
        const QByteArray failed =
            kAnthropicToolStream.left(kAnthropicToolStream.indexOf("event: message_delta")) +
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
            "\"message\":\"Overloaded\"}}\n\n";
        QVERIFY(streamEntry(Flavor::Anthropic, failed, {}).toJsonBody().isEmpty());
    }

    // --- OpenAI ---------------------------------------------------------------------------

    void openAiStreamToJson()
    {
        const CachedResponse entry =
            streamEntry(Flavor::OpenAI, kOpenAiToolStream, usage(100, 30, 0, 20));
        const QJsonObject completion = object(entry.toJsonBody());
        QCOMPARE(completion.value("object").toString(), "chat.completion");
        QCOMPARE(completion.value("id").toString(), "chatcmpl-1");
        QCOMPARE(completion.value("created").toInteger(), 1700000000);
        QCOMPARE(completion.value("model").toString(), "gpt-4o-2024-08-06");
        QCOMPARE(completion.value("system_fingerprint").toString(), "fp_1");
        const QJsonObject choice = completion.value("choices").toArray().at(0).toObject();
        QCOMPARE(choice.value("index").toInt(-1), 0);
        QCOMPARE(choice.value("finish_reason").toString(), "tool_calls");
        const QJsonObject message = choice.value("message").toObject();
        QCOMPARE(message.value("role").toString(), "assistant");
        QCOMPARE(message.value("content").toString(), "Checking now.");
        QCOMPARE(message.value("tool_calls").toArray(),
                 QJsonDocument::fromJson(R"([{"id":"call_1","type":"function","function":)"
                                         R"({"name":"get_weather","arguments":)"
                                         "\"{\\\"city\\\":\\\"Paris\\\"}\"}}]")
                     .array());
        QCOMPARE(completion.value("usage").toObject().value("prompt_tokens").toInt(), 120);
        QCOMPARE(completion.value("usage").toObject().value("completion_tokens").toInt(), 30);
    }

    void openAiJsonToStreamWithUsageChunk()
    {
        const CachedResponse live =
            streamEntry(Flavor::OpenAI, kOpenAiToolStream, usage(100, 30, 0, 20));
        const CachedResponse entry =
            bodyEntry(Flavor::OpenAI, live.toJsonBody(), usage(100, 30, 0, 20));
        const QList<QByteArray> events = entry.toSseEvents(true);
        const QList<SseEvent> parsed = parseAll(events);
        QCOMPARE(parsed.last().data, QByteArray("[DONE]"));
        QCOMPARE(parsed.last().raw, QByteArray("data: [DONE]\n\n"));
        QVERIFY(StreamMeter::isOpenAiUsageOnlyChunk(parsed.at(parsed.size() - 2)));
        for (qsizetype i = 0; i + 2 < parsed.size(); ++i) {
            const QJsonObject chunk = object(parsed.at(i).data);
            QVERIFY(parsed.at(i).event.isEmpty());
            QCOMPARE(chunk.value("object").toString(), "chat.completion.chunk");
            QCOMPARE(chunk.value("id").toString(), "chatcmpl-1");
            QVERIFY(chunk.value("usage").isNull()); // present and null, as with include_usage
            QCOMPARE(chunk.value("choices").toArray().size(), 1);
        }
        // Role first, finish reason only on the last choice chunk.
        const QJsonObject first =
            object(parsed.first().data).value("choices").toArray().at(0).toObject();
        QCOMPARE(first.value("delta").toObject().value("role").toString(), "assistant");
        const QJsonObject finish =
            object(parsed.at(parsed.size() - 3).data).value("choices").toArray().at(0).toObject();
        QCOMPARE(finish.value("finish_reason").toString(), "tool_calls");
        bool completed = false;
        QCOMPARE(metered(Flavor::OpenAI, events, &completed), usage(100, 30, 0, 20));
        QVERIFY(completed);
        // And back: the same completion.
        QCOMPARE(object(streamEntry(Flavor::OpenAI, events.join(), {}).toJsonBody()),
                 object(live.toJsonBody()));
    }

    void openAiJsonToStreamWithoutUsageChunk()
    {
        const QByteArray body =
            R"({"id":"chatcmpl-2","object":"chat.completion","created":1700000001,)"
            R"("model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant",)"
            R"("content":"Hello there","refusal":null},"logprobs":null,"finish_reason":"stop"}],)"
            R"("usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}})";
        const QList<QByteArray> events = bodyEntry(Flavor::OpenAI, body, {}).toSseEvents(false);
        for (const SseEvent &e : parseAll(events)) {
            QVERIFY(!StreamMeter::isOpenAiUsageOnlyChunk(e));
            QVERIFY(!e.data.contains("\"usage\""));
        }
        const QJsonObject back =
            object(streamEntry(Flavor::OpenAI, events.join(), {}).toJsonBody());
        const QJsonObject message =
            back.value("choices").toArray().at(0).toObject().value("message").toObject();
        QCOMPARE(message.value("content").toString(), "Hello there");
        QVERIFY(!message.contains("tool_calls"));
        QCOMPARE(back.value("choices").toArray().at(0).toObject().value("finish_reason").toString(),
                 "stop");
    }

    void openAiStreamWithoutUsageChunkUsesStoredUsage()
    {
        QByteArray stream = kOpenAiToolStream;
        const qsizetype usageAt = stream.lastIndexOf("data: {");
        stream.remove(usageAt, stream.indexOf("\n\n", usageAt) + 2 - usageAt);
        const QJsonObject completion =
            object(streamEntry(Flavor::OpenAI, stream, usage(100, 30, 0, 20)).toJsonBody());
        QCOMPARE(completion.value("usage").toObject(),
                 object(R"({"prompt_tokens":120,"completion_tokens":30,"total_tokens":150,)"
                        R"("prompt_tokens_details":{"cached_tokens":20}})"));
    }

    void openAiIncompleteStreamIsNoBody()
    {
        QByteArray cut = kOpenAiToolStream;
        cut.chop(QByteArray("data: [DONE]\n\n").size());
        QVERIFY(streamEntry(Flavor::OpenAI, cut, {}).toJsonBody().isEmpty());
    }

    // --- same kind: the original bytes ----------------------------------------------------

    void sameKindReplaysOriginalBytes()
    {
        const CachedResponse anthropic =
            streamEntry(Flavor::Anthropic, kAnthropicToolStream, usage(25, 89, 100, 300));
        QCOMPARE(anthropic.toSseEvents(false).join(), kAnthropicToolStream);
        QCOMPARE(anthropic.toSseEvents(true).join(), kAnthropicToolStream);
        QCOMPARE(anthropic.contentTypeFor(true), QByteArray("text/event-stream; charset=utf-8"));
        QCOMPARE(anthropic.contentTypeFor(false), QByteArray("application/json"));

        const CachedResponse openAi =
            streamEntry(Flavor::OpenAI, kOpenAiToolStream, usage(100, 30, 0, 20));
        QCOMPARE(openAi.toSseEvents(true).join(), kOpenAiToolStream);

        CachedResponse body = bodyEntry(Flavor::Anthropic, kAnthropicThinkingBody, {});
        body.contentType = "application/json; charset=utf-8";
        QCOMPARE(body.toJsonBody(), kAnthropicThinkingBody);
        QCOMPARE(body.contentTypeFor(false), QByteArray("application/json; charset=utf-8"));
    }

    void openAiReplayHidesTheGatewaysUsageChunk()
    {
        // The gateway asks for usage on every stream; a client that did not gets the stream
        // without the usage chunk, exactly as on the live path.
        const CachedResponse entry =
            streamEntry(Flavor::OpenAI, kOpenAiToolStream, usage(100, 30, 0, 20));
        const QList<QByteArray> hidden = entry.toSseEvents(false);
        QCOMPARE(hidden.size(), entry.events.size() - 1);
        QList<QByteArray> expected = entry.events;
        expected.removeAt(expected.size() - 2);
        QCOMPARE(hidden, expected);
    }

    // --- storage --------------------------------------------------------------------------

    void serializationRoundTrip_data()
    {
        QTest::addColumn<bool>("stream");
        QTest::newRow("stream") << true;
        QTest::newRow("body") << false;
    }

    void serializationRoundTrip()
    {
        QFETCH(bool, stream);
        CachedResponse r =
            stream ? streamEntry(Flavor::OpenAI, kOpenAiToolStream, usage(100, 30, 0, 20))
                   : bodyEntry(Flavor::Anthropic, kAnthropicThinkingBody, usage(10, 12, 3, 4));
        r.status = 201;
        r.model = QStringLiteral("mödel");
        r.createdAtMs = 1700000000123;
        r.expiresAtMs = 1700003600123;
        const QByteArray bytes = r.serialize();
        QVERIFY(bytes.startsWith("TGCR"));
        const auto back = CachedResponse::deserialize(bytes);
        QVERIFY2(back.ok(), qPrintable(back.ok() ? QString() : back.error().message));
        QCOMPARE(back->flavor, r.flavor);
        QCOMPARE(back->status, 201);
        QCOMPARE(back->contentType, r.contentType);
        QCOMPARE(back->body, r.body);
        QCOMPARE(back->events, r.events);
        QCOMPARE(back->usage, r.usage);
        QCOMPARE(back->model, r.model);
        QCOMPARE(back->createdAtMs, r.createdAtMs);
        QCOMPARE(back->expiresAtMs, r.expiresAtMs);
    }

    void corruptBytesAreRefused()
    {
        const QByteArray good =
            streamEntry(Flavor::Anthropic, kAnthropicToolStream, {}).serialize();
        QVERIFY(!CachedResponse::deserialize(QByteArray()).ok());
        QVERIFY(!CachedResponse::deserialize(QByteArray("XXXX") + good.mid(4)).ok());
        QVERIFY(!CachedResponse::deserialize(good.left(good.size() - 3)).ok());
        QVERIFY(!CachedResponse::deserialize(good + "x").ok());
        QByteArray future = good;
        future[5] = 9; // format version 9
        QVERIFY(!CachedResponse::deserialize(future).ok());
    }

    void sizeCountsPayloadAndOverhead()
    {
        const CachedResponse empty;
        const CachedResponse stream = streamEntry(Flavor::Anthropic, kAnthropicToolStream, {});
        QVERIFY(empty.sizeBytes() > 0);
        QVERIFY(stream.sizeBytes() > kAnthropicToolStream.size());
        CachedResponse bigger = stream;
        bigger.events.append(QByteArray(1000, 'x'));
        QVERIFY(bigger.sizeBytes() >= stream.sizeBytes() + 1000);
    }

    void recorderKeepsEventsUntilTheLimit()
    {
        StreamRecorder recorder(kAnthropicToolStream.size());
        SseParser parser;
        for (const SseEvent &e : parser.feed(kAnthropicToolStream))
            recorder.onEvent(e);
        QVERIFY(!recorder.overflowed());
        QCOMPARE(recorder.takeEvents().join(), kAnthropicToolStream);

        StreamRecorder small(100);
        SseParser again;
        for (const SseEvent &e : again.feed(kAnthropicToolStream))
            small.onEvent(e);
        QVERIFY(small.overflowed());
        QVERIFY(small.takeEvents().isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestCachedResponse)
#include "tst_cachedresponse.moc"
