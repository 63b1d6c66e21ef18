#include "store/requestexport.h"
#include "store/requestlog.h"

#include "metering/requestfilter.h"

#include <QBuffer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <limits>

using tollgate::metering::RequestFilter;
using tollgate::metering::RequestRecord;
using tollgate::store::RequestLog;
using tollgate::store::RequestLogReader;
namespace requestexport = tollgate::store::requestexport;

namespace {

constexpr qint64 kT0 = 1'760'000'000'000;

RequestRecord record(int i)
{
    RequestRecord r;
    r.id = QStringLiteral("req-%1").arg(i, 3, 10, QLatin1Char('0'));
    r.startedAtMs = kT0 + qint64(i) * 1000; // newer for larger i
    r.flavor = QLatin1String(i % 3 == 0 ? "openai" : "anthropic");
    r.endpoint = QLatin1String(i % 3 == 0 ? "/v1/chat/completions" : "/v1/messages");
    r.user = QLatin1String(i % 4 == 0 ? "alice" : (i % 4 == 1 ? "o'brien" : ""));
    r.plan = QStringLiteral("free");
    r.requestedModel = QStringLiteral("claude-3-haiku-20240307");
    r.usedModel = i % 2 ? r.requestedModel : QStringLiteral("claude-sonnet-4-20250514");
    r.route = i % 2 ? QString() : QStringLiteral("complexity > 0.7");
    r.status = i % 10 == 0 ? 529 : 200;
    r.stream = i % 2 == 0;
    r.latencyMs = 100 + i;
    r.ttftMs = i % 5 == 0 ? -1 : 40;
    r.upstreamMs = 90 + i;
    r.overheadMs = 10;
    r.queueMs = i % 7 == 0 ? -1 : 1.5; // a cache hit never queued for an upstream
    r.connectMs = i % 7 == 0 ? -1 : (i % 2 ? 0 : 12.25);
    r.routingSavedUsd = 0.0005 * i;
    r.usage.inputTokens = 100 + i;
    r.usage.outputTokens = 50;
    r.costUsd = 0.001 * i;
    r.cacheStatus = QLatin1String(i % 7 == 0 ? "hit" : "miss");
    // Separators, quotes and line breaks in a text field.
    r.error =
        i % 10 == 0 ? QStringLiteral("upstream said \"overloaded\",\nretry later") : QString();
    return r;
}

tollgate::store::CapturedExchange exchangeOf(const RequestRecord &r)
{
    tollgate::store::CapturedExchange e;
    e.id = r.id;
    e.startedAtMs = r.startedAtMs;
    e.method = "POST";
    e.target = r.endpoint.toUtf8();
    e.requestHeaders = {{"content-type", "application/json"}, {"x-api-key", "[redacted]"}};
    e.requestBody = R"({"prompt":")" + r.id.toUtf8() + R"("})";
    e.requestBytes = e.requestBody.size();
    e.status = r.status;
    e.responseBody = R"({"answer":")" + r.id.toUtf8() + R"("})";
    e.responseBytes = e.responseBody.size();
    return e;
}

// RFC 4180 as a spreadsheet reads it: quoted fields may hold separators and line breaks.
QList<QStringList> parseCsv(const QString &text)
{
    QList<QStringList> rows;
    QStringList row;
    QString field;
    bool quoted = false;
    for (int i = 0; i < text.size(); ++i) {
        const QChar c = text.at(i);
        if (quoted) {
            if (c == u'"' && i + 1 < text.size() && text.at(i + 1) == u'"') {
                field += u'"';
                ++i;
            } else if (c == u'"') {
                quoted = false;
            } else {
                field += c;
            }
        } else if (c == u'"') {
            quoted = true;
        } else if (c == u',') {
            row.append(field);
            field.clear();
        } else if (c == u'\r' && i + 1 < text.size() && text.at(i + 1) == u'\n') {
            row.append(field);
            rows.append(row);
            row.clear();
            field.clear();
            ++i;
        } else {
            field += c;
        }
    }
    return rows;
}

} // namespace

class TestRequestExport : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void capturedExchangeAsText();
    void curlRepeatsTheCapturedRequest();
    void harHoldsTheCapturedExchange();
    void harOfTheFilteredRowsHoldsTheirExchanges();
    void repeatSendsTheCapturedRequestWithTheGivenKey();
    void repeatRefusesACutBodyAndABadKey();
    void initTestCase();
    void jsonlHoldsExactlyTheFilteredRows();
    void csvHoldsExactlyTheFilteredRows();
    void newerRowsComeFirstAndSnapshotsHold();
    void pageSizeDoesNotChangeTheOutput();
    void stopsWhenAsked();
    void writeFailureIsAnError();
    void withoutALogOnlyTheGivenRows();
    void curlRepeatsTheRequestWithoutACredential();

private:
    QByteArray exported(requestexport::Format format, const QString &filter,
                        const RequestLogReader::Scope &scope = {},
                        const QList<RequestRecord> &newer = {}, int pageRows = 1000);

    QTemporaryDir m_dir;
    std::unique_ptr<RequestLog> m_log;
    QList<RequestRecord> m_records;
};

void TestRequestExport::initTestCase()
{
    QVERIFY(m_dir.isValid());
    RequestLog::Options options;
    options.path = m_dir.filePath(QStringLiteral("requests.sqlite"));
    options.retentionDays = 0;
    options.maxRows = 0;
    auto log = RequestLog::open(options);
    QVERIFY(log);
    m_log = std::move(*log);
    for (int i = 0; i < 250; ++i) {
        m_records.append(record(i));
        QVERIFY(m_log->append(m_records.last()));
        if (i % 3 == 0) // capture was on for some of them
            QVERIFY(m_log->appendExchange(exchangeOf(m_records.last())));
    }
    m_log->flush();
}

QByteArray TestRequestExport::exported(requestexport::Format format, const QString &filter,
                                       const RequestLogReader::Scope &scope,
                                       const QList<RequestRecord> &newer, int pageRows)
{
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    const auto rows = requestexport::write(
        buffer, format, m_log->reader(), *RequestFilter::parse(filter), scope, newer, {}, pageRows);
    if (!rows)
        qWarning("export failed: %s", qPrintable(rows.error().message));
    return rows ? buffer.data() : QByteArray();
}

void TestRequestExport::jsonlHoldsExactlyTheFilteredRows()
{
    const RequestFilter filter = *RequestFilter::parse(QStringLiteral("user=alice or status=5xx"));
    QStringList expected;
    for (auto it = m_records.crbegin(); it != m_records.crend(); ++it) {
        if (filter.matches(*it))
            expected.append(it->id);
    }
    const QByteArray out = exported(requestexport::Format::Jsonl, filter.text());
    QVERIFY(out.endsWith('\n'));
    QStringList ids;
    for (const QByteArray &line : out.trimmed().split('\n')) {
        QJsonParseError error;
        const QJsonObject object = QJsonDocument::fromJson(line, &error).object();
        QCOMPARE(error.error, QJsonParseError::NoError);
        ids.append(object.value(QStringLiteral("id")).toString());
    }
    QCOMPARE(ids, expected);
    // Every field, as logged.
    const QJsonObject first = QJsonDocument::fromJson(out.left(out.indexOf('\n'))).object();
    const RequestRecord &newest =
        *std::find_if(m_records.crbegin(), m_records.crend(),
                      [&](const RequestRecord &x) { return filter.matches(x); });
    QCOMPARE(first.value(QStringLiteral("id")).toString(), newest.id);
    QCOMPARE(first.value(QStringLiteral("user")).toString(), newest.user);
    QCOMPARE(first.value(QStringLiteral("status")).toInt(), newest.status);
    QCOMPARE(first.value(QStringLiteral("used_model")).toString(), newest.usedModel);
    QCOMPARE(first.value(QStringLiteral("route")).toString(), newest.route);
    QCOMPARE(first.value(QStringLiteral("latency_ms")).toDouble(), newest.latencyMs);
    QCOMPARE(first.value(QStringLiteral("usage")).toObject().value("input_tokens").toInt(),
             int(newest.usage.inputTokens));
    QCOMPARE(first.value(QStringLiteral("cost_usd")).toDouble(), newest.costUsd);
    QCOMPARE(first.value(QStringLiteral("started_at_ms")).toInteger(), newest.startedAtMs);
    QCOMPARE(first.value(QStringLiteral("completed_at_ms")).toInteger(), newest.completedAtMs());
    QCOMPARE(first.value(QStringLiteral("routing_saved_usd")).toDouble(), newest.routingSavedUsd);
    const QJsonObject timed = requestexport::toJson(record(2));
    QCOMPARE(timed.value(QStringLiteral("queue_ms")).toDouble(), 1.5);
    QCOMPARE(timed.value(QStringLiteral("connect_ms")).toDouble(), 12.25);
    // No first byte, no upstream call: null, not -1.
    const QJsonObject noTtft = requestexport::toJson(record(5));
    QVERIFY(noTtft.value(QStringLiteral("ttft_ms")).isNull());
    const QJsonObject hit = requestexport::toJson(record(7));
    QVERIFY(hit.value(QStringLiteral("queue_ms")).isNull());
    QVERIFY(hit.value(QStringLiteral("connect_ms")).isNull());
    RequestRecord odd = record(1);
    odd.latencyMs = std::numeric_limits<double>::quiet_NaN();
    QVERIFY(requestexport::toJson(odd).value(QStringLiteral("latency_ms")).isNull());
}

void TestRequestExport::csvHoldsExactlyTheFilteredRows()
{
    const QByteArray out = exported(requestexport::Format::Csv, QStringLiteral("status=529"));
    const QList<QStringList> rows = parseCsv(QString::fromUtf8(out));
    QCOMPARE(rows.size(), 1 + 25);
    const QStringList header = rows.first();
    QCOMPARE(header.first(), QStringLiteral("id"));
    const int error = int(header.indexOf(QStringLiteral("error")));
    const int status = int(header.indexOf(QStringLiteral("status")));
    QVERIFY(error > 0 && status > 0);
    for (int i = 1; i < rows.size(); ++i) {
        QCOMPARE(rows[i].size(), header.size());
        QCOMPARE(rows[i][status], QStringLiteral("529"));
        QCOMPARE(rows[i][error], record(0).error); // quotes, comma and line break survive
    }
    QCOMPARE(rows[1].first(), QStringLiteral("req-240"));
    QCOMPARE(rows.last().first(), QStringLiteral("req-000"));
    // req-240: queued 1.5 ms, opened a connection in 12.25; req-210 and req-000 were cache hits.
    const int queue = int(header.indexOf(QStringLiteral("queue_ms")));
    const int connect = int(header.indexOf(QStringLiteral("connect_ms")));
    QVERIFY(queue > 0 && connect > 0);
    QCOMPARE(rows[1][queue], QStringLiteral("1.5"));
    QCOMPARE(rows[1][connect], QStringLiteral("12.25"));
    QCOMPARE(rows.last()[queue], QString());
    QCOMPARE(rows.last()[connect], QString());
}

void TestRequestExport::newerRowsComeFirstAndSnapshotsHold()
{
    RequestLogReader::Scope scope;
    scope.upToRowId = 100; // the first 100 written: req-000 … req-099
    RequestRecord live = record(999);
    const QByteArray out =
        exported(requestexport::Format::Jsonl, QString(), scope, QList<RequestRecord>{live});
    const QList<QByteArray> lines = out.trimmed().split('\n');
    QCOMPARE(lines.size(), 101);
    QVERIFY(lines.first().contains("\"req-999\""));
    QVERIFY(lines.at(1).contains("\"req-099\""));
    QVERIFY(lines.last().contains("\"req-000\""));
}

void TestRequestExport::pageSizeDoesNotChangeTheOutput()
{
    const QByteArray big = exported(requestexport::Format::Csv, QStringLiteral("cache=miss"));
    QVERIFY(!big.isEmpty());
    QCOMPARE(exported(requestexport::Format::Csv, QStringLiteral("cache=miss"), {}, {}, 7), big);
}

void TestRequestExport::stopsWhenAsked()
{
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    int pages = 0;
    const auto rows = requestexport::write(
        buffer, requestexport::Format::Jsonl, m_log->reader(), RequestFilter(), {}, {},
        [&](qint64) { return ++pages < 2; }, 10);
    QVERIFY(!rows);
    QCOMPARE(pages, 2);
    QCOMPARE(buffer.data().count('\n'), 20);
}

void TestRequestExport::writeFailureIsAnError()
{
    QBuffer closed; // not open: every write fails
    const auto rows = requestexport::write(closed, requestexport::Format::Csv, m_log->reader(),
                                           RequestFilter(), {});
    QVERIFY(!rows);
    QVERIFY(rows.error().message.contains(QStringLiteral("cannot write")));
}

void TestRequestExport::withoutALogOnlyTheGivenRows()
{
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    const auto rows = requestexport::write(buffer, requestexport::Format::Csv, std::nullopt,
                                           RequestFilter(), {}, {record(1), record(2)});
    QVERIFY(rows);
    QCOMPARE(*rows, 2);
    QCOMPARE(parseCsv(QString::fromUtf8(buffer.data())).size(), 3);
}

void TestRequestExport::curlRepeatsTheRequestWithoutACredential()
{
    RequestRecord anthropic = record(1); // user o'brien, not streamed
    const QString curl =
        requestexport::curlCommand(anthropic, QStringLiteral("http://127.0.0.1:8080"));
    QVERIFY2(curl.contains(QStringLiteral("curl 'http://127.0.0.1:8080/v1/messages'")),
             qPrintable(curl));
    QVERIFY(curl.contains(QStringLiteral("\"x-api-key: $ANTHROPIC_API_KEY\"")));
    QVERIFY(curl.contains(QStringLiteral("'x-tollgate-user: o'\\''brien'")));
    QVERIFY(curl.contains(QStringLiteral("\"model\":\"claude-3-haiku-20240307\"")));
    QVERIFY(curl.contains(QStringLiteral("not logged")));
    QVERIFY(!curl.contains(QStringLiteral("\"stream\"")));
    QVERIFY(!curl.contains(QStringLiteral("sk-")));

    RequestRecord openai = record(0); // streamed, OpenAI
    const QString streamed = requestexport::curlCommand(openai, QStringLiteral("http://h:1"));
    QVERIFY(streamed.contains(QStringLiteral("'http://h:1/v1/chat/completions'")));
    QVERIFY(streamed.contains(QStringLiteral("\"authorization: Bearer $OPENAI_API_KEY\"")));
    QVERIFY(streamed.contains(QStringLiteral("\"stream\":true")));
    QVERIFY(streamed.contains(QStringLiteral("  -N \\")));
    QVERIFY(!streamed.contains(QStringLiteral("max_tokens")));
}

void TestRequestExport::capturedExchangeAsText()
{
    tollgate::store::CapturedExchange e;
    e.method = "POST";
    e.target = "/v1/chat/completions";
    e.requestHeaders = {{"authorization", "[redacted]"}};
    e.requestBody = R"({"model":"gpt-4o","stream":true})";
    e.requestBytes = e.requestBody.size();
    e.status = 200;
    e.streamed = true;
    e.responseBody = "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"
                     "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n"
                     "data: [DONE]\n\n";
    e.responseBytes = e.responseBody.size() + 100; // some was cut
    QCOMPARE(requestexport::assembledStreamText(e.responseBody), QStringLiteral("Hello"));
    const QString text = requestexport::exchangeText(e);
    for (const char *part : {"POST /v1/chat/completions", "authorization: [redacted]",
                             "\"model\": \"gpt-4o\"", "HTTP 200", "3 events:", "3. message [DONE]",
                             "bytes when captured)", "Assembled text:\nHello"})
        QVERIFY2(text.contains(QLatin1String(part)), qPrintable(part + (": " + text)));

    // A client that left before a status: said, not a blank.
    e.status = 0;
    QVERIFY(requestexport::exchangeText(e).contains(QStringLiteral("no response")));
}

void TestRequestExport::curlRepeatsTheCapturedRequest()
{
    RequestRecord record;
    record.id = QStringLiteral("r-1");
    record.flavor = QStringLiteral("openai");
    tollgate::store::CapturedExchange e;
    e.method = "POST";
    e.target = "/v1/chat/completions";
    e.requestHeaders = {{"host", "127.0.0.1:8080"},
                        {"authorization", "[redacted]"},
                        {"content-type", "application/json"},
                        {"x-tollgate-user", "o'brien"}};
    e.requestBody = R"({"messages":[{"role":"user","content":"it's"}]})";
    e.requestBytes = e.requestBody.size();
    const QString curl = requestexport::curlCommand(record, e, QStringLiteral("http://h:1"));
    QVERIFY2(curl.contains(QStringLiteral("curl 'http://h:1/v1/chat/completions'")),
             qPrintable(curl));
    QVERIFY(curl.contains(QStringLiteral("-H \"authorization: Bearer $OPENAI_API_KEY\"")));
    QVERIFY(!curl.contains(QStringLiteral("host:"))); // curl sets it
    QVERIFY(curl.contains(QStringLiteral("'x-tollgate-user: o'\\''brien'")));
    QVERIFY(curl.contains(QStringLiteral("--data-binary '{\"messages\":[{\"role\":\"user\","
                                         "\"content\":\"it'\\''s\"}]}'")));
    QVERIFY(!curl.contains(QStringLiteral("[redacted]")));
}

void TestRequestExport::harHoldsTheCapturedExchange()
{
    RequestRecord record;
    record.id = QStringLiteral("h-1");
    record.startedAtMs = 1'700'000'000'000;
    record.latencyMs = 250;
    record.ttftMs = 100;
    record.queueMs = 5;
    record.connectMs = 20;
    tollgate::store::CapturedExchange e;
    e.method = "POST";
    e.target = "/v1/messages";
    e.requestHeaders = {{"content-type", "application/json"}, {"x-api-key", "[redacted]"}};
    e.requestBody = R"({"model":"m"})";
    e.requestBytes = 40; // cut when captured
    e.status = 200;
    e.responseHeaders = {{"content-type", "application/json"}};
    e.responseBody = R"({"ok":true})";
    e.responseBytes = e.responseBody.size();
    const QJsonObject log =
        QJsonDocument::fromJson(requestexport::harDocument(record, e, QStringLiteral("http://h:1")))
            .object()
            .value(u"log")
            .toObject();
    QCOMPARE(log.value(u"version").toString(), QStringLiteral("1.2"));
    const QJsonObject entry = log.value(u"entries").toArray().first().toObject();
    QCOMPARE(entry.value(u"startedDateTime").toString(),
             QStringLiteral("2023-11-14T22:13:20.000Z"));
    QCOMPARE(entry.value(u"time").toDouble(), 250.0);
    const QJsonObject request = entry.value(u"request").toObject();
    QCOMPARE(request.value(u"url").toString(), QStringLiteral("http://h:1/v1/messages"));
    QCOMPARE(request.value(u"headers").toArray().at(1).toObject().value(u"value").toString(),
             QStringLiteral("[redacted]"));
    QCOMPARE(request.value(u"postData").toObject().value(u"comment").toString(),
             QStringLiteral("cut at 13 of 40 bytes when captured"));
    const QJsonObject content = entry.value(u"response").toObject().value(u"content").toObject();
    QCOMPARE(content.value(u"text").toString(), QStringLiteral(R"({"ok":true})"));
    QCOMPARE(content.value(u"comment").toString(), QString());
    const QJsonObject timings = entry.value(u"timings").toObject();
    // The first byte came at 100 ms: 5 queued, 20 connecting, 75 waiting; the rest receiving.
    QCOMPARE(timings.value(u"blocked").toDouble(), 5.0);
    QCOMPARE(timings.value(u"connect").toDouble(), 20.0);
    QCOMPARE(timings.value(u"wait").toDouble(), 75.0);
    QCOMPARE(timings.value(u"receive").toDouble(), 150.0);
    QCOMPARE(timings.value(u"dns").toDouble(), -1.0);
    QCOMPARE(entry.value(u"_tollgate").toObject().value(u"id").toString(), QStringLiteral("h-1"));
}

void TestRequestExport::harOfTheFilteredRowsHoldsTheirExchanges()
{
    const RequestFilter filter = *RequestFilter::parse(QStringLiteral("status=5xx"));
    RequestRecord live = record(999); // a live row the log has not written yet
    live.status = 529;
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    const auto rows = requestexport::write(buffer, requestexport::Format::Har, m_log->reader(),
                                           filter, {}, {live}, {}, 7, QStringLiteral("http://h:1"));
    QVERIFY2(rows, rows ? "" : qPrintable(rows.error().message));
    QJsonParseError error;
    const QJsonObject log =
        QJsonDocument::fromJson(buffer.data(), &error).object().value(u"log").toObject();
    QCOMPARE(error.error, QJsonParseError::NoError);
    QCOMPARE(log.value(u"version").toString(), QStringLiteral("1.2"));
    const QJsonArray entries = log.value(u"entries").toArray();
    QCOMPARE(entries.size(), *rows);
    QCOMPARE(entries.size(), 1 + 25); // the live row, then every 529 of the log, newest first
    QCOMPARE(entries.first().toObject().value(u"_tollgate").toObject().value(u"id").toString(),
             live.id);
    int captured = 0;
    for (const QJsonValue &value : entries) {
        const QJsonObject entry = value.toObject();
        const QString id = entry.value(u"_tollgate").toObject().value(u"id").toString();
        const int i = id.mid(4).toInt();
        const QString body = entry.value(u"request")
                                 .toObject()
                                 .value(u"postData")
                                 .toObject()
                                 .value(u"text")
                                 .toString();
        QCOMPARE(entry.value(u"response").toObject().value(u"status").toInt(), 529);
        QVERIFY(entry.value(u"request")
                    .toObject()
                    .value(u"url")
                    .toString()
                    .startsWith(QStringLiteral("http://h:1/v1/")));
        if (i % 3 == 0 && id != live.id) {
            ++captured;
            QCOMPARE(body, QStringLiteral(R"({"prompt":"%1"})").arg(id));
            QVERIFY(!entry.contains(u"comment"));
        } else {
            QCOMPARE(body, QString());
            QVERIFY(entry.value(u"comment").toString().contains(QStringLiteral("not captured")));
        }
    }
    QVERIFY(captured > 0);
}

void TestRequestExport::repeatSendsTheCapturedRequestWithTheGivenKey()
{
    tollgate::store::CapturedExchange e;
    e.method = "POST";
    e.target = "/v1/messages?beta=true";
    e.requestHeaders = {{"host", "127.0.0.1:8080"},  {"content-type", "application/json"},
                        {"x-api-key", "[redacted]"}, {"cookie", "[redacted]"},
                        {"content-length", "13"},    {"x-tollgate-user", "ann"}};
    e.requestBody = R"({"model":"m"})";
    e.requestBytes = e.requestBody.size();
    using tollgate::store::repeatRequest;
    const auto same = repeatRequest(e, QStringLiteral("anthropic"), {" sk-typed \n", {}, false});
    QVERIFY2(same, same ? "" : qPrintable(same.error().message));
    QCOMPARE(same->method, QByteArray("POST"));
    QCOMPARE(same->target, QByteArray("/v1/messages?beta=true"));
    QCOMPARE(same->body, e.requestBody);
    // The credential carries the key in the client's form; other redacted headers and those the
    // sender sets again are left out.
    const tollgate::http::HeaderList expected = {{"content-type", "application/json"},
                                                 {"x-api-key", "sk-typed"},
                                                 {"x-tollgate-user", "ann"}};
    QCOMPARE(same->headers, expected);

    // No key: no credential at all (the gateway may supply the provider's own).
    const auto keyless = repeatRequest(e, QStringLiteral("anthropic"), {});
    QVERIFY(keyless);
    QCOMPARE(tollgate::http::headerValue(keyless->headers, "x-api-key"), QByteArray());

    // An edited body, past the cache; an OpenAI client that sent no credential gets a bearer.
    e.requestHeaders = {{"content-type", "application/json"}, {"x-tollgate-cache", "default"}};
    const auto edited =
        repeatRequest(e, QStringLiteral("openai"), {"sk-o", QByteArray(R"({"model":"n"})"), true});
    QVERIFY(edited);
    QCOMPARE(edited->body, QByteArray(R"({"model":"n"})"));
    const tollgate::http::HeaderList openai = {{"content-type", "application/json"},
                                               {"authorization", "Bearer sk-o"},
                                               {"x-tollgate-cache", "no-cache"}};
    QCOMPARE(edited->headers, openai);
}

void TestRequestExport::repeatRefusesACutBodyAndABadKey()
{
    tollgate::store::CapturedExchange e;
    e.method = "POST";
    e.target = "/v1/messages";
    e.requestBody = R"({"model":"m","mess)";
    e.requestBytes = 5000;
    using tollgate::store::repeatRequest;
    const auto cut = repeatRequest(e, QStringLiteral("anthropic"), {});
    QVERIFY(!cut);
    QVERIFY2(cut.error().message.contains(QStringLiteral("cut at 18 of 5000 bytes")),
             qPrintable(cut.error().message));
    // A whole body typed in instead goes.
    QVERIFY(repeatRequest(e, QStringLiteral("anthropic"), {{}, QByteArray("{}"), false}));
    // A key that would end the header and start another is refused, and not repeated.
    const auto injected = repeatRequest(e, QStringLiteral("anthropic"),
                                        {"sk-a\r\nx-evil: 1", QByteArray("{}"), false});
    QVERIFY(!injected);
    QVERIFY(!injected.error().message.contains(QStringLiteral("sk-a")));
}

QTEST_GUILESS_MAIN(TestRequestExport)
#include "tst_requestexport.moc"
