#include "cache/cachedresponse.h"

#include "api/streammeter.h"
#include "http/sseparser.h"

#include <QDataStream>
#include <QIODevice>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonValue>

#include <algorithm>
#include <map>
#include <vector>

namespace tollgate::cache {

namespace {

// Rough bookkeeping cost of a QByteArray in a list and of an entry with its node, so thousands
// of one-token events or empty bodies still count against the byte budget.
constexpr qint64 kPerEventOverhead = 48;
constexpr qint64 kPerEntryOverhead = 256;

constexpr char kMagic[4] = {'T', 'G', 'C', 'R'};
constexpr quint16 kFormatVersion = 1;

QLatin1StringView lit(const char *text)
{
    return QLatin1StringView(text);
}

QByteArray compact(const QJsonObject &object)
{
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}

// Compact JSON of any value, scalars included (QJsonDocument only writes objects and arrays).
QByteArray compact(const QJsonValue &value)
{
    if (value.isObject())
        return compact(value.toObject());
    const QByteArray wrapped = QJsonDocument(QJsonArray{value}).toJson(QJsonDocument::Compact);
    return wrapped.mid(1, wrapped.size() - 2);
}

QByteArray namedEvent(QByteArrayView name, const QByteArray &data)
{
    return "event: " + name.toByteArray() + "\ndata: " + data + "\n\n";
}

QByteArray dataEvent(const QByteArray &data)
{
    return "data: " + data + "\n\n";
}

QJsonObject parseObject(const QByteArray &json)
{
    return QJsonDocument::fromJson(json).object();
}

QList<http::SseEvent> parseEvents(const QList<QByteArray> &raw)
{
    http::SseParser parser;
    QList<http::SseEvent> out;
    out.reserve(raw.size());
    for (const QByteArray &event : raw)
        out += parser.feed(event);
    return out;
}

bool tracksToolInput(const QJsonObject &block)
{
    const QString type = block.value(lit("type")).toString();
    return type == lit("tool_use") || type == lit("server_tool_use") || type == lit("mcp_tool_use");
}

// --- Anthropic: events -> message -----------------------------------------------------------

// One content block while its deltas arrive. Deltas are joined on the side and written into the
// block once, because growing a string inside a QJsonObject copies it every time.
struct BlockState {
    QJsonObject block;
    QString text;
    QString thinking;
    QByteArray inputJson;
    QJsonArray citations;
    bool hasText = false;
    bool hasThinking = false;
    bool hasCitations = false;

    bool finish()
    {
        if (hasText)
            block.insert(lit("text"), block.value(lit("text")).toString() + text);
        if (hasThinking)
            block.insert(lit("thinking"), block.value(lit("thinking")).toString() + thinking);
        if (hasCitations) {
            QJsonArray all = block.value(lit("citations")).toArray();
            for (const QJsonValue citation : citations)
                all.append(citation);
            block.insert(lit("citations"), all);
        }
        // Without deltas the input in content_block_start is the whole input.
        if (tracksToolInput(block) && !inputJson.trimmed().isEmpty()) {
            QJsonParseError error{};
            const QJsonDocument input = QJsonDocument::fromJson(inputJson, &error);
            if (error.error != QJsonParseError::NoError || !input.isObject())
                return false;
            block.insert(lit("input"), input.object());
        }
        hasText = hasThinking = hasCitations = false;
        inputJson.clear();
        return true;
    }
};

QByteArray anthropicBodyFromEvents(const QList<http::SseEvent> &events)
{
    QJsonObject message;
    std::vector<BlockState> blocks;
    bool started = false;
    bool stopped = false;

    auto blockAt = [&](const QJsonObject &data) -> BlockState * {
        const qint64 index = data.value(lit("index")).toInteger(-1);
        return index >= 0 && index < qint64(blocks.size()) ? &blocks[size_t(index)] : nullptr;
    };

    for (const http::SseEvent &event : events) {
        if (event.event == "ping")
            continue;
        const QJsonObject data = parseObject(event.data);
        const QString type = event.event.isEmpty() ? data.value(lit("type")).toString()
                                                   : QString::fromLatin1(event.event);
        if (type == lit("message_start")) {
            message = data.value(lit("message")).toObject();
            for (const QJsonValue block : message.value(lit("content")).toArray())
                blocks.push_back(BlockState{block.toObject(), {}, {}, {}, {}, false, false, false});
            started = true;
        } else if (type == lit("error")) {
            return {};
        } else if (!started) {
            continue;
        } else if (type == lit("content_block_start")) {
            const qint64 index = data.value(lit("index")).toInteger(-1);
            // Blocks arrive in index order; a gap would mean a lost event.
            if (index < 0 || index > qint64(blocks.size()))
                return {};
            if (index == qint64(blocks.size()))
                blocks.emplace_back();
            blocks[size_t(index)] = BlockState{
                data.value(lit("content_block")).toObject(), {}, {}, {}, {}, false, false, false};
        } else if (type == lit("content_block_delta")) {
            BlockState *state = blockAt(data);
            if (!state)
                return {};
            const QJsonObject delta = data.value(lit("delta")).toObject();
            const QString deltaType = delta.value(lit("type")).toString();
            if (deltaType == lit("text_delta")) {
                state->text += delta.value(lit("text")).toString();
                state->hasText = true;
            } else if (deltaType == lit("input_json_delta")) {
                state->inputJson += delta.value(lit("partial_json")).toString().toUtf8();
            } else if (deltaType == lit("thinking_delta")) {
                state->thinking += delta.value(lit("thinking")).toString();
                state->hasThinking = true;
            } else if (deltaType == lit("signature_delta")) {
                state->block.insert(lit("signature"), delta.value(lit("signature")));
            } else if (deltaType == lit("citations_delta")) {
                state->citations.append(delta.value(lit("citation")));
                state->hasCitations = true;
            }
        } else if (type == lit("content_block_stop")) {
            BlockState *state = blockAt(data);
            if (!state || !state->finish())
                return {};
        } else if (type == lit("message_delta")) {
            const QJsonObject delta = data.value(lit("delta")).toObject();
            for (auto it = delta.begin(); it != delta.end(); ++it) {
                if (it.key() == lit("container") && it.value().isNull())
                    continue;
                message.insert(it.key(), it.value());
            }
            // Counts in message_delta are cumulative totals: overwrite, never add.
            QJsonObject usage = message.value(lit("usage")).toObject();
            const QJsonObject update = data.value(lit("usage")).toObject();
            for (auto it = update.begin(); it != update.end(); ++it) {
                if (!it.value().isNull() || it.key() == lit("output_tokens"))
                    usage.insert(it.key(), it.value());
            }
            message.insert(lit("usage"), usage);
        } else if (type == lit("message_stop")) {
            stopped = true;
        }
    }
    if (!started || !stopped)
        return {};
    QJsonArray content;
    for (BlockState &state : blocks) {
        if (!state.finish())
            return {};
        content.append(state.block);
    }
    message.insert(lit("content"), content);
    return compact(message);
}

// --- OpenAI: chunks -> chat.completion --------------------------------------------------------

struct ToolCallState {
    QJsonValue id;
    QString type;
    QString name;
    QString arguments;
};

struct ChoiceState {
    QString role;
    QString content;
    bool hasContent = false;
    QString refusal;
    bool hasRefusal = false;
    std::map<qint64, ToolCallState> toolCalls;
    bool hasFunctionCall = false;
    QString functionName;
    QString functionArguments;
    QJsonValue finishReason = QJsonValue::Null;
    bool hasLogprobs = false;
    QJsonArray logprobContent;
    QJsonArray logprobRefusal;
};

QJsonObject openAiUsageObject(const api::Usage &usage)
{
    const qint64 prompt = usage.inputTokens + usage.cacheReadTokens;
    return QJsonObject{
        {lit("prompt_tokens"), prompt},
        {lit("completion_tokens"), usage.outputTokens},
        {lit("total_tokens"), prompt + usage.outputTokens},
        {lit("prompt_tokens_details"), QJsonObject{{lit("cached_tokens"), usage.cacheReadTokens}}},
    };
}

void accumulateChoice(ChoiceState &state, const QJsonObject &choice)
{
    const QJsonObject delta = choice.value(lit("delta")).toObject();
    const QJsonValue role = delta.value(lit("role"));
    if (role.isString())
        state.role = role.toString();
    const QJsonValue content = delta.value(lit("content"));
    if (content.isString()) {
        state.content += content.toString();
        state.hasContent = true;
    }
    const QJsonValue refusal = delta.value(lit("refusal"));
    if (refusal.isString()) {
        state.refusal += refusal.toString();
        state.hasRefusal = true;
    }
    const QJsonArray toolCalls = delta.value(lit("tool_calls")).toArray();
    for (qsizetype i = 0; i < toolCalls.size(); ++i) {
        const QJsonObject call = toolCalls.at(i).toObject();
        ToolCallState &tool = state.toolCalls[call.value(lit("index")).toInteger(i)];
        const QJsonValue id = call.value(lit("id"));
        if (id.isString() && !id.toString().isEmpty())
            tool.id = id;
        const QJsonValue type = call.value(lit("type"));
        if (type.isString())
            tool.type = type.toString();
        const QJsonObject function = call.value(lit("function")).toObject();
        const QString name = function.value(lit("name")).toString();
        if (!name.isEmpty())
            tool.name = name;
        tool.arguments += function.value(lit("arguments")).toString();
    }
    const QJsonValue functionCall = delta.value(lit("function_call"));
    if (functionCall.isObject()) {
        state.hasFunctionCall = true;
        const QJsonObject function = functionCall.toObject();
        const QString name = function.value(lit("name")).toString();
        if (!name.isEmpty())
            state.functionName = name;
        state.functionArguments += function.value(lit("arguments")).toString();
    }
    const QJsonValue finish = choice.value(lit("finish_reason"));
    if (!finish.isNull() && !finish.isUndefined())
        state.finishReason = finish;
    const QJsonValue logprobs = choice.value(lit("logprobs"));
    if (logprobs.isObject()) {
        state.hasLogprobs = true;
        const QJsonObject parts = logprobs.toObject();
        for (const QJsonValue token : parts.value(lit("content")).toArray())
            state.logprobContent.append(token);
        for (const QJsonValue token : parts.value(lit("refusal")).toArray())
            state.logprobRefusal.append(token);
    }
}

QJsonObject finalChoice(qint64 index, const ChoiceState &state)
{
    QJsonObject message{
        {lit("role"), state.role.isEmpty() ? QStringLiteral("assistant") : state.role},
        {lit("content"), state.hasContent ? QJsonValue(state.content) : QJsonValue()},
        {lit("refusal"), state.hasRefusal ? QJsonValue(state.refusal) : QJsonValue()},
    };
    if (!state.toolCalls.empty()) {
        QJsonArray calls;
        for (const auto &[_, tool] : state.toolCalls) {
            calls.append(QJsonObject{
                {lit("id"), tool.id},
                {lit("type"), tool.type.isEmpty() ? QStringLiteral("function") : tool.type},
                {lit("function"),
                 QJsonObject{{lit("name"), tool.name}, {lit("arguments"), tool.arguments}}},
            });
        }
        message.insert(lit("tool_calls"), calls);
    }
    if (state.hasFunctionCall) {
        message.insert(lit("function_call"),
                       QJsonObject{{lit("name"), state.functionName},
                                   {lit("arguments"), state.functionArguments}});
    }
    QJsonValue logprobs;
    if (state.hasLogprobs) {
        logprobs = QJsonObject{{lit("content"), state.logprobContent},
                               {lit("refusal"), state.logprobRefusal}};
    }
    return QJsonObject{
        {lit("index"), index},
        {lit("message"), message},
        {lit("logprobs"), logprobs},
        {lit("finish_reason"), state.finishReason},
    };
}

QByteArray openAiBodyFromEvents(const QList<http::SseEvent> &events, const api::Usage &usage)
{
    QJsonObject completion;
    QJsonValue usageObject;
    std::map<qint64, ChoiceState> choices;
    bool done = false;
    bool sawChunk = false;
    for (const http::SseEvent &event : events) {
        if (event.data == "[DONE]") {
            done = true;
            continue;
        }
        const QJsonObject chunk = parseObject(event.data);
        if (chunk.isEmpty())
            continue;
        if (chunk.contains(lit("error")))
            return {};
        if (!sawChunk) {
            sawChunk = true;
            completion.insert(lit("id"), chunk.value(lit("id")));
            completion.insert(lit("created"), chunk.value(lit("created")));
            completion.insert(lit("model"), chunk.value(lit("model")));
        }
        for (const char *key : {"system_fingerprint", "service_tier"}) {
            const QJsonValue value = chunk.value(lit(key));
            if (!value.isUndefined() && !value.isNull())
                completion.insert(lit(key), value);
        }
        const QJsonValue chunkUsage = chunk.value(lit("usage"));
        if (chunkUsage.isObject())
            usageObject = chunkUsage;
        const QJsonArray chunkChoices = chunk.value(lit("choices")).toArray();
        for (qsizetype i = 0; i < chunkChoices.size(); ++i) {
            const QJsonObject choice = chunkChoices.at(i).toObject();
            accumulateChoice(choices[choice.value(lit("index")).toInteger(i)], choice);
        }
    }
    if (!done || !sawChunk)
        return {};
    completion.insert(lit("object"), lit("chat.completion"));
    QJsonArray finalChoices;
    for (const auto &[index, state] : choices)
        finalChoices.append(finalChoice(index, state));
    completion.insert(lit("choices"), finalChoices);
    if (usageObject.isObject())
        completion.insert(lit("usage"), usageObject);
    else if (!usage.isEmpty())
        completion.insert(lit("usage"), openAiUsageObject(usage));
    return compact(completion);
}

// --- Anthropic: message -> events -----------------------------------------------------------

QList<QByteArray> anthropicEventsFromBody(const QJsonObject &message)
{
    const QJsonValue contentValue = message.value(lit("content"));
    if (!contentValue.isArray())
        return {};
    const QJsonArray content = contentValue.toArray();
    QList<QByteArray> out;

    // message_start carries the message with no content and no stop yet; its output count is
    // the provider's early estimate, so take the smallest plausible value, as the API does.
    QJsonObject start = message;
    start.insert(lit("content"), QJsonArray());
    start.insert(lit("stop_reason"), QJsonValue());
    start.insert(lit("stop_sequence"), QJsonValue());
    if (start.contains(lit("stop_details")))
        start.insert(lit("stop_details"), QJsonValue());
    const QJsonObject usage = message.value(lit("usage")).toObject();
    const qint64 outputTokens = usage.value(lit("output_tokens")).toInteger();
    QJsonObject startUsage = usage;
    startUsage.insert(lit("output_tokens"), qMin<qint64>(1, outputTokens));
    start.insert(lit("usage"), startUsage);
    out.append(namedEvent("message_start",
                          "{\"type\":\"message_start\",\"message\":" + compact(start) + '}'));

    for (qsizetype i = 0; i < content.size(); ++i) {
        const QJsonObject block = content.at(i).toObject();
        const QByteArray index = QByteArray::number(i);
        const QString type = block.value(lit("type")).toString();
        QJsonObject startBlock = block;
        QList<QByteArray> deltas;
        if (type == lit("text")) {
            startBlock.insert(lit("text"), QString());
            const QJsonValue citations = block.value(lit("citations"));
            if (citations.isArray() && !citations.toArray().isEmpty()) {
                startBlock.remove(lit("citations"));
                for (const QJsonValue citation : citations.toArray())
                    deltas.append(
                        "{\"type\":\"citations_delta\",\"citation\":" + compact(citation) + '}');
            }
            const QString text = block.value(lit("text")).toString();
            if (!text.isEmpty())
                deltas.append("{\"type\":\"text_delta\",\"text\":" + compact(QJsonValue(text)) +
                              '}');
        } else if (type == lit("thinking")) {
            startBlock.insert(lit("thinking"), QString());
            startBlock.insert(lit("signature"), QString());
            const QString thinking = block.value(lit("thinking")).toString();
            if (!thinking.isEmpty())
                deltas.append("{\"type\":\"thinking_delta\",\"thinking\":" +
                              compact(QJsonValue(thinking)) + '}');
            const QJsonValue signature = block.value(lit("signature"));
            if (signature.isString() && !signature.toString().isEmpty())
                deltas.append("{\"type\":\"signature_delta\",\"signature\":" + compact(signature) +
                              '}');
        } else if (tracksToolInput(block)) {
            startBlock.insert(lit("input"), QJsonObject());
            const QJsonObject input = block.value(lit("input")).toObject();
            if (!input.isEmpty())
                deltas.append("{\"type\":\"input_json_delta\",\"partial_json\":" +
                              compact(QJsonValue(QString::fromUtf8(compact(input)))) + '}');
        }
        // Any other block (redacted_thinking, server tool results, ...) arrives whole in its
        // content_block_start, as the API sends it.
        out.append(namedEvent("content_block_start",
                              "{\"type\":\"content_block_start\",\"index\":" + index +
                                  ",\"content_block\":" + compact(startBlock) + '}'));
        if (i == 0)
            out.append(namedEvent("ping", "{\"type\": \"ping\"}"));
        for (const QByteArray &delta : deltas)
            out.append(namedEvent("content_block_delta",
                                  "{\"type\":\"content_block_delta\",\"index\":" + index +
                                      ",\"delta\":" + delta + '}'));
        out.append(namedEvent("content_block_stop",
                              "{\"type\":\"content_block_stop\",\"index\":" + index + '}'));
    }
    if (content.isEmpty())
        out.append(namedEvent("ping", "{\"type\": \"ping\"}"));

    QByteArray delta = "{\"stop_reason\":" + compact(message.value(lit("stop_reason"))) +
                       ",\"stop_sequence\":" + compact(message.value(lit("stop_sequence")));
    for (const char *key : {"stop_details", "container"}) {
        const QJsonValue value = message.value(lit(key));
        if (!value.isUndefined() && !value.isNull())
            delta += ",\"" + QByteArray(key) + "\":" + compact(value);
    }
    delta += '}';
    out.append(namedEvent("message_delta", "{\"type\":\"message_delta\",\"delta\":" + delta +
                                               ",\"usage\":{\"output_tokens\":" +
                                               QByteArray::number(outputTokens) + "}}"));
    out.append(namedEvent("message_stop", "{\"type\":\"message_stop\"}"));
    return out;
}

// --- OpenAI: chat.completion -> chunks ------------------------------------------------------

QList<QByteArray> openAiEventsFromBody(const QJsonObject &completion, bool includeUsageChunk,
                                       const api::Usage &usage)
{
    const QJsonValue choicesValue = completion.value(lit("choices"));
    if (!choicesValue.isArray())
        return {};
    QByteArray head = "{\"id\":" + compact(completion.value(lit("id"))) +
                      ",\"object\":\"chat.completion.chunk\",\"created\":" +
                      compact(completion.value(lit("created"))) +
                      ",\"model\":" + compact(completion.value(lit("model")));
    for (const char *key : {"service_tier", "system_fingerprint"}) {
        const QJsonValue value = completion.value(lit(key));
        if (!value.isUndefined())
            head += ",\"" + QByteArray(key) + "\":" + compact(value);
    }
    // With include_usage every chunk says "usage":null until the usage chunk.
    const QByteArray tail = includeUsageChunk ? QByteArray(",\"usage\":null}") : QByteArray("}");
    auto chunk = [&](const QByteArray &index, const QByteArray &delta, const QByteArray &finish) {
        return dataEvent(head + ",\"choices\":[{\"index\":" + index + ",\"delta\":" + delta +
                         ",\"logprobs\":null,\"finish_reason\":" + finish + "}]" + tail);
    };

    QList<QByteArray> out;
    const QJsonArray choices = choicesValue.toArray();
    for (qsizetype i = 0; i < choices.size(); ++i) {
        const QJsonObject choice = choices.at(i).toObject();
        const QByteArray index = QByteArray::number(choice.value(lit("index")).toInteger(i));
        const QJsonObject message = choice.value(lit("message")).toObject();
        const QJsonValue content = message.value(lit("content"));
        const QString role = message.value(lit("role")).toString(QStringLiteral("assistant"));
        out.append(chunk(index,
                         "{\"role\":" + compact(QJsonValue(role)) + ",\"content\":" +
                             (content.isString() ? "\"\"" : "null") + ",\"refusal\":null}",
                         "null"));
        if (content.isString() && !content.toString().isEmpty())
            out.append(chunk(index, "{\"content\":" + compact(content) + '}', "null"));
        const QJsonValue refusal = message.value(lit("refusal"));
        if (refusal.isString() && !refusal.toString().isEmpty())
            out.append(chunk(index, "{\"refusal\":" + compact(refusal) + '}', "null"));
        const QJsonArray toolCalls = message.value(lit("tool_calls")).toArray();
        for (qsizetype j = 0; j < toolCalls.size(); ++j) {
            const QJsonObject call = toolCalls.at(j).toObject();
            const QJsonObject function = call.value(lit("function")).toObject();
            const QByteArray callIndex = QByteArray::number(j);
            out.append(
                chunk(index,
                      "{\"tool_calls\":[{\"index\":" + callIndex +
                          ",\"id\":" + compact(call.value(lit("id"))) + ",\"type\":" +
                          compact(call.value(lit("type")).toString(QStringLiteral("function"))) +
                          ",\"function\":{\"name\":" + compact(function.value(lit("name"))) +
                          ",\"arguments\":\"\"}}]}",
                      "null"));
            const QJsonValue arguments = function.value(lit("arguments"));
            if (arguments.isString() && !arguments.toString().isEmpty())
                out.append(chunk(index,
                                 "{\"tool_calls\":[{\"index\":" + callIndex +
                                     ",\"function\":{\"arguments\":" + compact(arguments) + "}}]}",
                                 "null"));
        }
        const QJsonObject functionCall = message.value(lit("function_call")).toObject();
        if (!functionCall.isEmpty()) {
            out.append(chunk(index,
                             "{\"function_call\":{\"name\":" +
                                 compact(functionCall.value(lit("name"))) + ",\"arguments\":\"\"}}",
                             "null"));
            const QJsonValue arguments = functionCall.value(lit("arguments"));
            if (arguments.isString() && !arguments.toString().isEmpty())
                out.append(chunk(index,
                                 "{\"function_call\":{\"arguments\":" + compact(arguments) + "}}",
                                 "null"));
        }
        out.append(chunk(index, "{}", compact(choice.value(lit("finish_reason")))));
    }
    if (includeUsageChunk) {
        const QJsonValue bodyUsage = completion.value(lit("usage"));
        const QJsonObject usageObject =
            bodyUsage.isObject() ? bodyUsage.toObject() : openAiUsageObject(usage);
        out.append(dataEvent(head + ",\"choices\":[],\"usage\":" + compact(usageObject) + '}'));
    }
    out.append(dataEvent("[DONE]"));
    return out;
}

// The live path hides the usage chunk the gateway asked for on the client's behalf; a replay
// must do the same. Only events that mention usage are parsed.
QList<QByteArray> withoutUsageOnlyChunks(const QList<QByteArray> &events)
{
    QList<QByteArray> out;
    bool dropped = false;
    for (qsizetype i = 0; i < events.size(); ++i) {
        const QByteArray &raw = events.at(i);
        if (raw.contains("\"usage\"")) {
            http::SseParser parser;
            const QList<http::SseEvent> parsed = parser.feed(raw);
            if (parsed.size() == 1 && api::StreamMeter::isOpenAiUsageOnlyChunk(parsed.first())) {
                if (!dropped) {
                    out = events.first(i);
                    dropped = true;
                }
                continue;
            }
        }
        if (dropped)
            out.append(raw);
    }
    return dropped ? out : events;
}

} // namespace

qint64 CachedResponse::sizeBytes() const
{
    qint64 bytes = kPerEntryOverhead + contentType.size() + body.size() + model.size() * 2;
    for (const QByteArray &event : events)
        bytes += event.size() + kPerEventOverhead;
    return bytes;
}

QByteArray CachedResponse::toJsonBody() const
{
    if (!isStream())
        return body;
    const QList<http::SseEvent> parsed = parseEvents(events);
    return flavor == api::Flavor::Anthropic ? anthropicBodyFromEvents(parsed)
                                            : openAiBodyFromEvents(parsed, usage);
}

QList<QByteArray> CachedResponse::toSseEvents(bool includeUsageChunk) const
{
    if (isStream()) {
        if (flavor == api::Flavor::OpenAI && !includeUsageChunk)
            return withoutUsageOnlyChunks(events);
        return events;
    }
    const QJsonObject object = parseObject(body);
    if (object.isEmpty())
        return {};
    return flavor == api::Flavor::Anthropic
               ? anthropicEventsFromBody(object)
               : openAiEventsFromBody(object, includeUsageChunk, usage);
}

QByteArray CachedResponse::contentTypeFor(bool stream) const
{
    if (stream == isStream() && !contentType.isEmpty())
        return contentType;
    return stream ? QByteArrayLiteral("text/event-stream; charset=utf-8")
                  : QByteArrayLiteral("application/json");
}

QByteArray CachedResponse::serialize() const
{
    QByteArray out;
    out.reserve(sizeBytes());
    out.append(kMagic, sizeof(kMagic));
    QDataStream stream(&out, QIODevice::WriteOnly | QIODevice::Append);
    stream.setVersion(QDataStream::Qt_6_4);
    stream << kFormatVersion << quint8(flavor == api::Flavor::Anthropic ? 0 : 1) << qint32(status)
           << contentType << body << quint32(events.size());
    for (const QByteArray &event : events)
        stream << event;
    stream << usage.inputTokens << usage.outputTokens << usage.cacheWriteTokens
           << usage.cacheReadTokens << model << createdAtMs << expiresAtMs;
    return out;
}

Expected<CachedResponse> CachedResponse::deserialize(QByteArrayView bytes)
{
    if (bytes.size() < qsizetype(sizeof(kMagic)) ||
        bytes.first(sizeof(kMagic)) != QByteArrayView(kMagic, sizeof(kMagic)))
        return Error(QStringLiteral("not a cached response"));
    const QByteArray data = bytes.sliced(sizeof(kMagic)).toByteArray();
    QDataStream stream(data);
    stream.setVersion(QDataStream::Qt_6_4);
    quint16 version = 0;
    stream >> version;
    if (version != kFormatVersion)
        return Error(
            QStringLiteral("cached response format %1 is not %2").arg(version).arg(kFormatVersion));
    CachedResponse r;
    quint8 flavorCode = 0;
    qint32 status = 0;
    quint32 eventCount = 0;
    stream >> flavorCode >> status >> r.contentType >> r.body >> eventCount;
    // Each event takes at least its 4-byte length, so a corrupt count cannot make us reserve
    // more than the input could hold.
    if (flavorCode > 1 || eventCount > quint32(data.size() / 4))
        return Error(QStringLiteral("corrupt cached response"));
    r.flavor = flavorCode == 0 ? api::Flavor::Anthropic : api::Flavor::OpenAI;
    r.status = status;
    r.events.reserve(qsizetype(eventCount));
    for (quint32 i = 0; i < eventCount && stream.status() == QDataStream::Ok; ++i) {
        QByteArray event;
        stream >> event;
        r.events.append(std::move(event));
    }
    stream >> r.usage.inputTokens >> r.usage.outputTokens >> r.usage.cacheWriteTokens >>
        r.usage.cacheReadTokens >> r.model >> r.createdAtMs >> r.expiresAtMs;
    if (stream.status() != QDataStream::Ok || !stream.atEnd())
        return Error(QStringLiteral("corrupt cached response"));
    return r;
}

} // namespace tollgate::cache
