// The real tollgated on real sockets against the mock upstream: what a client sees of both
// provider APIs through the gateway, what the upstream receives, and what the gateway records
// (request log, metrics). Faults, credentials, limits and shutdown live in tst_gatewayfaults.

#include "httptestclient.h"
#include "mockupstream.h"
#include "prometheustext.h"
#include "providerheaders.h"
#include "requestlogreader.h"
#include "testchecks.h"
#include "tokenprice.h"
#include "tollgatedprocess.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSet>
#include <QVariantMap>
#include <QtTest/QtTest>

using namespace tollgate::testsupport;

namespace {

const QByteArray kSonnet = "claude-sonnet-4-20250514";
const QByteArray kHaiku = "claude-3-haiku-20240307";
// Keys the clients present; without a provider key on the gateway they pass through upstream,
// and they must never be written to the request log.
const QByteArray kAnthropicClientKey = "sk-ant-api03-tollgate-itest-client-7f3a9c1d";
const QByteArray kOpenAiClientKey = "sk-proj-tollgate-itest-client-51b0e2aa";

// The usage the cost example of the brief uses, and its price on Sonnet 4:
// 1000 * 3.00 + 2000 * 15.00 + 300 * 3.75 + 4000 * 0.30 = 35325 USD per million tokens.
const QByteArray kRichUsage = "in=1000,out=2000,cache_write=300,cache_read=4000";

const TokenPrice kSonnetPrice = TokenPrice::sonnet4();
const TokenPrice kHaikuPrice = TokenPrice::haiku3();
const TokenPrice kGpt4oPrice = TokenPrice::gpt4o();
const TokenPrice kGpt4oMiniPrice = TokenPrice::gpt4oMini();

HttpTestRequest anthropicPost(const QByteArray &path, const QByteArray &body,
                              const QByteArray &scenario = {}, const HttpHeaders &extra = {})
{
    return HttpTestRequest::post(path, body,
                                 ProviderHeaders::anthropic(kAnthropicClientKey) +
                                     ProviderHeaders::scenario(scenario) + extra);
}

HttpTestRequest messages(const QByteArray &body, const QByteArray &scenario = {},
                         const HttpHeaders &extra = {})
{
    return anthropicPost("/v1/messages", body, scenario, extra);
}

HttpTestRequest chat(const QByteArray &body, const QByteArray &scenario = {},
                     const HttpHeaders &extra = {})
{
    return HttpTestRequest::post("/v1/chat/completions", body,
                                 ProviderHeaders::openAi(kOpenAiClientKey) +
                                     ProviderHeaders::scenario(scenario) + extra);
}

QByteArray anthropicBody(const QByteArray &model, bool stream, const QByteArray &extra = {})
{
    return R"({"model":")" + model + R"(","max_tokens":256,"stream":)" +
           QByteArray(stream ? "true" : "false") + extra +
           R"(,"messages":[{"role":"user","content":"Hello"}]})";
}

QByteArray openAiBody(const QByteArray &model, bool stream, const QByteArray &extra = {})
{
    return R"({"model":")" + model + R"(","stream":)" + QByteArray(stream ? "true" : "false") +
           extra + R"(,"messages":[{"role":"user","content":"Hello"}]})";
}

// Ids carry the mock's per-request sequence number and OpenAI objects the wall clock second;
// everything else of a mock answer is a function of the request, so two calls compare equal.
QByteArray normalized(QByteArray body)
{
    static const QRegularExpression ids(QStringLiteral(R"((msg_mock_|chatcmpl-mock-)\d+)"));
    static const QRegularExpression created(QStringLiteral(R"("created":\d+)"));
    QString text = QString::fromUtf8(body);
    text.replace(ids, QStringLiteral("\\1N"));
    text.replace(created, QStringLiteral("\"created\":0"));
    return text.toUtf8();
}

QList<QByteArray> eventData(const HttpTestResponse &response)
{
    QList<QByteArray> data;
    for (const HttpTestEvent &event : response.events)
        data.append(normalized(event.data));
    return data;
}

bool isUsageOnlyChunk(const HttpTestEvent &event)
{
    const QJsonObject chunk = event.json();
    return chunk.value(u"usage").isObject() && chunk.value(u"choices").isArray() &&
           chunk.value(u"choices").toArray().isEmpty();
}

/// Server-Timing metrics by name (`gateway;dur=1.2, upstream;dur=3.4`); -1 for a missing dur.
QHash<QString, double> serverTiming(const QByteArray &header)
{
    QHash<QString, double> metrics;
    for (const QByteArray &entry : header.split(',')) {
        const QList<QByteArray> params = entry.trimmed().split(';');
        double duration = -1;
        for (qsizetype i = 1; i < params.size(); ++i) {
            const QByteArray param = params[i].trimmed();
            bool ok = false;
            if (param.startsWith("dur="))
                duration = param.mid(4).toDouble(&ok);
            if (param.startsWith("dur=") && !ok)
                duration = -1;
        }
        metrics.insert(QString::fromLatin1(params.first().trimmed()), duration);
    }
    return metrics;
}

} // namespace

class TestGatewayApi : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    void anthropicMessagePassesThroughWithTollgateHeaders();
    void serverTimingSplitsGatewayAndUpstreamTime();
    void defaultMaxTokensInjectedWhenOmitted_data();
    void defaultMaxTokensInjectedWhenOmitted();
    void clientBodyForwardedByteIdentical_data();
    void clientBodyForwardedByteIdentical();
    void anthropicStreamRelaysExactEventSequence();
    void anthropicStreamEventsArriveAsProduced();
    void streamModelHeaderNamesServedModel_data();
    void streamModelHeaderNamesServedModel();
    void anthropicToolUseRelayedIntact();
    void openAiCompletionPassesThrough();
    void openAiStreamHidesUsageChunkTheClientDidNotAskFor_data();
    void openAiStreamHidesUsageChunkTheClientDidNotAskFor();
    void openAiStreamKeepsUsageChunkTheClientAskedFor();
    void openAiToolCallsRelayed();
    void countTokensPassesThrough();
    void modelsInBothStyles_data();
    void modelsInBothStyles();
    void requestLogRecordsUsageCostAndUsers();
    void metricsCountTrafficAndPassPromtool();
    void healthAndReady();
    void keepAliveServesManySequentialRequests();
    void pipelinedRequestsAnsweredInOrder();

private:
    HttpTestResponse viaGateway(const HttpTestRequest &request) const
    {
        return m_gateway.send(request);
    }
    static HttpTestResponse direct(const MockUpstream &mock, const HttpTestRequest &request)
    {
        return HttpTestClient::send(mock.port(), request);
    }
    QString logPath() const { return m_gateway.requestLogPath(); }

    // Separate mocks per provider: a journal entry proves which provider a request went to.
    MockUpstream m_anthropic;
    MockUpstream m_openAi;
    TollgatedProcess m_gateway;
};

void TestGatewayApi::initTestCase()
{
    QVERIFY2(QFile::exists(QStringLiteral(TOLLGATED_PATH)), TOLLGATED_PATH);
    // On threads of their own, so they answer while this thread blocks (e.g. in stop()).
    m_anthropic.setThreads(1);
    m_openAi.setThreads(1);
    QVERIFY2(m_anthropic.listen(), qPrintable(m_anthropic.errorString()));
    QVERIFY2(m_openAi.listen(), qPrintable(m_openAi.errorString()));
}

void TestGatewayApi::init()
{
    m_anthropic.clearJournal();
    m_openAi.clearJournal();
    // No provider key: the clients' own keys pass through, as on a developer's machine.
    TollgatedProcess::Options options =
        TollgatedProcess::Options::forUpstreams(m_anthropic.baseUrl(), m_openAi.baseUrl());
    // Every request must reach the upstream: the response cache is off (tst_responsecaching).
    options.policy = R"({"version": 1, "cache": {"enabled": false}})";
    QVERIFY2(m_gateway.start(options), qPrintable(m_gateway.failureReport()));
}

void TestGatewayApi::cleanup()
{
    if (m_gateway.isRunning())
        QCOMPARE(m_gateway.stop(), 0);
    m_gateway.removeDataDir();
}

void TestGatewayApi::anthropicMessagePassesThroughWithTollgateHeaders()
{
    const HttpTestRequest request = messages(anthropicBody(kSonnet, false), kRichUsage);
    const HttpTestResponse expected = direct(m_anthropic, request);
    QCOMPARE(expected.status, 200);
    m_anthropic.clearJournal();

    const HttpTestResponse response = viaGateway(request);
    QCOMPARE(response.status, 200);
    QVERIFY(response.complete);
    const QList<JournalEntry> journal = m_anthropic.journal();
    QCOMPARE(journal.size(), 1);
    QVERIFY(m_openAi.journal().isEmpty());
    QCOMPARE(journal[0].path, QByteArray("/v1/messages"));

    // The body is the upstream's, byte for byte: only the per-request id differs between the
    // direct call and this one, and it is this upstream request's id.
    QCOMPARE(normalized(response.body), normalized(expected.body));
    QCOMPARE(response.json()["id"].toString(), QStringLiteral("msg_mock_%1").arg(journal[0].seq));
    QCOMPARE(response.header("content-type"), QByteArray("application/json"));
    QCOMPARE(response.header("request-id"), "req_mock_" + QByteArray::number(journal[0].seq));

    static const QRegularExpression requestId(QStringLiteral("^tg_[0-9a-f]{16}$"));
    QVERIFY2(
        requestId.match(QString::fromLatin1(response.header("x-tollgate-request-id"))).hasMatch(),
        response.header("x-tollgate-request-id").constData());
    QCOMPARE(response.header("x-tollgate-model"), kSonnet);
    const QByteArray cost = response.header("x-tollgate-cost-usd");
    bool ok = false;
    const double usd = cost.toDouble(&ok);
    QVERIFY2(ok, cost.constData());
    const double expectedUsd = kSonnetPrice.costUsd(1000, 2000, 300, 4000);
    QVERIFY2(TokenPrice::sameUsd(expectedUsd, 0.035325), "the price table changed under the test");
    QVERIFY2(TokenPrice::sameUsd(usd, expectedUsd), cost.constData());

    const QHash<QString, double> timing = serverTiming(response.header("server-timing"));
    QVERIFY2(timing.value(QStringLiteral("gateway"), -1) >= 0,
             response.header("server-timing").constData());
    QVERIFY2(timing.value(QStringLiteral("upstream"), -1) >= 0,
             response.header("server-timing").constData());
}

void TestGatewayApi::serverTimingSplitsGatewayAndUpstreamTime()
{
    // The upstream holds its answer 300 ms; that time belongs to upstream, not to the gateway.
    const HttpTestResponse response =
        viaGateway(messages(anthropicBody(kSonnet, false), "slow=300"));
    QCOMPARE(response.status, 200);
    const QByteArray header = response.header("server-timing");
    const QHash<QString, double> timing = serverTiming(header);
    const double upstream = timing.value(QStringLiteral("upstream"), -1);
    const double gateway = timing.value(QStringLiteral("gateway"), -1);
    // The mock's coarse timer may fire up to 5 % early.
    QVERIFY2(upstream >= 250 && upstream < 5000, header.constData());
    QVERIFY2(gateway >= 0 && gateway < 100, header.constData());
}

void TestGatewayApi::defaultMaxTokensInjectedWhenOmitted_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::newRow("compact") << QByteArray(
        R"({"model":"claude-sonnet-4-20250514","messages":[{"role":"user","content":"Hi"}]})");
    QTest::newRow("pretty") << QByteArray("\n{\n  \"model\" : \"claude-sonnet-4-20250514\",\n"
                                          "  \"messages\" : [ {\"role\": \"user\", \"content\": "
                                          "\"Hi\"} ]\n}\n");
    // The words appear in the prompt, not as a member: the gateway must still add the member.
    QTest::newRow("name inside a string")
        << QByteArray(R"({"model":"claude-sonnet-4-20250514","messages":[{"role":"user",)"
                      R"("content":"\"max_tokens\": 5"}],"metadata":{"max_tokens":7}})");
}

void TestGatewayApi::defaultMaxTokensInjectedWhenOmitted()
{
    QFETCH(QByteArray, body);
    const HttpTestResponse response = viaGateway(messages(body));
    QCOMPARE(response.status, 200);
    const QList<JournalEntry> journal = m_anthropic.journal();
    QCOMPARE(journal.size(), 1);

    QJsonParseError error;
    const QJsonDocument sent = QJsonDocument::fromJson(journal[0].body, &error);
    QVERIFY2(sent.isObject(), qPrintable(error.errorString() + QStringLiteral(": ") +
                                         QString::fromUtf8(journal[0].body)));
    QJsonObject expected = QJsonDocument::fromJson(body).object();
    expected.insert(QStringLiteral("max_tokens"), 1024);
    QCOMPARE(sent.object(), expected);
    QCOMPARE(journal[0].header("content-length"), QByteArray::number(journal[0].body.size()));
}

void TestGatewayApi::clientBodyForwardedByteIdentical_data()
{
    QTest::addColumn<bool>("chunked");
    QTest::newRow("content-length") << false;
    QTest::newRow("chunked request body") << true;
}

void TestGatewayApi::clientBodyForwardedByteIdentical()
{
    QFETCH(bool, chunked);
    // Odd spacing, key order, escapes, number spellings and a max_tokens of the client's own:
    // nothing needs changing, so the upstream gets exactly these bytes.
    const QByteArray body = "{ \"max_tokens\" : 300 ,\n\t\"model\":\"claude-sonnet-4-20250514\","
                            " \"temperature\": 0.50, \"top_k\": 1e1,\n \"messages\": [ {\"role\":"
                            "\"user\",\"content\":\"caf\\u00e9 \\\"quoted\\\" \xe2\x9c\x93\"} ],"
                            " \"metadata\": {\"user_id\": \"u-42\"} }";
    QVERIFY(QJsonDocument::fromJson(body).isObject());
    HttpTestRequest request = messages(
        body, {}, {{"anthropic-beta", "prompt-caching-2024-07-31"}, {"x-tollgate-user", "alice"}});
    request.chunkedBody = chunked;
    const HttpTestResponse response = viaGateway(request);
    QCOMPARE(response.status, 200);
    const QList<JournalEntry> journal = m_anthropic.journal();
    QCOMPARE(journal.size(), 1);
    QCOMPARE(journal[0].method, QByteArray("POST"));
    QCOMPARE(journal[0].path, QByteArray("/v1/messages"));
    QCOMPARE(journal[0].body, body);
    QCOMPARE(journal[0].header("content-length"), QByteArray::number(body.size()));
    QCOMPARE(journal[0].header("anthropic-version"), QByteArray("2023-06-01"));
    QCOMPARE(journal[0].header("anthropic-beta"), QByteArray("prompt-caching-2024-07-31"));
    QCOMPARE(journal[0].header("content-type"), QByteArray("application/json"));
    // Gateway hints are for the gateway.
    QVERIFY(journal[0].header("x-tollgate-user").isNull());
}

void TestGatewayApi::anthropicStreamRelaysExactEventSequence()
{
    const HttpTestRequest request = messages(anthropicBody(kSonnet, true), kRichUsage);
    const HttpTestResponse expected = direct(m_anthropic, request);
    QVERIFY(expected.complete);
    m_anthropic.clearJournal();

    const HttpTestResponse response = viaGateway(request);
    QCOMPARE(response.status, 200);
    QVERIFY(response.complete);
    QVERIFY(response.error.isEmpty());
    QCOMPARE(response.header("content-type"), QByteArray("text/event-stream"));
    QCOMPARE(response.eventNames(),
             QStringList({"message_start", "content_block_start", "ping", "content_block_delta",
                          "content_block_delta", "content_block_delta", "content_block_stop",
                          "message_delta", "message_stop"}));
    // The stream is the upstream's, byte for byte (framing aside).
    QCOMPARE(normalized(response.body), normalized(expected.body));
    const QList<JournalEntry> journal = m_anthropic.journal();
    QCOMPARE(journal.size(), 1);
    QCOMPARE(journal[0].body, request.body);
    QCOMPARE(response.events[0].json()["message"]["id"].toString(),
             QStringLiteral("msg_mock_%1").arg(journal[0].seq));
    static const QRegularExpression requestId(QStringLiteral("^tg_[0-9a-f]{16}$"));
    QVERIFY(
        requestId.match(QString::fromLatin1(response.header("x-tollgate-request-id"))).hasMatch());
    QCOMPARE(response.header("x-tollgate-model"), kSonnet);
    QVERIFY(!response.header("server-timing").isEmpty());
}

void TestGatewayApi::anthropicStreamEventsArriveAsProduced()
{
    // 10 events 150 ms apart: message_start, content_block_start, ping, 4 deltas, stop, delta,
    // message_stop. A gateway that buffered would deliver them together at the end.
    const HttpTestResponse response =
        viaGateway(messages(anthropicBody(kSonnet, true), "gap=150,events=4"));
    QCOMPARE(response.status, 200);
    QVERIFY(response.complete);
    QCOMPARE(response.events.size(), 10);

    QList<qint64> deltas;
    for (const HttpTestEvent &event : response.events) {
        if (event.event == "content_block_delta")
            deltas.append(event.atUs);
    }
    QCOMPARE(deltas.size(), 4);
    for (qsizetype i = 1; i < deltas.size(); ++i) {
        QVERIFY2(deltas[i] - deltas[i - 1] >= 100000,
                 qPrintable(QStringLiteral("delta %1 arrived %2 us after the previous one")
                                .arg(i)
                                .arg(deltas[i] - deltas[i - 1])));
    }
    const qint64 first = response.events.first().atUs;
    const qint64 last = response.events.last().atUs;
    QVERIFY2(response.headersAtUs < 300000, qPrintable(QString::number(response.headersAtUs)));
    QVERIFY2(first < 300000, qPrintable(QString::number(first)));
    QVERIFY2(last - first >= 1000000,
             qPrintable(QStringLiteral("first %1 us, last %2 us").arg(first).arg(last)));
}

void TestGatewayApi::streamModelHeaderNamesServedModel_data()
{
    QTest::addColumn<bool>("anthropic");
    QTest::addColumn<QByteArray>("served");
    QTest::newRow("anthropic") << true << kHaiku;
    // OpenAI answers "gpt-4o" with a dated snapshot in every chunk.
    QTest::newRow("openai") << false << QByteArray("gpt-4o-2024-08-06");
}

void TestGatewayApi::streamModelHeaderNamesServedModel()
{
    // x-tollgate-model is the model actually used (DESIGN.md), as it is for a non-streamed
    // answer; the stream names it in its first event, before any content.
    QFETCH(bool, anthropic);
    QFETCH(QByteArray, served);
    const QByteArray scenario = "served_model=" + served;
    const HttpTestRequest request = anthropic ? messages(anthropicBody(kSonnet, true), scenario)
                                              : chat(openAiBody("gpt-4o", true), scenario);
    const HttpTestResponse response = viaGateway(request);
    QCOMPARE(response.status, 200);
    QVERIFY(response.complete);
    const QJsonObject first = response.events.first().json();
    QCOMPARE(anthropic ? first["message"]["model"].toString() : first["model"].toString(),
             QString::fromLatin1(served));
    QCOMPARE(response.header("x-tollgate-model"), served);
}

void TestGatewayApi::anthropicToolUseRelayedIntact()
{
    const QByteArray tools = R"(,"tools":[{"name":"lookup_order","description":"Find an order",)"
                             R"("input_schema":{"type":"object","properties":{"location":)"
                             R"({"type":"string"}}}}])";
    for (const bool stream : {false, true}) {
        const HttpTestRequest request = messages(anthropicBody(kSonnet, stream, tools), "tool");
        const HttpTestResponse expected = direct(m_anthropic, request);
        QCOMPARE(expected.status, 200);
        const HttpTestResponse response = viaGateway(request);
        QCOMPARE(response.status, 200);
        QVERIFY(response.complete);
        QCOMPARE(normalized(response.body), normalized(expected.body));
        if (!stream) {
            const QJsonObject body = response.json();
            QCOMPARE(body["stop_reason"].toString(), QStringLiteral("tool_use"));
            const QJsonObject block = body["content"][0].toObject();
            QCOMPARE(block["type"].toString(), QStringLiteral("tool_use"));
            QCOMPARE(block["id"].toString(), QStringLiteral("toolu_mock_1"));
            QCOMPARE(block["name"].toString(), QStringLiteral("lookup_order"));
            QCOMPARE(block["input"].toObject(),
                     QJsonObject({{QStringLiteral("location"), QStringLiteral("Paris")}}));
            continue;
        }
        QCOMPARE(response.eventNames(), expected.eventNames());
        const QJsonObject block = response.events[1].json()["content_block"].toObject();
        QCOMPARE(block["type"].toString(), QStringLiteral("tool_use"));
        QCOMPARE(block["name"].toString(), QStringLiteral("lookup_order"));
        QString json;
        for (const HttpTestEvent &event : response.events) {
            if (event.event == "content_block_delta") {
                QCOMPARE(event.json()["delta"]["type"].toString(),
                         QStringLiteral("input_json_delta"));
                json += event.json()["delta"]["partial_json"].toString();
            }
        }
        QCOMPARE(json, QStringLiteral(R"({"location":"Paris"})"));
        QCOMPARE(response.events[7].json()["delta"]["stop_reason"].toString(),
                 QStringLiteral("tool_use"));
    }
}

void TestGatewayApi::openAiCompletionPassesThrough()
{
    const HttpTestRequest request =
        chat(openAiBody("gpt-4o", false), "in=100,out=50,cache_read=20");
    const HttpTestResponse expected = direct(m_openAi, request);
    QCOMPARE(expected.status, 200);
    m_openAi.clearJournal();

    const HttpTestResponse response = viaGateway(request);
    QCOMPARE(response.status, 200);
    QVERIFY(response.complete);
    QCOMPARE(normalized(response.body), normalized(expected.body));
    QCOMPARE(response.header("content-type"), QByteArray("application/json"));

    // The `/v1` of the configured base URL and the client's `/v1/...` make one `/v1`.
    const QList<JournalEntry> journal = m_openAi.journal();
    QCOMPARE(journal.size(), 1);
    QVERIFY(m_anthropic.journal().isEmpty());
    QCOMPARE(journal[0].path, QByteArray("/v1/chat/completions"));
    // No max_tokens default for OpenAI, nothing else to change: the client's bytes.
    QCOMPARE(journal[0].body, request.body);
    QCOMPARE(response.json()["id"].toString(),
             QStringLiteral("chatcmpl-mock-%1").arg(journal[0].seq));

    QCOMPARE(response.header("x-tollgate-model"), QByteArray("gpt-4o"));
    // prompt_tokens 120 include 20 cached: 100 input at 2.50, 20 cached at 1.25, 50 out at 10.
    const double usd = response.header("x-tollgate-cost-usd").toDouble();
    QVERIFY2(TokenPrice::sameUsd(usd, kGpt4oPrice.costUsd(100, 50, 0, 20)),
             response.header("x-tollgate-cost-usd").constData());
    QVERIFY(serverTiming(response.header("server-timing")).contains(QStringLiteral("upstream")));
}

void TestGatewayApi::openAiStreamHidesUsageChunkTheClientDidNotAskFor_data()
{
    QTest::addColumn<QByteArray>("options");
    QTest::newRow("no stream_options") << QByteArray();
    QTest::newRow("include_usage false")
        << QByteArray(R"(,"stream_options":{"include_usage":false})");
    QTest::newRow("stream_options null") << QByteArray(R"(,"stream_options":null)");
}

void TestGatewayApi::openAiStreamHidesUsageChunkTheClientDidNotAskFor()
{
    QFETCH(QByteArray, options);
    const QByteArray scenario = "in=100,out=50,cache_read=20";
    const HttpTestRequest request = chat(openAiBody("gpt-4o", true, options), scenario);
    // What the upstream sends when usage is asked for: the gateway's view of the stream.
    const HttpTestResponse upstream = direct(
        m_openAi,
        chat(openAiBody("gpt-4o", true, R"(,"stream_options":{"include_usage":true})"), scenario));
    QCOMPARE(upstream.events.size(), 7);
    QVERIFY(isUsageOnlyChunk(upstream.events[5]));
    m_openAi.clearJournal();

    const HttpTestResponse response = viaGateway(request);
    QCOMPARE(response.status, 200);
    QVERIFY(response.complete);
    QCOMPARE(response.header("content-type"), QByteArray("text/event-stream"));

    // The gateway asked upstream for usage so that it can charge the request...
    const QList<JournalEntry> journal = m_openAi.journal();
    QCOMPARE(journal.size(), 1);
    const QJsonObject sent = QJsonDocument::fromJson(journal[0].body).object();
    QCOMPARE(sent["stream_options"].toObject(),
             QJsonObject({{QStringLiteral("include_usage"), true}}));
    QJsonObject rest = sent;
    rest.remove(QStringLiteral("stream_options"));
    QJsonObject clientRest = QJsonDocument::fromJson(request.body).object();
    clientRest.remove(QStringLiteral("stream_options"));
    QCOMPARE(rest, clientRest);

    // ...and the client gets every other chunk and the terminator, but not that one.
    QList<QByteArray> expected = eventData(upstream);
    expected.removeAt(5);
    QCOMPARE(eventData(response), expected);
    for (const HttpTestEvent &event : response.events)
        QVERIFY2(!isUsageOnlyChunk(event), event.data.constData());
    QCOMPARE(response.events.last().data, QByteArray("[DONE]"));
    QVERIFY(response.body.endsWith("data: [DONE]\n\n"));
}

void TestGatewayApi::openAiStreamKeepsUsageChunkTheClientAskedFor()
{
    const HttpTestRequest request =
        chat(openAiBody("gpt-4o", true, R"(,"stream_options":{"include_usage":true})"),
             "in=100,out=50,cache_read=20");
    const HttpTestResponse expected = direct(m_openAi, request);
    m_openAi.clearJournal();

    const HttpTestResponse response = viaGateway(request);
    QCOMPARE(response.status, 200);
    QVERIFY(response.complete);
    QCOMPARE(normalized(response.body), normalized(expected.body));
    const QList<JournalEntry> journal = m_openAi.journal();
    QCOMPARE(journal.size(), 1);
    QCOMPARE(journal[0].body, request.body);

    QCOMPARE(response.events.size(), 7);
    const HttpTestEvent &usage = response.events[5];
    QVERIFY2(isUsageOnlyChunk(usage), usage.data.constData());
    QCOMPARE(usage.json()["usage"]["prompt_tokens"].toInt(), 120);
    QCOMPARE(usage.json()["usage"]["completion_tokens"].toInt(), 50);
    QCOMPARE(usage.json()["usage"]["prompt_tokens_details"]["cached_tokens"].toInt(), 20);
    QCOMPARE(response.events.last().data, QByteArray("[DONE]"));
}

void TestGatewayApi::openAiToolCallsRelayed()
{
    const QByteArray tools = R"(,"tools":[{"type":"function","function":{"name":"lookup_order",)"
                             R"("parameters":{"type":"object"}}}])";
    for (const bool stream : {false, true}) {
        const QByteArray options =
            stream ? QByteArray(R"(,"stream_options":{"include_usage":true})") : QByteArray();
        const HttpTestRequest request = chat(openAiBody("gpt-4o", stream, tools + options), "tool");
        const HttpTestResponse expected = direct(m_openAi, request);
        QCOMPARE(expected.status, 200);
        const HttpTestResponse response = viaGateway(request);
        QCOMPARE(response.status, 200);
        QVERIFY(response.complete);
        QCOMPARE(normalized(response.body), normalized(expected.body));
        if (!stream) {
            const QJsonObject choice = response.json()["choices"][0].toObject();
            QCOMPARE(choice["finish_reason"].toString(), QStringLiteral("tool_calls"));
            const QJsonObject call = choice["message"]["tool_calls"][0].toObject();
            QCOMPARE(call["id"].toString(), QStringLiteral("call_mock_1"));
            QCOMPARE(call["function"]["name"].toString(), QStringLiteral("lookup_order"));
            QCOMPARE(call["function"]["arguments"].toString(),
                     QStringLiteral(R"({"location":"Paris"})"));
            continue;
        }
        QString arguments;
        QString finish;
        for (const HttpTestEvent &event : response.events) {
            const QJsonObject choice = event.json()["choices"][0].toObject();
            const QJsonObject call = choice["delta"]["tool_calls"][0].toObject();
            arguments += call["function"]["arguments"].toString();
            if (choice["finish_reason"].isString())
                finish = choice["finish_reason"].toString();
        }
        QCOMPARE(response.events[0]
                     .json()["choices"][0]["delta"]["tool_calls"][0]["function"]["name"]
                     .toString(),
                 QStringLiteral("lookup_order"));
        QCOMPARE(arguments, QStringLiteral(R"({"location":"Paris"})"));
        QCOMPARE(finish, QStringLiteral("tool_calls"));
        QCOMPARE(response.events.last().data, QByteArray("[DONE]"));
    }
}

void TestGatewayApi::countTokensPassesThrough()
{
    // No max_tokens here: count_tokens does not take one, so nothing may be added.
    const QByteArray body =
        R"({"model":"claude-sonnet-4-20250514","messages":[{"role":"user","content":"Hi"}]})";
    const HttpTestResponse response =
        viaGateway(anthropicPost("/v1/messages/count_tokens", body, "in=42"));
    QCOMPARE(response.status, 200);
    QCOMPARE(response.body, QByteArray(R"({"input_tokens":42})"));
    QCOMPARE(response.header("content-type"), QByteArray("application/json"));
    QCOMPARE(response.header("x-tollgate-model"), kSonnet);
    QVERIFY(!response.header("x-tollgate-request-id").isEmpty());
    // Counting tokens is free: no cost to report.
    QVERIFY(response.header("x-tollgate-cost-usd").isNull());
    const QList<JournalEntry> journal = m_anthropic.journal();
    QCOMPARE(journal.size(), 1);
    QCOMPARE(journal[0].path, QByteArray("/v1/messages/count_tokens"));
    QCOMPARE(journal[0].body, body);
}

void TestGatewayApi::modelsInBothStyles_data()
{
    QTest::addColumn<QByteArray>("target");
    QTest::addColumn<HttpHeaders>("headers");
    QTest::addColumn<bool>("anthropic");
    QTest::newRow("anthropic-version")
        << QByteArray("/v1/models")
        << HttpHeaders{{"anthropic-version", "2023-06-01"}, {"x-api-key", kAnthropicClientKey}}
        << true;
    QTest::newRow("anthropic-version with query")
        << QByteArray("/v1/models?limit=2")
        << HttpHeaders{{"anthropic-version", "2023-06-01"}, {"x-api-key", kAnthropicClientKey}}
        << true;
    QTest::newRow("openai bearer")
        << QByteArray("/v1/models") << HttpHeaders{{"authorization", "Bearer " + kOpenAiClientKey}}
        << false;
}

void TestGatewayApi::modelsInBothStyles()
{
    QFETCH(QByteArray, target);
    QFETCH(HttpHeaders, headers);
    QFETCH(bool, anthropic);
    HttpTestRequest request;
    request.path = target;
    request.headers = headers;
    MockUpstream &provider = anthropic ? m_anthropic : m_openAi;
    MockUpstream &other = anthropic ? m_openAi : m_anthropic;
    const HttpTestResponse expected = direct(provider, request);
    QCOMPARE(expected.status, 200);
    provider.clearJournal();

    const HttpTestResponse response = viaGateway(request);
    QCOMPARE(response.status, 200);
    QCOMPARE(response.body, expected.body);
    const QList<JournalEntry> journal = provider.journal();
    QCOMPARE(journal.size(), 1);
    QVERIFY(other.journal().isEmpty());
    QCOMPARE(journal[0].method, QByteArray("GET"));
    QCOMPARE(journal[0].path, target);
    const QJsonObject body = response.json();
    if (anthropic) {
        QCOMPARE(body["data"][0]["type"].toString(), QStringLiteral("model"));
        QCOMPARE(body["data"][0]["id"].toString(), QString::fromLatin1(kSonnet));
        QVERIFY(body["has_more"].isBool());
        QCOMPARE(journal[0].header("anthropic-version"), QByteArray("2023-06-01"));
    } else {
        QCOMPARE(body["object"].toString(), QStringLiteral("list"));
        QCOMPARE(body["data"][0]["object"].toString(), QStringLiteral("model"));
        QCOMPARE(body["data"][0]["id"].toString(), QStringLiteral("gpt-4o"));
    }
}

void TestGatewayApi::requestLogRecordsUsageCostAndUsers()
{
    struct Expected {
        QString flavor, endpoint, user, requested, used;
        bool stream = false;
        qint64 input = 0, output = 0, cacheWrite = 0, cacheRead = 0;
        double cost = 0;
    };
    QHash<QString, Expected> expected; // by x-tollgate-request-id

    auto send = [&](const HttpTestRequest &request, const Expected &want,
                    const QByteArray &wantModelHeader) {
        const HttpTestResponse response = viaGateway(request);
        QCOMPARE(response.status, 200);
        QVERIFY(response.complete);
        const QString id = QString::fromLatin1(response.header("x-tollgate-request-id"));
        QVERIFY(!id.isEmpty());
        QVERIFY2(!expected.contains(id), qPrintable(id));
        expected.insert(id, want);
        if (!wantModelHeader.isEmpty())
            QCOMPARE(response.header("x-tollgate-model"), wantModelHeader);
        if (!want.stream) {
            const QByteArray cost = response.header("x-tollgate-cost-usd");
            QVERIFY2(TokenPrice::sameUsd(cost.toDouble(), want.cost), cost.constData());
        }
    };
    const QString anthropic = QStringLiteral("anthropic");
    const QString openai = QStringLiteral("openai");
    const QString messagesPath = QStringLiteral("/v1/messages");
    const QString chatPath = QStringLiteral("/v1/chat/completions");
    const QString sonnet = QString::fromLatin1(kSonnet);
    const QString haiku = QString::fromLatin1(kHaiku);
    const QString gpt4o = QStringLiteral("gpt-4o");
    const QString gpt4oMini = QStringLiteral("gpt-4o-mini");
    const double richSonnet = kSonnetPrice.costUsd(1000, 2000, 300, 4000);

    // The user comes from x-tollgate-user, which wins over metadata.user_id.
    send(messages(anthropicBody(kSonnet, false, R"(,"metadata":{"user_id":"not-me"})"), kRichUsage,
                  {{"x-tollgate-user", "alice"}}),
         {anthropic, messagesPath, QStringLiteral("alice"), sonnet, sonnet, false, 1000, 2000, 300,
          4000, richSonnet},
         kSonnet);
    if (QTest::currentTestFailed())
        return;
    // Without the header, from metadata.user_id; served by another model, priced as that one.
    send(messages(anthropicBody(kSonnet, false, R"(,"metadata":{"user_id":"bob"})"),
                  kRichUsage + ",served_model=" + kHaiku),
         {anthropic, messagesPath, QStringLiteral("bob"), sonnet, haiku, false, 1000, 2000, 300,
          4000, kHaikuPrice.costUsd(1000, 2000, 300, 4000)},
         kHaiku);
    if (QTest::currentTestFailed())
        return;
    // A stream, paced so that its first byte comes long before its end.
    send(messages(anthropicBody(kSonnet, true), kRichUsage + ",gap=60",
                  {{"x-tollgate-user", "carol"}}),
         {anthropic, messagesPath, QStringLiteral("carol"), sonnet, sonnet, true, 1000, 2000, 300,
          4000, richSonnet},
         kSonnet);
    if (QTest::currentTestFailed())
        return;
    // A stream served by a model other than the one asked for.
    send(messages(anthropicBody(kSonnet, true), "in=10,out=20,served_model=" + kHaiku),
         {anthropic, messagesPath, QString(), sonnet, haiku, true, 10, 20, 0, 0,
          kHaikuPrice.costUsd(10, 20, 0, 0)},
         {});
    if (QTest::currentTestFailed())
        return;
    // OpenAI: the user from the body's `user`; cached tokens split out of prompt_tokens.
    send(chat(openAiBody("gpt-4o", false, R"(,"user":"dave")"), "in=100,out=50,cache_read=20"),
         {openai, chatPath, QStringLiteral("dave"), gpt4o, gpt4o, false, 100, 50, 0, 20,
          kGpt4oPrice.costUsd(100, 50, 0, 20)},
         "gpt-4o");
    if (QTest::currentTestFailed())
        return;
    // OpenAI stream without stream_options: metered from the usage chunk the client never saw.
    send(chat(openAiBody("gpt-4o", true), "in=100,out=50,cache_read=20",
              {{"x-tollgate-user", "erin"}}),
         {openai, chatPath, QStringLiteral("erin"), gpt4o, gpt4o, true, 100, 50, 0, 20,
          kGpt4oPrice.costUsd(100, 50, 0, 20)},
         "gpt-4o");
    if (QTest::currentTestFailed())
        return;
    send(chat(openAiBody("gpt-4o", true, R"(,"user":"frank")"),
              "in=100,out=50,cache_read=20,served_model=gpt-4o-mini"),
         {openai, chatPath, QStringLiteral("frank"), gpt4o, gpt4oMini, true, 100, 50, 0, 20,
          kGpt4oMiniPrice.costUsd(100, 50, 0, 20)},
         {});
    if (QTest::currentTestFailed())
        return;

    // SIGTERM drains and flushes the log.
    QCOMPARE(m_gateway.stop(), 0);
    QHash<QString, QVariantMap> rows;
    QString error;
    QVERIFY2(readRequestLog(logPath(), &rows, &error), qPrintable(error));
    QCOMPARE(rows.size(), expected.size());

    int opened = 0; // rows whose request waited for a new upstream connection
    int pooled = 0; // rows served on a kept-alive one
    for (auto it = expected.cbegin(); it != expected.cend(); ++it) {
        const Expected &want = it.value();
        QVERIFY2(rows.contains(it.key()), qPrintable(it.key()));
        const QVariantMap row = rows.value(it.key());
        const QByteArray where = it.key().toLatin1() + " (user \"" + want.user.toUtf8() + "\")";
        auto column = [&](const char *name) { return row.value(QString::fromLatin1(name)); };
        // All differences of the row at once, each with the value found and the one expected.
        QStringList wrong;
        auto expect = [&](const char *name, const QVariant &value) {
            if (column(name) != value)
                wrong.append(
                    QStringLiteral("%1 = %2, expected %3")
                        .arg(QLatin1String(name), column(name).toString(), value.toString()));
        };
        expect("flavor", want.flavor);
        expect("endpoint", want.endpoint);
        expect("user", want.user);
        expect("requested_model", want.requested);
        expect("used_model", want.used);
        expect("status", qint64(200));
        expect("stream", qint64(want.stream ? 1 : 0));
        expect("input_tokens", want.input);
        expect("output_tokens", want.output);
        expect("cache_write_tokens", want.cacheWrite);
        expect("cache_read_tokens", want.cacheRead);
        expect("priced", qint64(1));
        expect("error", QString());
        if (!TokenPrice::sameUsd(column("cost_usd").toDouble(), want.cost))
            wrong.append(QStringLiteral("cost_usd = %1, expected %2")
                             .arg(column("cost_usd").toDouble(), 0, 'g', 17)
                             .arg(want.cost, 0, 'g', 17));
        QVERIFY2(wrong.isEmpty(), where + ": " + wrong.join(QStringLiteral("; ")).toUtf8());
        const double latency = column("latency_ms").toDouble();
        QVERIFY2(!column("ttft_ms").isNull(), where);
        const double ttft = column("ttft_ms").toDouble();
        QVERIFY2(ttft >= 0 && ttft <= latency, where + " ttft " + QByteArray::number(ttft) +
                                                   " latency " + QByteArray::number(latency));
        QVERIFY2(column("upstream_ms").toDouble() <= latency, where);
        // Where the time before the first byte went: the queue, then opening a connection.
        QVERIFY2(!column("queue_ms").isNull() && !column("connect_ms").isNull(), where);
        const double queue = column("queue_ms").toDouble();
        const double connect = column("connect_ms").toDouble();
        QVERIFY2(queue >= 0 && connect >= 0 && queue + connect <= ttft,
                 where + " queue " + QByteArray::number(queue) + " connect " +
                     QByteArray::number(connect) + " ttft " + QByteArray::number(ttft));
        ++(connect > 0 ? opened : pooled);
        if (want.user == QLatin1String("carol")) {
            // 9 events 60 ms apart: the first byte went out long before the last.
            QVERIFY2(latency >= 400, where + " latency " + QByteArray::number(latency));
            QVERIFY2(ttft < latency / 2, where + " ttft " + QByteArray::number(ttft));
        }
        for (auto value = row.cbegin(); value != row.cend(); ++value) {
            const QByteArray text = value.value().toString().toUtf8();
            QVERIFY2(!text.contains(kAnthropicClientKey) && !text.contains(kOpenAiClientKey),
                     qPrintable(QStringLiteral("column %1 holds a client key").arg(value.key())));
        }
    }
    // Each worker opens its connection to the mock once and keeps it.
    QVERIFY2(opened >= 1 && pooled >= 1,
             qPrintable(QStringLiteral("%1 opened, %2 pooled").arg(opened).arg(pooled)));
    // Nor anywhere else in the database files (free pages, journal, other tables).
    const QByteArray stored = m_gateway.dataBytes();
    QVERIFY2(!stored.contains(kAnthropicClientKey) && !stored.contains(kOpenAiClientKey),
             "a client key is in the data folder");
}

void TestGatewayApi::metricsCountTrafficAndPassPromtool()
{
    for (int i = 0; i < 3; ++i)
        QCOMPARE(viaGateway(messages(anthropicBody(kSonnet, false), kRichUsage)).status, 200);
    QCOMPARE(viaGateway(messages(anthropicBody(kSonnet, true), "in=10,out=20")).status, 200);
    for (int i = 0; i < 2; ++i) {
        QCOMPARE(
            viaGateway(chat(openAiBody("gpt-4o", false), "in=100,out=50,cache_read=20")).status,
            200);
    }
    QCOMPARE(viaGateway(chat(openAiBody("gpt-4o", true), "in=100,out=50,cache_read=20")).status,
             200);

    const HttpTestResponse response = viaGateway(HttpTestRequest::get("/metrics"));
    QCOMPARE(response.status, 200);
    QVERIFY2(response.header("content-type").startsWith("text/plain"),
             response.header("content-type").constData());
    const QByteArray text = response.body;
    const QList<QByteArray> lines = text.split('\n');
    auto expectLine = [&](const QByteArray &line) {
        QVERIFY2(lines.contains(line), line.constData());
    };

    expectLine(R"(ai_requests_total{model="claude-sonnet-4-20250514",status="200"} 4)");
    expectLine(R"(ai_requests_total{model="gpt-4o",status="200"} 3)");
    expectLine(R"(ai_tokens_total{model="claude-sonnet-4-20250514",kind="input"} 3010)");
    expectLine(R"(ai_tokens_total{model="claude-sonnet-4-20250514",kind="output"} 6020)");
    expectLine(R"(ai_tokens_total{model="claude-sonnet-4-20250514",kind="cache_write"} 900)");
    expectLine(R"(ai_tokens_total{model="claude-sonnet-4-20250514",kind="cache_read"} 12000)");
    expectLine(R"(ai_tokens_total{model="gpt-4o",kind="input"} 300)");
    expectLine(R"(ai_tokens_total{model="gpt-4o",kind="output"} 150)");
    expectLine(R"(ai_tokens_total{model="gpt-4o",kind="cache_write"} 0)");
    expectLine(R"(ai_tokens_total{model="gpt-4o",kind="cache_read"} 60)");
    expectLine(R"(ai_request_duration_seconds_count{model="claude-sonnet-4-20250514"} 4)");
    expectLine(R"(ai_request_duration_seconds_count{model="gpt-4o"} 3)");
    expectLine(R"(ai_request_duration_seconds_bucket{model="gpt-4o",le="+Inf"} 3)");

    const double sonnetCost =
        PrometheusText::sample(text, R"(ai_cost_total_usd{model="claude-sonnet-4-20250514"})");
    const double sonnetWant =
        3 * kSonnetPrice.costUsd(1000, 2000, 300, 4000) + kSonnetPrice.costUsd(10, 20, 0, 0);
    QVERIFY2(TokenPrice::sameUsd(sonnetCost, sonnetWant),
             qPrintable(QString::number(sonnetCost, 'g', 17)));
    const double gptCost = PrometheusText::sample(text, R"(ai_cost_total_usd{model="gpt-4o"})");
    QVERIFY2(TokenPrice::sameUsd(gptCost, 3 * kGpt4oPrice.costUsd(100, 50, 0, 20)),
             qPrintable(QString::number(gptCost, 'g', 17)));

    // Only successes so far: no error series, and no other models.
    for (const QByteArray &line : lines) {
        QVERIFY2(!line.startsWith("ai_errors_total{"), line.constData());
        if (line.startsWith("ai_requests_total{"))
            QVERIFY2(line.contains("status=\"200\"}"), line.constData());
    }

    if (PrometheusText::promtool().isEmpty())
        QSKIP("promtool is not installed");
    VERIFY_NO_PROBLEM(PrometheusText::lintProblem(text));
}

void TestGatewayApi::healthAndReady()
{
    const QList<QPair<QByteArray, QByteArray>> probes{{"/health", R"({"status":"ok"})"},
                                                      {"/ready", R"({"status":"ready"})"}};
    for (const auto &[path, body] : probes) {
        HttpTestRequest request;
        request.path = path;
        const HttpTestResponse response = viaGateway(request);
        QCOMPARE(response.status, 200);
        QCOMPARE(response.header("content-type"), QByteArray("application/json"));
        QCOMPARE(response.body, body);
    }
    // Probes are the gateway's own: they never reach a provider.
    QVERIFY(m_anthropic.journal().isEmpty());
    QVERIFY(m_openAi.journal().isEmpty());
}

void TestGatewayApi::keepAliveServesManySequentialRequests()
{
    QList<HttpTestRequest> kinds;
    kinds.append(messages(anthropicBody(kSonnet, false)));
    kinds.append(messages(anthropicBody(kSonnet, true)));
    kinds.append(chat(openAiBody("gpt-4o", false)));
    kinds.append(chat(openAiBody("gpt-4o", true)));
    kinds.append(anthropicPost("/v1/messages/count_tokens",
                               R"({"model":"claude-sonnet-4-20250514","messages":[]})"));
    HttpTestRequest health;
    health.path = "/health";
    kinds.append(health);

    constexpr int kRequests = 60;
    HttpTestClient client(m_gateway.port());
    QSet<QByteArray> ids;
    for (int i = 0; i < kRequests; ++i) {
        const HttpTestRequest &request = kinds[i % kinds.size()];
        // Still connected and not told to close: the request goes on the same connection.
        if (i > 0)
            QVERIFY2(client.isConnected(), qPrintable(QStringLiteral("closed before %1").arg(i)));
        const HttpTestResponse response = client.request(request);
        const QByteArray where = QByteArray::number(i) + ' ' + request.path;
        QVERIFY2(response.status == 200 && response.complete,
                 where + ": " + QByteArray::number(response.status) + ' ' +
                     response.error.toUtf8());
        QVERIFY2(response.header("connection").toLower() != "close", where);
        if (request.path != "/health") {
            const QByteArray id = response.header("x-tollgate-request-id");
            QVERIFY2(!ids.contains(id), where + " repeats " + id);
            ids.insert(id);
        }
        if (request.body.contains("\"stream\":true"))
            QVERIFY2(response.body.contains("[DONE]") || response.body.contains("message_stop"),
                     where);
    }
    QVERIFY(client.isConnected());
    QCOMPARE(m_anthropic.journal().size() + m_openAi.journal().size(), 50);
}

void TestGatewayApi::pipelinedRequestsAnsweredInOrder()
{
    // Written back to back on one connection; the first is the slowest upstream, so answers
    // that came back in completion order instead of request order would show.
    const QList<HttpTestRequest> requests{
        messages(anthropicBody(kSonnet, false), "slow=200,in=1"),
        chat(openAiBody("gpt-4o", true), "in=2"),
        messages(anthropicBody(kSonnet, true), "in=3"),
        chat(openAiBody("gpt-4o", false), "in=4"),
    };
    HttpTestClient client(m_gateway.port());
    const QList<HttpTestResponse> responses = client.pipeline(requests);
    QCOMPARE(responses.size(), requests.size());
    for (qsizetype i = 0; i < responses.size(); ++i) {
        QVERIFY2(responses[i].status == 200 && responses[i].complete,
                 qPrintable(QStringLiteral("%1: %2 %3")
                                .arg(i)
                                .arg(responses[i].status)
                                .arg(responses[i].error)));
    }
    QCOMPARE(responses[0].json()["usage"]["input_tokens"].toInt(), 1);
    QCOMPARE(responses[1].events.last().data, QByteArray("[DONE]"));
    QCOMPARE(responses[2].events.first().json()["message"]["usage"]["input_tokens"].toInt(), 3);
    QCOMPARE(responses[3].json()["usage"]["prompt_tokens"].toInt(), 4);
    QVERIFY(client.isConnected());
}

QTEST_GUILESS_MAIN(TestGatewayApi)
#include "tst_gatewayapi.moc"
