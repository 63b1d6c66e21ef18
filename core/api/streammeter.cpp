#include "api/streammeter.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonValue>

#include <algorithm>

namespace tollgate::api {

namespace {

QJsonObject parseObject(const QByteArray &json)
{
    return QJsonDocument::fromJson(json).object();
}

qint64 tokens(const QJsonObject &usage, QLatin1StringView key)
{
    return std::max<qint64>(0, usage.value(key).toInteger());
}

Usage anthropicUsage(const QJsonObject &usage)
{
    Usage u;
    u.inputTokens = tokens(usage, QLatin1StringView("input_tokens"));
    u.outputTokens = tokens(usage, QLatin1StringView("output_tokens"));
    u.cacheWriteTokens = tokens(usage, QLatin1StringView("cache_creation_input_tokens"));
    u.cacheReadTokens = tokens(usage, QLatin1StringView("cache_read_input_tokens"));
    return u;
}

// OpenAI counts cached tokens inside prompt_tokens; Usage keeps kinds disjoint so each is priced
// once.
Usage openAiUsage(const QJsonObject &usage)
{
    Usage u;
    const qint64 prompt = tokens(usage, QLatin1StringView("prompt_tokens"));
    const qint64 cached =
        std::min(prompt, tokens(usage.value(QLatin1StringView("prompt_tokens_details")).toObject(),
                                QLatin1StringView("cached_tokens")));
    u.inputTokens = prompt - cached;
    u.cacheReadTokens = cached;
    u.outputTokens = tokens(usage, QLatin1StringView("completion_tokens"));
    return u;
}

QString errorMessageOf(const QJsonObject &error)
{
    const QString message = error.value(QLatin1StringView("message")).toString();
    if (!message.isEmpty())
        return message;
    const QString type = error.value(QLatin1StringView("type")).toString();
    return type.isEmpty() ? QStringLiteral("upstream reported an error in the stream") : type;
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
    ResponseSummary summary;
    summary.model = body.value(QLatin1StringView("model")).toString();
    const QJsonObject usage = body.value(QLatin1StringView("usage")).toObject();
    summary.usage = flavor == Flavor::Anthropic ? anthropicUsage(usage) : openAiUsage(usage);
    return summary;
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
        const QJsonObject data = parseObject(event.data);
        QString type;
        if (name.isEmpty()) {
            // Anthropic always names its events; a relay that drops `event:` still has `type`.
            type = data.value(QLatin1StringView("type")).toString();
            if (type == QLatin1StringView("message_stop")) {
                m_completed = true;
                return;
            }
        } else {
            type = QString::fromLatin1(name);
        }

        if (type == QLatin1StringView("message_start")) {
            const QJsonObject message = data.value(QLatin1StringView("message")).toObject();
            const QString model = message.value(QLatin1StringView("model")).toString();
            if (!model.isEmpty())
                m_model = model;
            m_usage = anthropicUsage(message.value(QLatin1StringView("usage")).toObject());
        } else if (type == QLatin1StringView("message_delta")) {
            const QJsonObject usage = data.value(QLatin1StringView("usage")).toObject();
            const Usage delta = anthropicUsage(usage);
            // output_tokens here is the cumulative final count, not an increment.
            if (usage.contains(QLatin1StringView("output_tokens")))
                m_usage.outputTokens = delta.outputTokens;
            // Newer API versions repeat input and cache counts here; zero means "not reported".
            if (delta.inputTokens > 0)
                m_usage.inputTokens = delta.inputTokens;
            if (delta.cacheWriteTokens > 0)
                m_usage.cacheWriteTokens = delta.cacheWriteTokens;
            if (delta.cacheReadTokens > 0)
                m_usage.cacheReadTokens = delta.cacheReadTokens;
        } else if (type == QLatin1StringView("error")) {
            m_error = errorMessageOf(data.value(QLatin1StringView("error")).toObject());
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
    const QJsonObject chunk = parseObject(data);
    if (needModel)
        m_model = chunk.value(QLatin1StringView("model")).toString();
    if (hasUsage) {
        const QJsonValue usage = chunk.value(QLatin1StringView("usage"));
        if (usage.isObject())
            m_usage = openAiUsage(usage.toObject());
    }
    if (hasError) {
        const QJsonValue error = chunk.value(QLatin1StringView("error"));
        if (error.isObject())
            m_error = errorMessageOf(error.toObject());
    }
}

bool StreamMeter::isOpenAiUsageOnlyChunk(const http::SseEvent &event)
{
    if (!event.data.startsWith('{') || !mayHaveUsage(event.data))
        return false;
    const QJsonObject chunk = parseObject(event.data);
    if (!chunk.value(QLatin1StringView("usage")).isObject())
        return false;
    const QJsonValue choices = chunk.value(QLatin1StringView("choices"));
    return choices.isUndefined() || choices.isNull() ||
           (choices.isArray() && choices.toArray().isEmpty());
}

} // namespace tollgate::api
