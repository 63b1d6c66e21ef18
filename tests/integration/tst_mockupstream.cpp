// The mock upstream over real sockets: other tests trust its protocol, faults and journal.

#include "httptestclient.h"
#include "mockprocess.h"
#include "mockscenario.h"
#include "mockupstream.h"
#include "providerheaders.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest/QtTest>

using namespace tollgate::testsupport;

namespace {

const HttpHeaders anthropicHeaders = ProviderHeaders::anthropic();

HttpTestRequest post(const QByteArray &path, const QByteArray &body,
                     const QByteArray &scenario = {})
{
    return HttpTestRequest::post(path, body,
                                 anthropicHeaders + ProviderHeaders::scenario(scenario));
}

QByteArray anthropicBody(bool stream, const QByteArray &extra = {})
{
    return R"({"model":"claude-3-haiku-20240307","max_tokens":64,"stream":)" +
           QByteArray(stream ? "true" : "false") + R"(,"messages":[{"role":"user","content":"hi)" +
           extra + R"("}]})";
}

} // namespace

class TestMockUpstream : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();

    void scenarioGrammar();
    void anthropicMessage();
    void anthropicStreamEventOrderAndUsage();
    void streamEventsArriveSeparatelyWithGap();
    void anthropicToolUseStream();
    void countTokensAndModels();
    void openAiCompletion();
    void openAiStreamWithIncludeUsage();
    void openAiStreamWithoutUsage();
    void error429CarriesRetryAfterInProviderShape();
    void htmlErrorBody();
    void unknownRouteIs404InProviderShape();
    void resetAfterAbortsStreamWithoutTerminalEvent();
    void resetAfterTruncatesNonStreamBody();
    void journalRecordsHeadersAndBody();
    void journalMarksClientClosedMidStream();
    void journalMarksClientClosedWhileHanging();
    void slowDelaysHeaders();
    void pipelinedRequestsAnsweredInOrder();
    void connectionCloseAndChunkedRequestBody();
    void controlEndpoints();
    void requireKey();
    void threadedMockServesConcurrentClients();
    void executablePrintsListeningAndStopsOnSigterm();
    void processThatExitsEarlyFailsToStart();

private:
    MockUpstream m_mock;
};

void TestMockUpstream::initTestCase()
{
    QVERIFY2(m_mock.listen(QHostAddress::LocalHost), qPrintable(m_mock.errorString()));
    QVERIFY(m_mock.port() != 0);
}

void TestMockUpstream::init()
{
    m_mock.clearJournal();
}

void TestMockUpstream::scenarioGrammar()
{
    const MockScenario scenario = MockScenario::parse(
        " in=5 , tool,error=502,html,served_model=x-model",
        R"({"content":"a [[mock:in=9,status_body=Bad%2C%20gateway]] b [[mock:gap=3]]"})");
    QCOMPARE(scenario.inputTokens, 9); // the body comes after the header and wins
    QCOMPARE(scenario.outputTokens, 7);
    QVERIFY(scenario.tool);
    QCOMPARE(scenario.errorStatus, 502);
    QVERIFY(scenario.htmlError);
    QCOMPARE(scenario.servedModel, QByteArray("x-model"));
    QCOMPARE(scenario.statusBody, QByteArray("Bad, gateway"));
    QCOMPARE(scenario.gapMs, 3);
    QCOMPARE(scenario.resetAfter, -1);
}

void TestMockUpstream::anthropicMessage()
{
    const HttpTestResponse response = HttpTestClient::send(
        m_mock.port(), post("/v1/messages", anthropicBody(false, " [[mock:served_model=m2]]")));
    QCOMPARE(response.status, 200);
    QVERIFY(response.complete);
    QCOMPARE(response.header("content-type"), QByteArray("application/json"));
    const quint64 seq = m_mock.journal().first().seq;
    QCOMPARE(response.header("request-id"), "req_mock_" + QByteArray::number(seq));
    const QJsonObject body = response.json();
    QCOMPARE(body["id"].toString(), QStringLiteral("msg_mock_%1").arg(seq));
    QCOMPARE(body["type"].toString(), QStringLiteral("message"));
    QCOMPARE(body["model"].toString(), QStringLiteral("m2"));
    QCOMPARE(body["content"][0]["text"].toString(), QStringLiteral("Hello from mock."));
    QCOMPARE(body["stop_reason"].toString(), QStringLiteral("end_turn"));
    QVERIFY(body["stop_sequence"].isNull());
    QCOMPARE(body["usage"]["input_tokens"].toInt(), 11);
    QCOMPARE(body["usage"]["output_tokens"].toInt(), 7);
    QCOMPARE(body["usage"]["cache_creation_input_tokens"].toInt(), 0);
    QCOMPARE(body["usage"]["cache_read_input_tokens"].toInt(), 0);
}

void TestMockUpstream::anthropicStreamEventOrderAndUsage()
{
    const HttpTestResponse response =
        HttpTestClient::send(m_mock.port(), post("/v1/messages", anthropicBody(true),
                                                 "in=21,out=13,cache_write=5,cache_read=8"));
    QCOMPARE(response.status, 200);
    QVERIFY(response.complete);
    QCOMPARE(response.header("content-type"), QByteArray("text/event-stream"));
    QCOMPARE(response.header("transfer-encoding"), QByteArray("chunked"));
    QCOMPARE(response.eventNames(),
             QStringList({"message_start", "content_block_start", "ping", "content_block_delta",
                          "content_block_delta", "content_block_delta", "content_block_stop",
                          "message_delta", "message_stop"}));
    for (const HttpTestEvent &event : response.events)
        QCOMPARE(event.json()["type"].toString(), QString::fromLatin1(event.event));

    const QJsonObject message = response.events[0].json()["message"].toObject();
    QCOMPARE(message["model"].toString(), QStringLiteral("claude-3-haiku-20240307"));
    QVERIFY(message["content"].toArray().isEmpty());
    QCOMPARE(message["usage"]["input_tokens"].toInt(), 21);
    QCOMPARE(message["usage"]["cache_creation_input_tokens"].toInt(), 5);
    QCOMPARE(message["usage"]["cache_read_input_tokens"].toInt(), 8);
    QCOMPARE(message["usage"]["output_tokens"].toInt(), 1);

    QString text;
    for (int i = 3; i < 6; ++i)
        text += response.events[i].json()["delta"]["text"].toString();
    QCOMPARE(text, QStringLiteral("Hello from mock."));
    const QJsonObject delta = response.events[7].json();
    QCOMPARE(delta["delta"]["stop_reason"].toString(), QStringLiteral("end_turn"));
    QCOMPARE(delta["usage"]["output_tokens"].toInt(), 13);
}

void TestMockUpstream::streamEventsArriveSeparatelyWithGap()
{
    const HttpTestResponse response = HttpTestClient::send(
        m_mock.port(), post("/v1/messages", anthropicBody(true), "events=5,gap=25"));
    QVERIFY(response.complete);
    QCOMPARE(response.events.size(), 11);
    QCOMPARE(response.events[3].json()["delta"]["text"].toString(), QStringLiteral("w1 "));
    QCOMPARE(response.events[7].json()["delta"]["text"].toString(), QStringLiteral("w5 "));
    // One chunk per event, each written on its own: they arrive apart, not in one burst.
    QCOMPARE(response.chunks.size(), 11);
    for (int i = 1; i < response.events.size(); ++i)
        QVERIFY2(response.events[i].atUs - response.events[i - 1].atUs >= 15000,
                 qPrintable(QStringLiteral("event %1 came too soon").arg(i)));
}

void TestMockUpstream::anthropicToolUseStream()
{
    const QByteArray body =
        R"({"model":"claude-sonnet-4-20250514","stream":true,"tools":[{"name":"lookup_order",)"
        R"("input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"[[mock:tool]]"}]})";
    const HttpTestResponse response =
        HttpTestClient::send(m_mock.port(), post("/v1/messages", body));
    QVERIFY(response.complete);
    const QJsonObject block = response.events[1].json()["content_block"].toObject();
    QCOMPARE(block["type"].toString(), QStringLiteral("tool_use"));
    QCOMPARE(block["id"].toString(), QStringLiteral("toolu_mock_1"));
    QCOMPARE(block["name"].toString(), QStringLiteral("lookup_order"));
    QString json;
    for (const HttpTestEvent &event : response.events) {
        if (event.event == "content_block_delta") {
            QCOMPARE(event.json()["delta"]["type"].toString(), QStringLiteral("input_json_delta"));
            json += event.json()["delta"]["partial_json"].toString();
        }
    }
    QCOMPARE(QJsonDocument::fromJson(json.toUtf8()).object()["location"].toString(),
             QStringLiteral("Paris"));
    const QJsonObject delta = response.events[response.events.size() - 2].json();
    QCOMPARE(delta["delta"]["stop_reason"].toString(), QStringLiteral("tool_use"));

    const HttpTestResponse single = HttpTestClient::send(
        m_mock.port(), post("/v1/messages", R"({"model":"m","messages":[]})", "tool"));
    const QJsonObject content = single.json()["content"][0].toObject();
    QCOMPARE(content["name"].toString(), QStringLiteral("get_weather"));
    QCOMPARE(content["input"]["location"].toString(), QStringLiteral("Paris"));
    QCOMPARE(single.json()["stop_reason"].toString(), QStringLiteral("tool_use"));
}

void TestMockUpstream::countTokensAndModels()
{
    const HttpTestResponse count = HttpTestClient::send(
        m_mock.port(), post("/v1/messages/count_tokens", anthropicBody(false), "in=42"));
    QCOMPARE(count.status, 200);
    QCOMPARE(count.json()["input_tokens"].toInt(), 42);

    const HttpTestResponse anthropic =
        HttpTestClient::send(m_mock.port(), "GET", "/v1/models", anthropicHeaders);
    QCOMPARE(anthropic.json()["data"][0]["type"].toString(), QStringLiteral("model"));
    QCOMPARE(anthropic.json()["first_id"].toString(), QStringLiteral("claude-sonnet-4-20250514"));
    QVERIFY(anthropic.json().contains(QLatin1String("has_more")));

    const HttpTestResponse openAi = HttpTestClient::send(m_mock.port(), "GET", "/v1/models");
    QCOMPARE(openAi.json()["object"].toString(), QStringLiteral("list"));
    QCOMPARE(openAi.json()["data"][0]["id"].toString(), QStringLiteral("gpt-4o"));
    QCOMPARE(openAi.json()["data"][0]["object"].toString(), QStringLiteral("model"));
}

void TestMockUpstream::openAiCompletion()
{
    const HttpTestResponse response = HttpTestClient::send(
        m_mock.port(), "POST", "/v1/chat/completions",
        {{"authorization", "Bearer sk-test"}, {"x-mock-scenario", "in=10,out=4,cache_read=6"}},
        R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]})");
    QCOMPARE(response.status, 200);
    QVERIFY(!response.header("x-request-id").isEmpty());
    const QJsonObject body = response.json();
    QCOMPARE(body["object"].toString(), QStringLiteral("chat.completion"));
    QCOMPARE(body["model"].toString(), QStringLiteral("gpt-4o-mini"));
    QCOMPARE(body["choices"][0]["message"]["role"].toString(), QStringLiteral("assistant"));
    QCOMPARE(body["choices"][0]["message"]["content"].toString(),
             QStringLiteral("Hello from mock."));
    QCOMPARE(body["choices"][0]["finish_reason"].toString(), QStringLiteral("stop"));
    QCOMPARE(body["usage"]["prompt_tokens"].toInt(), 16);
    QCOMPARE(body["usage"]["completion_tokens"].toInt(), 4);
    QCOMPARE(body["usage"]["total_tokens"].toInt(), 20);
    QCOMPARE(body["usage"]["prompt_tokens_details"]["cached_tokens"].toInt(), 6);
}

void TestMockUpstream::openAiStreamWithIncludeUsage()
{
    const HttpTestResponse response = HttpTestClient::send(
        m_mock.port(), "POST", "/v1/chat/completions", {{"x-mock-scenario", "out=5"}},
        R"({"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[]})");
    QVERIFY(response.complete);
    QCOMPARE(response.header("content-type"), QByteArray("text/event-stream"));
    // role, 3 content deltas, finish, usage, [DONE]
    QCOMPARE(response.events.size(), 7);
    QCOMPARE(response.events.last().data, QByteArray("[DONE]"));
    const QJsonObject first = response.events[0].json();
    QCOMPARE(first["object"].toString(), QStringLiteral("chat.completion.chunk"));
    QCOMPARE(first["choices"][0]["delta"]["role"].toString(), QStringLiteral("assistant"));
    QString text;
    for (int i = 0; i < 5; ++i) {
        const QJsonObject chunk = response.events[i].json();
        QVERIFY(chunk.contains(QLatin1String("usage")));
        QVERIFY(chunk["usage"].isNull());
        text += chunk["choices"][0]["delta"]["content"].toString();
    }
    QCOMPARE(text, QStringLiteral("Hello from mock."));
    const QJsonObject finish = response.events[4].json();
    QCOMPARE(finish["choices"][0]["finish_reason"].toString(), QStringLiteral("stop"));
    QVERIFY(finish["choices"][0]["delta"].toObject().isEmpty());
    const QJsonObject usage = response.events[5].json();
    QVERIFY(usage["choices"].toArray().isEmpty());
    QCOMPARE(usage["usage"]["completion_tokens"].toInt(), 5);
    QCOMPARE(usage["usage"]["prompt_tokens"].toInt(), 11);
}

void TestMockUpstream::openAiStreamWithoutUsage()
{
    const HttpTestResponse response =
        HttpTestClient::send(m_mock.port(), "POST", "/v1/chat/completions", {},
                             R"({"model":"gpt-4o","stream":true,"messages":[]})");
    QCOMPARE(response.events.size(), 6);
    for (int i = 0; i < 5; ++i)
        QVERIFY(!response.events[i].json().contains(QLatin1String("usage")));
    QCOMPARE(response.events.last().data, QByteArray("[DONE]"));
}

void TestMockUpstream::error429CarriesRetryAfterInProviderShape()
{
    const HttpTestResponse anthropic =
        HttpTestClient::send(m_mock.port(), post("/v1/messages", anthropicBody(true), "error=429"));
    QCOMPARE(anthropic.status, 429);
    QCOMPARE(anthropic.header("retry-after"), QByteArray("7"));
    QCOMPARE(anthropic.json()["type"].toString(), QStringLiteral("error"));
    QCOMPARE(anthropic.json()["error"]["type"].toString(), QStringLiteral("rate_limit_error"));
    QVERIFY(!anthropic.json()["error"]["message"].toString().isEmpty());

    const HttpTestResponse openAi =
        HttpTestClient::send(m_mock.port(), "POST", "/v1/chat/completions",
                             {{"x-mock-scenario", "error=429,retry_after=2"}}, "{}");
    QCOMPARE(openAi.status, 429);
    QCOMPARE(openAi.header("retry-after"), QByteArray("2"));
    const QJsonObject error = openAi.json()["error"].toObject();
    QCOMPARE(error["code"].toString(), QStringLiteral("rate_limit_exceeded"));
    QVERIFY(error.contains(QLatin1String("param")));

    const HttpTestResponse overloaded = HttpTestClient::send(
        m_mock.port(), post("/v1/messages", anthropicBody(false), "error=529"));
    QCOMPARE(overloaded.json()["error"]["type"].toString(), QStringLiteral("overloaded_error"));
    QVERIFY(overloaded.header("retry-after").isNull());
}

void TestMockUpstream::htmlErrorBody()
{
    const HttpTestResponse html = HttpTestClient::send(
        m_mock.port(), post("/v1/messages", anthropicBody(false), "error=502,html"));
    QCOMPARE(html.status, 502);
    QCOMPARE(html.header("content-type"), QByteArray("text/html"));
    QCOMPARE(html.body, QByteArray("<html>Bad gateway</html>"));

    const HttpTestResponse text =
        HttpTestClient::send(m_mock.port(), post("/v1/messages", anthropicBody(false),
                                                 "error=503,status_body=upstream%20down"));
    QCOMPARE(text.status, 503);
    QCOMPARE(text.body, QByteArray("upstream down"));
}

void TestMockUpstream::unknownRouteIs404InProviderShape()
{
    const HttpTestResponse anthropic =
        HttpTestClient::send(m_mock.port(), "GET", "/v1/nothing", anthropicHeaders);
    QCOMPARE(anthropic.status, 404);
    QCOMPARE(anthropic.json()["error"]["type"].toString(), QStringLiteral("not_found_error"));
    const HttpTestResponse openAi = HttpTestClient::send(m_mock.port(), "GET", "/v1/nothing");
    QCOMPARE(openAi.status, 404);
    QCOMPARE(openAi.json()["error"]["type"].toString(), QStringLiteral("invalid_request_error"));
}

void TestMockUpstream::resetAfterAbortsStreamWithoutTerminalEvent()
{
    const HttpTestResponse response = HttpTestClient::send(
        m_mock.port(), post("/v1/messages", anthropicBody(true), "reset_after=4"));
    QCOMPARE(response.status, 200);
    QVERIFY(!response.complete);
    QVERIFY(response.closedEarly);
    QCOMPARE(response.eventNames(),
             QStringList({"message_start", "content_block_start", "ping", "content_block_delta"}));
    const JournalEntry entry = m_mock.journal().first();
    QVERIFY(!entry.completed);
    QVERIFY(!entry.clientClosed);
}

void TestMockUpstream::resetAfterTruncatesNonStreamBody()
{
    const HttpTestResponse response = HttpTestClient::send(
        m_mock.port(), post("/v1/messages", anthropicBody(false), "reset_after=0"));
    QCOMPARE(response.status, 200);
    QVERIFY(!response.complete);
    QVERIFY(response.closedEarly);
    QVERIFY(response.body.size() < response.header("content-length").toInt());
}

void TestMockUpstream::journalRecordsHeadersAndBody()
{
    const QByteArray body = anthropicBody(false);
    HttpTestRequest request = post("/v1/messages?beta=true", body);
    request.headers.emplace_back("X-Api-Key", "sk-ant-secret");
    HttpTestClient::send(m_mock.port(), request);

    const QList<JournalEntry> journal = m_mock.journal();
    QCOMPARE(journal.size(), 1);
    const JournalEntry &entry = journal.first();
    QCOMPARE(entry.method, QByteArray("POST"));
    QCOMPARE(entry.path, QByteArray("/v1/messages?beta=true"));
    QCOMPARE(entry.header("x-api-key"), QByteArray("sk-ant-secret"));
    QCOMPARE(entry.header("anthropic-version"), QByteArray("2023-06-01"));
    QCOMPARE(entry.header("content-length"), QByteArray::number(body.size()));
    QCOMPARE(entry.body, body);
    QVERIFY(entry.completed);
    QVERIFY(!entry.clientClosed);

    const QJsonObject json = entry.toJson();
    QCOMPARE(json["headers"]["x-api-key"].toString(), QStringLiteral("sk-ant-secret"));
    QCOMPARE(json["body"].toString().toUtf8(), body);
    QCOMPARE(json["client_closed"].toBool(), false);
}

void TestMockUpstream::journalMarksClientClosedMidStream()
{
    HttpTestRequest request = post("/v1/messages", anthropicBody(true), "events=20,gap=30");
    request.hangUpAfterEvents = 2;
    const HttpTestResponse response = HttpTestClient::send(m_mock.port(), request);
    QVERIFY(response.hungUp);
    QVERIFY(!response.complete);
    QTRY_VERIFY_WITH_TIMEOUT(m_mock.journal().first().clientClosed, 3000);
    QVERIFY(!m_mock.journal().first().completed);
}

void TestMockUpstream::journalMarksClientClosedWhileHanging()
{
    HttpTestRequest request = post("/v1/chat/completions", "{}", "hang");
    request.hangUpAfterMs = 100;
    const HttpTestResponse response = HttpTestClient::send(m_mock.port(), request);
    QVERIFY(response.hungUp);
    QCOMPARE(response.status, 0);
    QTRY_VERIFY_WITH_TIMEOUT(m_mock.journal().first().clientClosed, 3000);
}

void TestMockUpstream::slowDelaysHeaders()
{
    const HttpTestResponse response =
        HttpTestClient::send(m_mock.port(), post("/v1/messages", anthropicBody(false), "slow=120"));
    QCOMPARE(response.status, 200);
    QVERIFY2(response.headersAtUs >= 100000, qPrintable(QString::number(response.headersAtUs)));
}

void TestMockUpstream::pipelinedRequestsAnsweredInOrder()
{
    HttpTestClient client(m_mock.port());
    const QList<HttpTestResponse> responses = client.pipeline({
        post("/v1/messages", anthropicBody(false), "slow=50,out=1"),
        post("/v1/messages", anthropicBody(true), "out=2"),
        post("/v1/messages", anthropicBody(false), "out=3"),
    });
    QCOMPARE(responses.size(), 3);
    QCOMPARE(responses[0].json()["usage"]["output_tokens"].toInt(), 1);
    QCOMPARE(responses[1].events[7].json()["usage"]["output_tokens"].toInt(), 2);
    QCOMPARE(responses[2].json()["usage"]["output_tokens"].toInt(), 3);
    for (const HttpTestResponse &response : responses)
        QVERIFY(response.complete);
    QVERIFY(client.isConnected()); // keep-alive

    const HttpTestResponse again = client.request(post("/v1/messages", anthropicBody(false)));
    QCOMPARE(again.status, 200);
    QCOMPARE(m_mock.journal().size(), 4);
}

void TestMockUpstream::connectionCloseAndChunkedRequestBody()
{
    HttpTestClient client(m_mock.port());
    HttpTestRequest request = post("/v1/messages", anthropicBody(false, " chunked"));
    request.chunkedBody = true;
    request.headers.emplace_back("Connection", "close");
    const HttpTestResponse response = client.request(request);
    QCOMPARE(response.status, 200);
    QCOMPARE(response.header("connection"), QByteArray("close"));
    QCOMPARE(m_mock.journal().first().body, request.body);
    QTRY_VERIFY(!client.isConnected());
}

void TestMockUpstream::controlEndpoints()
{
    HttpTestClient::send(m_mock.port(), post("/v1/messages", anthropicBody(false)));
    const HttpTestResponse journal = HttpTestClient::send(m_mock.port(), "GET", "/_mock/journal");
    QCOMPARE(journal.status, 200);
    const QJsonArray entries = QJsonDocument::fromJson(journal.body).array();
    QCOMPARE(entries.size(), 1);
    QCOMPARE(entries[0]["path"].toString(), QStringLiteral("/v1/messages"));
    QVERIFY(entries[0]["completed"].toBool());
    QVERIFY(entries[0]["seq"].toInteger() > 0);

    QCOMPARE(HttpTestClient::send(m_mock.port(), "POST", "/_mock/reset").status, 200);
    QVERIFY(m_mock.journal().isEmpty());
}

void TestMockUpstream::requireKey()
{
    MockUpstream mock;
    mock.setRequiredKey("sk-good");
    QVERIFY(mock.listen(QHostAddress::LocalHost));

    const HttpTestResponse missing =
        HttpTestClient::send(mock.port(), post("/v1/messages", anthropicBody(false)));
    QCOMPARE(missing.status, 401);
    QCOMPARE(missing.json()["error"]["type"].toString(), QStringLiteral("authentication_error"));

    HttpTestRequest withKey = post("/v1/messages", anthropicBody(false));
    withKey.headers.emplace_back("x-api-key", "sk-good");
    QCOMPARE(HttpTestClient::send(mock.port(), withKey).status, 200);

    const HttpTestResponse bearer = HttpTestClient::send(
        mock.port(), "POST", "/v1/chat/completions", {{"Authorization", "Bearer sk-good"}}, "{}");
    QCOMPARE(bearer.status, 200);
    const HttpTestResponse wrong = HttpTestClient::send(mock.port(), "POST", "/v1/chat/completions",
                                                        {{"Authorization", "Bearer sk-bad"}}, "{}");
    QCOMPARE(wrong.status, 401);
    QCOMPARE(wrong.json()["error"]["code"].toString(), QStringLiteral("invalid_api_key"));
}

void TestMockUpstream::threadedMockServesConcurrentClients()
{
    MockUpstream mock;
    mock.setThreads(2);
    QVERIFY(mock.listen(QHostAddress::LocalHost));
    QList<HttpTestClient *> clients;
    for (int i = 0; i < 4; ++i)
        clients.append(new HttpTestClient(mock.port()));
    for (int round = 0; round < 25; ++round) {
        for (HttpTestClient *client : std::as_const(clients)) {
            const HttpTestResponse response =
                client->request(post("/v1/messages", anthropicBody(round % 2 == 0)));
            QVERIFY(response.complete);
        }
    }
    qDeleteAll(clients);
    const QList<JournalEntry> journal = mock.journal();
    QCOMPARE(journal.size(), 100);
    for (qsizetype i = 0; i < journal.size(); ++i)
        QCOMPARE(journal[i].seq, journal.first().seq + quint64(i));
    const auto allCompleted = [&mock] {
        const QList<JournalEntry> entries = mock.journal();
        return std::all_of(entries.cbegin(), entries.cend(),
                           [](const JournalEntry &entry) { return entry.completed; });
    };
    QTRY_VERIFY(allCompleted());
}

void TestMockUpstream::executablePrintsListeningAndStopsOnSigterm()
{
    MockProcess process;
    QVERIFY2(process.start({"--threads", "2", "--require-key", "sk-proc"}),
             qPrintable(process.errorString()));
    QVERIFY(process.port() != 0);
    // contains, not startsWith: a sanitizer build may print to stderr first.
    QVERIFY(process.output().contains(
        "listening on 127.0.0.1:" + QByteArray::number(process.port()) + '\n'));

    QCOMPARE(
        HttpTestClient::send(process.port(), post("/v1/messages", anthropicBody(false))).status,
        401);
    HttpTestRequest request = post("/v1/messages", anthropicBody(true));
    request.headers.emplace_back("authorization", "Bearer sk-proc");
    QCOMPARE(HttpTestClient::send(process.port(), request).events.size(), 9);
    const QJsonArray journal = process.journal();
    QCOMPARE(journal.size(), 2);
    QCOMPARE(journal[1]["headers"]["authorization"].toString(), QStringLiteral("Bearer sk-proc"));
    QVERIFY(process.resetJournal());
    QVERIFY(process.journal().isEmpty());
    QCOMPARE(process.stop(), 0);
}

void TestMockUpstream::processThatExitsEarlyFailsToStart()
{
    GatewayProcess process;
    QElapsedTimer clock;
    clock.start();
    QVERIFY(!process.start(QStringLiteral("/bin/sh"),
                           {QStringLiteral("-c"), QStringLiteral("echo boom >&2; exit 3")}));
    QVERIFY(clock.elapsed() < 5000); // noticed the exit, did not sit out the timeout
    QVERIFY2(process.errorString().contains(QLatin1String("code 3")),
             qPrintable(process.errorString()));
    QCOMPARE(process.output(), QByteArray("boom\n"));
}

QTEST_GUILESS_MAIN(TestMockUpstream)
#include "tst_mockupstream.moc"
