#include "simulator/responsesynthesizer.h"

#include "api/clientrequest.h"
#include "api/errorshape.h"
#include "api/promptstats.h"
#include "http/httpmessage.h"
#include "metering/pricetable.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace tollgate::simulator {

namespace {

using api::Flavor;

QByteArray jsonString(const QString &text)
{
    // A one-element array is the shortest way to Qt's exact JSON string escaping.
    QByteArray array = QJsonDocument(QJsonArray{text}).toJson(QJsonDocument::Compact);
    return array.mid(1, array.size() - 2);
}

QByteArray number(qint64 value)
{
    return QByteArray::number(value);
}

Flavor flavorOfPath(const QByteArray &path)
{
    return path.startsWith("/v1/chat/") || path.startsWith("/v1/completions") ||
                   path.startsWith("/v1/embeddings") || path.startsWith("/v1/responses")
               ? Flavor::OpenAI
               : Flavor::Anthropic;
}

/// `GET /v1/models` exists in both APIs; Anthropic clients identify themselves by headers.
Flavor flavorOfModelsRequest(const http::HttpRequest &request)
{
    return request.header("anthropic-version").isEmpty() && request.header("x-api-key").isEmpty()
               ? Flavor::OpenAI
               : Flavor::Anthropic;
}

QByteArray sseEvent(Flavor flavor, QByteArrayView name, const QByteArray &data)
{
    if (flavor == Flavor::OpenAI)
        return "data: " + data + "\n\n";
    return "event: " + name.toByteArray() + "\ndata: " + data + "\n\n";
}

/// Every answer says where it comes from, so that no one mistakes it for a provider's.
http::HeaderList headersFor(Flavor flavor, quint64 sequence, QByteArrayView contentType)
{
    http::HeaderList headers = {{"content-type", contentType.toByteArray()}};
    headers.append({flavor == Flavor::Anthropic ? "request-id" : "x-request-id",
                    "req_sim_" + number(qint64(sequence))});
    headers.append({QByteArrayLiteral("x-simulated"), QByteArrayLiteral("true")});
    return headers;
}

ResponseScript jsonScript(Flavor flavor, quint64 sequence, int status, qint64 atMs, QByteArray body)
{
    ResponseScript script;
    script.status = status;
    script.headers = headersFor(flavor, sequence, "application/json");
    script.parts.append({atMs, std::move(body)});
    return script;
}

ResponseScript errorScript(Flavor flavor, quint64 sequence, int status, const QString &message,
                           qint64 atMs = 0)
{
    return jsonScript(flavor, sequence, status, atMs, api::errorBody(flavor, status, message));
}

/// Tokens of a prompt: text at about four characters a token, a few tokens of framing per
/// message, and a typical tool definition's worth per tool.
qint64 inputTokens(Flavor flavor, const QByteArray &body)
{
    const api::PromptStats stats = api::promptStats(flavor, body);
    return qMax<qint64>(1, tokensInText(stats.chars) + 4 * stats.messages + 150 * stats.tools);
}

/// The prompt's fingerprint: system and messages only, so the same conversation gets the same
/// answer whether it streams or not and whatever else the request sets.
quint64 promptHash(const QByteArray &body)
{
    const QJsonObject request = QJsonDocument::fromJson(body).object();
    const QJsonArray prompt = {request.value(u"system"), request.value(u"messages")};
    return fingerprint(QJsonDocument(prompt).toJson(QJsonDocument::Compact));
}

// The outcome of a fault in each API: status, in-stream status, and a message that says the
// failure is simulated.
int faultStatus(Flavor flavor, Fault fault)
{
    switch (fault) {
    case Fault::RateLimited: return 429;
    case Fault::Overloaded: return flavor == Flavor::Anthropic ? 529 : 503;
    // Anthropic's streams that fail part way mostly end with an overloaded_error event.
    case Fault::BrokenStream: return flavor == Flavor::Anthropic ? 529 : 500;
    case Fault::None:
    case Fault::ServerError: break;
    }
    return 500;
}

QString faultMessage(Fault fault, int retryAfterSeconds)
{
    switch (fault) {
    case Fault::RateLimited:
        return QStringLiteral("[simulated] Rate limit exceeded; retry after %1 s.")
            .arg(retryAfterSeconds);
    case Fault::Overloaded: return QStringLiteral("[simulated] Overloaded");
    case Fault::BrokenStream:
        return QStringLiteral("[simulated] The stream failed part way; retry the request.");
    case Fault::None:
    case Fault::ServerError: break;
    }
    return QStringLiteral("[simulated] Internal server error");
}

struct Answer {
    Flavor flavor;
    QString model;
    qint64 inputTokens = 0;
    bool includeUsage = false; ///< OpenAI: the usage chunk was asked for
    qint64 createdSecs = 0;
    AnswerPlan plan;
};

QByteArray anthropicStopReason(const Answer &a)
{
    return a.plan.truncated ? "\"max_tokens\"" : "\"end_turn\"";
}

QByteArray openAiFinishReason(const Answer &a)
{
    return a.plan.truncated ? "\"length\"" : "\"stop\"";
}

QByteArray anthropicHead(const Answer &a)
{
    return R"({"id":"msg_sim_)" + a.plan.id.toLatin1() +
           R"(","type":"message","role":"assistant","model":)" + jsonString(a.model);
}

QByteArray anthropicUsage(const Answer &a, qint64 outputTokens)
{
    return R"({"input_tokens":)" + number(a.inputTokens) +
           R"(,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":)" +
           number(outputTokens) + '}';
}

QByteArray anthropicMessage(const Answer &a)
{
    return anthropicHead(a) + R"(,"content":[{"type":"text","text":)" + jsonString(a.plan.text) +
           R"(}],"stop_reason":)" + anthropicStopReason(a) + R"(,"stop_sequence":null,"usage":)" +
           anthropicUsage(a, a.plan.outputTokens) + '}';
}

QByteArray openAiHead(const Answer &a, QByteArrayView object)
{
    return R"({"id":"chatcmpl-sim-)" + a.plan.id.toLatin1() + R"(","object":")" +
           object.toByteArray() + R"(","created":)" + number(a.createdSecs) + R"(,"model":)" +
           jsonString(a.model);
}

QByteArray openAiUsage(const Answer &a)
{
    return R"({"prompt_tokens":)" + number(a.inputTokens) + R"(,"completion_tokens":)" +
           number(a.plan.outputTokens) + R"(,"total_tokens":)" +
           number(a.inputTokens + a.plan.outputTokens) +
           R"(,"prompt_tokens_details":{"cached_tokens":0},)"
           R"("completion_tokens_details":{"reasoning_tokens":0}})";
}

QByteArray openAiCompletion(const Answer &a)
{
    return openAiHead(a, "chat.completion") +
           R"(,"choices":[{"index":0,"message":{"role":"assistant","content":)" +
           jsonString(a.plan.text) + R"(,"refusal":null},"logprobs":null,"finish_reason":)" +
           openAiFinishReason(a) + R"(}],"usage":)" + openAiUsage(a) +
           R"(,"system_fingerprint":"fp_simulated"})";
}

QByteArray openAiChunk(const Answer &a, QByteArrayView delta, QByteArrayView finish)
{
    QByteArray out = openAiHead(a, "chat.completion.chunk") +
                     R"(,"system_fingerprint":"fp_simulated","choices":[{"index":0,"delta":)" +
                     delta.toByteArray() + R"(,"logprobs":null,"finish_reason":)" +
                     finish.toByteArray() + "}]";
    // With the usage chunk asked for, every other chunk carries "usage":null, as OpenAI's do.
    if (a.includeUsage)
        out.append(R"(,"usage":null)");
    return out.append('}');
}

/// The pieces that go out before the stream ends or breaks.
int piecesSent(const AnswerPlan &plan)
{
    return plan.fault == Fault::BrokenStream ? plan.faultAfterPieces : int(plan.pieces.size());
}

void appendStreamEnd(ResponseScript &script, const Answer &a, const QList<QByteArray> &closing)
{
    const AnswerPlan &plan = a.plan;
    if (plan.fault == Fault::BrokenStream) {
        script.parts.append(
            {plan.faultAtMs, api::streamErrorEvent(a.flavor, faultStatus(a.flavor, plan.fault),
                                                   faultMessage(plan.fault, 0))});
        return;
    }
    for (const QByteArray &event : closing)
        script.parts.append({plan.doneAtMs, event});
}

ResponseScript anthropicStream(ResponseScript script, const Answer &a)
{
    const AnswerPlan &plan = a.plan;
    const qint64 start = plan.firstTokenMs;
    const Flavor f = Flavor::Anthropic;
    script.parts.append(
        {start, sseEvent(f, "message_start",
                         R"({"type":"message_start","message":)" + anthropicHead(a) +
                             R"(,"content":[],"stop_reason":null,)"
                             R"("stop_sequence":null,"usage":)" +
                             anthropicUsage(a, 1) + "}}")});
    script.parts.append({start, sseEvent(f, "content_block_start",
                                         R"({"type":"content_block_start","index":0,)"
                                         R"("content_block":{"type":"text","text":""}})")});
    script.parts.append({start, sseEvent(f, "ping", R"({"type": "ping"})")});
    for (int i = 0; i < piecesSent(plan); ++i) {
        script.parts.append(
            {plan.pieceAtMs.at(i),
             sseEvent(f, "content_block_delta",
                      R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta",)"
                      R"("text":)" +
                          jsonString(plan.pieces.at(i)) + "}}")});
    }
    appendStreamEnd(
        script, a,
        {sseEvent(f, "content_block_stop", R"({"type":"content_block_stop","index":0})"),
         sseEvent(f, "message_delta",
                  R"({"type":"message_delta","delta":{"stop_reason":)" + anthropicStopReason(a) +
                      R"(,"stop_sequence":null},"usage":{"output_tokens":)" +
                      number(plan.outputTokens) + "}}"),
         sseEvent(f, "message_stop", R"({"type":"message_stop"})")});
    return script;
}

ResponseScript openAiStream(ResponseScript script, const Answer &a)
{
    const AnswerPlan &plan = a.plan;
    const Flavor f = Flavor::OpenAI;
    script.parts.append(
        {plan.firstTokenMs,
         sseEvent(f, {},
                  openAiChunk(a, R"({"role":"assistant","content":"","refusal":null})", "null"))});
    for (int i = 0; i < piecesSent(plan); ++i) {
        script.parts.append(
            {plan.pieceAtMs.at(i),
             sseEvent(
                 f, {},
                 openAiChunk(a, "{\"content\":" + jsonString(plan.pieces.at(i)) + '}', "null"))});
    }
    QList<QByteArray> closing = {sseEvent(f, {}, openAiChunk(a, "{}", openAiFinishReason(a)))};
    if (a.includeUsage)
        closing.append(
            sseEvent(f, {},
                     openAiHead(a, "chat.completion.chunk") +
                         R"(,"system_fingerprint":"fp_simulated","choices":[],"usage":)" +
                         openAiUsage(a) + '}'));
    closing.append(sseEvent(f, {}, "[DONE]"));
    appendStreamEnd(script, a, closing);
    return script;
}

QByteArray modelList(Flavor flavor)
{
    const metering::PriceTable prices = metering::PriceTable::builtin();
    const QLatin1String provider(flavor == Flavor::Anthropic ? "anthropic" : "openai");
    QJsonArray data;
    for (const metering::ModelPrice &model : prices.models()) {
        if (model.provider != provider)
            continue;
        if (flavor == Flavor::Anthropic)
            data.append(QJsonObject{
                {QStringLiteral("type"), QStringLiteral("model")},
                {QStringLiteral("id"), model.id},
                {QStringLiteral("display_name"), model.id + QStringLiteral(" (simulated)")},
                {QStringLiteral("created_at"), QStringLiteral("2025-01-01T00:00:00Z")}});
        else
            data.append(
                QJsonObject{{QStringLiteral("id"), model.id},
                            {QStringLiteral("object"), QStringLiteral("model")},
                            {QStringLiteral("created"), 1735689600},
                            {QStringLiteral("owned_by"), QStringLiteral("tollgate-simulator")}});
    }
    QJsonObject list;
    list.insert(QStringLiteral("data"), data);
    if (flavor == Flavor::Anthropic) {
        list.insert(QStringLiteral("has_more"), false);
        list.insert(QStringLiteral("first_id"), data.first().toObject().value(u"id"));
        list.insert(QStringLiteral("last_id"), data.last().toObject().value(u"id"));
    } else {
        list.insert(QStringLiteral("object"), QStringLiteral("list"));
    }
    return QJsonDocument(list).toJson(QJsonDocument::Compact);
}

} // namespace

ResponseSynthesizer::ResponseSynthesizer(SimulatorOptions options)
    : m_options(options)
{
}

ResponseScript ResponseSynthesizer::respond(const http::HttpRequest &request, quint64 sequence,
                                            qint64 nowSecs) const
{
    struct Endpoint {
        QByteArrayView method;
        QByteArrayView path;
    };
    static const Endpoint endpoints[] = {{"POST", "/v1/messages"},
                                         {"POST", "/v1/messages/count_tokens"},
                                         {"POST", "/v1/chat/completions"},
                                         {"GET", "/v1/models"}};
    const Flavor flavor =
        request.path == "/v1/models" ? flavorOfModelsRequest(request) : flavorOfPath(request.path);
    for (const Endpoint &endpoint : endpoints) {
        if (endpoint.path != request.path)
            continue;
        const bool get = request.method == "GET" || request.method == "HEAD";
        if (endpoint.method != request.method && !(endpoint.method == "GET" && get)) {
            ResponseScript script = errorScript(
                flavor, sequence, 405,
                QStringLiteral("%1 %2 is not supported; use %3")
                    .arg(QString::fromLatin1(request.method), QString::fromLatin1(request.path),
                         QString::fromLatin1(endpoint.method.toByteArray())));
            script.headers.append({"allow", endpoint.method.toByteArray()});
            return script;
        }
        if (request.path == "/v1/models")
            return models(flavor, sequence);
        if (request.path == "/v1/messages/count_tokens")
            return countTokens(request, sequence);
        return generate(flavor, request, sequence, nowSecs);
    }
    return errorScript(
        flavor, sequence, 404,
        QStringLiteral("The simulator does not serve %1 %2")
            .arg(QString::fromLatin1(request.method), QString::fromLatin1(request.path)));
}

QByteArray ResponseSynthesizer::errorBody(const QByteArray &path, int status,
                                          const QString &message) const
{
    return api::errorBody(flavorOfPath(path), status, message);
}

ResponseScript ResponseSynthesizer::generate(Flavor flavor, const http::HttpRequest &request,
                                             quint64 sequence, qint64 nowSecs) const
{
    const auto parsed = api::parseClientRequest(flavor, request.body);
    if (!parsed)
        return errorScript(flavor, sequence, 400, parsed.error().toString());

    Answer answer;
    answer.flavor = flavor;
    answer.model = parsed->model;
    answer.inputTokens = inputTokens(flavor, request.body);
    answer.includeUsage = flavor == Flavor::OpenAI && parsed->clientWantsUsageChunk;
    answer.createdSecs = nowSecs;
    AnswerRequest planned;
    planned.model = parsed->model;
    planned.inputTokens = answer.inputTokens;
    planned.maxTokens = parsed->maxTokens;
    planned.stream = parsed->stream;
    planned.promptHash = promptHash(request.body);
    answer.plan = planAnswer(planned, m_options, sequence);
    const AnswerPlan &plan = answer.plan;

    if (plan.fault != Fault::None && plan.fault != Fault::BrokenStream) {
        const int status = faultStatus(flavor, plan.fault);
        ResponseScript script =
            errorScript(flavor, sequence, status, faultMessage(plan.fault, plan.retryAfterSeconds),
                        plan.faultAtMs);
        if (plan.fault == Fault::RateLimited)
            script.headers.append({"retry-after", number(plan.retryAfterSeconds)});
        return script;
    }
    if (!parsed->stream) {
        return jsonScript(flavor, sequence, 200, plan.doneAtMs,
                          flavor == Flavor::Anthropic ? anthropicMessage(answer)
                                                      : openAiCompletion(answer));
    }
    ResponseScript script;
    script.streamed = true;
    script.headers = headersFor(flavor, sequence, "text/event-stream; charset=utf-8");
    script.headers.append({QByteArrayLiteral("cache-control"), QByteArrayLiteral("no-cache")});
    return flavor == Flavor::Anthropic ? anthropicStream(std::move(script), answer)
                                       : openAiStream(std::move(script), answer);
}

ResponseScript ResponseSynthesizer::countTokens(const http::HttpRequest &request,
                                                quint64 sequence) const
{
    const auto model = api::parseCountTokensModel(request.body);
    if (!model)
        return errorScript(Flavor::Anthropic, sequence, 400, model.error().toString());
    return jsonScript(Flavor::Anthropic, sequence, 200, 0,
                      R"({"input_tokens":)" + number(inputTokens(Flavor::Anthropic, request.body)) +
                          '}');
}

ResponseScript ResponseSynthesizer::models(Flavor flavor, quint64 sequence) const
{
    // Built once per flavor: the list never changes while the program runs.
    static const QByteArray anthropic = modelList(Flavor::Anthropic);
    static const QByteArray openAi = modelList(Flavor::OpenAI);
    return jsonScript(flavor, sequence, 200, 0, flavor == Flavor::Anthropic ? anthropic : openAi);
}

} // namespace tollgate::simulator
