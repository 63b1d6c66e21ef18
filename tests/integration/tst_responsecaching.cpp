// The response cache (docs/cache.md) through the real tollgated on real sockets against the mock
// upstream: what is answered from the cache and what reaches the provider (the mock's journal),
// what the client is told (x-tollgate-cache, x-tollgate-cost-usd), what a replay looks like in
// the other kind of answer (a stored body as a stream and a stored stream as a body), which
// requests share an entry, the request directives, scoping by credential, what is never stored,
// and what the request log records.
//
// Answers that are stored are made recognizable through the `x-mock-scenario` header (other
// token counts, other text): that header reaches the provider but is not part of the cache key,
// so a later request without it gets that answer only from the cache.

#include "httptestclient.h"
#include "mockupstream.h"
#include "providerheaders.h"
#include "requestlogreader.h"
#include "testchecks.h"
#include "tokenprice.h"
#include "tollgatedprocess.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QVariantMap>
#include <QtTest/QtTest>

using namespace tollgate::testsupport;

namespace {

const QByteArray kSonnet = "claude-sonnet-4-20250514";
const QByteArray kHaiku = "claude-3-haiku-20240307";
const QByteArray kHaikuAlias = "claude-haiku-3-20240307";
const QByteArray kGpt = "gpt-4o";
const QByteArray kClientKey = "sk-ant-api03-tollgate-rc-client-a-71c20b";
const QByteArray kOtherClientKey = "sk-ant-api03-tollgate-rc-client-b-09fe4d";
const QByteArray kOpenAiClientKey = "sk-proj-tollgate-rc-client-a-5d13e2";
const QByteArray kOtherOpenAiClientKey = "sk-proj-tollgate-rc-client-b-aa0c71";
const QByteArray kProviderKey = "sk-ant-api03-tollgate-rc-provider-e4a09c";

/// Every upstream failure reaches the client after one call: no retry hides it.
const QByteArray kNoRetries = R"({"retries":{"max_attempts":1}})";

HttpTestRequest messages(const QByteArray &body, const HttpHeaders &extra = {})
{
    HttpTestRequest request =
        HttpTestRequest::post("/v1/messages", body, ProviderHeaders::anthropic(kClientKey));
    for (const auto &field : extra) {
        // A given credential replaces the default one; an empty value drops it.
        if (field.first == "x-api-key")
            request.headers.removeIf([](const auto &f) { return f.first == "x-api-key"; });
        if (!field.second.isEmpty())
            request.headers.append(field);
    }
    return request;
}

HttpTestRequest chat(const QByteArray &body, const HttpHeaders &extra = {})
{
    HttpTestRequest request = HttpTestRequest::post("/v1/chat/completions", body,
                                                    ProviderHeaders::openAi(kOpenAiClientKey));
    for (const auto &field : extra) {
        if (field.first == "authorization")
            request.headers.removeIf([](const auto &f) { return f.first == "authorization"; });
        request.headers.append(field);
    }
    return request;
}

/// A Messages request; `extra` is spliced in as further members (",\"stream\":true").
QByteArray anthropicBody(const QByteArray &prompt, const QByteArray &extra = {},
                         const QByteArray &model = kSonnet)
{
    return R"({"model":")" + model +
           R"(","max_tokens":256,"messages":[{"role":"user","content":")" + prompt + R"("}])" +
           extra + '}';
}

QByteArray openAiBody(const QByteArray &prompt, const QByteArray &extra = {})
{
    return R"({"model":")" + kGpt + R"(","messages":[{"role":"user","content":")" + prompt +
           R"("}])" + extra + '}';
}

QByteArray compact(const QJsonValue &value)
{
    if (value.isObject())
        return QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact);
    if (value.isArray())
        return QJsonDocument(value.toArray()).toJson(QJsonDocument::Compact);
    return {};
}

/// What an Anthropic message says, however it arrived: as a body or as assembled events.
struct Message {
    QString id;
    QString model;
    QString text;
    QString toolName;
    QByteArray toolInput; ///< compact JSON, keys sorted
    QString stopReason;
    qint64 inputTokens = -1;
    qint64 outputTokens = -1;
    qint64 cacheWriteTokens = -1;
    qint64 cacheReadTokens = -1;

    QString toString() const
    {
        return QStringLiteral("id=") + id + QStringLiteral(" model=") + model +
               QStringLiteral(" text=\"") + text + QStringLiteral("\" tool=") + toolName +
               QLatin1Char(' ') + QString::fromUtf8(toolInput) + QStringLiteral(" stop=") +
               stopReason + QStringLiteral(" usage in/out/cw/cr=") + QString::number(inputTokens) +
               QLatin1Char('/') + QString::number(outputTokens) + QLatin1Char('/') +
               QString::number(cacheWriteTokens) + QLatin1Char('/') +
               QString::number(cacheReadTokens);
    }
};

void readAnthropicUsage(const QJsonObject &usage, Message *message)
{
    message->inputTokens = usage.value(u"input_tokens").toInteger(-1);
    message->cacheWriteTokens = usage.value(u"cache_creation_input_tokens").toInteger(0);
    message->cacheReadTokens = usage.value(u"cache_read_input_tokens").toInteger(0);
}

Message messageFromBody(const QJsonObject &root)
{
    Message message;
    message.id = root.value(u"id").toString();
    message.model = root.value(u"model").toString();
    message.stopReason = root.value(u"stop_reason").toString();
    for (const QJsonValue &value : root.value(u"content").toArray()) {
        const QJsonObject block = value.toObject();
        const QString type = block.value(u"type").toString();
        if (type == QLatin1String("text")) {
            message.text += block.value(u"text").toString();
        } else if (type == QLatin1String("tool_use")) {
            message.toolName = block.value(u"name").toString();
            message.toolInput = compact(block.value(u"input"));
        }
    }
    const QJsonObject usage = root.value(u"usage").toObject();
    readAnthropicUsage(usage, &message);
    message.outputTokens = usage.value(u"output_tokens").toInteger(-1);
    return message;
}

/// Checks that `response` is a whole Anthropic event stream in the API's order — message_start,
/// then content_block_start / content_block_delta* / content_block_stop per block (indexes from
/// 0), message_delta, message_stop; ping anywhere in between; every `event:` name equal to its
/// data's type — and assembles the message it carries. Empty if valid, else what is wrong.
QString messageFromStream(const HttpTestResponse &response, Message *message)
{
    enum class State { BeforeStart, BetweenBlocks, InBlock, AfterDelta, Stopped };
    if (!response.header("content-type").startsWith("text/event-stream"))
        return QStringLiteral("not an event stream: ") +
               QString::fromLatin1(response.header("content-type"));
    if (!response.complete)
        return QStringLiteral("the response did not end as its framing promised");
    State state = State::BeforeStart;
    int nextIndex = 0;
    QByteArray partialJson;
    bool toolBlock = false;
    *message = Message();
    for (qsizetype i = 0; i < response.events.size(); ++i) {
        const HttpTestEvent &event = response.events.at(i);
        const QJsonObject data = event.json();
        const QString type = data.value(u"type").toString();
        const QString where = QStringLiteral("event %1 (%2): ").arg(i).arg(type);
        if (event.event != type.toUtf8())
            return where + QStringLiteral("named \"%1\"").arg(QString::fromUtf8(event.event));
        if (type == QLatin1String("ping")) {
            if (state == State::BeforeStart || state == State::Stopped)
                return where + QStringLiteral("ping outside the message");
            continue;
        }
        if (type == QLatin1String("message_start")) {
            if (state != State::BeforeStart)
                return where + QStringLiteral("a second message_start");
            const QJsonObject head = data.value(u"message").toObject();
            if (head.value(u"type").toString() != QLatin1String("message") ||
                head.value(u"role").toString() != QLatin1String("assistant") ||
                !head.value(u"content").toArray().isEmpty() || !head.value(u"stop_reason").isNull())
                return where + QString::fromUtf8(event.data);
            message->id = head.value(u"id").toString();
            message->model = head.value(u"model").toString();
            readAnthropicUsage(head.value(u"usage").toObject(), message);
            state = State::BetweenBlocks;
        } else if (type == QLatin1String("content_block_start")) {
            if (state != State::BetweenBlocks || data.value(u"index").toInt(-1) != nextIndex)
                return where + QStringLiteral("out of order: ") + QString::fromUtf8(event.data);
            const QJsonObject block = data.value(u"content_block").toObject();
            toolBlock = block.value(u"type").toString() == QLatin1String("tool_use");
            if (toolBlock)
                message->toolName = block.value(u"name").toString();
            else
                message->text += block.value(u"text").toString();
            partialJson.clear();
            state = State::InBlock;
        } else if (type == QLatin1String("content_block_delta")) {
            if (state != State::InBlock || data.value(u"index").toInt(-1) != nextIndex)
                return where + QStringLiteral("out of order: ") + QString::fromUtf8(event.data);
            const QJsonObject delta = data.value(u"delta").toObject();
            const QString deltaType = delta.value(u"type").toString();
            if (deltaType == QLatin1String("text_delta"))
                message->text += delta.value(u"text").toString();
            else if (deltaType == QLatin1String("input_json_delta"))
                partialJson += delta.value(u"partial_json").toString().toUtf8();
            else
                return where + QStringLiteral("unexpected delta ") + deltaType;
        } else if (type == QLatin1String("content_block_stop")) {
            if (state != State::InBlock || data.value(u"index").toInt(-1) != nextIndex)
                return where + QStringLiteral("out of order: ") + QString::fromUtf8(event.data);
            if (toolBlock) {
                const QJsonDocument input =
                    QJsonDocument::fromJson(partialJson.isEmpty() ? "{}" : partialJson);
                if (!input.isObject())
                    return where + QStringLiteral("tool input is not JSON: ") +
                           QString::fromUtf8(partialJson);
                message->toolInput = input.toJson(QJsonDocument::Compact);
            }
            ++nextIndex;
            state = State::BetweenBlocks;
        } else if (type == QLatin1String("message_delta")) {
            if (state != State::BetweenBlocks || nextIndex == 0)
                return where + QStringLiteral("out of order");
            message->stopReason = data.value(u"delta").toObject().value(u"stop_reason").toString();
            message->outputTokens =
                data.value(u"usage").toObject().value(u"output_tokens").toInteger(-1);
            state = State::AfterDelta;
        } else if (type == QLatin1String("message_stop")) {
            if (state != State::AfterDelta)
                return where + QStringLiteral("out of order");
            state = State::Stopped;
        } else {
            return where + QStringLiteral("unexpected event: ") + QString::fromUtf8(event.data);
        }
    }
    if (state != State::Stopped)
        return QStringLiteral("the stream ended before message_stop (%1 events)")
            .arg(response.events.size());
    return {};
}

/// What an OpenAI chat completion says, however it arrived.
struct Completion {
    QString id;
    QString model;
    QString text;
    QString finishReason;
    qint64 promptTokens = -1;
    qint64 completionTokens = -1;
    qint64 totalTokens = -1;

    QString toString() const
    {
        return QStringLiteral("id=") + id + QStringLiteral(" model=") + model +
               QStringLiteral(" text=\"") + text + QStringLiteral("\" finish=") + finishReason +
               QStringLiteral(" usage=") + QString::number(promptTokens) + QLatin1Char('/') +
               QString::number(completionTokens) + QLatin1Char('/') + QString::number(totalTokens);
    }
};

void readOpenAiUsage(const QJsonObject &usage, Completion *completion)
{
    completion->promptTokens = usage.value(u"prompt_tokens").toInteger(-1);
    completion->completionTokens = usage.value(u"completion_tokens").toInteger(-1);
    completion->totalTokens = usage.value(u"total_tokens").toInteger(-1);
}

Completion completionFromBody(const QJsonObject &root)
{
    Completion completion;
    completion.id = root.value(u"id").toString();
    completion.model = root.value(u"model").toString();
    const QJsonObject choice = root.value(u"choices").toArray().at(0).toObject();
    completion.text = choice.value(u"message").toObject().value(u"content").toString();
    completion.finishReason = choice.value(u"finish_reason").toString();
    readOpenAiUsage(root.value(u"usage").toObject(), &completion);
    return completion;
}

/// Checks that `response` is a whole OpenAI chunk stream — chat.completion.chunk objects of one
/// id, ending with `data: [DONE]`; with `usageChunk` exactly one usage-only chunk (empty choices)
/// just before [DONE] and `"usage":null` on every other chunk, without it no usage at all — and
/// assembles the completion. Empty if valid, else what is wrong.
QString completionFromStream(const HttpTestResponse &response, bool usageChunk,
                             Completion *completion)
{
    if (!response.header("content-type").startsWith("text/event-stream"))
        return QStringLiteral("not an event stream: ") +
               QString::fromLatin1(response.header("content-type"));
    if (!response.complete)
        return QStringLiteral("the response did not end as its framing promised");
    const QList<HttpTestEvent> &events = response.events;
    if (events.size() < 3 || events.last().data != "[DONE]")
        return QStringLiteral("the stream does not end with data: [DONE]");
    *completion = Completion();
    int usageChunks = 0;
    for (qsizetype i = 0; i + 1 < events.size(); ++i) {
        const QJsonObject chunk = events.at(i).json();
        const QString where =
            QStringLiteral("chunk %1: ").arg(i) + QString::fromUtf8(events[i].data);
        if (chunk.value(u"object").toString() != QLatin1String("chat.completion.chunk"))
            return where;
        if (i == 0) {
            completion->id = chunk.value(u"id").toString();
            completion->model = chunk.value(u"model").toString();
        } else if (chunk.value(u"id").toString() != completion->id) {
            return where + QStringLiteral(" (another id)");
        }
        const QJsonArray choices = chunk.value(u"choices").toArray();
        if (choices.isEmpty()) {
            if (!usageChunk || i + 2 != events.size() || !chunk.value(u"usage").isObject())
                return where + QStringLiteral(" (a usage chunk nobody asked for, or misplaced)");
            readOpenAiUsage(chunk.value(u"usage").toObject(), completion);
            ++usageChunks;
            continue;
        }
        if (usageChunk ? !(chunk.contains(u"usage") && chunk.value(u"usage").isNull())
                       : !chunk.value(u"usage").isUndefined() && !chunk.value(u"usage").isNull())
            return where + QStringLiteral(" (usage member)");
        const QJsonObject choice = choices.at(0).toObject();
        completion->text += choice.value(u"delta").toObject().value(u"content").toString();
        if (!choice.value(u"finish_reason").isNull())
            completion->finishReason = choice.value(u"finish_reason").toString();
    }
    if (usageChunks != (usageChunk ? 1 : 0))
        return QStringLiteral("%1 usage chunks").arg(usageChunks);
    if (completion->finishReason.isEmpty())
        return QStringLiteral("no finish_reason");
    return {};
}

} // namespace

#define START_GATEWAY(...) VERIFY_NO_PROBLEM(startGateway(__VA_ARGS__))

/// Sends `request` and checks the status and the `x-tollgate-cache` outcome.
#define SEND_EXPECTING(response, request, wantStatus, wantCache)                                   \
    const HttpTestResponse response = send(request);                                               \
    QVERIFY2(response.status == (wantStatus) && response.complete,                                 \
             qPrintable(QStringLiteral(#response ": ") + response.describe(1200)));                \
    QVERIFY2(response.header("x-tollgate-cache") == QByteArray(wantCache),                         \
             qPrintable(QStringLiteral(#response ": expected x-tollgate-cache " wantCache "\n") +  \
                        response.describe(1200)))

class TestResponseCaching : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    // Hit and miss
    void repeatedRequestIsAnsweredFromCacheAndLogged();
    void streamIsReplayedFromStoredBody_data();
    void streamIsReplayedFromStoredBody();
    void bodyIsAssembledFromStoredStream_data();
    void bodyIsAssembledFromStoredStream();
    void openAiStreamIsReplayedFromStoredBody();
    void openAiRecordedStreamIsReplayed();

    // The key
    void keyNormalization_data();
    void keyNormalization();
    void routedModelKeysTheEntry_data();
    void routedModelKeysTheEntry();
    void requestsRoutedToDifferentModelsDoNotShare();

    // Directives
    void noCacheRefreshesTheEntry();
    void noCacheStoresTheFirstEntry_data();
    void noCacheStoresTheFirstEntry();
    void noStoreSkipsTheLookupAndStoresNothing();
    void requestTtlExpiresTheEntry();

    // Scope
    void clientKeysScopeTheEntries();
    void providerKeyLetsClientsShareEntries();
    void anthropicBetaScopesTheEntries();

    // Never stored
    void upstreamErrorIsNotStored_data();
    void upstreamErrorIsNotStored();
    void brokenAnswerIsNotStored_data();
    void brokenAnswerIsNotStored();
    void fallbackAnswerIsNotStored();
    void oversizedAnswerIsNotStored();

    // Policy
    void disabledCacheBypassesEveryRequest();
    void policyTtlExpiresEntries();
    void persistentTierSurvivesRestart();

private:
    /// Starts tollgated against the mocks with this policy (none if empty) and provider key.
    /// `keepDataDir`: restart on the previous run's data folder instead of a fresh one.
    QString startGateway(const QByteArray &policy = {}, const QByteArray &anthropicKey = {},
                         bool keepDataDir = false);
    QString logPath() const { return m_gateway.requestLogPath(); }
    HttpTestResponse send(const HttpTestRequest &request) const { return m_gateway.send(request); }

    MockUpstream m_anthropic;
    MockUpstream m_openAi;
    TollgatedProcess m_gateway;
};

void TestResponseCaching::initTestCase()
{
    QVERIFY2(QFile::exists(QStringLiteral(TOLLGATED_PATH)), TOLLGATED_PATH);
    m_anthropic.setThreads(1);
    m_openAi.setThreads(1);
    QVERIFY2(m_anthropic.listen(), qPrintable(m_anthropic.errorString()));
    QVERIFY2(m_openAi.listen(), qPrintable(m_openAi.errorString()));
}

void TestResponseCaching::init()
{
    m_anthropic.clearJournal();
    m_openAi.clearJournal();
}

void TestResponseCaching::cleanup()
{
    if (m_gateway.isRunning())
        QCOMPARE(m_gateway.stop(), 0);
    m_gateway.removeDataDir();
}

QString TestResponseCaching::startGateway(const QByteArray &policy, const QByteArray &anthropicKey,
                                          bool keepDataDir)
{
    TollgatedProcess::Options options =
        TollgatedProcess::Options::forUpstreams(m_anthropic.baseUrl(), m_openAi.baseUrl());
    options.policy = policy;
    options.anthropicKey = anthropicKey;
    options.keepDataDir = keepDataDir;
    return m_gateway.start(options) ? QString() : m_gateway.failureReport();
}

// ---------------------------------------------------------------------------------------------
// Hit and miss

void TestResponseCaching::repeatedRequestIsAnsweredFromCacheAndLogged()
{
    START_GATEWAY();
    const QByteArray body = anthropicBody("Cache me: what is a tollgate?");

    SEND_EXPECTING(first, messages(body, {{"x-mock-scenario", "in=1000,out=200,events=4"}}), 200,
                   "miss");
    const QByteArray firstCost = first.header("x-tollgate-cost-usd");
    QVERIFY2(TokenPrice::sameUsd(firstCost.toDouble(), TokenPrice::sonnet4().costUsd(1000, 200)) &&
                 firstCost.toDouble() > 0,
             firstCost.constData());
    QCOMPARE(messageFromBody(first.json()).text, QStringLiteral("w1 w2 w3 w4 "));

    SEND_EXPECTING(second, messages(body), 200, "hit");
    QCOMPARE(second.header("x-tollgate-cost-usd"), QByteArray("0"));
    QCOMPARE(second.body, first.body); // byte for byte, the answer the provider gave
    QCOMPARE(second.header("content-type"), first.header("content-type"));
    QCOMPARE(second.header("x-tollgate-model"), kSonnet);
    QVERIFY(second.header("x-tollgate-request-id") != first.header("x-tollgate-request-id"));
    QCOMPARE(m_anthropic.journal().size(), 1);

    // The request log: a miss that cost what the tokens cost, then a free hit with the same
    // tokens (what the hit saved) and no upstream time.
    QCOMPARE(m_gateway.stop(), 0);
    QHash<QString, QVariantMap> rows;
    QString error;
    QVERIFY2(readRequestLog(logPath(), &rows, &error), qPrintable(error));
    QCOMPARE(rows.size(), 2);
    const QVariantMap missRow =
        rows.value(QString::fromLatin1(first.header("x-tollgate-request-id")));
    const QVariantMap hitRow =
        rows.value(QString::fromLatin1(second.header("x-tollgate-request-id")));
    QVERIFY2(!missRow.isEmpty() && !hitRow.isEmpty(), "both requests are logged by their ids");
    QVERIFY(missRow.value(QStringLiteral("started_at_ms")).toLongLong() <=
            hitRow.value(QStringLiteral("started_at_ms")).toLongLong());
    QCOMPARE(missRow.value(QStringLiteral("cache_status")).toString(), QStringLiteral("miss"));
    QCOMPARE(hitRow.value(QStringLiteral("cache_status")).toString(), QStringLiteral("hit"));
    for (const QVariantMap &row : {missRow, hitRow}) {
        QCOMPARE(row.value(QStringLiteral("status")).toLongLong(), 200);
        QCOMPARE(row.value(QStringLiteral("stream")).toLongLong(), 0);
        QCOMPARE(row.value(QStringLiteral("used_model")).toString(), QString::fromLatin1(kSonnet));
        QCOMPARE(row.value(QStringLiteral("input_tokens")).toLongLong(), 1000);
        QCOMPARE(row.value(QStringLiteral("output_tokens")).toLongLong(), 200);
        QCOMPARE(row.value(QStringLiteral("error")).toString(), QString());
    }
    const double missCost = missRow.value(QStringLiteral("cost_usd")).toDouble();
    QVERIFY2(TokenPrice::sameUsd(missCost, TokenPrice::sonnet4().costUsd(1000, 200)),
             QByteArray::number(missCost, 'g', 17));
    QCOMPARE(hitRow.value(QStringLiteral("cost_usd")).toDouble(), 0.0);
    QCOMPARE(hitRow.value(QStringLiteral("upstream_ms")).toDouble(), 0.0);
    // The hit never waited for an upstream: no queue or connect time.
    QVERIFY(hitRow.value(QStringLiteral("queue_ms")).isNull());
    QVERIFY(hitRow.value(QStringLiteral("connect_ms")).isNull());
    QVERIFY(!missRow.value(QStringLiteral("queue_ms")).isNull());
}

void TestResponseCaching::streamIsReplayedFromStoredBody_data()
{
    QTest::addColumn<QByteArray>("scenario");
    QTest::newRow("text") << QByteArray("in=37,out=23,events=5");
    QTest::newRow("tool use") << QByteArray("tool,in=5,out=9");
}

void TestResponseCaching::streamIsReplayedFromStoredBody()
{
    QFETCH(QByteArray, scenario);
    START_GATEWAY();
    const QByteArray prompt = "Replay my body as a stream";

    SEND_EXPECTING(plain, messages(anthropicBody(prompt), {{"x-mock-scenario", scenario}}), 200,
                   "miss");
    const Message original = messageFromBody(plain.json());
    QVERIFY2(original.id.startsWith(QLatin1String("msg_mock_")), plain.body.constData());
    QVERIFY2(original.inputTokens != 11, "the scenario made the stored answer recognizable");

    SEND_EXPECTING(streamed, messages(anthropicBody(prompt, R"(,"stream":true)")), 200, "hit");
    QCOMPARE(streamed.header("x-tollgate-cost-usd"), QByteArray("0"));
    QCOMPARE(streamed.header("x-tollgate-model"), kSonnet);
    Message replayed;
    const QString problem = messageFromStream(streamed, &replayed);
    QVERIFY2(problem.isEmpty(), qPrintable(problem + QLatin1Char('\n') + streamed.describe(1200)));
    QCOMPARE(replayed.toString(), original.toString());
    QCOMPARE(m_anthropic.journal().size(), 1);
}

void TestResponseCaching::bodyIsAssembledFromStoredStream_data()
{
    QTest::addColumn<QByteArray>("scenario");
    QTest::newRow("text") << QByteArray("in=41,out=17,events=6,cache_read=5");
    QTest::newRow("tool use") << QByteArray("tool,in=6,out=12,events=4");
}

void TestResponseCaching::bodyIsAssembledFromStoredStream()
{
    QFETCH(QByteArray, scenario);
    START_GATEWAY();
    const QByteArray prompt = "Assemble my stream into a body";
    const QByteArray streamBody = anthropicBody(prompt, R"(,"stream":true)");

    SEND_EXPECTING(live, messages(streamBody, {{"x-mock-scenario", scenario}}), 200, "miss");
    Message original;
    QString problem = messageFromStream(live, &original);
    QVERIFY2(problem.isEmpty(), qPrintable(problem + QLatin1Char('\n') + live.describe(1200)));
    QVERIFY2(original.inputTokens != 11, "the scenario made the stored answer recognizable");

    SEND_EXPECTING(plain, messages(anthropicBody(prompt)), 200, "hit");
    QCOMPARE(plain.header("x-tollgate-cost-usd"), QByteArray("0"));
    QVERIFY2(plain.header("content-type").startsWith("application/json"),
             plain.header("content-type"));
    const QJsonObject root = plain.json();
    QCOMPARE(root.value(u"type").toString(), QStringLiteral("message"));
    QCOMPARE(root.value(u"role").toString(), QStringLiteral("assistant"));
    QCOMPARE(messageFromBody(root).toString(), original.toString());

    // Stream asked, stream stored: the recorded events, byte for byte.
    SEND_EXPECTING(again, messages(streamBody), 200, "hit");
    QCOMPARE(again.body, live.body);
    QCOMPARE(m_anthropic.journal().size(), 1);

    // The log meters the recorded stream's usage on every row, and charges only the miss.
    QCOMPARE(m_gateway.stop(), 0);
    QHash<QString, QVariantMap> rows;
    QString error;
    QVERIFY2(readRequestLog(logPath(), &rows, &error), qPrintable(error));
    QCOMPARE(rows.size(), 3);
    for (const HttpTestResponse *response : {&live, &plain, &again}) {
        const QVariantMap row =
            rows.value(QString::fromLatin1(response->header("x-tollgate-request-id")));
        const bool hit = response != &live;
        QCOMPARE(row.value(QStringLiteral("cache_status")).toString(),
                 hit ? QStringLiteral("hit") : QStringLiteral("miss"));
        QCOMPARE(row.value(QStringLiteral("stream")).toLongLong(), response == &plain ? 0 : 1);
        QCOMPARE(row.value(QStringLiteral("input_tokens")).toLongLong(), original.inputTokens);
        QCOMPARE(row.value(QStringLiteral("output_tokens")).toLongLong(), original.outputTokens);
        QCOMPARE(row.value(QStringLiteral("cache_read_tokens")).toLongLong(),
                 original.cacheReadTokens);
        const double cost = row.value(QStringLiteral("cost_usd")).toDouble();
        QVERIFY2(hit ? cost == 0.0 : cost > 0.0, QByteArray::number(cost, 'g', 17));
    }
}

void TestResponseCaching::openAiStreamIsReplayedFromStoredBody()
{
    START_GATEWAY();
    const QByteArray prompt = "Replay my completion as chunks";
    SEND_EXPECTING(plain, chat(openAiBody(prompt), {{"x-mock-scenario", "in=19,out=8,events=4"}}),
                   200, "miss");
    const Completion original = completionFromBody(plain.json());
    QCOMPARE(original.text, QStringLiteral("w1 w2 w3 w4 "));
    QCOMPARE(original.totalTokens, 27);

    // Asked for usage: the usage chunk comes last before [DONE].
    SEND_EXPECTING(
        withUsage,
        chat(openAiBody(prompt, R"(,"stream":true,"stream_options":{"include_usage":true})")), 200,
        "hit");
    QCOMPARE(withUsage.header("x-tollgate-cost-usd"), QByteArray("0"));
    Completion replayed;
    QString problem = completionFromStream(withUsage, true, &replayed);
    QVERIFY2(problem.isEmpty(), qPrintable(problem + QLatin1Char('\n') + withUsage.describe(1200)));
    QCOMPARE(replayed.toString(), original.toString());

    // Not asked: no usage chunk, the same text.
    SEND_EXPECTING(withoutUsage, chat(openAiBody(prompt, R"(,"stream":true)")), 200, "hit");
    problem = completionFromStream(withoutUsage, false, &replayed);
    QVERIFY2(problem.isEmpty(),
             qPrintable(problem + QLatin1Char('\n') + withoutUsage.describe(1200)));
    QCOMPARE(replayed.text, original.text);
    QCOMPARE(replayed.finishReason, original.finishReason);
    QCOMPARE(replayed.id, original.id);
    QCOMPARE(m_openAi.journal().size(), 1);
}

void TestResponseCaching::openAiRecordedStreamIsReplayed()
{
    START_GATEWAY();
    const QByteArray prompt = "Record my chunks";
    const QByteArray streamBody = openAiBody(prompt, R"(,"stream":true)");

    // The client did not ask for usage; the gateway did (to meter it) and hid the usage chunk.
    SEND_EXPECTING(live, chat(streamBody, {{"x-mock-scenario", "in=19,out=8,events=4"}}), 200,
                   "miss");
    Completion original;
    QString problem = completionFromStream(live, false, &original);
    QVERIFY2(problem.isEmpty(), qPrintable(problem + QLatin1Char('\n') + live.describe(1200)));
    QCOMPARE(original.text, QStringLiteral("w1 w2 w3 w4 "));
    QCOMPARE(m_openAi.journal().size(), 1);
    QCOMPARE(QJsonDocument::fromJson(m_openAi.journal().at(0).body)
                 .object()
                 .value(u"stream_options")
                 .toObject()
                 .value(u"include_usage")
                 .toBool(),
             true);

    // The same client again: the recording without its usage chunk, as the live path sent it.
    SEND_EXPECTING(again, chat(streamBody), 200, "hit");
    problem = completionFromStream(again, false, &original);
    QVERIFY2(problem.isEmpty(), qPrintable(problem + QLatin1Char('\n') + again.describe(1200)));
    QCOMPARE(again.body, live.body);

    // A client that asks for usage gets the recorded usage chunk.
    SEND_EXPECTING(
        withUsage,
        chat(openAiBody(prompt, R"(,"stream":true,"stream_options":{"include_usage":true})")), 200,
        "hit");
    Completion replayed;
    problem = completionFromStream(withUsage, true, &replayed);
    QVERIFY2(problem.isEmpty(), qPrintable(problem + QLatin1Char('\n') + withUsage.describe(1200)));
    QCOMPARE(replayed.text, original.text);
    QCOMPARE(replayed.promptTokens, 19);
    QCOMPARE(replayed.completionTokens, 8);
    QCOMPARE(replayed.totalTokens, 27);

    // A plain request gets a chat.completion assembled from the chunks.
    SEND_EXPECTING(plain, chat(openAiBody(prompt)), 200, "hit");
    QCOMPARE(plain.json().value(u"object").toString(), QStringLiteral("chat.completion"));
    QCOMPARE(completionFromBody(plain.json()).toString(), replayed.toString());
    QCOMPARE(m_openAi.journal().size(), 1);
}

// ---------------------------------------------------------------------------------------------
// The key

void TestResponseCaching::keyNormalization_data()
{
    QTest::addColumn<QByteArray>("first");
    QTest::addColumn<QByteArray>("second");
    QTest::addColumn<bool>("shared");

    const QByteArray base =
        R"({"model":"claude-sonnet-4-20250514","max_tokens":256,"temperature":0.5,)"
        R"("system":"Be brief.","metadata":{"user_id":"alice"},)"
        R"("messages":[{"role":"user","content":"Normalize caf\u00e9"}]})";
    auto with = [&](const QByteArray &from, const QByteArray &to) {
        QByteArray changed = base;
        changed.replace(from, to);
        Q_ASSERT(changed != base);
        return changed;
    };
    QTest::newRow("member order and whitespace")
        << base
        << QByteArray("{\n  \"messages\" : [ { \"content\" : \"Normalize caf\\u00e9\", \"role\" : "
                      "\"user\" } ],\n  \"metadata\": {\"user_id\": \"alice\"},\n  \"system\": "
                      "\"Be brief.\", \"temperature\" : 0.5,\n  \"max_tokens\" : 256, \"model\" : "
                      "\"claude-sonnet-4-20250514\"\n}")
        << true;
    QTest::newRow("same string, other escaping")
        << base << with("caf\\u00e9", "caf\xc3\xa9") << true;
    QTest::newRow("same number, other spelling") << base << with("0.5,", "5e-1,") << true;
    QTest::newRow("other metadata.user_id") << base << with("alice", "bob") << true;
    QTest::newRow("stream flag") << base
                                 << with(R"("max_tokens":256,)",
                                         R"("max_tokens":256,"stream":true,)")
                                 << true;
    QTest::newRow("other temperature") << base << with("0.5,", "0.7,") << false;
    QTest::newRow("temperature left out") << base << with(R"("temperature":0.5,)", "") << false;
    QTest::newRow("other system") << base << with("Be brief.", "Be verbose.") << false;
    QTest::newRow("other max_tokens") << base << with(":256,", ":512,") << false;
    QTest::newRow("other model") << base << with(kSonnet, kHaiku) << false;
    QTest::newRow("other message") << base << with("Normalize", "Normalise") << false;
    QTest::newRow("default max_tokens spelled out")
        << with(R"("max_tokens":256,)", "") << with(":256,", ":1024,") << true;
}

void TestResponseCaching::keyNormalization()
{
    QFETCH(QByteArray, first);
    QFETCH(QByteArray, second);
    QFETCH(bool, shared);
    START_GATEWAY();

    SEND_EXPECTING(stored, messages(first), 200, "miss");
    QCOMPARE(m_anthropic.journal().size(), 1);

    const bool stream = QJsonDocument::fromJson(second).object().value(u"stream").toBool();
    const HttpTestResponse answer = send(messages(second));
    QVERIFY2(answer.status == 200 && answer.complete, qPrintable(answer.describe(1200)));
    QVERIFY2(answer.header("x-tollgate-cache") == (shared ? "hit" : "miss"),
             qPrintable(answer.describe(1200)));
    const QList<JournalEntry> journal = m_anthropic.journal();
    QCOMPARE(journal.size(), shared ? 1 : 2);
    if (!shared) {
        QCOMPARE(journal.at(1).body.contains("\"stream\""), stream);
        return;
    }
    if (stream) {
        Message replayed;
        const QString problem = messageFromStream(answer, &replayed);
        QVERIFY2(problem.isEmpty(),
                 qPrintable(problem + QLatin1Char('\n') + answer.describe(1200)));
        QCOMPARE(replayed.toString(), messageFromBody(stored.json()).toString());
    } else {
        QCOMPARE(answer.body, stored.body);
    }
}

void TestResponseCaching::routedModelKeysTheEntry_data()
{
    QTest::addColumn<QByteArray>("firstModel");
    QTest::addColumn<QByteArray>("firstHint"); // "name: value" or empty
    QTest::addColumn<QByteArray>("secondModel");
    QTest::addColumn<QByteArray>("routedModel");

    // The reference router sends `auto` with priority high to Sonnet: an explicit Sonnet request
    // then asks for the same thing.
    QTest::newRow("auto + priority high, then sonnet")
        << QByteArray("auto") << QByteArray("x-tollgate-priority: high") << kSonnet << kSonnet;
    QTest::newRow("sonnet, then auto + priority high")
        << kSonnet << QByteArray() << QByteArray("auto") << kSonnet;
    // An alias reaches the provider as the canonical id.
    QTest::newRow("alias, then canonical id") << kHaikuAlias << QByteArray() << kHaiku << kHaiku;
}

void TestResponseCaching::routedModelKeysTheEntry()
{
    QFETCH(QByteArray, firstModel);
    QFETCH(QByteArray, firstHint);
    QFETCH(QByteArray, secondModel);
    QFETCH(QByteArray, routedModel);
    START_GATEWAY();
    const QByteArray prompt = "Route me, then cache me";
    auto hints = [](const QByteArray &hint) {
        HttpHeaders headers;
        if (!hint.isEmpty())
            headers.append({hint.left(hint.indexOf(':')).trimmed(),
                            hint.mid(hint.indexOf(':') + 1).trimmed()});
        return headers;
    };
    const QByteArray secondHint =
        secondModel == "auto" ? QByteArray("x-tollgate-priority: high") : QByteArray();

    SEND_EXPECTING(first, messages(anthropicBody(prompt, {}, firstModel), hints(firstHint)), 200,
                   "miss");
    QCOMPARE(first.header("x-tollgate-model"), routedModel);
    QCOMPARE(m_anthropic.journal().size(), 1);
    QCOMPARE(QJsonDocument::fromJson(m_anthropic.journal().at(0).body)
                 .object()
                 .value(u"model")
                 .toString(),
             QString::fromLatin1(routedModel));

    const HttpTestResponse second =
        send(messages(anthropicBody(prompt, {}, secondModel), hints(secondHint)));
    QVERIFY2(second.status == 200, qPrintable(second.describe(1200)));
    QVERIFY2(second.header("x-tollgate-cache") == "hit",
             qPrintable(QStringLiteral("a request routed to the same model must hit:\n") +
                        second.describe(1200)));
    QCOMPARE(second.body, first.body);
    QCOMPARE(m_anthropic.journal().size(), 1);
}

void TestResponseCaching::requestsRoutedToDifferentModelsDoNotShare()
{
    START_GATEWAY();
    const QByteArray body = anthropicBody("Route me two ways", {}, "auto");

    SEND_EXPECTING(sonnet, messages(body, {{"x-tollgate-priority", "high"}}), 200, "miss");
    QCOMPARE(sonnet.header("x-tollgate-model"), kSonnet);

    // The same body, routed to Haiku: the Sonnet answer is not this request's answer.
    const HttpTestResponse haiku = send(messages(body, {{"x-tollgate-budget", "strict"}}));
    QVERIFY2(haiku.status == 200, qPrintable(haiku.describe(1200)));
    QVERIFY2(
        haiku.header("x-tollgate-cache") == "miss" && haiku.header("x-tollgate-model") == kHaiku,
        qPrintable(QStringLiteral("routed to haiku, answered by the cache entry of sonnet:\n") +
                   haiku.describe(1200)));
    QCOMPARE(haiku.json().value(u"model").toString(), QString::fromLatin1(kHaiku));
    QCOMPARE(m_anthropic.journal().size(), 2);
}

// ---------------------------------------------------------------------------------------------
// Directives

void TestResponseCaching::noCacheRefreshesTheEntry()
{
    START_GATEWAY();
    const QByteArray body = anthropicBody("Refresh me");

    // An entry exists: no-cache asks the provider anyway ...
    SEND_EXPECTING(old, messages(body), 200, "miss");
    SEND_EXPECTING(fresh, messages(body, {{"x-tollgate-cache", "no-cache"}}), 200, "bypass");
    QCOMPARE(m_anthropic.journal().size(), 2);
    QVERIFY(fresh.body != old.body); // another message id: a new answer
    QVERIFY2(TokenPrice::sameUsd(fresh.header("x-tollgate-cost-usd").toDouble(),
                                 TokenPrice::sonnet4().costUsd(11, 7)),
             fresh.header("x-tollgate-cost-usd").constData());

    // ... and stores what it got: the next plain request gets the fresh answer.
    SEND_EXPECTING(after, messages(body), 200, "hit");
    QVERIFY2(after.body == fresh.body,
             qPrintable(QStringLiteral("no-cache did not store its answer; the old entry "
                                       "answered:\n") +
                        QString::fromUtf8(after.body)));
    QCOMPARE(m_anthropic.journal().size(), 2);
}

void TestResponseCaching::noCacheStoresTheFirstEntry_data()
{
    QTest::addColumn<bool>("stream");
    QTest::newRow("body") << false;
    QTest::newRow("stream") << true;
}

void TestResponseCaching::noCacheStoresTheFirstEntry()
{
    QFETCH(bool, stream);
    START_GATEWAY();
    const QByteArray body =
        anthropicBody("Seed me with no-cache", stream ? R"(,"stream":true)" : "");

    SEND_EXPECTING(seed, messages(body, {{"x-tollgate-cache", "no-cache"}}), 200, "bypass");
    QCOMPARE(m_anthropic.journal().size(), 1);
    const HttpTestResponse next = send(messages(body));
    QVERIFY2(
        next.status == 200 && next.header("x-tollgate-cache") == "hit",
        qPrintable(QStringLiteral("no-cache did not store its answer:\n") + next.describe(1200)));
    QCOMPARE(next.body, seed.body);
    QCOMPARE(m_anthropic.journal().size(), 1);
}

void TestResponseCaching::noStoreSkipsTheLookupAndStoresNothing()
{
    START_GATEWAY();
    const HttpHeaders noStore{{"x-tollgate-cache", "no-store"}};

    // An entry exists: no-store does not read it, and does not replace it.
    const QByteArray kept = anthropicBody("Keep my entry");
    SEND_EXPECTING(stored, messages(kept), 200, "miss");
    SEND_EXPECTING(bypassed, messages(kept, noStore), 200, "bypass");
    QCOMPARE(m_anthropic.journal().size(), 2);
    QVERIFY(bypassed.body != stored.body);
    SEND_EXPECTING(hit, messages(kept), 200, "hit");
    QCOMPARE(hit.body, stored.body);
    QCOMPARE(m_anthropic.journal().size(), 2);

    struct Case {
        const char *prompt;
        HttpHeaders headers;
        QByteArray outcome; ///< x-tollgate-cache of the answer
    };
    const QList<Case> cases = {
        {"Never store me", noStore, "bypass"},
        {"Never store me, streamed", noStore, "bypass"},
        {"Never store me either", {{"x-tollgate-cache", "No-Cache, NO-STORE"}}, "bypass"},
        {"Never store me, repeated header",
         {{"x-tollgate-cache", "no-cache"}, {"x-tollgate-cache", "no-store"}},
         "bypass"},
        // A TTL of 0 reads the cache but stores nothing.
        {"Store me for no time", {{"x-tollgate-cache-ttl", "0"}}, "miss"},
    };
    int calls = 2;
    for (const Case &c : cases) {
        const QByteArray prompt(c.prompt);
        const QByteArray body =
            anthropicBody(prompt, prompt.endsWith("streamed") ? R"(,"stream":true)" : "");
        const HttpTestResponse first = send(messages(body, c.headers));
        QVERIFY2(first.status == 200 && first.header("x-tollgate-cache") == c.outcome,
                 qPrintable(prompt + QLatin1Char('\n') + first.describe(1200)));
        const HttpTestResponse second = send(messages(body));
        QVERIFY2(second.status == 200 && second.header("x-tollgate-cache") == "miss",
                 qPrintable(prompt + QStringLiteral(": was stored\n") + second.describe(1200)));
        calls += 2;
        QCOMPARE(m_anthropic.journal().size(), calls);
    }
}

void TestResponseCaching::requestTtlExpiresTheEntry()
{
    START_GATEWAY();
    const QByteArray body = anthropicBody("Live for one second");
    SEND_EXPECTING(stored, messages(body, {{"x-tollgate-cache-ttl", "1"}}), 200, "miss");
    QElapsedTimer sinceStored;
    sinceStored.start();

    SEND_EXPECTING(hit, messages(body), 200, "hit");
    QVERIFY2(sinceStored.elapsed() < 900, "the hit came late; the machine is too slow for this");
    QCOMPARE(hit.body, stored.body);
    QCOMPARE(m_anthropic.journal().size(), 1);

    QTest::qWait(int(qMax<qint64>(0, 1200 - sinceStored.elapsed())));
    SEND_EXPECTING(expired, messages(body), 200, "miss");
    QCOMPARE(m_anthropic.journal().size(), 2);
    // Stored again, with the policy's TTL this time.
    SEND_EXPECTING(again, messages(body), 200, "hit");
    QCOMPARE(again.body, expired.body);
}

// ---------------------------------------------------------------------------------------------
// Scope

void TestResponseCaching::clientKeysScopeTheEntries()
{
    START_GATEWAY(); // no provider key: the clients' own keys pass through
    const QByteArray body = anthropicBody("Whose answer is this?");

    SEND_EXPECTING(mine, messages(body), 200, "miss");
    SEND_EXPECTING(theirs, messages(body, {{"x-api-key", kOtherClientKey}}), 200, "miss");
    QList<JournalEntry> journal = m_anthropic.journal();
    QCOMPARE(journal.size(), 2);
    QCOMPARE(journal.at(0).header("x-api-key"), kClientKey);
    QCOMPARE(journal.at(1).header("x-api-key"), kOtherClientKey);
    SEND_EXPECTING(mineAgain, messages(body), 200, "hit");
    QCOMPARE(mineAgain.body, mine.body);
    SEND_EXPECTING(theirsAgain, messages(body, {{"x-api-key", kOtherClientKey}}), 200, "hit");
    QCOMPARE(theirsAgain.body, theirs.body);
    QCOMPARE(m_anthropic.journal().size(), 2);

    // OpenAI keys come as bearer tokens.
    const QByteArray chatBody = openAiBody("Whose completion is this?");
    SEND_EXPECTING(a, chat(chatBody), 200, "miss");
    SEND_EXPECTING(
        b, chat(chatBody, {{"authorization", QByteArray("Bearer " + kOtherOpenAiClientKey)}}), 200,
        "miss");
    SEND_EXPECTING(aAgain, chat(chatBody), 200, "hit");
    QCOMPARE(aAgain.body, a.body);
    QCOMPARE(m_openAi.journal().size(), 2);
    QCOMPARE(m_openAi.journal().at(1).header("authorization"),
             QByteArray("Bearer " + kOtherOpenAiClientKey));
}

void TestResponseCaching::providerKeyLetsClientsShareEntries()
{
    START_GATEWAY({}, kProviderKey);
    const QByteArray body = anthropicBody("Shared by everyone behind the gateway");

    SEND_EXPECTING(first, messages(body), 200, "miss");
    SEND_EXPECTING(other, messages(body, {{"x-api-key", kOtherClientKey}}), 200, "hit");
    QCOMPARE(other.body, first.body);
    SEND_EXPECTING(keyless, messages(body, {{"x-api-key", QByteArray()}}), 200, "hit");
    QCOMPARE(keyless.body, first.body);
    const QList<JournalEntry> journal = m_anthropic.journal();
    QCOMPARE(journal.size(), 1);
    QCOMPARE(journal.at(0).header("x-api-key"), kProviderKey);

    // Beta flags still split entries.
    SEND_EXPECTING(beta, messages(body, {{"anthropic-beta", "prompt-caching-2024-07-31"}}), 200,
                   "miss");
    QCOMPARE(m_anthropic.journal().size(), 2);
}

void TestResponseCaching::anthropicBetaScopesTheEntries()
{
    START_GATEWAY();
    const QByteArray body = anthropicBody("Does beta change the answer?");
    const HttpHeaders toolsBeta{{"anthropic-beta", "token-efficient-tools-2025-02-19"}};
    const HttpHeaders otherBeta{{"anthropic-beta", "prompt-caching-2024-07-31"}};

    SEND_EXPECTING(plain, messages(body), 200, "miss");
    SEND_EXPECTING(tools, messages(body, toolsBeta), 200, "miss");
    SEND_EXPECTING(other, messages(body, otherBeta), 200, "miss");
    const QList<JournalEntry> journal = m_anthropic.journal();
    QCOMPARE(journal.size(), 3);
    QCOMPARE(journal.at(1).header("anthropic-beta"), toolsBeta.at(0).second);
    SEND_EXPECTING(toolsAgain, messages(body, toolsBeta), 200, "hit");
    QCOMPARE(toolsAgain.body, tools.body);
    SEND_EXPECTING(plainAgain, messages(body), 200, "hit");
    QCOMPARE(plainAgain.body, plain.body);
    QCOMPARE(m_anthropic.journal().size(), 3);
}

// ---------------------------------------------------------------------------------------------
// Never stored

void TestResponseCaching::upstreamErrorIsNotStored_data()
{
    QTest::addColumn<QByteArray>("scenario");
    QTest::addColumn<int>("status");
    QTest::addColumn<bool>("openAi");
    QTest::newRow("anthropic 500") << QByteArray("error=500") << 500 << false;
    QTest::newRow("anthropic 429") << QByteArray("error=429") << 429 << false;
    QTest::newRow("anthropic 529, stream") << QByteArray("error=529") << 529 << false;
    QTest::newRow("openai 500") << QByteArray("error=500") << 500 << true;
}

void TestResponseCaching::upstreamErrorIsNotStored()
{
    QFETCH(QByteArray, scenario);
    QFETCH(int, status);
    QFETCH(bool, openAi);
    START_GATEWAY(kNoRetries);
    // The scenario header is not part of the key: each row has a prompt of its own.
    const QByteArray prompt = "Fail first: " + QByteArray(QTest::currentDataTag());
    const bool stream = QByteArray(QTest::currentDataTag()).endsWith("stream");
    const QByteArray extra = stream ? R"(,"stream":true)" : "";
    auto request = [&](const HttpHeaders &headers) {
        return openAi ? chat(openAiBody(prompt, extra), headers)
                      : messages(anthropicBody(prompt, extra), headers);
    };
    const MockUpstream &mock = openAi ? m_openAi : m_anthropic;

    SEND_EXPECTING(failed, request({{"x-mock-scenario", scenario}}), status, "miss");
    QCOMPARE(mock.journal().size(), 1);
    SEND_EXPECTING(retried, request({}), 200, "miss");
    QCOMPARE(mock.journal().size(), 2);
    SEND_EXPECTING(hit, request({}), 200, "hit");
    QCOMPARE(hit.body, retried.body);
    QCOMPARE(mock.journal().size(), 2);
}

void TestResponseCaching::brokenAnswerIsNotStored_data()
{
    QTest::addColumn<bool>("openAi");
    QTest::addColumn<bool>("stream");
    QTest::newRow("anthropic stream reset after 3 events") << false << true;
    QTest::newRow("openai stream reset after 3 events") << true << true;
    QTest::newRow("anthropic body reset half-way") << false << false;
}

void TestResponseCaching::brokenAnswerIsNotStored()
{
    QFETCH(bool, openAi);
    QFETCH(bool, stream);
    START_GATEWAY(kNoRetries);
    const QByteArray prompt = "Break me: " + QByteArray(QTest::currentDataTag());
    const QByteArray extra = stream ? R"(,"stream":true)" : "";
    auto request = [&](const HttpHeaders &headers) {
        return openAi ? chat(openAiBody(prompt, extra), headers)
                      : messages(anthropicBody(prompt, extra), headers);
    };
    const MockUpstream &mock = openAi ? m_openAi : m_anthropic;

    const HttpTestResponse broken = send(request({{"x-mock-scenario", "reset_after=3"}}));
    QCOMPARE(mock.journal().size(), 1);
    if (stream) {
        // The stream had started: it ends with an error event, never as a whole answer.
        QVERIFY2(broken.status == 200, qPrintable(broken.describe(1200)));
        QVERIFY2(!broken.body.contains("message_stop") && !broken.body.contains("[DONE]"),
                 qPrintable(broken.describe(1200)));
        QVERIFY2(broken.body.contains("error"), qPrintable(broken.describe(1200)));
    } else {
        QVERIFY2(broken.status == 502, qPrintable(broken.describe(1200)));
    }

    SEND_EXPECTING(whole, request({}), 200, "miss");
    QCOMPARE(mock.journal().size(), 2);
    SEND_EXPECTING(hit, request({}), 200, "hit");
    QCOMPARE(hit.body, whole.body);
    QCOMPARE(mock.journal().size(), 2);
}

void TestResponseCaching::fallbackAnswerIsNotStored()
{
    // One failure opens Sonnet's breaker; the "with-fallback" chain then skips Sonnet and Haiku
    // answers. That answer is for Haiku, not for the primary target the key names.
    START_GATEWAY(R"({"retries":{"max_attempts":1},
      "breakers":{"consecutive_failures":1,"cooldown_ms":60000},
      "routes":[
        {"name":"sonnet-only","match":{"header":{"x-rc-route":"sonnet-only"}},
         "targets":["claude-sonnet-4-20250514"]},
        {"name":"with-fallback","match":{},
         "targets":["claude-sonnet-4-20250514","claude-3-haiku-20240307"]}]})");

    SEND_EXPECTING(opener,
                   messages(anthropicBody("Open the breaker"),
                            {{"x-rc-route", "sonnet-only"}, {"x-mock-scenario", "error=500"}}),
                   500, "miss");
    QCOMPARE(m_anthropic.journal().size(), 1);

    const QByteArray body = anthropicBody("Answered by the fallback");
    SEND_EXPECTING(fallback, messages(body), 200, "miss");
    QCOMPARE(fallback.header("x-tollgate-model"), kHaiku);
    QCOMPARE(fallback.header("x-tollgate-route"), QByteArray("with-fallback"));
    QCOMPARE(m_anthropic.journal().size(), 2);
    QCOMPARE(QJsonDocument::fromJson(m_anthropic.journal().at(1).body)
                 .object()
                 .value(u"model")
                 .toString(),
             QString::fromLatin1(kHaiku));

    SEND_EXPECTING(again, messages(body), 200, "miss");
    QCOMPARE(again.header("x-tollgate-model"), kHaiku);
    QCOMPARE(m_anthropic.journal().size(), 3);
}

void TestResponseCaching::oversizedAnswerIsNotStored()
{
    // 2,000 bytes hold the default answer (about 300 bytes, 11 events) but not one of 400 pieces.
    START_GATEWAY(R"({"cache":{"max_entry_bytes":2000}})");
    for (const QByteArray &extra : {QByteArray(), QByteArray(R"(,"stream":true)")}) {
        // Another prompt per kind: a stream and a body of the same content share an entry.
        const QByteArray kind = extra.isEmpty() ? "body" : "stream";
        const QByteArray big = anthropicBody("Too big to keep as a " + kind, extra);
        const HttpHeaders longAnswer{{"x-mock-scenario", "events=400"}};
        const int before = int(m_anthropic.journal().size());
        SEND_EXPECTING(first, messages(big, longAnswer), 200, "miss");
        SEND_EXPECTING(second, messages(big, longAnswer), 200, "miss");
        QCOMPARE(m_anthropic.journal().size(), before + 2);

        // Under the limit, the same kind of answer is kept.
        const QByteArray small = anthropicBody("Small enough to keep as a " + kind, extra);
        SEND_EXPECTING(kept, messages(small), 200, "miss");
        SEND_EXPECTING(hit, messages(small), 200, "hit");
        QCOMPARE(hit.body, kept.body);
        QCOMPARE(m_anthropic.journal().size(), before + 3);
    }
}

// ---------------------------------------------------------------------------------------------
// Policy

void TestResponseCaching::disabledCacheBypassesEveryRequest()
{
    START_GATEWAY(R"({"cache":{"enabled":false}})");
    QStringList ids;
    for (const QByteArray &extra : {QByteArray(), QByteArray(), QByteArray(R"(,"stream":true)"),
                                    QByteArray(R"(,"stream":true)")}) {
        SEND_EXPECTING(response, messages(anthropicBody("Never cached", extra)), 200, "bypass");
        ids.append(QString::fromLatin1(response.header("x-tollgate-request-id")));
    }
    QCOMPARE(m_anthropic.journal().size(), 4);
    for (int i = 0; i < 2; ++i) {
        SEND_EXPECTING(response, chat(openAiBody("Never cached")), 200, "bypass");
        ids.append(QString::fromLatin1(response.header("x-tollgate-request-id")));
    }
    QCOMPARE(m_openAi.journal().size(), 2);

    QCOMPARE(m_gateway.stop(), 0);
    QHash<QString, QVariantMap> rows;
    QString error;
    QVERIFY2(readRequestLog(logPath(), &rows, &error), qPrintable(error));
    QCOMPARE(rows.size(), ids.size());
    for (const QString &id : ids)
        QCOMPARE(rows.value(id).value(QStringLiteral("cache_status")).toString(),
                 QStringLiteral("bypass"));
}

void TestResponseCaching::policyTtlExpiresEntries()
{
    START_GATEWAY(R"({"cache":{"ttl_seconds":1}})");
    const QByteArray body = anthropicBody("The policy gives me one second");
    SEND_EXPECTING(stored, messages(body), 200, "miss");
    QElapsedTimer sinceStored;
    sinceStored.start();
    SEND_EXPECTING(hit, messages(body), 200, "hit");
    QVERIFY2(sinceStored.elapsed() < 900, "the hit came late; the machine is too slow for this");
    QCOMPARE(hit.body, stored.body);

    QTest::qWait(int(qMax<qint64>(0, 1200 - sinceStored.elapsed())));
    SEND_EXPECTING(expired, messages(body), 200, "miss");
    QCOMPARE(m_anthropic.journal().size(), 2);
}

void TestResponseCaching::persistentTierSurvivesRestart()
{
    const QByteArray policy = R"({"cache":{"persistent":true}})";
    START_GATEWAY(policy);
    const QByteArray body = anthropicBody("Remember me across a restart");
    SEND_EXPECTING(stored, messages(body), 200, "miss");
    QCOMPARE(m_gateway.stop(), 0);
    QVERIFY(QFile::exists(QDir(m_gateway.dataDir()).filePath(QStringLiteral("cache.sqlite"))));

    START_GATEWAY(policy, QByteArray(), true);
    SEND_EXPECTING(replayed, messages(body), 200, "hit");
    QCOMPARE(replayed.body, stored.body);
    QCOMPARE(m_anthropic.journal().size(), 1);

    // Without `persistent` the same folder's entries are not read.
    QCOMPARE(m_gateway.stop(), 0);
    START_GATEWAY(QByteArray(R"({"cache":{"persistent":false}})"), QByteArray(), true);
    SEND_EXPECTING(fresh, messages(body), 200, "miss");
    QCOMPARE(m_anthropic.journal().size(), 2);
}

QTEST_GUILESS_MAIN(TestResponseCaching)
#include "tst_responsecaching.moc"
