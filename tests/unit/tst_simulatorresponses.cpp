// The simulated provider's answers, decided without a socket: the providers' wire formats, usage
// counted from the prompt, max_tokens, timing under the latency scale, the seed, and faults at
// the configured rate in each API's shape.
#include "api/usage.h"
#include "http/httpmessage.h"
#include "http/sseparser.h"
#include "simulator/answerplan.h"
#include "simulator/responsesynthesizer.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using namespace tollgate;
using namespace tollgate::simulator;

namespace {

constexpr qint64 kNow = 1767225600;

http::HttpRequest post(const QByteArray &path, const QByteArray &body)
{
    http::HttpRequest request;
    request.method = "POST";
    request.path = path;
    request.headers = {{"content-type", "application/json"}};
    request.body = body;
    return request;
}

QByteArray anthropicBody(const QByteArray &model, const QByteArray &prompt, bool stream,
                         int maxTokens = 1024)
{
    return R"({"model":")" + model + R"(","max_tokens":)" + QByteArray::number(maxTokens) +
           R"(,"stream":)" + (stream ? "true" : "false") +
           R"(,"messages":[{"role":"user","content":")" + prompt + R"("}]})";
}

QByteArray openAiBody(const QByteArray &model, const QByteArray &prompt, bool stream,
                      bool includeUsage = true, const QByteArray &extra = {})
{
    QByteArray body =
        R"({"model":")" + model + R"(","messages":[{"role":"user","content":")" + prompt + R"("}])";
    if (stream)
        body += R"(,"stream":true)";
    if (stream && includeUsage)
        body += R"(,"stream_options":{"include_usage":true})";
    return body + extra + '}';
}

ResponseScript respond(const SimulatorOptions &options, const http::HttpRequest &request,
                       quint64 sequence = 1)
{
    return ResponseSynthesizer(options).respond(request, sequence, kNow);
}

SimulatorOptions instant(quint64 seed = 7)
{
    SimulatorOptions options;
    options.seed = seed;
    options.latencyScale = 0;
    options.errorRate = 0;
    return options;
}

QList<http::SseEvent> events(const ResponseScript &script)
{
    http::SseParser parser;
    QList<http::SseEvent> out;
    for (const ResponseScript::Part &part : script.parts)
        out += parser.feed(part.bytes);
    return out;
}

QJsonObject json(const QByteArray &bytes)
{
    return QJsonDocument::fromJson(bytes).object();
}

QJsonObject bodyOf(const ResponseScript &script)
{
    return script.parts.isEmpty() ? QJsonObject() : json(script.parts.constFirst().bytes);
}

QByteArray header(const ResponseScript &script, QByteArrayView name)
{
    return http::headerValue(script.headers, name);
}

/// The text of a streamed answer: Anthropic text deltas or OpenAI content deltas, joined.
QString streamedText(const QList<http::SseEvent> &list)
{
    QString text;
    for (const http::SseEvent &event : list) {
        const QJsonObject object = json(event.data);
        if (event.event == "content_block_delta")
            text += object.value("delta").toObject().value("text").toString();
        const QJsonArray choices = object.value("choices").toArray();
        if (!choices.isEmpty())
            text +=
                choices.first().toObject().value("delta").toObject().value("content").toString();
    }
    return text;
}

/// True when `body` is an Anthropic error object of `type`.
bool isAnthropicError(const QJsonObject &body, const QString &type)
{
    const QJsonObject error = body.value("error").toObject();
    return body.value("type").toString() == "error" && error.value("type").toString() == type &&
           error.value("message").toString().startsWith("[simulated]");
}

bool isOpenAiError(const QJsonObject &body)
{
    const QJsonObject error = body.value("error").toObject();
    return !body.contains("type") && error.value("message").toString().startsWith("[simulated]") &&
           error.value("type").isString() && error.contains("code");
}

} // namespace

class TestSimulatorResponses : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void anthropicStreamFollowsTheEventSequence();
    void anthropicMessageCarriesTextAndUsage();
    void openAiStreamEndsWithTheUsageChunkAndDone();
    void openAiStreamWithoutUsageHasNoUsageChunk();
    void openAiCompletionCarriesTextAndUsage();
    void streamedAndWholeAnswersReadTheSame();
    void inputTokensFollowThePrompt();
    void maxTokensCutsTheAnswer();
    void latencyScaleZeroAnswersAtOnce();
    void timingFollowsModelSizeAndScale();
    void seedReproducesTheText();
    void errorRateIsHonoured();
    void faultsComeInEachApisShape_data();
    void faultsComeInEachApisShape();
    void badJsonGetsA400InTheApisShape();
    void countTokensMatchesTheMessagesUsage();
    void modelsAreListedPerApi();
    void unknownEndpointsAndMethodsAreRefused();
};

void TestSimulatorResponses::anthropicStreamFollowsTheEventSequence()
{
    const ResponseScript script =
        respond(instant(), post("/v1/messages",
                                anthropicBody("claude-3-haiku-20240307", "Explain caching", true)));
    QCOMPARE(script.status, 200);
    QVERIFY(script.streamed);
    QVERIFY(header(script, "content-type").startsWith("text/event-stream"));
    QCOMPARE(header(script, "x-simulated"), QByteArray("true"));

    const QList<http::SseEvent> list = events(script);
    QStringList names;
    for (const http::SseEvent &event : list)
        names.append(QString::fromLatin1(event.event));
    QVERIFY2(names.size() > 7, qPrintable(names.join(',')));
    QCOMPARE(names.mid(0, 3), QStringList({"message_start", "content_block_start", "ping"}));
    QCOMPARE(names.mid(names.size() - 3),
             QStringList({"content_block_stop", "message_delta", "message_stop"}));
    for (const QString &name : names.mid(3, names.size() - 6))
        QCOMPARE(name, QStringLiteral("content_block_delta"));

    const QJsonObject message = json(list.first().data).value("message").toObject();
    QCOMPARE(message.value("model").toString(), QStringLiteral("claude-3-haiku-20240307"));
    QVERIFY(message.value("id").toString().startsWith("msg_sim_"));
    QVERIFY(message.value("usage").toObject().value("input_tokens").toInt() > 0);
    const QString text = streamedText(list);
    QVERIFY2(text.startsWith("[simulated] "), qPrintable(text));
    const QJsonObject delta = json(list.at(names.size() - 2).data);
    QCOMPARE(delta.value("delta").toObject().value("stop_reason").toString(),
             QStringLiteral("end_turn"));
    QCOMPARE(delta.value("usage").toObject().value("output_tokens").toInteger(),
             tokensInText(text.size()));
}

void TestSimulatorResponses::anthropicMessageCarriesTextAndUsage()
{
    const ResponseScript script = respond(
        instant(), post("/v1/messages", anthropicBody("claude-sonnet-4-20250514", "Hi", false)));
    QCOMPARE(script.status, 200);
    QVERIFY(!script.streamed);
    QVERIFY(header(script, "request-id").startsWith("req_sim_"));
    const QJsonObject body = bodyOf(script);
    QCOMPARE(body.value("type").toString(), QStringLiteral("message"));
    QCOMPARE(body.value("model").toString(), QStringLiteral("claude-sonnet-4-20250514"));
    const QString text =
        body.value("content").toArray().first().toObject().value("text").toString();
    QVERIFY2(text.startsWith("[simulated] "), qPrintable(text));
    QVERIFY(text.contains("simulator"));
    const QJsonObject usage = body.value("usage").toObject();
    QCOMPARE(usage.value("output_tokens").toInteger(), tokensInText(text.size()));
    QVERIFY(usage.value("input_tokens").toInt() > 0);
    QCOMPARE(usage.value("cache_read_input_tokens").toInt(-1), 0);
}

void TestSimulatorResponses::openAiStreamEndsWithTheUsageChunkAndDone()
{
    const ResponseScript script =
        respond(instant(), post("/v1/chat/completions", openAiBody("gpt-4o", "Hello", true)));
    QCOMPARE(script.status, 200);
    QVERIFY(header(script, "x-request-id").startsWith("req_sim_"));
    const QList<http::SseEvent> list = events(script);
    QVERIFY(list.size() > 4);
    for (const http::SseEvent &event : list)
        QVERIFY(event.event.isEmpty());
    QCOMPARE(list.last().data, QByteArray("[DONE]"));
    const QJsonObject usageChunk = json(list.at(list.size() - 2).data);
    QVERIFY(usageChunk.value("choices").toArray().isEmpty());
    const QJsonObject usage = usageChunk.value("usage").toObject();
    const QString text = streamedText(list);
    QVERIFY2(text.startsWith("[simulated] "), qPrintable(text));
    QCOMPARE(usage.value("completion_tokens").toInteger(), tokensInText(text.size()));
    QCOMPARE(usage.value("total_tokens").toInteger(),
             usage.value("prompt_tokens").toInteger() +
                 usage.value("completion_tokens").toInteger());
    const QJsonObject finish = json(list.at(list.size() - 3).data);
    QCOMPARE(finish.value("choices").toArray().first().toObject().value("finish_reason").toString(),
             QStringLiteral("stop"));
    const QJsonObject first = json(list.first().data);
    QCOMPARE(first.value("object").toString(), QStringLiteral("chat.completion.chunk"));
    QCOMPARE(first.value("model").toString(), QStringLiteral("gpt-4o"));
    QCOMPARE(first.value("created").toInteger(), kNow);
    QVERIFY(first.contains("usage") && first.value("usage").isNull());
}

void TestSimulatorResponses::openAiStreamWithoutUsageHasNoUsageChunk()
{
    const ResponseScript script = respond(
        instant(), post("/v1/chat/completions", openAiBody("gpt-4o", "Hello", true, false)));
    const QList<http::SseEvent> list = events(script);
    QCOMPARE(list.last().data, QByteArray("[DONE]"));
    for (const http::SseEvent &event : list.mid(0, list.size() - 1)) {
        QVERIFY(!json(event.data).contains("usage"));
        QCOMPARE(json(event.data).value("choices").toArray().size(), 1);
    }
}

void TestSimulatorResponses::openAiCompletionCarriesTextAndUsage()
{
    const ResponseScript script =
        respond(instant(), post("/v1/chat/completions", openAiBody("gpt-4o-mini", "Hi", false)));
    QCOMPARE(script.status, 200);
    const QJsonObject body = bodyOf(script);
    QCOMPARE(body.value("object").toString(), QStringLiteral("chat.completion"));
    QCOMPARE(body.value("model").toString(), QStringLiteral("gpt-4o-mini"));
    const QJsonObject choice = body.value("choices").toArray().first().toObject();
    const QString text = choice.value("message").toObject().value("content").toString();
    QVERIFY2(text.startsWith("[simulated] "), qPrintable(text));
    QCOMPARE(choice.value("finish_reason").toString(), QStringLiteral("stop"));
    QCOMPARE(body.value("usage").toObject().value("completion_tokens").toInteger(),
             tokensInText(text.size()));
}

void TestSimulatorResponses::streamedAndWholeAnswersReadTheSame()
{
    const QByteArray prompt = "Compare two approaches to rate limiting";
    const ResponseScript whole = respond(
        instant(), post("/v1/messages", anthropicBody("claude-3-haiku-20240307", prompt, false)));
    const ResponseScript streamed = respond(
        instant(), post("/v1/messages", anthropicBody("claude-3-haiku-20240307", prompt, true)), 2);
    QCOMPARE(streamedText(events(streamed)),
             bodyOf(whole).value("content").toArray().first().toObject().value("text").toString());
}

void TestSimulatorResponses::inputTokensFollowThePrompt()
{
    const auto inputTokens = [](const QByteArray &prompt) {
        const ResponseScript script =
            respond(instant(),
                    post("/v1/messages", anthropicBody("claude-3-haiku-20240307", prompt, false)));
        return bodyOf(script).value("usage").toObject().value("input_tokens").toInteger();
    };
    // About four characters a token, plus a few tokens of framing for the one message.
    const qint64 four = inputTokens(QByteArray(400, 'a'));
    QVERIFY2(four >= 100 && four <= 110, qPrintable(QString::number(four)));
    const qint64 forty = inputTokens(QByteArray(4000, 'a'));
    QVERIFY2(forty >= 1000 && forty <= 1010, qPrintable(QString::number(forty)));
}

void TestSimulatorResponses::maxTokensCutsTheAnswer()
{
    const ResponseScript anthropic = respond(
        instant(), post("/v1/messages", anthropicBody("claude-3-haiku-20240307", "Hi", false, 8)));
    const QJsonObject body = bodyOf(anthropic);
    QCOMPARE(body.value("stop_reason").toString(), QStringLiteral("max_tokens"));
    QCOMPARE(body.value("usage").toObject().value("output_tokens").toInt(), 8);
    QVERIFY(body.value("content").toArray().first().toObject().value("text").toString().startsWith(
        "[simulated]"));

    const ResponseScript openAi =
        respond(instant(), post("/v1/chat/completions",
                                openAiBody("gpt-4o", "Hi", true, true, R"(,"max_tokens":5)")));
    const QList<http::SseEvent> list = events(openAi);
    const QJsonObject finish = json(list.at(list.size() - 3).data);
    QCOMPARE(finish.value("choices").toArray().first().toObject().value("finish_reason").toString(),
             QStringLiteral("length"));
    QCOMPARE(json(list.at(list.size() - 2).data)
                 .value("usage")
                 .toObject()
                 .value("completion_tokens")
                 .toInt(),
             5);
}

void TestSimulatorResponses::latencyScaleZeroAnswersAtOnce()
{
    for (const bool stream : {false, true}) {
        const ResponseScript script = respond(
            instant(), post("/v1/messages", anthropicBody("claude-opus-4-20250514", "Hi", stream)));
        QVERIFY(!script.parts.isEmpty());
        for (const ResponseScript::Part &part : script.parts)
            QCOMPARE(part.atMs, 0);
    }
}

void TestSimulatorResponses::timingFollowsModelSizeAndScale()
{
    SimulatorOptions options;
    options.errorRate = 0;
    const QByteArray prompt = "Write a paragraph about queues";
    const auto script = [&](const QByteArray &model, double scale) {
        options.latencyScale = scale;
        return respond(options, post("/v1/messages", anthropicBody(model, prompt, true)));
    };
    const ResponseScript haiku = script("claude-3-haiku-20240307", 1);
    const ResponseScript opus = script("claude-opus-4-20250514", 1);
    // Time to first token: 300-500 ms for a small model, 600-900 ms for a large one.
    QVERIFY2(haiku.parts.first().atMs >= 300 && haiku.parts.first().atMs <= 500,
             qPrintable(QString::number(haiku.parts.first().atMs)));
    QVERIFY2(opus.parts.first().atMs >= 600 && opus.parts.first().atMs <= 900,
             qPrintable(QString::number(opus.parts.first().atMs)));
    for (const ResponseScript *s : {&haiku, &opus}) {
        for (qsizetype i = 1; i < s->parts.size(); ++i)
            QVERIFY(s->parts.at(i).atMs >= s->parts.at(i - 1).atMs);
    }
    // Output at tens of tokens a second: the small model at 80 +/- 15 %.
    const QJsonObject delta = json(events(haiku).at(events(haiku).size() - 2).data);
    const qint64 outputTokens = delta.value("usage").toObject().value("output_tokens").toInteger();
    const double seconds = double(haiku.endMs() - haiku.parts.first().atMs) / 1000.0;
    const double rate = double(outputTokens) / seconds;
    QVERIFY2(rate >= 60 && rate <= 100, qPrintable(QString::number(rate)));

    const ResponseScript doubled = script("claude-3-haiku-20240307", 2);
    QVERIFY(qAbs(doubled.parts.first().atMs - 2 * haiku.parts.first().atMs) <= 1);
    QVERIFY(qAbs(doubled.endMs() - 2 * haiku.endMs()) <= 2);
}

void TestSimulatorResponses::seedReproducesTheText()
{
    const http::HttpRequest request =
        post("/v1/chat/completions", openAiBody("gpt-4o", "Tell me about budgets", false));
    const auto text = [&](quint64 seed, quint64 sequence) {
        return bodyOf(respond(instant(seed), request, sequence))
            .value("choices")
            .toArray()
            .first()
            .toObject()
            .value("message")
            .toObject()
            .value("content")
            .toString();
    };
    QCOMPARE(text(7, 1), text(7, 1));
    QCOMPARE(text(7, 1), text(7, 99)); // the text does not depend on the request's turn
    QVERIFY(text(7, 1) != text(8, 1));
}

void TestSimulatorResponses::errorRateIsHonoured()
{
    const http::HttpRequest request =
        post("/v1/messages", anthropicBody("claude-3-haiku-20240307", "Hi", false));
    const auto failures = [&](double rate) {
        SimulatorOptions options = instant();
        options.errorRate = rate;
        const ResponseSynthesizer synthesizer(options);
        int count = 0;
        for (quint64 sequence = 1; sequence <= 2000; ++sequence)
            count += synthesizer.respond(request, sequence, kNow).status != 200;
        return count;
    };
    QCOMPARE(failures(0), 0);
    QCOMPARE(failures(1), 2000);
    const int some = failures(0.05);
    QVERIFY2(some >= 60 && some <= 140, qPrintable(QString::number(some)));
    QCOMPARE(SimulatorOptions().errorRate, 0.03);
}

void TestSimulatorResponses::faultsComeInEachApisShape_data()
{
    QTest::addColumn<bool>("anthropic");
    QTest::addColumn<bool>("stream");
    QTest::newRow("anthropic") << true << false;
    QTest::newRow("anthropic stream") << true << true;
    QTest::newRow("openai") << false << false;
    QTest::newRow("openai stream") << false << true;
}

void TestSimulatorResponses::faultsComeInEachApisShape()
{
    QFETCH(bool, anthropic);
    QFETCH(bool, stream);
    SimulatorOptions options = instant();
    options.errorRate = 1;
    const http::HttpRequest request =
        anthropic ? post("/v1/messages", anthropicBody("claude-3-haiku-20240307", "Hi", stream))
                  : post("/v1/chat/completions", openAiBody("gpt-4o", "Hi", stream));
    QSet<int> statuses;
    int broken = 0;
    for (quint64 sequence = 1; sequence <= 60; ++sequence) {
        const ResponseScript script = respond(options, request, sequence);
        if (script.status == 200) {
            // A stream that breaks part way: some text, then an error event, and never the end.
            QVERIFY(stream);
            const QList<http::SseEvent> list = events(script);
            const http::SseEvent &last = list.last();
            if (anthropic) {
                QCOMPARE(last.event, QByteArray("error"));
                QVERIFY(isAnthropicError(json(last.data), "overloaded_error"));
                QVERIFY(list.size() >= 5); // message_start ... at least one delta
                QCOMPARE(list.at(list.size() - 2).event, QByteArray("content_block_delta"));
            } else {
                QVERIFY(isOpenAiError(json(last.data)));
                for (const http::SseEvent &event : list)
                    QVERIFY(event.data != "[DONE]");
            }
            QVERIFY(streamedText(list).startsWith("[simulated]"));
            ++broken;
            continue;
        }
        statuses.insert(script.status);
        QVERIFY(!script.streamed);
        const QJsonObject body = bodyOf(script);
        if (script.status == 429) {
            const int retryAfter = header(script, "retry-after").toInt();
            QVERIFY2(retryAfter >= 1 && retryAfter <= 3, header(script, "retry-after").constData());
        }
        if (anthropic) {
            const QString type = script.status == 429   ? "rate_limit_error"
                                 : script.status == 529 ? "overloaded_error"
                                                        : "api_error";
            QVERIFY2(isAnthropicError(body, type), script.parts.first().bytes.constData());
        } else {
            QVERIFY2(isOpenAiError(body), script.parts.first().bytes.constData());
        }
    }
    const QSet<int> expected = anthropic ? QSet<int>{429, 529, 500} : QSet<int>{429, 503, 500};
    QCOMPARE(statuses, expected);
    QCOMPARE(broken > 0, stream);
}

void TestSimulatorResponses::badJsonGetsA400InTheApisShape()
{
    const ResponseScript anthropic = respond(instant(), post("/v1/messages", "{\"model\":"));
    QCOMPARE(anthropic.status, 400);
    QCOMPARE(bodyOf(anthropic).value("type").toString(), QStringLiteral("error"));
    QCOMPARE(bodyOf(anthropic).value("error").toObject().value("type").toString(),
             QStringLiteral("invalid_request_error"));

    const ResponseScript openAi = respond(instant(), post("/v1/chat/completions", "not json"));
    QCOMPARE(openAi.status, 400);
    QVERIFY(!bodyOf(openAi).contains("type"));
    QCOMPARE(bodyOf(openAi).value("error").toObject().value("type").toString(),
             QStringLiteral("invalid_request_error"));

    const ResponseScript count = respond(instant(), post("/v1/messages/count_tokens", "[1,"));
    QCOMPARE(count.status, 400);
    QCOMPARE(bodyOf(count).value("type").toString(), QStringLiteral("error"));
}

void TestSimulatorResponses::countTokensMatchesTheMessagesUsage()
{
    const QByteArray body = anthropicBody("claude-3-haiku-20240307", QByteArray(200, 'b'), false);
    const ResponseScript count = respond(instant(), post("/v1/messages/count_tokens", body));
    QCOMPARE(count.status, 200);
    const ResponseScript message = respond(instant(), post("/v1/messages", body));
    QCOMPARE(bodyOf(count).value("input_tokens").toInt(),
             bodyOf(message).value("usage").toObject().value("input_tokens").toInt());
}

void TestSimulatorResponses::modelsAreListedPerApi()
{
    http::HttpRequest request;
    request.method = "GET";
    request.path = "/v1/models";
    const QJsonObject openAi = bodyOf(respond(instant(), request));
    QCOMPARE(openAi.value("object").toString(), QStringLiteral("list"));
    QStringList openAiIds;
    for (const QJsonValue &model : openAi.value("data").toArray())
        openAiIds.append(model.toObject().value("id").toString());
    QVERIFY(openAiIds.contains("gpt-4o"));
    QVERIFY(!openAiIds.contains("claude-3-haiku-20240307"));

    request.headers = {{"anthropic-version", "2023-06-01"}};
    const QJsonObject anthropic = bodyOf(respond(instant(), request));
    QCOMPARE(anthropic.value("has_more").toBool(true), false);
    bool haiku = false;
    for (const QJsonValue &value : anthropic.value("data").toArray()) {
        const QJsonObject model = value.toObject();
        QVERIFY(model.value("display_name").toString().contains("simulated"));
        haiku = haiku || model.value("id").toString() == "claude-3-haiku-20240307";
    }
    QVERIFY(haiku);
}

void TestSimulatorResponses::unknownEndpointsAndMethodsAreRefused()
{
    const ResponseScript unknown = respond(instant(), post("/v1/embeddings", "{}"));
    QCOMPARE(unknown.status, 404);
    QVERIFY(bodyOf(unknown).value("error").toObject().contains("code")); // OpenAI shape

    http::HttpRequest get;
    get.method = "GET";
    get.path = "/v1/messages";
    const ResponseScript wrongMethod = respond(instant(), get);
    QCOMPARE(wrongMethod.status, 405);
    QCOMPARE(header(wrongMethod, "allow"), QByteArray("POST"));
    QCOMPARE(bodyOf(wrongMethod).value("type").toString(), QStringLiteral("error"));
}

QTEST_GUILESS_MAIN(TestSimulatorResponses)
#include "tst_simulatorresponses.moc"
