#include "api/clientrequest.h"

#include "api/jsondom.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>
#include <QJsonValue>

#include <simdjson.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>

namespace tollgate::api {

namespace {

Error fieldError(const char *path, const char *message)
{
    return Error{QString::fromLatin1(message), QString::fromLatin1(path)};
}

struct Span {
    qsizetype begin = -1;
    qsizetype end = -1;
};

// One top-level member the gateway reads: its type (Undefined when absent) and its value when it
// is a scalar.
struct Member {
    QJsonValue::Type type = QJsonValue::Undefined;
    bool boolean = false;
    double number = 0;
    QString string;
};

// Everything the gateway reads from a request body. Duplicate keys: the last one wins, as in
// Qt's parser.
struct BodyFields {
    Member model;
    Member messages;
    Member maxTokens;
    Member maxCompletionTokens;
    Member stream;
    Member user;
    Member streamOptions;
    // The string members of metadata, for routing rules (see putMetadata).
    QList<QPair<QString, QString>> metadata;
    QString metadataUserId;    // metadata.user_id when metadata is an object and it is a string
    bool includeUsage = false; // stream_options.include_usage is true
    bool hasMembers = false;
    qsizetype openBrace = -1;
    // Set only when Qt had to parse the body (simdjson refused it).
    std::optional<QJsonObject> qtRoot;
    // Set only when simdjson parsed the body.
    std::optional<CanonicalObject> canonical;
};

// ---- Fast path: simdjson's DOM parser ------------------------------------------------------
//
// The DOM parser validates the whole body. On-Demand checks only bracket balance in values it
// skips, and reading every value with it measured slower (86 KB body: 63 us, DOM 45 us). It never
// accepts a body Qt's parser (the previous one, still the fallback) refuses, except numbers that
// underflow to zero (Qt refuses "1e-400"; it is valid JSON). It refuses more: integers beyond 64
// bits, and what Qt tolerates though RFC 8259 does not ("\q", lone surrogates, raw control
// characters). Any refusal hands the body to Qt, which decides as it always has.

QJsonValue::Type typeOf(simdjson::dom::element value)
{
    switch (value.type()) {
    case simdjson::dom::element_type::ARRAY: return QJsonValue::Array;
    case simdjson::dom::element_type::OBJECT: return QJsonValue::Object;
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
    case simdjson::dom::element_type::DOUBLE: return QJsonValue::Double;
    case simdjson::dom::element_type::STRING: return QJsonValue::String;
    case simdjson::dom::element_type::BOOL: return QJsonValue::Bool;
    case simdjson::dom::element_type::NULL_VALUE: return QJsonValue::Null;
    }
    return QJsonValue::Undefined;
}

Member domMember(simdjson::dom::element value)
{
    // The type is known, so the getters cannot fail.
    Member member;
    member.type = typeOf(value);
    if (member.type == QJsonValue::String) {
        const std::string_view text = value.get_string().value_unsafe();
        member.string = QString::fromUtf8(text.data(), qsizetype(text.size()));
    } else if (member.type == QJsonValue::Double) {
        member.number = value.get_double().value_unsafe(); // converts integers too
    } else if (member.type == QJsonValue::Bool) {
        member.boolean = value.get_bool().value_unsafe();
    }
    return member;
}

// The member of a nested object, as Qt's `value.toObject().value(key)` reads it.
Member domNestedMember(simdjson::dom::element value, std::string_view key)
{
    Member found;
    simdjson::dom::object object;
    if (value.get_object().get(object) != simdjson::SUCCESS)
        return found;
    for (const simdjson::dom::key_value_pair field : object) {
        if (field.key == key)
            found = domMember(field.value);
    }
    return found;
}

// Routing rules read at most this many members of `metadata`: more than any provider accepts
// (OpenAI 16, Anthropic only user_id), and a hostile body cannot make the gateway copy a huge
// object.
constexpr int kMetadataMembers = 64;

// Only string values are kept: a rule compares what the client wrote, and spelling a number or a
// nested object as text would invent a form the client never sent. The last of repeated keys
// wins, as in Qt's parser.
void putMetadata(QList<QPair<QString, QString>> *metadata, const QString &key, const Member &value)
{
    metadata->removeIf([&](const QPair<QString, QString> &field) { return field.first == key; });
    if (value.type == QJsonValue::String)
        metadata->append({key, value.string});
}

QList<QPair<QString, QString>> domMetadata(simdjson::dom::element value)
{
    QList<QPair<QString, QString>> metadata;
    simdjson::dom::object object;
    if (value.get_object().get(object) != simdjson::SUCCESS)
        return metadata;
    int read = 0;
    for (const simdjson::dom::key_value_pair field : object) {
        if (++read > kMetadataMembers)
            break;
        putMetadata(&metadata, QString::fromUtf8(field.key.data(), qsizetype(field.key.size())),
                    domMember(field.value));
    }
    return metadata;
}

void readDomFields(simdjson::dom::object root, BodyFields *fields)
{
    for (const simdjson::dom::key_value_pair field : root) {
        fields->hasMembers = true;
        const std::string_view key = field.key;
        if (key == "model") {
            fields->model = domMember(field.value);
        } else if (key == "messages") {
            fields->messages = domMember(field.value);
        } else if (key == "max_tokens") {
            fields->maxTokens = domMember(field.value);
        } else if (key == "max_completion_tokens") {
            fields->maxCompletionTokens = domMember(field.value);
        } else if (key == "stream") {
            fields->stream = domMember(field.value);
        } else if (key == "user") {
            fields->user = domMember(field.value);
        } else if (key == "metadata") {
            const Member userId = domNestedMember(field.value, "user_id");
            fields->metadataUserId = userId.type == QJsonValue::String ? userId.string : QString();
            fields->metadata = domMetadata(field.value);
        } else if (key == "stream_options") {
            fields->streamOptions = domMember(field.value);
            const Member includeUsage = domNestedMember(field.value, "include_usage");
            fields->includeUsage = includeUsage.type == QJsonValue::Bool && includeUsage.boolean;
        }
    }
}

// SUCCESS with `isObject` false: a valid JSON text that is not an object.
simdjson::error_code readWithSimdjson(const QByteArray &body, BodyFields *fields, bool *isObject)
{
    return readJsonDom(body, [&](simdjson::dom::element root) {
        simdjson::dom::object object;
        *isObject = root.get_object().get(object) == simdjson::SUCCESS;
        if (!*isObject)
            return;
        readDomFields(object, fields);
        // While the DOM is at hand: the cache key needs every member in canonical spelling.
        fields->canonical = CanonicalObject::fromDom(object, body.size());
    });
}

// ---- Fallback: Qt, for bodies simdjson refused -----------------------------------------------

Member qtMember(const QJsonObject &root, const char *key)
{
    const QJsonValue value = root.value(QLatin1StringView(key));
    Member member;
    member.type = value.type();
    member.boolean = value.toBool();
    member.number = value.toDouble();
    member.string = value.toString();
    return member;
}

Expected<BodyFields> readWithQt(const QByteArray &body)
{
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
    const QJsonObject root = doc.object();
    BodyFields fields;
    fields.model = qtMember(root, "model");
    fields.messages = qtMember(root, "messages");
    fields.maxTokens = qtMember(root, "max_tokens");
    fields.maxCompletionTokens = qtMember(root, "max_completion_tokens");
    fields.stream = qtMember(root, "stream");
    fields.user = qtMember(root, "user");
    fields.streamOptions = qtMember(root, "stream_options");
    const QJsonValue userId =
        root.value(QLatin1StringView("metadata")).toObject().value(QLatin1StringView("user_id"));
    if (userId.isString())
        fields.metadataUserId = userId.toString();
    const QJsonObject metadata = root.value(QLatin1StringView("metadata")).toObject();
    int read = 0;
    for (auto it = metadata.begin(); it != metadata.end() && read < kMetadataMembers;
         ++it, ++read) {
        Member member;
        member.type = it.value().type();
        member.string = it.value().toString();
        putMetadata(&fields.metadata, it.key(), member);
    }
    const QJsonValue includeUsage = root.value(QLatin1StringView("stream_options"))
                                        .toObject()
                                        .value(QLatin1StringView("include_usage"));
    fields.includeUsage = includeUsage.isBool() && includeUsage.toBool();
    fields.hasMembers = !root.isEmpty();
    fields.qtRoot = root;
    return fields;
}

Expected<BodyFields> parseBody(const QByteArray &body)
{
    // The same whitespace as QByteArray::trimmed(), which these checks used.
    qsizetype first = 0;
    while (first < body.size() &&
           (body[first] == ' ' || (body[first] >= '\t' && body[first] <= '\r')))
        ++first;
    if (first == body.size())
        return Error{QStringLiteral("request body is empty; expected a JSON object"), QString()};
    // Qt's parser reports a top-level scalar as "illegal value", which would mislead the client.
    if (body[first] != '{' && body[first] != '[')
        return Error{QStringLiteral("request body must be a JSON object"), QString()};

    BodyFields fields;
    bool isObject = false;
    if (readWithSimdjson(body, &fields, &isObject) == simdjson::SUCCESS) {
        if (!isObject)
            return Error{QStringLiteral("request body must be a JSON object"), QString()};
    } else {
        // Qt words the error as the gateway always has, or accepts what it tolerates.
        Expected<BodyFields> tolerated = readWithQt(body);
        if (!tolerated)
            return tolerated;
        fields = std::move(*tolerated);
    }
    fields.openBrace = first;
    return fields;
}

// ---- Reading and editing ------------------------------------------------------------------------

Expected<QString> requireModel(const Member &model)
{
    if (model.type == QJsonValue::Undefined)
        return fieldError("model", "field required");
    if (model.type != QJsonValue::String)
        return fieldError("model", "must be a string");
    if (model.string.isEmpty())
        return fieldError("model", "must not be empty");
    return model.string;
}

// Reads an optional positive integer field. nullopt: absent (or null where the API allows it).
Expected<std::optional<int>> optionalPositiveInt(const Member &value, const char *key,
                                                 bool nullMeansAbsent)
{
    if (value.type == QJsonValue::Undefined || (nullMeansAbsent && value.type == QJsonValue::Null))
        return std::optional<int>();
    const double number = value.number;
    if (value.type != QJsonValue::Double || number != std::floor(number) || number < 1 ||
        number > std::numeric_limits<int>::max())
        return fieldError(key, "must be a positive integer");
    return std::optional<int>(static_cast<int>(number));
}

// The byte range of one value inside a JSON text known to be valid (a parser accepted it).
qsizetype skipSpace(const QByteArray &json, qsizetype i)
{
    while (i < json.size() &&
           (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r'))
        ++i;
    return i;
}

qsizetype skipString(const QByteArray &json, qsizetype i)
{
    // i is at the opening quote; returns the index after the closing quote. Strings are most of
    // a request body, so jump from quote to quote: a quote ends the string unless an odd run of
    // backslashes escapes it.
    const char *const data = json.constData();
    const qsizetype opening = i;
    for (++i; i < json.size();) {
        const auto *quote =
            static_cast<const char *>(std::memchr(data + i, '"', size_t(json.size() - i)));
        if (!quote)
            return -1;
        const qsizetype at = quote - data;
        qsizetype backslashes = 0;
        while (at - backslashes - 1 > opening && data[at - backslashes - 1] == '\\')
            ++backslashes;
        if (backslashes % 2 == 0)
            return at + 1;
        i = at + 1;
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

// The edits below change the client's bytes in place, so key order, number spelling and
// everything else the client sent reaches the upstream (and the cache key) as sent.

// Adds a member the body does not have (no key spells it, escaped or not).
QByteArray withInsertedMember(const QByteArray &body, const BodyFields &fields, const char *key,
                              const QByteArray &valueJson)
{
    QByteArray member = '"' + QByteArray(key) + "\":" + valueJson;
    if (fields.hasMembers)
        member.append(',');
    QByteArray out = body;
    out.insert(fields.openBrace + 1, member);
    return out;
}

// Asks for the OpenAI usage chunk: sets stream_options.include_usage, keeping the client's other
// stream options.
QByteArray withIncludeUsage(const QByteArray &body, const BodyFields &fields)
{
    const QLatin1StringView includeUsage("include_usage");
    if (fields.streamOptions.type == QJsonValue::Undefined) {
        return withInsertedMember(body, fields, "stream_options",
                                  QByteArrayLiteral(R"({"include_usage":true})"));
    }
    qsizetype openBrace = -1;
    const std::optional<Span> span = findTopLevelValue(body, "stream_options", &openBrace);
    if (!span || span->begin < 0) {
        // An escaped key spells stream_options, or the scanner and the parser disagree:
        // re-serialize, which is correct if not byte-preserving.
        QJsonObject root = fields.qtRoot ? *fields.qtRoot : QJsonDocument::fromJson(body).object();
        QJsonObject options = root.value(QLatin1StringView("stream_options")).toObject();
        options.insert(includeUsage, true);
        root.insert(QLatin1StringView("stream_options"), options);
        return QJsonDocument(root).toJson(QJsonDocument::Compact);
    }
    const qsizetype length = span->end - span->begin;
    QJsonObject options;
    if (fields.streamOptions.type == QJsonValue::Object)
        options = QJsonDocument::fromJson(body.mid(span->begin, length)).object();
    options.insert(includeUsage, true);
    QByteArray out = body;
    out.replace(span->begin, length, QJsonDocument(options).toJson(QJsonDocument::Compact));
    return out;
}

} // namespace

Expected<ClientRequest> parseClientRequest(Flavor flavor, const QByteArray &body,
                                           const RequestDefaults &defaults)
{
    Expected<BodyFields> parsed = parseBody(body);
    if (!parsed)
        return parsed.error();
    const BodyFields &fields = *parsed;
    const bool openAi = flavor == Flavor::OpenAI;

    ClientRequest request;
    Expected<QString> model = requireModel(fields.model);
    if (!model)
        return model.error();
    request.model = *model;

    if (fields.messages.type == QJsonValue::Undefined)
        return fieldError("messages", "field required");
    if (fields.messages.type != QJsonValue::Array)
        return fieldError("messages", "must be an array");

    // OpenAI documents its optional fields as nullable; Anthropic rejects null, and so do we.
    Expected<std::optional<int>> maxTokens =
        optionalPositiveInt(fields.maxTokens, "max_tokens", openAi);
    if (!maxTokens)
        return maxTokens.error();
    if (openAi) {
        Expected<std::optional<int>> maxCompletion =
            optionalPositiveInt(fields.maxCompletionTokens, "max_completion_tokens", true);
        if (!maxCompletion)
            return maxCompletion.error();
        // The newer name wins: it is what current models honour.
        if (maxCompletion->has_value())
            maxTokens = *maxCompletion;
    }

    const Member &stream = fields.stream;
    if (stream.type != QJsonValue::Undefined && !(openAi && stream.type == QJsonValue::Null)) {
        if (stream.type != QJsonValue::Bool)
            return fieldError("stream", "must be a boolean");
        request.stream = stream.boolean;
    }

    if (openAi) {
        if (fields.user.type == QJsonValue::String)
            request.user = fields.user.string;
    } else {
        request.user = fields.metadataUserId;
    }
    request.metadata = fields.metadata;
    // OpenAI's counterpart of Anthropic's metadata.user_id, under the same name so one rule
    // spelling covers both APIs.
    if (openAi && fields.user.type == QJsonValue::String)
        request.metadata.append({QStringLiteral("user_id"), fields.user.string});

    request.upstreamBody = body;
    request.canonical = fields.canonical;
    if (maxTokens->has_value()) {
        request.maxTokens = **maxTokens;
    } else if (!openAi && defaults.maxTokens > 0) {
        // Anthropic requires max_tokens; OpenAI does not and newer OpenAI models reject
        // max_tokens outright, so only Anthropic gets the default. A non-positive default turns
        // defaulting off and leaves the upstream to answer.
        request.maxTokens = defaults.maxTokens;
        request.maxTokensDefaulted = true;
        request.upstreamBody =
            withInsertedMember(body, fields, "max_tokens", QByteArray::number(defaults.maxTokens));
        if (request.canonical) {
            QByteArray value;
            CanonicalObject::appendInteger(value, defaults.maxTokens);
            request.canonical->insert("max_tokens", value);
        }
    }

    if (openAi && request.stream) {
        request.clientWantsUsageChunk = fields.includeUsage;
        // Without it an OpenAI stream reports no tokens and the request could not be charged;
        // the gateway hides the extra chunk from this client. (Only Anthropic bodies get the
        // max_tokens default, so this edits the client's body as sent.)
        if (!request.clientWantsUsageChunk) {
            request.upstreamBody = withIncludeUsage(body, fields);
            if (request.canonical)
                request.canonical = CanonicalObject::fromJson(request.upstreamBody);
        }
    }
    return request;
}

Expected<QString> parseCountTokensModel(const QByteArray &body)
{
    Expected<BodyFields> parsed = parseBody(body);
    if (!parsed)
        return parsed.error();
    return requireModel(parsed->model);
}

} // namespace tollgate::api
