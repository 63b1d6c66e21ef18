// The built-in simulator (docs/simulator.md) as the real tollgated's upstream for both APIs:
// answers and streams pass through the gateway and are metered and priced like a provider's,
// faults come back in each API's shape, the latency scale holds, and a seed reproduces the text.
// The simulator runs in this process on threads of its own; the gateway is the real daemon.
#include "httptestclient.h"
#include "providerheaders.h"
#include "requestlogreader.h"
#include "simulator/simulatorserver.h"
#include "testchecks.h"
#include "tokenprice.h"
#include "tollgatedprocess.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest/QtTest>

#include <algorithm>

using namespace tollgate::testsupport;
using tollgate::simulator::SimulatorOptions;
using tollgate::simulator::SimulatorServer;

namespace {

const QByteArray kHaiku = "claude-3-haiku-20240307";
const QByteArray kGpt4o = "gpt-4o";

SimulatorOptions options(double latencyScale, double errorRate, quint64 seed = 7)
{
    SimulatorOptions out;
    out.seed = seed;
    out.latencyScale = latencyScale;
    out.errorRate = errorRate;
    return out;
}

QByteArray anthropicBody(const QByteArray &prompt, bool stream, int maxTokens = 200)
{
    return R"({"model":")" + kHaiku + R"(","max_tokens":)" + QByteArray::number(maxTokens) +
           R"(,"stream":)" + (stream ? "true" : "false") +
           R"(,"messages":[{"role":"user","content":")" + prompt + R"("}]})";
}

QByteArray openAiBody(const QByteArray &prompt, bool stream)
{
    QByteArray body = R"({"model":")" + kGpt4o +
                      R"(","max_tokens":200,"messages":[{"role":"user",)"
                      R"("content":")" +
                      prompt + R"("}])";
    if (stream)
        body += R"(,"stream":true,"stream_options":{"include_usage":true})";
    return body + '}';
}

HttpTestRequest messages(const QByteArray &body)
{
    return HttpTestRequest::post("/v1/messages", body, ProviderHeaders::anthropic("sk-any"));
}

HttpTestRequest chat(const QByteArray &body)
{
    return HttpTestRequest::post("/v1/chat/completions", body, ProviderHeaders::openAi("sk-any"));
}

QString anthropicText(const QJsonObject &message)
{
    return message.value("content").toArray().first().toObject().value("text").toString();
}

QString openAiText(const QJsonObject &completion)
{
    return completion.value("choices")
        .toArray()
        .first()
        .toObject()
        .value("message")
        .toObject()
        .value("content")
        .toString();
}

/// The Anthropic stream's text deltas or the OpenAI stream's content deltas, joined.
QString streamedText(const HttpTestResponse &response)
{
    QString text;
    for (const HttpTestEvent &event : response.events) {
        const QJsonObject object = event.json();
        if (event.event == "content_block_delta")
            text += object["delta"]["text"].toString();
        const QJsonArray choices = object.value("choices").toArray();
        if (!choices.isEmpty())
            text += choices.first()["delta"]["content"].toString();
    }
    return text;
}

} // namespace

class TestSimulator : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanup();

    void anthropicAnswerIsPricedThroughTheGateway();
    void anthropicStreamIsRelayedAndLogged();
    void openAiAnswerIsPricedThroughTheGateway();
    void openAiStreamIsRelayedAndLogged();
    void countTokensAndModelsPassThrough();
    void needsNoKey();
    void badJsonGetsA400InTheApisShape();
    void faultsReachTheClientInItsApisShape();
    void latencyScaleIsRespected();
    void seedReproducesTheText();
    void daemonServesTheSimulatorWhenChosen();
    void daemonRefusesABadSimulatorMode();

private:
    void startGateway(const SimulatorServer &upstream, const QByteArray &policy = {});
    /// The request log row of a response (stops the gateway, so that every row is written).
    QVariantMap logRow(const HttpTestResponse &response);

    SimulatorServer m_simulator{options(0, 0)};
    TollgatedProcess m_gateway;
};

void TestSimulator::initTestCase()
{
    QString error;
    QVERIFY2(m_simulator.listen(0, &error), qPrintable(error));
    QVERIFY(m_simulator.port() != 0);
}

void TestSimulator::cleanup()
{
    if (m_gateway.isRunning())
        QCOMPARE(m_gateway.stop(), 0);
    m_gateway.removeDataDir();
}

void TestSimulator::startGateway(const SimulatorServer &upstream, const QByteArray &policy)
{
    TollgatedProcess::Options gatewayOptions =
        TollgatedProcess::Options::forUpstreams(upstream.baseUrl(), upstream.baseUrl());
    gatewayOptions.policy =
        policy.isEmpty() ? QByteArray(R"({"version":1,"cache":{"enabled":false}})") : policy;
    gatewayOptions.extraArgs = {QStringLiteral("--workers"), QStringLiteral("1")};
    QVERIFY2(m_gateway.start(gatewayOptions), qPrintable(m_gateway.failureReport()));
}

QVariantMap TestSimulator::logRow(const HttpTestResponse &response)
{
    if (m_gateway.isRunning())
        m_gateway.stop();
    QHash<QString, QVariantMap> rows;
    QString error;
    if (!readRequestLog(m_gateway.requestLogPath(), &rows, &error))
        qWarning("%s", qPrintable(error));
    return rows.value(QString::fromLatin1(response.header("x-tollgate-request-id")));
}

void TestSimulator::anthropicAnswerIsPricedThroughTheGateway()
{
    startGateway(m_simulator);
    const HttpTestResponse response =
        m_gateway.send(messages(anthropicBody("What does a gateway do?", false)));
    QVERIFY2(response.status == 200, qPrintable(response.describe()));
    const QJsonObject body = response.json();
    QVERIFY2(anthropicText(body).startsWith("[simulated] "), qPrintable(response.describe()));
    QCOMPARE(body.value("model").toString().toUtf8(), response.header("x-tollgate-model"));
    QCOMPARE(response.header("x-simulated"), QByteArray("true"));
    const QJsonObject usage = body.value("usage").toObject();
    const qint64 input = usage.value("input_tokens").toInteger();
    const qint64 output = usage.value("output_tokens").toInteger();
    QVERIFY(input > 0 && output > 0);
    const double cost = response.header("x-tollgate-cost-usd").toDouble();
    QVERIFY2(cost > 0, qPrintable(response.describe()));
    QVERIFY2(TokenPrice::sameUsd(cost, TokenPrice::haiku3().costUsd(input, output)),
             response.header("x-tollgate-cost-usd").constData());
}

void TestSimulator::anthropicStreamIsRelayedAndLogged()
{
    startGateway(m_simulator);
    const HttpTestResponse response =
        m_gateway.send(messages(anthropicBody("Stream a short answer", true)));
    QVERIFY2(response.status == 200 && response.complete, qPrintable(response.describe()));
    const QStringList names = response.eventNames();
    QVERIFY2(names.size() > 7, qPrintable(names.join(u',')));
    QCOMPARE(names.mid(0, 3), QStringList({"message_start", "content_block_start", "ping"}));
    QCOMPARE(names.mid(names.size() - 3),
             QStringList({"content_block_stop", "message_delta", "message_stop"}));
    QVERIFY(streamedText(response).startsWith("[simulated] "));
    const qint64 input =
        response.events.first().json()["message"]["usage"]["input_tokens"].toInteger();
    const qint64 output =
        response.events.at(names.size() - 2).json()["usage"]["output_tokens"].toInteger();

    const QVariantMap row = logRow(response);
    QVERIFY2(!row.isEmpty(), response.header("x-tollgate-request-id").constData());
    QCOMPARE(row.value("stream").toInt(), 1);
    QCOMPARE(row.value("input_tokens").toLongLong(), input);
    QCOMPARE(row.value("output_tokens").toLongLong(), output);
    QVERIFY(TokenPrice::sameUsd(row.value("cost_usd").toDouble(),
                                TokenPrice::haiku3().costUsd(input, output)));
}

void TestSimulator::openAiAnswerIsPricedThroughTheGateway()
{
    startGateway(m_simulator);
    const HttpTestResponse response = m_gateway.send(chat(openAiBody("Name three queues", false)));
    QVERIFY2(response.status == 200, qPrintable(response.describe()));
    const QJsonObject body = response.json();
    QVERIFY(openAiText(body).startsWith("[simulated] "));
    QCOMPARE(body.value("model").toString().toUtf8(), kGpt4o);
    const QJsonObject usage = body.value("usage").toObject();
    const qint64 input = usage.value("prompt_tokens").toInteger();
    const qint64 output = usage.value("completion_tokens").toInteger();
    QVERIFY(input > 0 && output > 0);
    QVERIFY2(TokenPrice::sameUsd(response.header("x-tollgate-cost-usd").toDouble(),
                                 TokenPrice::gpt4o().costUsd(input, output)),
             qPrintable(response.describe()));
}

void TestSimulator::openAiStreamIsRelayedAndLogged()
{
    startGateway(m_simulator);
    const HttpTestResponse response = m_gateway.send(chat(openAiBody("Stream please", true)));
    QVERIFY2(response.status == 200 && response.complete, qPrintable(response.describe()));
    QVERIFY(response.events.size() > 4);
    QCOMPARE(response.events.last().data, QByteArray("[DONE]"));
    const QJsonObject usageChunk = response.events.at(response.events.size() - 2).json();
    QVERIFY(usageChunk.value("choices").toArray().isEmpty());
    const qint64 input = usageChunk["usage"]["prompt_tokens"].toInteger();
    const qint64 output = usageChunk["usage"]["completion_tokens"].toInteger();
    QVERIFY(input > 0 && output > 0);
    QVERIFY(streamedText(response).startsWith("[simulated] "));

    const QVariantMap row = logRow(response);
    QVERIFY2(!row.isEmpty(), response.header("x-tollgate-request-id").constData());
    QCOMPARE(row.value("input_tokens").toLongLong(), input);
    QCOMPARE(row.value("output_tokens").toLongLong(), output);
    QVERIFY(TokenPrice::sameUsd(row.value("cost_usd").toDouble(),
                                TokenPrice::gpt4o().costUsd(input, output)));
}

void TestSimulator::countTokensAndModelsPassThrough()
{
    startGateway(m_simulator);
    const QByteArray body = anthropicBody(QByteArray(400, 'x'), false);
    const HttpTestResponse count = m_gateway.send(HttpTestRequest::post(
        "/v1/messages/count_tokens", body, ProviderHeaders::anthropic("sk-any")));
    QVERIFY2(count.status == 200, qPrintable(count.describe()));
    const HttpTestResponse message = m_gateway.send(messages(body));
    QVERIFY2(message.status == 200, qPrintable(message.describe()));
    const int counted = count.json().value("input_tokens").toInt();
    QVERIFY2(counted >= 100 && counted <= 110, qPrintable(count.describe()));
    QCOMPARE(message.json()["usage"]["input_tokens"].toInt(), counted);

    const HttpTestResponse anthropicModels =
        m_gateway.send(HttpTestRequest::get("/v1/models", ProviderHeaders::anthropic("sk-any")));
    QVERIFY2(anthropicModels.status == 200, qPrintable(anthropicModels.describe()));
    QVERIFY(anthropicModels.body.contains(kHaiku));
    QVERIFY(anthropicModels.body.contains("(simulated)"));
    const HttpTestResponse openAiModels =
        m_gateway.send(HttpTestRequest::get("/v1/models", ProviderHeaders::openAi("sk-any")));
    QVERIFY2(openAiModels.status == 200, qPrintable(openAiModels.describe()));
    QCOMPARE(openAiModels.json().value("object").toString(), QStringLiteral("list"));
    QVERIFY(openAiModels.body.contains(kGpt4o));
}

void TestSimulator::needsNoKey()
{
    const HttpTestResponse direct = HttpTestClient::send(
        m_simulator.port(), HttpTestRequest::post("/v1/messages", anthropicBody("Hi", false),
                                                  {{"content-type", "application/json"}}));
    QVERIFY2(direct.status == 200, qPrintable(direct.describe()));
    QVERIFY(anthropicText(direct.json()).startsWith("[simulated]"));
}

void TestSimulator::badJsonGetsA400InTheApisShape()
{
    // The gateway refuses bad JSON itself, so the simulator's own answer is checked directly.
    const HttpTestResponse anthropic = HttpTestClient::send(
        m_simulator.port(), messages(R"({"model":"claude-3-haiku-20240307",)"));
    QCOMPARE(anthropic.status, 400);
    QCOMPARE(anthropic.json().value("type").toString(), QStringLiteral("error"));
    QCOMPARE(anthropic.json()["error"]["type"].toString(), QStringLiteral("invalid_request_error"));

    const HttpTestResponse openAi = HttpTestClient::send(m_simulator.port(), chat("{]"));
    QCOMPARE(openAi.status, 400);
    QVERIFY(!openAi.json().contains("type"));
    QCOMPARE(openAi.json()["error"]["type"].toString(), QStringLiteral("invalid_request_error"));
}

void TestSimulator::faultsReachTheClientInItsApisShape()
{
    SimulatorServer failing(options(0, 1.0));
    QString error;
    QVERIFY2(failing.listen(0, &error), qPrintable(error));

    // Straight from the simulator: a rate limit says when to come back.
    bool sawRetryAfter = false;
    for (int i = 0; i < 12 && !sawRetryAfter; ++i) {
        const HttpTestResponse direct =
            HttpTestClient::send(failing.port(), messages(anthropicBody("Hi", false)));
        QVERIFY2(direct.status == 429 || direct.status == 529 || direct.status == 500,
                 qPrintable(direct.describe()));
        if (direct.status == 429) {
            QVERIFY2(direct.header("retry-after").toInt() >= 1, qPrintable(direct.describe()));
            QCOMPARE(direct.json()["error"]["type"].toString(), QStringLiteral("rate_limit_error"));
            sawRetryAfter = true;
        }
    }
    QVERIFY(sawRetryAfter);

    // Through the gateway, with no retries and no breaker to hide the simulator's answers.
    startGateway(failing, R"({"version":1,"cache":{"enabled":false},
                             "retries":{"max_attempts":1},
                             "breakers":{"consecutive_failures":1000}})");
    int brokenStreams = 0;
    for (int i = 0; i < 16; ++i) {
        const QByteArray prompt = "fault " + QByteArray::number(i);
        const bool stream = i >= 4;
        const HttpTestResponse anthropic = m_gateway.send(messages(anthropicBody(prompt, stream)));
        const HttpTestResponse openAi = m_gateway.send(chat(openAiBody(prompt, stream)));
        for (const HttpTestResponse *response : {&anthropic, &openAi}) {
            const bool isAnthropic = response == &anthropic;
            if (response->status == 200) {
                // A stream that broke part way: an error event, and never the stream's end.
                QVERIFY2(stream, qPrintable(response->describe()));
                // (After an OpenAI error chunk the gateway adds its own: OpenAI has no error
                // event, so only the missing [DONE] tells it that the stream broke.)
                const auto simulatedError = [](const HttpTestEvent &event) {
                    return event.json()["error"]["message"].toString().startsWith("[simulated]");
                };
                QVERIFY2(
                    std::any_of(response->events.cbegin(), response->events.cend(), simulatedError),
                    qPrintable(response->describe()));
                if (isAnthropic) {
                    QCOMPARE(response->events.last().event, QByteArray("error"));
                    QVERIFY(!response->eventNames().contains("message_stop"));
                } else {
                    QVERIFY(response->events.last().data != "[DONE]");
                }
                ++brokenStreams;
                continue;
            }
            QVERIFY2(response->status >= 429, qPrintable(response->describe()));
            const QJsonObject body = response->json();
            if (isAnthropic) {
                QCOMPARE(body.value("type").toString(), QStringLiteral("error"));
                QVERIFY2(QStringList({"rate_limit_error", "overloaded_error", "api_error"})
                             .contains(body["error"]["type"].toString()),
                         qPrintable(response->describe()));
            } else {
                QVERIFY(!body.contains("type"));
                QVERIFY(body["error"]["type"].isString());
            }
            QVERIFY2(body["error"]["message"].toString().contains("[simulated]"),
                     qPrintable(response->describe()));
        }
    }
    QVERIFY(failing.requestCount() >= 32);
    // About a fifth of the failing streams break part way; the seed makes it so here.
    QVERIFY(brokenStreams > 0);
}

void TestSimulator::latencyScaleIsRespected()
{
    // Scale 0 (this suite's simulator) answers at once, gateway included.
    startGateway(m_simulator);
    const HttpTestResponse instant = m_gateway.send(messages(anthropicBody("Quick", true)));
    QVERIFY2(instant.status == 200 && instant.complete, qPrintable(instant.describe()));
    QVERIFY2(instant.doneAtUs < 1000000, qPrintable(QString::number(instant.doneAtUs)));

    // Scale 1: a small model's first token takes at least 300 ms, and the text trickles out.
    SimulatorServer real(options(1.0, 0));
    QString error;
    QVERIFY2(real.listen(0, &error), qPrintable(error));
    HttpTestRequest request = messages(anthropicBody("Slowly", true, 40));
    request.timeoutMs = 10000;
    const HttpTestResponse slow = HttpTestClient::send(real.port(), request);
    QVERIFY2(slow.status == 200 && slow.complete, qPrintable(slow.describe()));
    QVERIFY2(slow.headersAtUs >= 280000, qPrintable(QString::number(slow.headersAtUs)));
    QVERIFY2(slow.events.last().atUs - slow.events.first().atUs >= 100000,
             qPrintable(slow.describe()));
    QVERIFY2(slow.doneAtUs < 8000000, qPrintable(QString::number(slow.doneAtUs)));
}

void TestSimulator::seedReproducesTheText()
{
    SimulatorServer same(options(0, 0, 7));
    SimulatorServer other(options(0, 0, 8));
    QString error;
    QVERIFY2(same.listen(0, &error), qPrintable(error));
    QVERIFY2(other.listen(0, &error), qPrintable(error));
    const HttpTestRequest request = chat(openAiBody("Summarise the design", false));
    const QString first = openAiText(HttpTestClient::send(m_simulator.port(), request).json());
    const QString again = openAiText(HttpTestClient::send(same.port(), request).json());
    const QString seeded = openAiText(HttpTestClient::send(other.port(), request).json());
    QVERIFY(first.startsWith("[simulated]"));
    QCOMPARE(again, first);
    QVERIFY(seeded != first);
}

void TestSimulator::daemonServesTheSimulatorWhenChosen()
{
    // Real provider URLs that must never be reached: the simulator stands in front of them.
    TollgatedProcess::Options gatewayOptions = TollgatedProcess::Options::forUpstreams(
        QUrl(QStringLiteral("http://127.0.0.1:9")), QUrl(QStringLiteral("http://127.0.0.1:9/v1")));
    gatewayOptions.policy = R"({"version":1,"cache":{"enabled":false}})";
    gatewayOptions.extraArgs = {QStringLiteral("--workers"),
                                QStringLiteral("1"),
                                QStringLiteral("--simulator"),
                                QStringLiteral("on"),
                                QStringLiteral("--simulator-latency-scale"),
                                QStringLiteral("0"),
                                QStringLiteral("--simulator-error-rate"),
                                QStringLiteral("0")};
    QVERIFY2(m_gateway.start(gatewayOptions), qPrintable(m_gateway.failureReport()));
    const HttpTestResponse response = m_gateway.send(messages(anthropicBody("Hi", false)));
    QVERIFY2(response.status == 200, qPrintable(response.describe()));
    QCOMPARE(response.header("x-simulated"), QByteArray("true"));
    // After a reload the providers still point at the simulator.
    QVERIFY2(m_gateway.reloadOnSignal(), qPrintable(m_gateway.failureReport()));
    const HttpTestResponse reloaded = m_gateway.send(messages(anthropicBody("Hi", false)));
    QVERIFY2(reloaded.status == 200, qPrintable(reloaded.describe()));
    QCOMPARE(reloaded.header("x-simulated"), QByteArray("true"));
}

void TestSimulator::daemonRefusesABadSimulatorMode()
{
    for (const QStringList &args : {QStringList{"--simulator", "sometimes"},
                                    QStringList{"--simulator", "on", "--simulator-error-rate", "2"},
                                    QStringList{"--simulator", "on", "--simulator-seed", "-1"}}) {
        const TollgatedProcess::Exit exit =
            TollgatedProcess::runToExit(args + QStringList{"--listen", "127.0.0.1:0"});
        QVERIFY(exit.exited);
        QCOMPARE(exit.code, 2);
        QVERIFY2(exit.err.contains("--simulator"), exit.err.constData());
    }
}

QTEST_GUILESS_MAIN(TestSimulator)
#include "tst_simulator.moc"
