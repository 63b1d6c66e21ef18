#include "api/streammeter.h"

#include "api/jsondom.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonValue>

#include <algorithm>
#include <optional>
#include <string_view>

namespace tollgate::api {

namespace {

// What the meter reads from one JSON text: a response body, an event or a chunk. Both parsers
// fill it the same way, so one piece of logic below serves both.
struct Fields {
    QString type;          // "type"
    QString model;         // "model"
    QString messageModel;  // "message.model" (Anthropic message_start)
    Usage messageUsage;    // "message.usage" (Anthropic message_start), zeros when absent
    bool hasUsage = false; // "usage" is an object
    Usage usage;           // its counts, read the flavor's way
    bool usageHasOutputTokens = false;
    bool hasError = false;    // "error" is an object
    QString errorMessage;     // what it says
    bool choicesEmpty = true; // "choices" is absent, null or an empty array
};

QString errorMessageFrom(const QString &message, const QString &type)
{
    if (!message.isEmpty())
        return message;
    return type.isEmpty() ? QStringLiteral("upstream reported an error in the stream") : type;
}

// Anthropic counts every kind apart; `tokens(key)` reads one count.
template <typename Tokens> Usage anthropicUsage(Tokens tokens)
{
    Usage u;
    u.inputTokens = tokens("input_tokens");
    u.outputTokens = tokens("output_tokens");
    u.cacheWriteTokens = tokens("cache_creation_input_tokens");
    u.cacheReadTokens = tokens("cache_read_input_tokens");
    return u;
}

// OpenAI counts cached tokens inside prompt_tokens; Usage keeps kinds disjoint so each is priced
// once.
template <typename Tokens> Usage openAiUsage(Tokens tokens, qint64 cachedTokens)
{
    Usage u;
    const qint64 prompt = tokens("prompt_tokens");
    const qint64 cached = std::min(prompt, cachedTokens);
    u.inputTokens = prompt - cached;
    u.cacheReadTokens = cached;
    u.outputTokens = tokens("completion_tokens");
    return u;
}

// ---- simdjson -------------------------------------------------------------------------------

using Element = simdjson::dom::element;

// The last member called `key` (Qt keeps the last of repeated keys); nullopt when absent or when
// `value` is not an object.
std::optional<Element> domMember(std::optional<Element> value, std::string_view key)
{
    simdjson::dom::object object;
    if (!value || value->get_object().get(object) != simdjson::SUCCESS)
        return std::nullopt;
    std::optional<Element> found;
    for (const simdjson::dom::key_value_pair field : object) {
        if (field.key == key)
            found = field.value;
    }
    return found;
}

QString domString(std::optional<Element> value)
{
    std::string_view text;
    if (!value || value->get_string().get(text) != simdjson::SUCCESS)
        return {};
    return QString::fromUtf8(text.data(), qsizetype(text.size()));
}

// A token count as QJsonValue::toInteger() reads it (a double only when it is a whole number in
// range; text, null and the rest as 0), and never below 0.
qint64 domTokens(std::optional<Element> object, std::string_view key)
{
    const std::optional<Element> value = domMember(object, key);
    if (!value)
        return 0;
    qint64 count = 0;
    switch (value->type()) {
    case simdjson::dom::element_type::INT64: count = value->get_int64().value_unsafe(); break;
    case simdjson::dom::element_type::DOUBLE: {
        const double number = value->get_double().value_unsafe();
        if (number >= -9223372036854775808.0 && number < 9223372036854775808.0 &&
            double(qint64(number)) == number)
            count = qint64(number);
        break;
    }
    default: break; // above 2^63 - 1 (UINT64) Qt has a double that no qint64 holds
    }
    return std::max<qint64>(0, count);
}

bool domIsObject(std::optional<Element> value)
{
    return value && value->type() == simdjson::dom::element_type::OBJECT;
}

Usage domUsage(Flavor flavor, std::optional<Element> usage)
{
    const auto tokens = [&](std::string_view key) { return domTokens(usage, key); };
    if (flavor == Flavor::Anthropic)
        return anthropicUsage(tokens);
    return openAiUsage(tokens,
                       domTokens(domMember(usage, "prompt_tokens_details"), "cached_tokens"));
}

Fields domFields(Flavor flavor, Element root)
{
    Fields fields;
    simdjson::dom::object object;
    if (root.get_object().get(object) != simdjson::SUCCESS)
        return fields;
    // One pass over the members; a later repeat of a key overwrites, as in Qt's parser.
    std::optional<Element> message, usage, error, choices;
    for (const simdjson::dom::key_value_pair field : object) {
        const std::string_view key = field.key;
        if (key == "type")
            fields.type = domString(field.value);
        else if (key == "model")
            fields.model = domString(field.value);
        else if (key == "message")
            message = field.value;
        else if (key == "usage")
            usage = field.value;
        else if (key == "error")
            error = field.value;
        else if (key == "choices")
            choices = field.value;
    }
    if (message) {
        fields.messageModel = domString(domMember(message, "model"));
        const std::optional<Element> messageUsage = domMember(message, "usage");
        fields.messageUsage =
            anthropicUsage([&](std::string_view key) { return domTokens(messageUsage, key); });
    }
    fields.hasUsage = domIsObject(usage);
    if (fields.hasUsage) {
        fields.usage = domUsage(flavor, usage);
        fields.usageHasOutputTokens = domMember(usage, "output_tokens").has_value();
    }
    fields.hasError = domIsObject(error);
    fields.errorMessage = errorMessageFrom(domString(domMember(error, "message")),
                                           domString(domMember(error, "type")));
    simdjson::dom::array array;
    fields.choicesEmpty =
        !choices || choices->is_null() ||
        (choices->get_array().get(array) == simdjson::SUCCESS && array.begin() == array.end());
    return fields;
}

// ---- Qt, for texts simdjson refused ----------------------------------------------------------

qint64 qtTokens(const QJsonObject &object, const char *key)
{
    return std::max<qint64>(0, object.value(QLatin1StringView(key)).toInteger());
}

Fields qtFields(Flavor flavor, const QJsonObject &object)
{
    Fields fields;
    const QJsonObject message = object.value(QLatin1StringView("message")).toObject();
    const QJsonValue usageValue = object.value(QLatin1StringView("usage"));
    const QJsonObject usage = usageValue.toObject();
    const QJsonValue error = object.value(QLatin1StringView("error"));
    const QJsonValue choices = object.value(QLatin1StringView("choices"));
    fields.type = object.value(QLatin1StringView("type")).toString();
    fields.model = object.value(QLatin1StringView("model")).toString();
    fields.messageModel = message.value(QLatin1StringView("model")).toString();
    const QJsonObject messageUsage = message.value(QLatin1StringView("usage")).toObject();
    fields.messageUsage =
        anthropicUsage([&](const char *key) { return qtTokens(messageUsage, key); });
    fields.hasUsage = usageValue.isObject();
    const auto tokens = [&](const char *key) { return qtTokens(usage, key); };
    fields.usage =
        flavor == Flavor::Anthropic
            ? anthropicUsage(tokens)
            : openAiUsage(
                  tokens,
                  qtTokens(usage.value(QLatin1StringView("prompt_tokens_details")).toObject(),
                           "cached_tokens"));
    fields.usageHasOutputTokens = usage.contains(QLatin1StringView("output_tokens"));
    fields.hasError = error.isObject();
    const QJsonObject errorObject = error.toObject();
    fields.errorMessage =
        errorMessageFrom(errorObject.value(QLatin1StringView("message")).toString(),
                         errorObject.value(QLatin1StringView("type")).toString());
    fields.choicesEmpty = choices.isUndefined() || choices.isNull() ||
                          (choices.isArray() && choices.toArray().isEmpty());
    return fields;
}

// Reads a JSON text with simdjson, or with Qt when simdjson refuses what Qt tolerates (lone
// surrogates, integers beyond 64 bits), so the two parsers never disagree on the result. Text
// that is no JSON object gives empty fields, as Qt's `fromJson(...).object()` always did.
Fields readFields(Flavor flavor, const QByteArray &json)
{
    Fields fields;
    if (readJsonDom(json, [&](Element root) { fields = domFields(flavor, root); }))
        fields = qtFields(flavor, QJsonDocument::fromJson(json).object());
    return fields;
}

// True when `"key"` is followed by a JSON object as its value somewhere in the text. A cheap
// pre-filter so most chunks are never parsed; it may say yes for the key's text inside a string
// (the full parse then sorts it out) but never says no for a real member, whatever the spacing.
bool mayHaveObjectMember(QByteArrayView json, QByteArrayView quotedKey)
{
    qsizetype from = 0;
    while (true) {
        const qsizetype at = json.indexOf(quotedKey, from);
        if (at < 0)
            return false;
        qsizetype i = at + quotedKey.size();
        const auto skipSpace = [&] {
            while (i < json.size() &&
                   (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r'))
                ++i;
        };
        skipSpace();
        if (i < json.size() && json[i] == ':') {
            ++i;
            skipSpace();
            if (i < json.size() && json[i] == '{')
                return true;
        }
        from = at + 1;
    }
}

bool mayHaveUsage(QByteArrayView json)
{
    return mayHaveObjectMember(json, "\"usage\"");
}

bool mayHaveError(QByteArrayView json)
{
    return mayHaveObjectMember(json, "\"error\"");
}

} // namespace

ResponseSummary summarizeResponse(Flavor flavor, const QJsonObject &body)
{
    const Fields fields = qtFields(flavor, body);
    return ResponseSummary{fields.usage, fields.model};
}

ResponseSummary summarizeResponse(Flavor flavor, const QByteArray &body)
{
    const Fields fields = readFields(flavor, body);
    return ResponseSummary{fields.usage, fields.model};
}

void StreamMeter::onEvent(const http::SseEvent &event)
{
    if (m_flavor == Flavor::Anthropic) {
        QByteArrayView name = event.event;
        // Text deltas and pings are nearly every event of a stream and never carry usage.
        if (name == "content_block_delta" || name == "ping" || name == "content_block_start" ||
            name == "content_block_stop")
            return;
        if (name == "message_stop") {
            m_completed = true;
            return;
        }
        if (!event.data.startsWith('{'))
            return;
        const Fields data = readFields(m_flavor, event.data);
        QString type;
        if (name.isEmpty()) {
            // Anthropic always names its events; a relay that drops `event:` still has `type`.
            type = data.type;
            if (type == QLatin1StringView("message_stop")) {
                m_completed = true;
                return;
            }
        } else {
            type = QString::fromLatin1(name);
        }

        if (type == QLatin1StringView("message_start")) {
            if (!data.messageModel.isEmpty())
                m_model = data.messageModel;
            m_usage = data.messageUsage;
        } else if (type == QLatin1StringView("message_delta")) {
            const Usage &delta = data.usage;
            // output_tokens here is the cumulative final count, not an increment.
            if (data.usageHasOutputTokens)
                m_usage.outputTokens = delta.outputTokens;
            // Newer API versions repeat input and cache counts here; zero means "not reported".
            if (delta.inputTokens > 0)
                m_usage.inputTokens = delta.inputTokens;
            if (delta.cacheWriteTokens > 0)
                m_usage.cacheWriteTokens = delta.cacheWriteTokens;
            if (delta.cacheReadTokens > 0)
                m_usage.cacheReadTokens = delta.cacheReadTokens;
        } else if (type == QLatin1StringView("error")) {
            m_error = data.errorMessage;
        }
        return;
    }

    // OpenAI
    const QByteArray &data = event.data;
    if (data == "[DONE]") {
        m_completed = true;
        return;
    }
    if (!data.startsWith('{'))
        return;
    // Every chunk names the model; read it from the first one, then parse only the rare chunks
    // that can carry usage or an error.
    const bool needModel = m_model.isEmpty();
    const bool hasUsage = mayHaveUsage(data);
    const bool hasError = mayHaveError(data);
    if (!needModel && !hasUsage && !hasError)
        return;
    const Fields chunk = readFields(m_flavor, data);
    if (needModel)
        m_model = chunk.model;
    if (hasUsage && chunk.hasUsage)
        m_usage = chunk.usage;
    if (hasError && chunk.hasError)
        m_error = chunk.errorMessage;
}

bool StreamMeter::isOpenAiUsageOnlyChunk(const http::SseEvent &event)
{
    if (!event.data.startsWith('{') || !mayHaveUsage(event.data))
        return false;
    const Fields chunk = readFields(Flavor::OpenAI, event.data);
    return chunk.hasUsage && chunk.choicesEmpty;
}

} // namespace tollgate::api
