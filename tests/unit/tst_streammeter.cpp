#include "api/streammeter.h"
#include "http/sseparser.h"

#include <QJsonDocument>
#include <QTest>

using tollgate::api::Flavor;
using tollgate::api::StreamMeter;
using tollgate::api::summarizeResponse;
using tollgate::api::Usage;
using tollgate::http::SseEvent;
using tollgate::http::SseParser;

Q_DECLARE_METATYPE(Flavor)

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

QByteArray describe(const Usage &u)
{
    return QByteArray("in=") + QByteArray::number(u.inputTokens) +
           " out=" + QByteArray::number(u.outputTokens) +
           " cacheWrite=" + QByteArray::number(u.cacheWriteTokens) +
           " cacheRead=" + QByteArray::number(u.cacheReadTokens);
}

// Runs a stream through the real parser in small chunks, as the gateway tee does.
void meter(StreamMeter &m, const QByteArray &stream)
{
    SseParser parser;
    for (qsizetype at = 0; at < stream.size(); at += 5)
        for (const SseEvent &e :
             parser.feed(QByteArrayView(stream).sliced(at, qMin<qsizetype>(5, stream.size() - at))))
            m.onEvent(e);
    QVERIFY(!parser.hasPartialEvent());
}

SseEvent sseEvent(const QByteArray &name, const QByteArray &data)
{
    return SseEvent{name, data, QByteArray()};
}

const QByteArray kAnthropicStream =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\","
    "\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-20250514\","
    "\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,"
    "\"cache_creation_input_tokens\":1200,\"cache_read_input_tokens\":3400,"
    "\"output_tokens\":1}}}\n"
    "\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
    "\"text\":\"\"}}\n"
    "\n"
    "event: ping\n"
    "data: {\"type\": \"ping\"}\n"
    "\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"Hello\"}}\n"
    "\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"!\"}}\n"
    "\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":0}\n"
    "\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
    "\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n"
    "\n"
    "event: message_stop\n"
    "data: {\"type\":\"message_stop\"}\n"
    "\n";

const QByteArray kOpenAiStream =
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
    "\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
    "\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}\n"
    "\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
    "\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},"
    "\"finish_reason\":null}],\"usage\":null}\n"
    "\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
    "\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{},"
    "\"finish_reason\":\"stop\"}],\"usage\":null}\n"
    "\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
    "\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],\"usage\":{\"prompt_tokens\":1200,"
    "\"completion_tokens\":50,\"total_tokens\":1250,\"prompt_tokens_details\":"
    "{\"cached_tokens\":1024,\"audio_tokens\":0},\"completion_tokens_details\":"
    "{\"reasoning_tokens\":0}}}\n"
    "\n"
    "data: [DONE]\n"
    "\n";

} // namespace

class TestStreamMeter : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void anthropicStreamGivesExactUsage();
    void anthropicMessageDeltaMayRepeatInputAndCache();
    void anthropicSkipsContentEventsByName();
    void anthropicErrorEvent();
    void anthropicStreamCutShortIsNotCompleted();
    void anthropicUnnamedEventsFallBackToType();
    void openAiStreamWithCachedTokens();
    void openAiUsageWithSpacesIsFound();
    void openAiUsageWithoutCacheDetails();
    void openAiModelComesFromFirstChunk();
    void openAiErrorChunk();
    void openAiIgnoresNonJsonData();
    void usageOnlyChunk_data();
    void usageOnlyChunk();
    void summarizeResponse_data();
    void summarizeResponse();
    void summaryFromBytesReadsAsQtDoes_data();
    void summaryFromBytesReadsAsQtDoes();
    void anthropicEventsQtOnlyAccepts();
};

void TestStreamMeter::anthropicStreamGivesExactUsage()
{
    StreamMeter m(Flavor::Anthropic);
    meter(m, kAnthropicStream);
    QCOMPARE(describe(m.usage()), describe(usage(25, 15, 1200, 3400)));
    QCOMPARE(m.model(), QStringLiteral("claude-sonnet-4-20250514"));
    QVERIFY(m.completed());
    QVERIFY(m.errorMessage().isEmpty());
}

void TestStreamMeter::anthropicMessageDeltaMayRepeatInputAndCache()
{
    StreamMeter m(Flavor::Anthropic);
    m.onEvent(sseEvent("message_start",
                       R"({"type":"message_start","message":{"model":"claude-3-haiku-20240307",)"
                       R"("usage":{"input_tokens":10,"cache_creation_input_tokens":20,)"
                       R"("cache_read_input_tokens":30,"output_tokens":1}}})"));
    // Nonzero values replace; zeros mean "not reported here" and keep message_start's.
    m.onEvent(sseEvent("message_delta",
                       R"({"type":"message_delta","delta":{},"usage":{"input_tokens":11,)"
                       R"("cache_creation_input_tokens":0,"cache_read_input_tokens":33,)"
                       R"("output_tokens":77}})"));
    QCOMPARE(describe(m.usage()), describe(usage(11, 77, 20, 33)));
    // A second delta carries the cumulative count, not an increment.
    m.onEvent(
        sseEvent("message_delta", R"({"type":"message_delta","usage":{"output_tokens":80}})"));
    QCOMPARE(m.usage().outputTokens, 80);
    QVERIFY(!m.completed());
}

void TestStreamMeter::anthropicSkipsContentEventsByName()
{
    StreamMeter m(Flavor::Anthropic);
    // Data that would count if parsed: skipping by name must ignore it.
    m.onEvent(sseEvent("content_block_delta",
                       R"({"type":"message_delta","usage":{"output_tokens":999}})"));
    m.onEvent(sseEvent("ping", R"({"type":"message_stop"})"));
    QVERIFY(m.usage().isEmpty());
    QVERIFY(!m.completed());
}

void TestStreamMeter::anthropicErrorEvent()
{
    StreamMeter m(Flavor::Anthropic);
    meter(m, kAnthropicStream.left(kAnthropicStream.indexOf("event: message_delta")) +
                 "event: error\n"
                 "data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                 "\"message\":\"Overloaded\"}}\n\n");
    QCOMPARE(m.errorMessage(), QStringLiteral("Overloaded"));
    QVERIFY(!m.completed());
    // What was metered before the failure stays: the input was still billed.
    QCOMPARE(m.usage().inputTokens, 25);

    StreamMeter typeOnly(Flavor::Anthropic);
    typeOnly.onEvent(sseEvent("error", R"({"type":"error","error":{"type":"api_error"}})"));
    QCOMPARE(typeOnly.errorMessage(), QStringLiteral("api_error"));
}

void TestStreamMeter::anthropicStreamCutShortIsNotCompleted()
{
    StreamMeter m(Flavor::Anthropic);
    meter(m, kAnthropicStream.left(kAnthropicStream.indexOf("event: message_stop")));
    QVERIFY(!m.completed());
    QCOMPARE(describe(m.usage()), describe(usage(25, 15, 1200, 3400)));
}

void TestStreamMeter::anthropicUnnamedEventsFallBackToType()
{
    StreamMeter m(Flavor::Anthropic);
    m.onEvent(sseEvent(
        "", R"({"type":"message_start","message":{"model":"m","usage":{"input_tokens":3}}})"));
    m.onEvent(sseEvent("", R"({"type":"message_delta","usage":{"output_tokens":4}})"));
    m.onEvent(sseEvent("", R"({"type":"message_stop"})"));
    QCOMPARE(describe(m.usage()), describe(usage(3, 4, 0, 0)));
    QCOMPARE(m.model(), QStringLiteral("m"));
    QVERIFY(m.completed());
}

void TestStreamMeter::openAiStreamWithCachedTokens()
{
    StreamMeter m(Flavor::OpenAI);
    meter(m, kOpenAiStream);
    // prompt 1200 of which 1024 cached: 176 billed as input, 1024 as cache read.
    QCOMPARE(describe(m.usage()), describe(usage(176, 50, 0, 1024)));
    QCOMPARE(m.model(), QStringLiteral("gpt-4o-2024-08-06"));
    QVERIFY(m.completed());
    QVERIFY(m.errorMessage().isEmpty());
}

void TestStreamMeter::openAiUsageWithSpacesIsFound()
{
    StreamMeter m(Flavor::OpenAI);
    m.onEvent(sseEvent("", R"({"model": "local", "choices": [], "usage" :
        { "prompt_tokens": 7, "completion_tokens": 3 }})"));
    QCOMPARE(describe(m.usage()), describe(usage(7, 3, 0, 0)));
}

void TestStreamMeter::openAiUsageWithoutCacheDetails()
{
    StreamMeter m(Flavor::OpenAI);
    m.onEvent(sseEvent("", R"({"model":"gpt-4o-mini","choices":[{"delta":{"content":"x"}}]})"));
    m.onEvent(sseEvent(
        "",
        R"({"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2}})"));
    QCOMPARE(describe(m.usage()), describe(usage(9, 2, 0, 0)));
    QVERIFY(!m.completed());
    m.onEvent(sseEvent("", "[DONE]"));
    QVERIFY(m.completed());
}

void TestStreamMeter::openAiModelComesFromFirstChunk()
{
    StreamMeter m(Flavor::OpenAI);
    // Azure's first chunk may name no model; the first chunk that does wins.
    m.onEvent(sseEvent("", R"({"model":"","choices":[],"prompt_filter_results":[]})"));
    m.onEvent(sseEvent("", R"({"model":"gpt-4o","choices":[{"delta":{"content":"a"}}]})"));
    m.onEvent(sseEvent("", R"({"model":"other","choices":[{"delta":{"content":"b"}}]})"));
    QCOMPARE(m.model(), QStringLiteral("gpt-4o"));
}

void TestStreamMeter::openAiErrorChunk()
{
    StreamMeter m(Flavor::OpenAI);
    m.onEvent(sseEvent("", R"({"model":"gpt-4o","choices":[{"delta":{"content":"a"}}]})"));
    m.onEvent(sseEvent(
        "",
        R"({"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}})"));
    QCOMPARE(m.errorMessage(), QStringLiteral("The server had an error"));
    QVERIFY(!m.completed());
}

void TestStreamMeter::openAiIgnoresNonJsonData()
{
    StreamMeter m(Flavor::OpenAI);
    m.onEvent(sseEvent("", ""));
    m.onEvent(sseEvent("", "keep-alive"));
    m.onEvent(sseEvent("", "{not json"));
    QVERIFY(m.usage().isEmpty());
    QVERIFY(m.model().isEmpty());
    QVERIFY(!m.completed());
}

void TestStreamMeter::usageOnlyChunk_data()
{
    QTest::addColumn<QByteArray>("data");
    QTest::addColumn<bool>("usageOnly");
    QTest::newRow("usage, empty choices")
        << QByteArray(R"({"model":"g","choices":[],"usage":{"prompt_tokens":1}})") << true;
    QTest::newRow("usage, no choices")
        << QByteArray(R"({"model":"g","usage":{"prompt_tokens":1}})") << true;
    QTest::newRow("usage null") << QByteArray(R"({"model":"g","choices":[],"usage":null})")
                                << false;
    QTest::newRow("content chunk")
        << QByteArray(R"({"model":"g","choices":[{"delta":{"content":"x"}}],"usage":null})")
        << false;
    QTest::newRow("usage with choices")
        << QByteArray(R"({"choices":[{"delta":{}}],"usage":{"prompt_tokens":1}})") << false;
    QTest::newRow("usage text in content")
        << QByteArray(R"({"choices":[{"delta":{"content":"\"usage\":{"}}]})") << false;
    QTest::newRow("done") << QByteArray("[DONE]") << false;
}

void TestStreamMeter::usageOnlyChunk()
{
    QFETCH(QByteArray, data);
    QFETCH(bool, usageOnly);
    QCOMPARE(StreamMeter::isOpenAiUsageOnlyChunk(sseEvent("", data)), usageOnly);
}

void TestStreamMeter::summarizeResponse_data()
{
    QTest::addColumn<Flavor>("flavor");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QString>("model");
    QTest::addColumn<QByteArray>("expected");

    QTest::newRow("anthropic")
        << Flavor::Anthropic
        << QByteArray(R"({"id":"msg_1","type":"message","model":"claude-3-haiku-20240307",)"
                      R"("content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":12,)"
                      R"("cache_creation_input_tokens":100,"cache_read_input_tokens":200,)"
                      R"("output_tokens":34}})")
        << QStringLiteral("claude-3-haiku-20240307") << describe(usage(12, 34, 100, 200));
    QTest::newRow("anthropic without cache fields")
        << Flavor::Anthropic
        << QByteArray(R"({"model":"m","usage":{"input_tokens":5,"output_tokens":6}})")
        << QStringLiteral("m") << describe(usage(5, 6, 0, 0));
    QTest::newRow("openai with cached tokens")
        << Flavor::OpenAI
        << QByteArray(R"({"id":"chatcmpl-1","model":"gpt-4o","choices":[],"usage":)"
                      R"({"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,)"
                      R"("prompt_tokens_details":{"cached_tokens":1920}}})")
        << QStringLiteral("gpt-4o") << describe(usage(86, 300, 0, 1920));
    QTest::newRow("openai without details")
        << Flavor::OpenAI
        << QByteArray(
               R"({"model":"gpt-4o-mini","usage":{"prompt_tokens":8,"completion_tokens":9}})")
        << QStringLiteral("gpt-4o-mini") << describe(usage(8, 9, 0, 0));
    QTest::newRow("no usage") << Flavor::OpenAI << QByteArray(R"({"model":"x"})")
                              << QStringLiteral("x") << describe(usage(0, 0, 0, 0));
}

void TestStreamMeter::summarizeResponse()
{
    QFETCH(Flavor, flavor);
    QFETCH(QByteArray, body);
    QFETCH(QString, model);
    QFETCH(QByteArray, expected);
    const auto summary =
        tollgate::api::summarizeResponse(flavor, QJsonDocument::fromJson(body).object());
    QCOMPARE(summary.model, model);
    QCOMPARE(describe(summary.usage), expected);
    // The pipeline's way: straight from the bytes, without Qt's object model.
    const auto fromBytes = tollgate::api::summarizeResponse(flavor, body);
    QCOMPARE(fromBytes.model, model);
    QCOMPARE(describe(fromBytes.usage), expected);
}

void TestStreamMeter::summaryFromBytesReadsAsQtDoes_data()
{
    QTest::addColumn<Flavor>("flavor");
    QTest::addColumn<QByteArray>("body");
    const auto row = [](const char *name, Flavor flavor, const QByteArray &body) {
        QTest::newRow(name) << flavor << body;
    };
    row("repeated keys: the last wins", Flavor::Anthropic,
        R"({"model":"a","usage":{"input_tokens":1,"input_tokens":2},"model":"b"})");
    row("repeated usage objects", Flavor::Anthropic,
        R"({"usage":{"output_tokens":1},"usage":{"input_tokens":7}})");
    row("whole doubles count", Flavor::Anthropic,
        R"({"usage":{"input_tokens":12.0,"output_tokens":3e1}})");
    row("fractions, text and negatives do not", Flavor::Anthropic,
        R"({"usage":{"input_tokens":12.5,"output_tokens":"9","cache_read_input_tokens":-4,)"
        R"("cache_creation_input_tokens":null}})");
    row("beyond 64 bits", Flavor::Anthropic,
        R"({"usage":{"input_tokens":18446744073709551615,"output_tokens":9223372036854775807}})");
    row("usage not an object", Flavor::OpenAI, R"({"model":"m","usage":[1,2]})");
    row("model not a string", Flavor::OpenAI, R"({"model":5,"usage":{"prompt_tokens":3}})");
    row("cached above prompt", Flavor::OpenAI,
        R"({"usage":{"prompt_tokens":3,"prompt_tokens_details":{"cached_tokens":9}}})");
    row("lone surrogate: Qt decides", Flavor::Anthropic,
        R"({"model":"m","content":[{"text":"\ud800"}],"usage":{"input_tokens":4}})");
    row("an array", Flavor::Anthropic, "[1,2]");
    row("not JSON", Flavor::Anthropic, "upstream said no");
    row("empty", Flavor::OpenAI, "");
}

void TestStreamMeter::summaryFromBytesReadsAsQtDoes()
{
    QFETCH(Flavor, flavor);
    QFETCH(QByteArray, body);
    const auto viaQt =
        tollgate::api::summarizeResponse(flavor, QJsonDocument::fromJson(body).object());
    const auto fromBytes = tollgate::api::summarizeResponse(flavor, body);
    QCOMPARE(fromBytes.model, viaQt.model);
    QCOMPARE(describe(fromBytes.usage), describe(viaQt.usage));
}

void TestStreamMeter::anthropicEventsQtOnlyAccepts()
{
    // A message_start that simdjson refuses (a lone surrogate in the id) is still metered.
    StreamMeter m(Flavor::Anthropic);
    m.onEvent(sseEvent("message_start",
                       R"({"type":"message_start","message":{"id":"\ud800","model":"m",)"
                       R"("usage":{"input_tokens":11,"output_tokens":1}}})"));
    m.onEvent(sseEvent("message_delta", R"({"type":"message_delta","usage":{"output_tokens":5}})"));
    QCOMPARE(describe(m.usage()), describe(usage(11, 5, 0, 0)));
    QCOMPARE(m.model(), QStringLiteral("m"));
}

QTEST_GUILESS_MAIN(TestStreamMeter)
#include "tst_streammeter.moc"
