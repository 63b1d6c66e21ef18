// The real tollgated on real sockets when things go wrong: upstream errors, timeouts and resets,
// client hang-ups, credentials, client-side limits, refusal to start unsafe, and shutdown.

#include "httptestclient.h"
#include "mockupstream.h"
#include "providerheaders.h"
#include "testchecks.h"
#include "tollgatedprocess.h"

#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTimer>
#include <QUrl>
#include <QtTest/QtTest>

#include <signal.h>
#include <sys/types.h>

using namespace tollgate::testsupport;

namespace {

// Provider secrets the gateway holds; each ends in a marker that no other text in a run contains,
// so a search for the marker finds the secret even when a prefix was cut off.
const QByteArray kAnthropicSecret = "sk-ant-provider-SECRET7f3a9c";
const QByteArray kOpenAiSecret = "sk-oai-provider-SECRETb81c4e";
const QByteArray kAnthropicMarker = "SECRET7f3a9c";
const QByteArray kOpenAiMarker = "SECRETb81c4e";
// A virtual key of the gateway: maps to a user, must never reach a provider.
const QByteArray kGatewayKey = "tg-virtual-key-alice-5d2e";
const QByteArray kClientKey = "sk-client-own-key-0042";

const HttpHeaders kAnthropicHeaders = ProviderHeaders::anthropic();

QByteArray anthropicBody(bool stream)
{
    return R"({"model":"claude-3-haiku-20240307","max_tokens":64,"stream":)" +
           QByteArray(stream ? "true" : "false") +
           R"(,"messages":[{"role":"user","content":"hi"}]})";
}

QByteArray openAiBody(bool stream)
{
    return R"({"model":"gpt-4o-mini","stream":)" + QByteArray(stream ? "true" : "false") +
           R"(,"messages":[{"role":"user","content":"hi"}]})";
}

HttpTestRequest anthropicPost(bool stream, const QByteArray &scenario = {},
                              const HttpHeaders &extra = {})
{
    return HttpTestRequest::post("/v1/messages", anthropicBody(stream),
                                 kAnthropicHeaders + extra + ProviderHeaders::scenario(scenario));
}

HttpTestRequest openAiPost(bool stream, const QByteArray &scenario = {},
                           const HttpHeaders &extra = {})
{
    return HttpTestRequest::post("/v1/chat/completions", openAiBody(stream),
                                 ProviderHeaders::openAi() + extra +
                                     ProviderHeaders::scenario(scenario));
}

/// Everything a client could see of a response: header fields and body.
QByteArray visible(const HttpTestResponse &response)
{
    QByteArray out;
    for (const auto &field : response.headers)
        out += field.first + ": " + field.second + '\n';
    return out + response.body;
}

/// Failure text when `body` is not an Anthropic error of `type`, else empty.
QString anthropicErrorProblem(const QByteArray &body, const QString &type = {})
{
    const QJsonObject root = QJsonDocument::fromJson(body).object();
    const QJsonObject error = root.value(u"error").toObject();
    if (root.value(u"type").toString() != QLatin1String("error"))
        return QStringLiteral("not Anthropic-shaped (no \"type\":\"error\"): ") +
               QString::fromUtf8(body.left(400));
    if (error.value(u"message").toString().isEmpty())
        return QStringLiteral("no error.message: ") + QString::fromUtf8(body.left(400));
    if (!type.isEmpty() && error.value(u"type").toString() != type)
        return QStringLiteral("error.type is not %1: %2").arg(type, QString::fromUtf8(body));
    if (error.value(u"type").toString().isEmpty())
        return QStringLiteral("no error.type: ") + QString::fromUtf8(body.left(400));
    return {};
}

/// Failure text when `body` is not an OpenAI error object, else empty.
QString openAiErrorProblem(const QByteArray &body)
{
    const QJsonObject root = QJsonDocument::fromJson(body).object();
    const QJsonObject error = root.value(u"error").toObject();
    if (root.contains(u"type"))
        return QStringLiteral("Anthropic-shaped, not OpenAI: ") + QString::fromUtf8(body.left(400));
    if (error.value(u"message").toString().isEmpty() || !error.value(u"type").isString())
        return QStringLiteral("not an OpenAI error object: ") + QString::fromUtf8(body.left(400));
    if (!error.contains(u"param") || !error.contains(u"code"))
        return QStringLiteral("OpenAI error lacks param/code: ") + QString::fromUtf8(body);
    return {};
}

#define VERIFY_ANTHROPIC_ERROR(body, type) VERIFY_NO_PROBLEM(anthropicErrorProblem(body, type))
#define VERIFY_OPENAI_ERROR(body) VERIFY_NO_PROBLEM(openAiErrorProblem(body))

/// A port on which nothing listens (bound then released; nothing else grabs it this fast).
quint16 closedPort()
{
    QTcpServer server;
    server.listen(QHostAddress::LocalHost, 0);
    const quint16 port = server.serverPort();
    server.close();
    return port;
}

/// Policy sections that turn retries, circuit breakers and the response cache off: every
/// request reaches the upstream once and every failure reaches the client.
const QByteArray kRelayOnly =
    R"("retries":{"max_attempts":1},)"
    R"("breakers":{"consecutive_failures":1000000,"min_requests":1000000},)"
    R"("cache":{"enabled":false})";

/// A tollgated run that relays every failure (kRelayOnly) unless the test gives a policy.
TollgatedProcess::Options relayOnly()
{
    TollgatedProcess::Options options;
    options.policy = "{" + kRelayOnly + "}";
    return options;
}

QString sqliteProgram()
{
    if (QFile::exists(QStringLiteral("/usr/bin/sqlite3")))
        return QStringLiteral("/usr/bin/sqlite3");
    return QStandardPaths::findExecutable(QStringLiteral("sqlite3"));
}

/// Runs `sql` over the request log with the sqlite3 CLI; rows as JSON objects.
QJsonArray queryLog(const QString &path, const QString &sql, QString *error)
{
    QProcess sqlite;
    sqlite.start(sqliteProgram(), {QStringLiteral("-json"), path, sql});
    if (!sqlite.waitForFinished(10000) || sqlite.exitCode() != 0) {
        *error = QString::fromUtf8(sqlite.readAllStandardError());
        sqlite.kill();
        sqlite.waitForFinished(1000);
        return {};
    }
    const QByteArray out = sqlite.readAllStandardOutput().trimmed();
    return out.isEmpty() ? QJsonArray() : QJsonDocument::fromJson(out).array();
}

/// What a raw client saw on a connection it drove byte by byte.
struct RawResponse {
    QByteArray bytes;
    bool closed = false;
    qint64 firstByteMs = -1;
    qint64 closedMs = -1;

    int status() const { return bytes.startsWith("HTTP/1.1 ") ? bytes.mid(9, 3).toInt() : 0; }
    QByteArray body() const
    {
        const qsizetype end = bytes.indexOf("\r\n\r\n");
        return end < 0 ? QByteArray() : bytes.mid(end + 4);
    }
    QByteArray head() const { return bytes.left(qMax<qsizetype>(0, bytes.indexOf("\r\n\r\n"))); }
};

/// Reads from `socket` until the server closes it or `timeoutMs` pass. The gateway runs in
/// another process, so blocking waits are fine here.
void readUntilClosed(QTcpSocket &socket, RawResponse &result, const QElapsedTimer &clock,
                     int timeoutMs)
{
    while (clock.elapsed() < timeoutMs) {
        if (socket.bytesAvailable() > 0 ||
            socket.waitForReadyRead(int(qMax<qint64>(1, timeoutMs - clock.elapsed())))) {
            if (result.bytes.isEmpty())
                result.firstByteMs = clock.elapsed();
            result.bytes += socket.readAll();
            continue;
        }
        if (socket.state() != QAbstractSocket::ConnectedState) {
            result.bytes += socket.readAll();
            result.closed = true;
            result.closedMs = clock.elapsed();
            return;
        }
    }
}

/// Writes `bytes` on a fresh connection and collects the answer until the server closes.
RawResponse rawExchange(quint16 port, const QByteArray &bytes, int timeoutMs = 3000)
{
    RawResponse result;
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(3000))
        return result;
    QElapsedTimer clock;
    clock.start();
    socket.write(bytes);
    socket.waitForBytesWritten(1000);
    readUntilClosed(socket, result, clock, timeoutMs);
    return result;
}

QByteArray journalHeaders(const JournalEntry &entry)
{
    QByteArray out;
    for (const auto &field : entry.headers)
        out += field.first + ": " + field.second + '\n';
    return out;
}

} // namespace

class TestGatewayFaults : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanupTestCase();

    // upstream failures
    void anthropicUpstreamErrorsKeepStatusAndShape_data();
    void anthropicUpstreamErrorsKeepStatusAndShape();
    void openAiUpstreamErrorsKeepStatusAndShape_data();
    void openAiUpstreamErrorsKeepStatusAndShape();
    void nonJsonUpstreamErrorIsWrappedInCallerShape_data();
    void nonJsonUpstreamErrorIsWrappedInCallerShape();
    void unreachableUpstreamIsFast502();
    void slowUpstreamIs504AndSilentStreamEndsWithError();
    void midStreamResetEndsWithErrorEventAndIsLogged();

    // client hang-up
    void clientHangUpMidStreamCancelsUpstream();
    void clientHangUpWhileWaitingCancelsUpstream();

    // credentials
    void clientKeysPassThroughWithoutProviderKey();
    void providerKeyReplacesClientKeyAndNeverLeaks();
    void gatewayKeysAuthenticateAndAreNeverForwarded();

    // refusing to start
    void nonLoopbackWithoutGatewayKeysRefusesToStart_data();
    void nonLoopbackWithoutGatewayKeysRefusesToStart();
    void badFlagsFail_data();
    void badFlagsFail();
    void invalidPolicyFailsWithJsonPath_data();
    void invalidPolicyFailsWithJsonPath();

    // client-side limits and HTTP handling
    void oversizedBodyIs413InCallerShape_data();
    void oversizedBodyIs413InCallerShape();
    void oversizedHeadersAre431_data();
    void oversizedHeadersAre431();
    void stalledHeadersTimeOutWith408();
    void trickledHeadersTimeOutWith408();
    void malformedRequestsAre400();
    void unknownPathIs404InCallerShape();
    void wrongMethodIs405InCallerShape();
    void expectContinueIsAnswered();
    void chunkedRequestBodyIsAccepted();
    void pipelinedRequestsAnsweredInOrder();

    // shutdown
    void sigtermDrainsInFlightStreamThenExitsZero();

private:
    TollgatedProcess::Options mockOptions() const;
    quint16 port() const { return m_shared.port(); }
    JournalEntry onlyJournalEntry() const;

    MockUpstream m_mock;
    TollgatedProcess m_shared;
};

TollgatedProcess::Options TestGatewayFaults::mockOptions() const
{
    TollgatedProcess::Options options = relayOnly();
    const QString base = m_mock.baseUrl().toString();
    options.anthropicBaseUrl = base;
    options.openAiBaseUrl = base + QStringLiteral("/v1");
    return options;
}

JournalEntry TestGatewayFaults::onlyJournalEntry() const
{
    const QList<JournalEntry> journal = m_mock.journal();
    return journal.size() == 1 ? journal.first() : JournalEntry();
}

void TestGatewayFaults::initTestCase()
{
    // Own threads, so the mock keeps answering while this thread blocks on a process.
    m_mock.setThreads(2);
    QVERIFY2(m_mock.listen(QHostAddress::LocalHost), qPrintable(m_mock.errorString()));

    // The shared gateway: no provider keys, small client-side limits, and every failure handed
    // straight to the client (no retries, breakers that never open) because this suite is about
    // how failures are relayed; tst_policyengine covers retries and breakers.
    TollgatedProcess::Options options = mockOptions();
    options.policy = R"({"version":1,"gateway":{"max_body_bytes":4096,"max_header_bytes":4096,)"
                     R"("request_timeout_ms":400},)" +
                     kRelayOnly + "}";
    QVERIFY2(m_shared.start(options), qPrintable(m_shared.failureReport()));
}

void TestGatewayFaults::init()
{
    m_mock.clearJournal();
}

void TestGatewayFaults::cleanupTestCase()
{
    if (m_shared.isRunning())
        QCOMPARE(m_shared.stop(), 0);
    m_mock.close();
}

// ---------------------------------------------------------------------------------------------
// Upstream failures

void TestGatewayFaults::anthropicUpstreamErrorsKeepStatusAndShape_data()
{
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("type");
    QTest::addColumn<bool>("stream");
    QTest::newRow("400") << 400 << "invalid_request_error" << false;
    QTest::newRow("401") << 401 << "authentication_error" << false;
    QTest::newRow("403") << 403 << "permission_error" << false;
    QTest::newRow("404") << 404 << "not_found_error" << false;
    QTest::newRow("413") << 413 << "request_too_large" << false;
    QTest::newRow("429") << 429 << "rate_limit_error" << false;
    QTest::newRow("429 stream") << 429 << "rate_limit_error" << true;
    QTest::newRow("500") << 500 << "api_error" << false;
    QTest::newRow("529") << 529 << "overloaded_error" << false;
    QTest::newRow("529 stream") << 529 << "overloaded_error" << true;
}

void TestGatewayFaults::anthropicUpstreamErrorsKeepStatusAndShape()
{
    QFETCH(int, status);
    QFETCH(QString, type);
    QFETCH(bool, stream);
    const HttpTestResponse response =
        HttpTestClient::send(port(), anthropicPost(stream, "error=" + QByteArray::number(status)));
    QVERIFY2(response.complete, qPrintable(response.describe()));
    QCOMPARE(response.status, status);
    QVERIFY(response.header("content-type").startsWith("application/json"));
    VERIFY_ANTHROPIC_ERROR(response.body, type);
    // The provider's message is relayed, not replaced by a generic one.
    QVERIFY2(response.json()["error"]["message"].toString().startsWith(QLatin1String("mock:")),
             qPrintable(response.describe()));
    if (status == 429)
        QCOMPARE(response.header("retry-after"), QByteArray("7"));
    else
        QVERIFY(response.header("retry-after").isNull());
    QVERIFY(!response.header("x-tollgate-request-id").isEmpty());
    QCOMPARE(m_mock.journal().size(), 1); // exactly one upstream attempt, no silent retry
}

void TestGatewayFaults::openAiUpstreamErrorsKeepStatusAndShape_data()
{
    QTest::addColumn<int>("status");
    QTest::addColumn<bool>("stream");
    QTest::newRow("400") << 400 << false;
    QTest::newRow("401") << 401 << false;
    QTest::newRow("404") << 404 << false;
    QTest::newRow("429") << 429 << false;
    QTest::newRow("429 stream") << 429 << true;
    QTest::newRow("500") << 500 << false;
    QTest::newRow("503 stream") << 503 << true;
}

void TestGatewayFaults::openAiUpstreamErrorsKeepStatusAndShape()
{
    QFETCH(int, status);
    QFETCH(bool, stream);
    const HttpTestResponse response =
        HttpTestClient::send(port(), openAiPost(stream, "error=" + QByteArray::number(status)));
    QVERIFY2(response.complete, qPrintable(response.describe()));
    QCOMPARE(response.status, status);
    QVERIFY(response.header("content-type").startsWith("application/json"));
    VERIFY_OPENAI_ERROR(response.body);
    QVERIFY(response.json()["error"]["message"].toString().startsWith(QLatin1String("mock:")));
    if (status == 429) {
        QCOMPARE(response.header("retry-after"), QByteArray("7"));
        QCOMPARE(response.json()["error"]["code"].toString(),
                 QStringLiteral("rate_limit_exceeded"));
    }
}

void TestGatewayFaults::nonJsonUpstreamErrorIsWrappedInCallerShape_data()
{
    QTest::addColumn<bool>("openAi");
    QTest::addColumn<QByteArray>("scenario");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("excerpt");
    QTest::newRow("anthropic html 502")
        << false << QByteArray("error=502,html") << 502 << "Bad gateway";
    QTest::newRow("openai html 502")
        << true << QByteArray("error=502,html") << 502 << "Bad gateway";
    QTest::newRow("anthropic text 503")
        << false << QByteArray("error=503,status_body=upstream%20down") << 503 << "upstream down";
}

void TestGatewayFaults::nonJsonUpstreamErrorIsWrappedInCallerShape()
{
    QFETCH(bool, openAi);
    QFETCH(QByteArray, scenario);
    QFETCH(int, status);
    QFETCH(QString, excerpt);
    const HttpTestResponse response = HttpTestClient::send(
        port(), openAi ? openAiPost(false, scenario) : anthropicPost(false, scenario));
    QVERIFY2(response.complete, qPrintable(response.describe()));
    QCOMPARE(response.status, status);
    if (openAi)
        VERIFY_OPENAI_ERROR(response.body);
    else
        VERIFY_ANTHROPIC_ERROR(response.body, QStringLiteral("api_error"));
    const QString message = response.json()["error"]["message"].toString();
    QVERIFY2(message.contains(QString::number(status)) && message.contains(excerpt),
             qPrintable(message));
    // The body is JSON now; announcing the upstream's text/html would break clients' parsing.
    QVERIFY2(response.header("content-type").startsWith("application/json"),
             qPrintable(QStringLiteral("content-type of the wrapped JSON error is \"%1\"")
                            .arg(QString::fromLatin1(response.header("content-type")))));
}

void TestGatewayFaults::unreachableUpstreamIsFast502()
{
    const QString closed = QStringLiteral("http://127.0.0.1:%1").arg(closedPort());
    TollgatedProcess gateway;
    TollgatedProcess::Options options = relayOnly();
    options.anthropicBaseUrl = closed;
    options.openAiBaseUrl = closed + QStringLiteral("/v1");
    QVERIFY2(gateway.start(options), qPrintable(gateway.failureReport()));

    QElapsedTimer clock;
    clock.start();
    const HttpTestResponse anthropic = HttpTestClient::send(gateway.port(), anthropicPost(false));
    const qint64 anthropicMs = clock.restart();
    QCOMPARE(anthropic.status, 502);
    VERIFY_ANTHROPIC_ERROR(anthropic.body, QStringLiteral("api_error"));
    QVERIFY2(anthropicMs < 2000, qPrintable(QString::number(anthropicMs)));

    const HttpTestResponse openAi = HttpTestClient::send(gateway.port(), openAiPost(true));
    const qint64 openAiMs = clock.elapsed();
    QCOMPARE(openAi.status, 502);
    QVERIFY(openAi.header("content-type").startsWith("application/json"));
    VERIFY_OPENAI_ERROR(openAi.body);
    QVERIFY2(openAiMs < 2000, qPrintable(QString::number(openAiMs)));

    // The gateway itself stays healthy.
    QCOMPARE(HttpTestClient::send(gateway.port(), HttpTestRequest::get("/health")).status, 200);
    QCOMPARE(gateway.stop(), 0);
}

void TestGatewayFaults::slowUpstreamIs504AndSilentStreamEndsWithError()
{
    TollgatedProcess gateway;
    TollgatedProcess::Options options = mockOptions();
    options.policy = R"({"version":1,"providers":{)"
                     R"("anthropic":{"first_byte_timeout_ms":300,"idle_timeout_ms":300},)"
                     R"("openai":{"first_byte_timeout_ms":300}},)" +
                     kRelayOnly + "}";
    QVERIFY2(gateway.start(options), qPrintable(gateway.failureReport()));

    QElapsedTimer clock;
    clock.start();
    const HttpTestResponse anthropic =
        HttpTestClient::send(gateway.port(), anthropicPost(false, "slow=1500"));
    const qint64 anthropicMs = clock.restart();
    QCOMPARE(anthropic.status, 504);
    VERIFY_ANTHROPIC_ERROR(anthropic.body, QStringLiteral("timeout_error"));
    QVERIFY2(anthropicMs >= 250 && anthropicMs < 1400, qPrintable(QString::number(anthropicMs)));
    // The gateway gave up on the upstream call too: it closed that connection.
    QTRY_VERIFY_WITH_TIMEOUT(!m_mock.journal().isEmpty() && m_mock.journal().last().clientClosed,
                             2000);
    QVERIFY(!m_mock.journal().last().completed);

    clock.restart();
    const HttpTestResponse openAi =
        HttpTestClient::send(gateway.port(), openAiPost(true, "slow=1500"));
    const qint64 openAiMs = clock.elapsed();
    QCOMPARE(openAi.status, 504);
    VERIFY_OPENAI_ERROR(openAi.body);
    QVERIFY2(openAiMs >= 250 && openAiMs < 1400, qPrintable(QString::number(openAiMs)));

    // A stream that started, then went silent longer than idle_timeout_ms: relayed events,
    // then an error event, never a clean end.
    const HttpTestResponse silent =
        HttpTestClient::send(gateway.port(), anthropicPost(true, "gap=1500"));
    QCOMPARE(silent.status, 200);
    QVERIFY2(!silent.events.isEmpty(), qPrintable(silent.describe()));
    QCOMPARE(silent.events.first().event, QByteArray("message_start"));
    QCOMPARE(silent.events.last().event, QByteArray("error"));
    VERIFY_ANTHROPIC_ERROR(silent.events.last().data, QString());
    QVERIFY(!silent.eventNames().contains(QStringLiteral("message_stop")));

    QCOMPARE(gateway.stop(), 0);
}

void TestGatewayFaults::midStreamResetEndsWithErrorEventAndIsLogged()
{
    TollgatedProcess gateway;
    QVERIFY2(gateway.start(mockOptions()), qPrintable(gateway.failureReport()));

    const HttpTestResponse anthropic =
        HttpTestClient::send(gateway.port(), anthropicPost(true, "reset_after=3"));
    QCOMPARE(anthropic.status, 200);
    QCOMPARE(anthropic.eventNames(),
             QStringList({"message_start", "content_block_start", "ping", "error"}));
    const HttpTestEvent &error = anthropic.events.last();
    VERIFY_ANTHROPIC_ERROR(error.data, QString());
    QCOMPARE(error.json()["type"].toString(), QStringLiteral("error"));
    // Either a clean chunked end after the error event or a cut connection is acceptable;
    // what matters is that the stream never looks whole.
    QVERIFY(!anthropic.eventNames().contains(QStringLiteral("message_stop")));

    const HttpTestResponse openAi =
        HttpTestClient::send(gateway.port(), openAiPost(true, "reset_after=3"));
    QCOMPARE(openAi.status, 200);
    QCOMPARE(openAi.events.size(), 4);
    for (int i = 0; i < 3; ++i)
        QCOMPARE(openAi.events[i].json()["object"].toString(),
                 QStringLiteral("chat.completion.chunk"));
    VERIFY_OPENAI_ERROR(openAi.events.last().data);
    for (const HttpTestEvent &event : openAi.events)
        QVERIFY(event.data != "[DONE]");

    // A buffered answer cut off half-way (Content-Length promised more) is never relayed.
    const HttpTestResponse truncated =
        HttpTestClient::send(gateway.port(), anthropicPost(false, "reset_after=0"));
    QCOMPARE(truncated.status, 502);
    VERIFY_ANTHROPIC_ERROR(truncated.body, QStringLiteral("api_error"));

    QCOMPARE(gateway.stop(), 0);
    if (sqliteProgram().isEmpty())
        QSKIP("sqlite3 CLI not installed: cannot read the request log");
    QString sqlError;
    const QJsonArray rows =
        queryLog(gateway.requestLogPath(),
                 QStringLiteral("SELECT flavor, endpoint, stream, error FROM requests "
                                "ORDER BY started_at_ms"),
                 &sqlError);
    QVERIFY2(sqlError.isEmpty(), qPrintable(sqlError));
    QCOMPARE(rows.size(), 3);
    QCOMPARE(rows[2]["stream"].toInt(), 0);
    for (const QJsonValue &row : rows) {
        QVERIFY2(!row["error"].toString().isEmpty(),
                 qPrintable(QString::fromUtf8(QJsonDocument(row.toObject()).toJson())));
    }
    QCOMPARE(rows[0]["endpoint"].toString(), QStringLiteral("/v1/messages"));
    QCOMPARE(rows[0]["stream"].toInt(), 1);
    QCOMPARE(rows[1]["endpoint"].toString(), QStringLiteral("/v1/chat/completions"));
    QCOMPARE(rows[1]["stream"].toInt(), 1);
}

// ---------------------------------------------------------------------------------------------
// Client hang-up

void TestGatewayFaults::clientHangUpMidStreamCancelsUpstream()
{
    // 26 chunks 200 ms apart: a stream that runs for 5 s if nobody stops it.
    HttpTestRequest request = anthropicPost(true, "events=20,gap=200");
    request.hangUpAfterEvents = 1;
    QElapsedTimer clock;
    clock.start();
    const HttpTestResponse response = HttpTestClient::send(port(), request);
    QVERIFY2(response.hungUp, qPrintable(response.describe()));
    QCOMPARE(response.status, 200);
    QCOMPARE(response.events.first().event, QByteArray("message_start"));

    QTRY_VERIFY_WITH_TIMEOUT(onlyJournalEntry().clientClosed, 1000);
    const qint64 closedAfterMs = clock.elapsed();
    const JournalEntry entry = onlyJournalEntry();
    QVERIFY(!entry.completed);
    // One chunk per 200 ms: by the time the upstream saw the close, at most this many of the
    // 26 had been produced.
    const qint64 produced = closedAfterMs / 200 + 1;
    QVERIFY2(produced <= 8, qPrintable(QStringLiteral("upstream closed only after %1 ms (~%2 "
                                                      "of 26 events produced)")
                                           .arg(closedAfterMs)
                                           .arg(produced)));
}

void TestGatewayFaults::clientHangUpWhileWaitingCancelsUpstream()
{
    HttpTestRequest request = anthropicPost(false, "slow=2000");
    request.hangUpAfterMs = 100;
    const HttpTestResponse response = HttpTestClient::send(port(), request);
    QVERIFY(response.hungUp);
    QCOMPARE(response.status, 0);
    // Without cancellation the upstream would answer in full at 2 s and never see a close.
    QTRY_VERIFY_WITH_TIMEOUT(onlyJournalEntry().clientClosed, 1000);
    QVERIFY(!onlyJournalEntry().completed);
}

// ---------------------------------------------------------------------------------------------
// Credentials

void TestGatewayFaults::clientKeysPassThroughWithoutProviderKey()
{
    const HttpHeaders hints{{"anthropic-beta", "prompt-caching-2024-07-31"},
                            {"x-tollgate-user", "bob"},
                            {"x-tollgate-priority", "high"}};

    QCOMPARE(HttpTestClient::send(
                 port(), anthropicPost(false, {}, hints + HttpHeaders{{"x-api-key", kClientKey}}))
                 .status,
             200);
    JournalEntry entry = onlyJournalEntry();
    QCOMPARE(entry.header("x-api-key"), kClientKey);
    QVERIFY(entry.header("authorization").isNull());
    QCOMPARE(entry.header("anthropic-version"), QByteArray("2023-06-01"));
    QCOMPARE(entry.header("anthropic-beta"), QByteArray("prompt-caching-2024-07-31"));
    QVERIFY2(!journalHeaders(entry).contains("x-tollgate-"), journalHeaders(entry).constData());

    m_mock.clearJournal();
    QCOMPARE(HttpTestClient::send(
                 port(), anthropicPost(false, {}, {{"Authorization", "Bearer " + kClientKey}}))
                 .status,
             200);
    entry = onlyJournalEntry();
    QCOMPARE(entry.header("authorization"), "Bearer " + kClientKey);
    QVERIFY(entry.header("x-api-key").isNull());

    m_mock.clearJournal();
    QCOMPARE(HttpTestClient::send(port(), openAiPost(false, {},
                                                     {{"authorization", "Bearer " + kClientKey},
                                                      {"x-tollgate-user", "bob"}}))
                 .status,
             200);
    entry = onlyJournalEntry();
    QCOMPARE(entry.header("authorization"), "Bearer " + kClientKey);
    QVERIFY(!journalHeaders(entry).contains("x-tollgate-"));
}

void TestGatewayFaults::providerKeyReplacesClientKeyAndNeverLeaks()
{
    TollgatedProcess gateway;
    TollgatedProcess::Options options = mockOptions();
    options.anthropicKey = kAnthropicSecret;
    options.openAiKey = kOpenAiSecret;
    QVERIFY2(gateway.start(options), qPrintable(gateway.failureReport()));
    QByteArray seen; // everything any client received

    // (b) Anthropic: the client's x-api-key is replaced.
    HttpTestResponse response =
        HttpTestClient::send(gateway.port(), anthropicPost(false, {}, {{"x-api-key", kClientKey}}));
    seen += visible(response);
    QCOMPARE(response.status, 200);
    JournalEntry entry = onlyJournalEntry();
    QCOMPARE(entry.header("x-api-key"), kAnthropicSecret);
    QVERIFY(entry.header("authorization").isNull());
    QVERIFY2(!journalHeaders(entry).contains(kClientKey), journalHeaders(entry).constData());

    // A Bearer credential on the Anthropic API is replaced too, not sent alongside.
    m_mock.clearJournal();
    response = HttpTestClient::send(
        gateway.port(), anthropicPost(true, {}, {{"Authorization", "Bearer " + kClientKey}}));
    seen += visible(response);
    QCOMPARE(response.status, 200);
    entry = onlyJournalEntry();
    QCOMPARE(entry.header("x-api-key"), kAnthropicSecret);
    QVERIFY(entry.header("authorization").isNull());
    QVERIFY(!journalHeaders(entry).contains(kClientKey));

    // OpenAI: Authorization is replaced, exactly once.
    m_mock.clearJournal();
    response = HttpTestClient::send(
        gateway.port(), openAiPost(false, {}, {{"Authorization", "Bearer " + kClientKey}}));
    seen += visible(response);
    QCOMPARE(response.status, 200);
    entry = onlyJournalEntry();
    QCOMPARE(entry.header("authorization"), "Bearer " + kOpenAiSecret);
    QVERIFY(entry.header("x-api-key").isNull());
    QCOMPARE(journalHeaders(entry).count("authorization:"), 1);
    QVERIFY(!journalHeaders(entry).contains(kClientKey));

    // (c) An upstream that echoes the key in its error (plain text, and provider JSON) must not
    // carry it to the client or the log.
    const QByteArray echoText =
        "error=401,status_body=" + ("invalid x-api-key " + kAnthropicSecret).toPercentEncoding();
    response = HttpTestClient::send(gateway.port(), anthropicPost(false, echoText));
    seen += visible(response);
    QCOMPARE(response.status, 401);
    VERIFY_ANTHROPIC_ERROR(response.body, QStringLiteral("authentication_error"));
    // The echo really came through, with the key cut out.
    QVERIFY2(response.body.contains("invalid x-api-key [redacted]"), response.body.constData());

    const QByteArray echoJson =
        "error=401,status_body=" + (R"({"type":"error","error":{"type":"authentication_error",)"
                                    R"("message":"invalid x-api-key: )" +
                                    kAnthropicSecret + R"("}})")
                                       .toPercentEncoding();
    response = HttpTestClient::send(gateway.port(), anthropicPost(true, echoJson));
    seen += visible(response);
    QCOMPARE(response.status, 401);
    VERIFY_ANTHROPIC_ERROR(response.body, QStringLiteral("authentication_error"));
    QVERIFY2(response.body.contains("[redacted]"), response.body.constData());

    const QByteArray echoOpenAi =
        "error=401,status_body=" +
        (R"({"error":{"message":"Incorrect API key provided: )" + kOpenAiSecret +
         R"(","type":"invalid_request_error","param":null,"code":"invalid_api_key"}})")
            .toPercentEncoding();
    response = HttpTestClient::send(gateway.port(), openAiPost(false, echoOpenAi));
    seen += visible(response);
    QCOMPARE(response.status, 401);
    VERIFY_OPENAI_ERROR(response.body);
    QVERIFY2(response.body.contains("Incorrect API key provided: [redacted]"),
             response.body.constData());

    // A broken stream's error event, and the admin endpoints.
    response = HttpTestClient::send(gateway.port(), anthropicPost(true, "reset_after=2"));
    seen += visible(response);
    for (const QByteArray &path :
         {QByteArray("/metrics"), QByteArray("/health"), QByteArray("/ready")}) {
        response = HttpTestClient::send(gateway.port(), HttpTestRequest::get(path));
        QCOMPARE(response.status, 200);
        seen += visible(response);
    }
    QVERIFY(seen.contains("ai_requests_total")); // /metrics really was read

    QCOMPARE(gateway.stop(), 0);
    const QByteArray output = gateway.output();
    const QByteArray stored = gateway.dataBytes();
    QVERIFY(stored.size() > 0);
    for (const QByteArray &marker : {kAnthropicMarker, kOpenAiMarker}) {
        QVERIFY2(!seen.contains(marker),
                 qPrintable("a response carried the provider key: " +
                            seen.mid(qMax<qsizetype>(0, seen.indexOf(marker) - 200), 300)));
        QVERIFY2(!output.contains(marker), qPrintable("daemon output has the key:\n" + output));
        QVERIFY2(!stored.contains(marker), "the data folder holds the provider key");
    }
    QVERIFY(!stored.contains(kClientKey));
}

void TestGatewayFaults::gatewayKeysAuthenticateAndAreNeverForwarded()
{
    const QByteArray hash =
        QCryptographicHash::hash(kGatewayKey, QCryptographicHash::Sha256).toHex();
    TollgatedProcess gateway;
    TollgatedProcess::Options options = mockOptions();
    // With gateway keys a non-loopback listener is allowed.
    options.listen = QStringLiteral("0.0.0.0:0");
    options.anthropicKey = kAnthropicSecret;
    options.openAiKey = kOpenAiSecret;
    options.policy = R"({"version":1,"gateway":{"keys":[{"name":"ci","sha256":")" + hash +
                     R"(","user":"alice","plan":"pro"}]},)" + kRelayOnly + "}";
    QVERIFY2(gateway.start(options), qPrintable(gateway.failureReport()));

    // Missing and wrong keys: 401 in the caller's shape, and nothing reaches the provider.
    HttpTestResponse response = HttpTestClient::send(gateway.port(), anthropicPost(false));
    QCOMPARE(response.status, 401);
    VERIFY_ANTHROPIC_ERROR(response.body, QStringLiteral("authentication_error"));
    response = HttpTestClient::send(gateway.port(),
                                    anthropicPost(false, {}, {{"x-api-key", "tg-wrong-key"}}));
    QCOMPARE(response.status, 401);
    VERIFY_ANTHROPIC_ERROR(response.body, QStringLiteral("authentication_error"));
    // A provider key is not a gateway key either.
    response = HttpTestClient::send(gateway.port(),
                                    anthropicPost(false, {}, {{"x-api-key", kAnthropicSecret}}));
    QCOMPARE(response.status, 401);
    response = HttpTestClient::send(gateway.port(), openAiPost(false));
    QCOMPARE(response.status, 401);
    VERIFY_OPENAI_ERROR(response.body);
    response = HttpTestClient::send(
        gateway.port(), openAiPost(false, {}, {{"authorization", "Bearer tg-wrong-key"}}));
    QCOMPARE(response.status, 401);
    VERIFY_OPENAI_ERROR(response.body);
    QVERIFY(m_mock.journal().isEmpty());

    // The right key: served with the provider key; the gateway key stays here.
    response =
        HttpTestClient::send(gateway.port(), anthropicPost(false, {},
                                                           {{"x-api-key", kGatewayKey},
                                                            {"anthropic-beta", "tools-2024-04-04"},
                                                            {"x-tollgate-user", "mallory"}}));
    QVERIFY2(response.status == 200, qPrintable(response.describe()));
    JournalEntry entry = onlyJournalEntry();
    QCOMPARE(entry.header("x-api-key"), kAnthropicSecret);
    QVERIFY(entry.header("authorization").isNull());
    QCOMPARE(entry.header("anthropic-version"), QByteArray("2023-06-01"));
    QCOMPARE(entry.header("anthropic-beta"), QByteArray("tools-2024-04-04"));
    QVERIFY2(!journalHeaders(entry).contains(kGatewayKey), journalHeaders(entry).constData());
    QVERIFY(!journalHeaders(entry).contains("x-tollgate-"));
    QVERIFY(!entry.body.contains(kGatewayKey));

    m_mock.clearJournal();
    response = HttpTestClient::send(
        gateway.port(), anthropicPost(true, {}, {{"authorization", "Bearer " + kGatewayKey}}));
    QCOMPARE(response.status, 200);
    QCOMPARE(response.events.last().event, QByteArray("message_stop"));
    entry = onlyJournalEntry();
    QCOMPARE(entry.header("x-api-key"), kAnthropicSecret);
    QVERIFY(entry.header("authorization").isNull());

    m_mock.clearJournal();
    response = HttpTestClient::send(
        gateway.port(), openAiPost(false, {}, {{"authorization", "Bearer " + kGatewayKey}}));
    QCOMPARE(response.status, 200);
    entry = onlyJournalEntry();
    QCOMPARE(entry.header("authorization"), "Bearer " + kOpenAiSecret);
    QVERIFY(!journalHeaders(entry).contains(kGatewayKey));

    QCOMPARE(gateway.stop(), 0);
    QVERIFY(!gateway.output().contains(kGatewayKey));
    QVERIFY(!gateway.dataBytes().contains(kGatewayKey));
    if (sqliteProgram().isEmpty())
        QSKIP("sqlite3 CLI not installed: cannot read the request log");
    QString sqlError;
    const QJsonArray rows =
        queryLog(gateway.requestLogPath(),
                 QStringLiteral(
                     "SELECT user, status FROM requests WHERE status = 200 ORDER BY started_at_ms"),
                 &sqlError);
    QVERIFY2(sqlError.isEmpty(), qPrintable(sqlError));
    QCOMPARE(rows.size(), 3);
    for (const QJsonValue &row : rows) // the key's user, not the x-tollgate-user claim
        QCOMPARE(row["user"].toString(), QStringLiteral("alice"));
}

// ---------------------------------------------------------------------------------------------
// Refusing to start

void TestGatewayFaults::nonLoopbackWithoutGatewayKeysRefusesToStart_data()
{
    QTest::addColumn<QString>("listen");
    QTest::addColumn<QByteArray>("anthropicKey");
    QTest::newRow("0.0.0.0") << "0.0.0.0:0" << QByteArray();
    QTest::newRow("0.0.0.0 with provider key") << "0.0.0.0:0" << kAnthropicSecret;
    QTest::newRow("[::]") << "[::]:0" << QByteArray();
}

void TestGatewayFaults::nonLoopbackWithoutGatewayKeysRefusesToStart()
{
    QFETCH(QString, listen);
    QFETCH(QByteArray, anthropicKey);
    QTemporaryDir dir;
    const TollgatedProcess::Exit result = TollgatedProcess::runToExit(
        {QStringLiteral("--listen"), listen, QStringLiteral("--data-dir"), dir.path()},
        TollgatedProcess::environment(anthropicKey, {}));
    QVERIFY2(result.exited, "tollgated kept running on a non-loopback address without keys");
    QVERIFY(result.code != 0);
    QVERIFY2(!result.out.contains("listening on"), result.out.constData());
    QVERIFY2(result.err.contains("refusing to listen") && result.err.contains("gateway keys"),
             result.err.constData());
    if (!anthropicKey.isEmpty())
        QVERIFY(!result.err.contains(kAnthropicMarker));
}

void TestGatewayFaults::badFlagsFail_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("mention");
    QTest::newRow("unknown flag") << QStringList{QStringLiteral("--bogus-flag")} << "bogus-flag";
    QTest::newRow("bad listen") << QStringList{QStringLiteral("--listen"),
                                               QStringLiteral("not-an-address")}
                                << "--listen";
    QTest::newRow("bad port") << QStringList{QStringLiteral("--listen"),
                                             QStringLiteral("127.0.0.1:99999")}
                              << "--listen";
    QTest::newRow("bad base url") << QStringList{QStringLiteral("--anthropic-base-url"),
                                                 QStringLiteral("ftp://example.com")}
                                  << "--anthropic-base-url";
    QTest::newRow("missing config")
        << QStringList{QStringLiteral("--config"), QStringLiteral("/nonexistent/policy.json")}
        << "/nonexistent/policy.json";
}

void TestGatewayFaults::badFlagsFail()
{
    QFETCH(QStringList, args);
    QFETCH(QString, mention);
    QTemporaryDir dir;
    const TollgatedProcess::Exit result = TollgatedProcess::runToExit(
        QStringList{QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"),
                    QStringLiteral("--data-dir"), dir.path()} +
            args,
        TollgatedProcess::environment({}, {}));
    QVERIFY2(result.exited, "tollgated started despite a bad command line");
    QVERIFY(result.code != 0);
    QVERIFY(!result.out.contains("listening on"));
    QVERIFY2(result.err.contains(mention.toUtf8()), result.err.constData());
}

void TestGatewayFaults::invalidPolicyFailsWithJsonPath_data()
{
    QTest::addColumn<QByteArray>("policy");
    QTest::addColumn<QString>("path");
    QTest::newRow("unknown top-level") << QByteArray(R"({"version":1,"gatway":{}})") << "gatway";
    QTest::newRow("unknown nested")
        << QByteArray(R"({"version":1,"gateway":{"max_body":1}})") << "gateway.max_body";
    QTest::newRow("wrong type") << QByteArray(R"({"version":1,"gateway":{"max_body_bytes":"big"}})")
                                << "gateway.max_body_bytes";
    QTest::newRow("below minimum")
        << QByteArray(R"({"version":1,"gateway":{"request_timeout_ms":0}})")
        << "gateway.request_timeout_ms";
    QTest::newRow("provider wrong type")
        << QByteArray(R"({"version":1,"providers":{"anthropic":{"first_byte_timeout_ms":"x"}}})")
        << "providers.anthropic.first_byte_timeout_ms";
    QTest::newRow("key bad hash")
        << QByteArray(R"({"version":1,"gateway":{"keys":[{"name":"a","sha256":"abc",)"
                      R"("user":"u","plan":"pro"}]}})")
        << "gateway.keys[0].sha256";
    QTest::newRow("key wrong type")
        << QByteArray(R"({"version":1,"gateway":{"keys":[{"name":"a","user":5}]}})")
        << "gateway.keys[0].user";
    QTest::newRow("version") << QByteArray(R"({"version":2})") << "version";
    QTest::newRow("not json") << QByteArray("{\"version\":1,") << "not valid JSON";
}

void TestGatewayFaults::invalidPolicyFailsWithJsonPath()
{
    QFETCH(QByteArray, policy);
    QFETCH(QString, path);
    QTemporaryDir dir;
    QFile file(dir.filePath(QStringLiteral("policy.json")));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(policy);
    file.close();
    const TollgatedProcess::Exit result = TollgatedProcess::runToExit(
        {QStringLiteral("--config"), file.fileName(), QStringLiteral("--listen"),
         QStringLiteral("127.0.0.1:0"), QStringLiteral("--data-dir"), dir.path()},
        TollgatedProcess::environment({}, {}));
    QVERIFY2(result.exited, "tollgated started with an invalid policy");
    QVERIFY(result.code != 0);
    QVERIFY(!result.out.contains("listening on"));
    // "<path>: <reason>", so that the path is not mistaken for a longer one.
    QVERIFY2(
        result.err.contains(
            (path + (path.contains(QLatin1Char(' ')) ? QString() : QStringLiteral(":"))).toUtf8()),
        result.err.constData());
    QVERIFY2(result.err.contains(file.fileName().toUtf8()), result.err.constData());
}

// ---------------------------------------------------------------------------------------------
// Client-side limits and HTTP handling

void TestGatewayFaults::oversizedBodyIs413InCallerShape_data()
{
    QTest::addColumn<bool>("openAi");
    QTest::addColumn<bool>("chunked");
    QTest::newRow("anthropic content-length") << false << false;
    QTest::newRow("anthropic chunked") << false << true;
    QTest::newRow("openai content-length") << true << false;
    QTest::newRow("openai chunked") << true << true;
}

void TestGatewayFaults::oversizedBodyIs413InCallerShape()
{
    QFETCH(bool, openAi);
    QFETCH(bool, chunked);
    HttpTestRequest request = openAi ? openAiPost(false) : anthropicPost(false);
    // Valid JSON, 6000 bytes: over the 4096-byte limit, small enough to arrive in one segment.
    const QByteArray padding(6000 - request.body.size(), 'x');
    request.body.insert(1, R"("pad":")" + padding.left(padding.size() - 9) + R"(",)");
    request.chunkedBody = chunked;
    const HttpTestResponse response = HttpTestClient::send(port(), request);
    QVERIFY2(response.complete, qPrintable(response.describe()));
    QCOMPARE(response.status, 413);
    if (openAi)
        VERIFY_OPENAI_ERROR(response.body);
    else
        VERIFY_ANTHROPIC_ERROR(response.body, QStringLiteral("request_too_large"));
    QVERIFY(m_mock.journal().isEmpty());
}

void TestGatewayFaults::oversizedHeadersAre431_data()
{
    QTest::addColumn<bool>("openAi");
    QTest::newRow("anthropic") << false;
    QTest::newRow("openai") << true;
}

void TestGatewayFaults::oversizedHeadersAre431()
{
    QFETCH(bool, openAi);
    const HttpHeaders padding{{"x-padding", QByteArray(6000, 'h')}};
    const HttpTestResponse response = HttpTestClient::send(
        port(), openAi ? openAiPost(false, {}, padding) : anthropicPost(false, {}, padding));
    QVERIFY2(response.complete, qPrintable(response.describe()));
    QCOMPARE(response.status, 431);
    QVERIFY(m_mock.journal().isEmpty());
    if (openAi)
        VERIFY_OPENAI_ERROR(response.body);
    else
        VERIFY_ANTHROPIC_ERROR(response.body, QString());
    // Just under the limit still works.
    const HttpHeaders fitting{{"x-padding", QByteArray(3000, 'h')}};
    const HttpTestResponse fits = HttpTestClient::send(
        port(), openAi ? openAiPost(false, {}, fitting) : anthropicPost(false, {}, fitting));
    QCOMPARE(fits.status, 200);
}

void TestGatewayFaults::stalledHeadersTimeOutWith408()
{
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port());
    QVERIFY(socket.waitForConnected(3000));
    QElapsedTimer clock;
    clock.start();
    socket.write("POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty");
    QVERIFY(socket.waitForBytesWritten(1000));
    RawResponse result;
    readUntilClosed(socket, result, clock, 3000);
    QCOMPARE(result.status(), 408);
    QVERIFY2(result.firstByteMs >= 350 && result.firstByteMs < 1500,
             qPrintable(QString::number(result.firstByteMs)));
    VERIFY_ANTHROPIC_ERROR(result.body(), QStringLiteral("timeout_error"));
    QVERIFY2(result.closed, "the connection stayed open after the 408");
    QVERIFY(result.head().toLower().contains("connection: close"));
}

void TestGatewayFaults::trickledHeadersTimeOutWith408()
{
    // request_timeout_ms bounds the whole request, so a client that sends one byte every
    // 100 ms cannot hold a connection (and a worker's attention) forever.
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port());
    QVERIFY(socket.waitForConnected(3000));
    QElapsedTimer clock;
    clock.start();
    const QByteArray head = "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    socket.write(head);
    RawResponse result;
    while (clock.elapsed() < 2000 && socket.state() == QAbstractSocket::ConnectedState &&
           socket.bytesAvailable() == 0) {
        socket.write("a");
        socket.waitForBytesWritten(100);
        socket.waitForReadyRead(100);
    }
    const qint64 trickledMs = clock.elapsed();
    readUntilClosed(socket, result, clock, 2500);
    QVERIFY2(result.status() == 408 && result.firstByteMs < 1200,
             qPrintable(QStringLiteral("request_timeout_ms is 400, yet a client trickling a "
                                       "header byte every 100 ms was served for %1 ms; the first "
                                       "answer came at %2 ms: \"%3\"")
                            .arg(trickledMs)
                            .arg(result.firstByteMs)
                            .arg(QString::fromLatin1(result.bytes.left(60).simplified()))));
}

void TestGatewayFaults::malformedRequestsAre400()
{
    const QList<QByteArray> requests = {
        "THIS IS NOT HTTP\r\n\r\n",
        "GET /health HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n",
        "POST /v1/messages HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n",
    };
    for (const QByteArray &bytes : requests) {
        const RawResponse result = rawExchange(port(), bytes);
        QVERIFY2(result.status() == 400,
                 qPrintable(QStringLiteral("%1 -> %2")
                                .arg(QString::fromLatin1(bytes.simplified()),
                                     QString::fromLatin1(result.bytes.left(200)))));
        QVERIFY(result.closed);
        QVERIFY(!QJsonDocument::fromJson(result.body()).object().value(u"error").isUndefined());
    }
    QVERIFY(m_mock.journal().isEmpty());
    // The gateway keeps serving.
    QCOMPARE(HttpTestClient::send(port(), HttpTestRequest::get("/health")).status, 200);
}

void TestGatewayFaults::unknownPathIs404InCallerShape()
{
    HttpTestResponse response =
        HttpTestClient::send(port(), HttpTestRequest::get("/v1/nothing", kAnthropicHeaders));
    QCOMPARE(response.status, 404);
    VERIFY_ANTHROPIC_ERROR(response.body, QStringLiteral("not_found_error"));

    HttpTestRequest openAi = openAiPost(false);
    openAi.path = "/v1/chat/nothing";
    response = HttpTestClient::send(port(), openAi);
    QCOMPARE(response.status, 404);
    VERIFY_OPENAI_ERROR(response.body);
    QVERIFY(m_mock.journal().isEmpty());
}

void TestGatewayFaults::wrongMethodIs405InCallerShape()
{
    HttpTestResponse anthropic =
        HttpTestClient::send(port(), HttpTestRequest::get("/v1/messages", kAnthropicHeaders));
    QCOMPARE(anthropic.status, 405);
    VERIFY_ANTHROPIC_ERROR(anthropic.body, QString());

    HttpTestRequest put = openAiPost(false);
    put.method = "PUT";
    const HttpTestResponse openAi = HttpTestClient::send(port(), put);
    QCOMPARE(openAi.status, 405);
    VERIFY_OPENAI_ERROR(openAi.body);
    QVERIFY(m_mock.journal().isEmpty());

    // RFC 9110 15.5.6: a 405 response MUST carry Allow with the supported methods.
    QVERIFY2(anthropic.header("allow").contains("POST"),
             "405 for GET /v1/messages has no `Allow: POST` header");
    QVERIFY2(openAi.header("allow").contains("POST"),
             "405 for PUT /v1/chat/completions has no `Allow: POST` header");
}

void TestGatewayFaults::expectContinueIsAnswered()
{
    // curl (7.x, as shipped by Debian 12) sends `Expect: 100-continue` with every POST body over
    // 1 KiB and holds the body back for up to a second unless the server says 100 Continue.
    const QByteArray body = anthropicBody(false);
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port());
    QVERIFY(socket.waitForConnected(3000));
    QElapsedTimer clock;
    clock.start();
    socket.write("POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                 "\r\nanthropic-version: 2023-06-01\r\nExpect: 100-continue\r\nContent-Length: " +
                 QByteArray::number(body.size()) + "\r\n\r\n");
    QVERIFY(socket.waitForBytesWritten(1000));
    QByteArray interim;
    while (clock.elapsed() < 250 && !interim.contains("\r\n\r\n") &&
           socket.waitForReadyRead(int(250 - clock.elapsed())))
        interim += socket.readAll();
    const qint64 interimMs = clock.elapsed();
    // Whatever happened, the body goes now (as curl does after its wait; here sooner, within
    // the shared gateway's 400 ms request timeout) and must be served.
    socket.write(body);
    RawResponse result;
    result.bytes = interim;
    while (clock.elapsed() < 3000 && !result.bytes.contains("\"usage\"") &&
           socket.waitForReadyRead(int(qMax<qint64>(1, 3000 - clock.elapsed()))))
        result.bytes += socket.readAll();
    QVERIFY2(result.bytes.contains("HTTP/1.1 200"), result.bytes.constData());
    QVERIFY2(interim.startsWith("HTTP/1.1 100"),
             qPrintable(QStringLiteral("no `100 Continue` within %1 ms of a request with "
                                       "`Expect: 100-continue`; got \"%2\"")
                            .arg(interimMs)
                            .arg(QString::fromLatin1(interim.left(60).simplified()))));
}

void TestGatewayFaults::chunkedRequestBodyIsAccepted()
{
    HttpTestRequest request = anthropicPost(false);
    request.chunkedBody = true;
    const HttpTestResponse response = HttpTestClient::send(port(), request);
    QVERIFY2(response.status == 200, qPrintable(response.describe()));
    QCOMPARE(response.json()["type"].toString(), QStringLiteral("message"));
    const JournalEntry entry = onlyJournalEntry();
    QCOMPARE(QJsonDocument::fromJson(entry.body), QJsonDocument::fromJson(request.body));
    QCOMPARE(entry.header("content-length"), QByteArray::number(entry.body.size()));
    QVERIFY(entry.header("transfer-encoding").isNull());

    HttpTestRequest openAi = openAiPost(true);
    openAi.chunkedBody = true;
    const HttpTestResponse stream = HttpTestClient::send(port(), openAi);
    QCOMPARE(stream.status, 200);
    QCOMPARE(stream.events.last().data, QByteArray("[DONE]"));
}

void TestGatewayFaults::pipelinedRequestsAnsweredInOrder()
{
    // The first answer is slow: a gateway that answered in completion order would swap them.
    HttpTestClient client(port());
    const QList<HttpTestResponse> responses =
        client.pipeline({anthropicPost(false, "slow=200,out=5"), anthropicPost(false, "out=9"),
                         HttpTestRequest::get("/health")});
    QCOMPARE(responses.size(), 3);
    for (const HttpTestResponse &response : responses)
        QVERIFY2(response.complete && response.status == 200, qPrintable(response.describe()));
    QCOMPARE(responses[0].json()["usage"]["output_tokens"].toInt(), 5);
    QCOMPARE(responses[1].json()["usage"]["output_tokens"].toInt(), 9);
    QCOMPARE(responses[2].json()["status"].toString(), QStringLiteral("ok"));
    QVERIFY(responses[0].doneAtUs <= responses[1].headersAtUs);
    QVERIFY(client.isConnected()); // keep-alive survived
    QCOMPARE(m_mock.journal().size(), 2);
}

// ---------------------------------------------------------------------------------------------
// Shutdown

void TestGatewayFaults::sigtermDrainsInFlightStreamThenExitsZero()
{
    TollgatedProcess gateway;
    QVERIFY2(gateway.start(mockOptions()), qPrintable(gateway.failureReport()));
    const pid_t pid = pid_t(gateway.processId());

    // A keep-alive connection part-way through a /ready request: busy, so the drain keeps it,
    // and it can ask for readiness once the drain has begun.
    QTcpSocket probe;
    probe.connectToHost(QHostAddress::LocalHost, gateway.port());
    QVERIFY(probe.waitForConnected(3000));
    probe.write("GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    QVERIFY(probe.waitForBytesWritten(1000));
    QByteArray probeBytes;
    QObject::connect(&probe, &QTcpSocket::readyRead, &probe,
                     [&] { probeBytes += probe.readAll(); });

    // 16 chunks 100 ms apart; SIGTERM lands while it is in flight.
    HttpTestRequest request = anthropicPost(true, "events=10,gap=100");
    QTimer terminate;
    terminate.setSingleShot(true);
    QObject::connect(&terminate, &QTimer::timeout, [pid] { ::kill(pid, SIGTERM); });
    terminate.start(300);
    bool probeSent = false;
    int refusedStatus = -1;
    QTimer watch;
    watch.setInterval(20);
    QObject::connect(&watch, &QTimer::timeout, [&] {
        if (probeSent || !gateway.output().contains("draining"))
            return;
        probeSent = true;
        // drain() runs right after the message is printed; give it a moment to take effect.
        QTimer::singleShot(50, &probe, [&] {
            probe.write("\r\n");
            // New connections are no longer accepted.
            HttpTestRequest health = HttpTestRequest::get("/health");
            health.timeoutMs = 1000;
            refusedStatus = HttpTestClient::send(gateway.port(), health).status;
        });
    });
    watch.start();

    QElapsedTimer clock;
    clock.start();
    const HttpTestResponse response = HttpTestClient::send(gateway.port(), request);
    watch.stop();
    QVERIFY2(response.complete, qPrintable(response.describe()));
    QCOMPARE(response.status, 200);
    QCOMPARE(response.events.size(), 16);
    QCOMPARE(response.events.last().event, QByteArray("message_stop"));
    QVERIFY(clock.elapsed() >= 1400); // it really was cut across by the SIGTERM at 300 ms
    QVERIFY2(probeSent, "tollgated never said it was draining");

    QTRY_VERIFY_WITH_TIMEOUT(!gateway.isRunning(), 5000);
    QCOMPARE(gateway.stop(), 0);
    QCOMPARE(refusedStatus, 0);
    QTRY_VERIFY_WITH_TIMEOUT(probeBytes.contains("\r\n\r\n"), 1000);
    QVERIFY2(probeBytes.startsWith("HTTP/1.1 503"), probeBytes.constData());
    QVERIFY(probeBytes.contains("draining"));

    if (sqliteProgram().isEmpty())
        QSKIP("sqlite3 CLI not installed: cannot read the request log");
    QString sqlError;
    const QJsonArray rows = queryLog(
        gateway.requestLogPath(),
        QStringLiteral("SELECT endpoint, status, stream, error, output_tokens FROM requests"),
        &sqlError);
    QVERIFY2(sqlError.isEmpty(), qPrintable(sqlError));
    QCOMPARE(rows.size(), 1);
    QCOMPARE(rows[0]["endpoint"].toString(), QStringLiteral("/v1/messages"));
    QCOMPARE(rows[0]["status"].toInt(), 200);
    QCOMPARE(rows[0]["stream"].toInt(), 1);
    QCOMPARE(rows[0]["error"].toString(), QString());
    QCOMPARE(rows[0]["output_tokens"].toInt(), 7);
}

QTEST_GUILESS_MAIN(TestGatewayFaults)
#include "tst_gatewayfaults.moc"
