#include "api/clientrequest.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>
#include <QJsonValue>

#include <cmath>
#include <limits>
#include <optional>

namespace tollgate::api {

namespace {

Error fieldError(const char *path, const char *message)
{
    return Error{QString::fromLatin1(message), QString::fromLatin1(path)};
}

Expected<QJsonObject> parseBodyObject(const QByteArray &body)
{
    const QByteArray trimmed = body.trimmed();
    if (trimmed.isEmpty())
        return Error{QStringLiteral("request body is empty; expected a JSON object"), QString()};
    // Qt's parser reports a top-level scalar as "illegal value", which would mislead the client.
    if (!trimmed.startsWith('{') && !trimmed.startsWith('['))
        return Error{QStringLiteral("request body must be a JSON object"), QString()};
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(body, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        return Error{QStringLiteral("request body is not valid JSON: %1 at offset %2")
                         .arg(parseError.errorString())
                         .arg(parseError.offset),
                     QString()};
    }
    if (!doc.isObject())
        return Error{QStringLiteral("request body must be a JSON object"), QString()};
    return doc.object();
}

Expected<QString> requireModel(const QJsonObject &root)
{
    const QJsonValue model = root.value(QLatin1StringView("model"));
    if (model.isUndefined())
        return fieldError("model", "field required");
    if (!model.isString())
        return fieldError("model", "must be a string");
    if (model.toString().isEmpty())
        return fieldError("model", "must not be empty");
    return model.toString();
}

// Reads an optional positive integer field. nullopt: absent (or null where the API allows it).
Expected<std::optional<int>> optionalPositiveInt(const QJsonObject &root, const char *key,
                                                 bool nullMeansAbsent)
{
    const QJsonValue value = root.value(QLatin1StringView(key));
    if (value.isUndefined() || (nullMeansAbsent && value.isNull()))
        return std::optional<int>();
    const double number = value.toDouble(-1);
    if (!value.isDouble() || number != std::floor(number) || number < 1 ||
        number > std::numeric_limits<int>::max())
        return fieldError(key, "must be a positive integer");
    return std::optional<int>(static_cast<int>(number));
}

// The byte range of one value inside a JSON text known to be valid (QJsonDocument accepted it).
qsizetype skipSpace(const QByteArray &json, qsizetype i)
{
    while (i < json.size() &&
           (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r'))
        ++i;
    return i;
}

qsizetype skipString(const QByteArray &json, qsizetype i)
{
    // i is at the opening quote; returns the index after the closing quote.
    for (++i; i < json.size(); ++i) {
        if (json[i] == '\\')
            ++i;
        else if (json[i] == '"')
            return i + 1;
    }
    return -1;
}

qsizetype skipValue(const QByteArray &json, qsizetype i)
{
    if (i >= json.size())
        return -1;
    if (json[i] == '"')
        return skipString(json, i);
    if (json[i] == '{' || json[i] == '[') {
        int depth = 0;
        while (i < json.size()) {
            const char c = json[i];
            if (c == '"') {
                i = skipString(json, i);
                if (i < 0)
                    return -1;
                continue;
            }
            if (c == '{' || c == '[')
                ++depth;
            else if ((c == '}' || c == ']') && --depth == 0)
                return i + 1;
            ++i;
        }
        return -1;
    }
    while (i < json.size() && json[i] != ',' && json[i] != '}' && json[i] != ']' &&
           json[i] != ' ' && json[i] != '\t' && json[i] != '\n' && json[i] != '\r')
        ++i;
    return i;
}

struct Span {
    qsizetype begin = -1;
    qsizetype end = -1;
};

// Where the value of a top-level member sits in the raw body; the last one wins, as in Qt's
// parser, so the edit lands on the member the gateway actually read.
std::optional<Span> findTopLevelValue(const QByteArray &json, QByteArrayView key,
                                      qsizetype *openBrace)
{
    qsizetype i = skipSpace(json, 0);
    if (i >= json.size() || json[i] != '{')
        return std::nullopt;
    *openBrace = i;
    Span found; // stays empty (-1) when the key is absent
    i = skipSpace(json, i + 1);
    if (i < json.size() && json[i] == '}')
        return found;
    while (i < json.size()) {
        if (json[i] != '"')
            return std::nullopt;
        const qsizetype keyEnd = skipString(json, i);
        if (keyEnd < 0)
            return std::nullopt;
        const QByteArrayView keyText(json.constData() + i + 1, keyEnd - i - 2);
        if (keyText.contains('\\'))
            return std::nullopt; // an escaped key may spell ours; let the fallback decide
        i = skipSpace(json, keyEnd);
        if (i >= json.size() || json[i] != ':')
            return std::nullopt;
        const qsizetype valueBegin = skipSpace(json, i + 1);
        const qsizetype valueEnd = skipValue(json, valueBegin);
        if (valueEnd < 0)
            return std::nullopt;
        if (keyText == key)
            found = Span{valueBegin, valueEnd};
        i = skipSpace(json, valueEnd);
        if (i < json.size() && json[i] == '}')
            return found;
        if (i >= json.size() || json[i] != ',')
            return std::nullopt;
        i = skipSpace(json, i + 1);
    }
    return std::nullopt;
}

// Sets one top-level member by editing the client's bytes in place, so key order, number
// spelling and everything else the client sent reaches the upstream (and the cache key) as sent.
QByteArray withTopLevelMember(const QByteArray &body, const QJsonObject &root, const char *key,
                              const QJsonValue &value)
{
    // Only integers and objects are ever set.
    const QByteArray valueJson =
        value.isObject() ? QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact)
                         : QByteArray::number(value.toInteger());
    qsizetype openBrace = -1;
    const std::optional<Span> span = findTopLevelValue(body, QByteArrayView(key), &openBrace);
    if (!span) {
        // The scanner and Qt's parser disagree about this body (not expected for a body Qt
        // accepted): re-serialize, which is correct if not byte-preserving.
        QJsonObject edited = root;
        edited.insert(QLatin1StringView(key), value);
        return QJsonDocument(edited).toJson(QJsonDocument::Compact);
    }
    QByteArray out = body;
    if (span->begin >= 0) {
        out.replace(span->begin, span->end - span->begin, valueJson);
        return out;
    }
    QByteArray member = '"' + QByteArray(key) + "\":" + valueJson;
    if (!root.isEmpty())
        member.append(',');
    out.insert(openBrace + 1, member);
    return out;
}

} // namespace

Expected<ClientRequest> parseClientRequest(Flavor flavor, const QByteArray &body,
                                           const RequestDefaults &defaults)
{
    Expected<QJsonObject> parsed = parseBodyObject(body);
    if (!parsed)
        return parsed.error();
    const QJsonObject &root = *parsed;
    const bool openAi = flavor == Flavor::OpenAI;

    ClientRequest request;
    Expected<QString> model = requireModel(root);
    if (!model)
        return model.error();
    request.model = *model;

    const QJsonValue messages = root.value(QLatin1StringView("messages"));
    if (messages.isUndefined())
        return fieldError("messages", "field required");
    if (!messages.isArray())
        return fieldError("messages", "must be an array");

    // OpenAI documents its optional fields as nullable; Anthropic rejects null, and so do we.
    Expected<std::optional<int>> maxTokens = optionalPositiveInt(root, "max_tokens", openAi);
    if (!maxTokens)
        return maxTokens.error();
    if (openAi) {
        Expected<std::optional<int>> maxCompletion =
            optionalPositiveInt(root, "max_completion_tokens", true);
        if (!maxCompletion)
            return maxCompletion.error();
        // The newer name wins: it is what current models honour.
        if (maxCompletion->has_value())
            maxTokens = *maxCompletion;
    }

    const QJsonValue stream = root.value(QLatin1StringView("stream"));
    if (!stream.isUndefined() && !(openAi && stream.isNull())) {
        if (!stream.isBool())
            return fieldError("stream", "must be a boolean");
        request.stream = stream.toBool();
    }

    if (openAi) {
        const QJsonValue user = root.value(QLatin1StringView("user"));
        if (user.isString())
            request.user = user.toString();
    } else {
        const QJsonValue user = root.value(QLatin1StringView("metadata"))
                                    .toObject()
                                    .value(QLatin1StringView("user_id"));
        if (user.isString())
            request.user = user.toString();
    }

    request.upstreamBody = body;
    if (maxTokens->has_value()) {
        request.maxTokens = **maxTokens;
    } else if (!openAi && defaults.maxTokens > 0) {
        // Anthropic requires max_tokens; OpenAI does not and newer OpenAI models reject
        // max_tokens outright, so only Anthropic gets the default. A non-positive default turns
        // defaulting off and leaves the upstream to answer.
        request.maxTokens = defaults.maxTokens;
        request.maxTokensDefaulted = true;
        request.upstreamBody =
            withTopLevelMember(body, root, "max_tokens", QJsonValue(defaults.maxTokens));
    }

    if (openAi && request.stream) {
        QJsonObject options = root.value(QLatin1StringView("stream_options")).toObject();
        const QJsonValue includeUsage = options.value(QLatin1StringView("include_usage"));
        request.clientWantsUsageChunk = includeUsage.isBool() && includeUsage.toBool();
        if (!request.clientWantsUsageChunk) {
            // Without it an OpenAI stream reports no tokens and the request could not be
            // charged; the gateway hides the extra chunk from this client.
            options.insert(QLatin1StringView("include_usage"), true);
            request.upstreamBody =
                withTopLevelMember(request.upstreamBody, root, "stream_options", options);
        }
    }
    return request;
}

Expected<QString> parseCountTokensModel(const QByteArray &body)
{
    Expected<QJsonObject> parsed = parseBodyObject(body);
    if (!parsed)
        return parsed.error();
    return requireModel(*parsed);
}

} // namespace tollgate::api
