#include "store/requestexport.h"

#include "common/csv.h"

#include "http/sseparser.h"

#include <QDateTime>
#include <QIODevice>
#include <QJsonArray>
#include <QJsonDocument>
#include <QStringList>

#include <algorithm>
#include <cmath>

namespace tollgate::store::requestexport {

namespace {

QString isoTime(qint64 ms)
{
    return QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODateWithMs);
}

// JSON has no NaN or infinity: such a measurement is null.
QJsonValue number(double value)
{
    return std::isfinite(value) ? QJsonValue(value) : QJsonValue();
}

QString csvNumber(double value)
{
    return std::isfinite(value) ? QString::number(value, 'g', 12) : QString();
}

// A duration the record keeps negative when unknown (no first byte, no upstream call): null.
QJsonValue duration(double ms)
{
    return ms < 0 ? QJsonValue() : number(ms);
}

QString csvDuration(double ms)
{
    return ms < 0 ? QString() : csvNumber(ms);
}

// A HAR 1.2 log without its entries.
QJsonObject harLog()
{
    return {{QStringLiteral("version"), QStringLiteral("1.2")},
            {QStringLiteral("creator"),
             QJsonObject{{QStringLiteral("name"), QStringLiteral("Tollgate")},
                         {QStringLiteral("version"), QStringLiteral(TOLLGATE_VERSION)}}}};
}

// HAR's phases from what Tollgate measured: the queue (checks, routing, a wait for an upstream
// connection) is "blocked", opening connections is "connect", the rest until the first byte
// "wait", and the rest of the response "receive". -1: a phase that did not happen.
QJsonObject harTimings(const metering::RequestRecord &record)
{
    const double queue = record.queueMs;
    const double connect = record.queueMs >= 0 ? record.connectMs : -1;
    const double firstByte = record.ttftMs >= 0 ? record.ttftMs : record.latencyMs;
    const double wait = std::max(0.0, firstByte - std::max(0.0, queue) - std::max(0.0, connect));
    return {{QStringLiteral("blocked"), queue},
            {QStringLiteral("dns"), -1},
            {QStringLiteral("connect"), connect},
            {QStringLiteral("send"), 0},
            {QStringLiteral("wait"), wait},
            {QStringLiteral("receive"), std::max(0.0, record.latencyMs - firstByte)}};
}

// Single quotes for the shell: nothing inside is expanded.
QString shellQuoted(const QString &text)
{
    QString quoted = text;
    quoted.replace(QLatin1Char('\''), QLatin1String("'\\''"));
    return QLatin1Char('\'') + quoted + QLatin1Char('\'');
}

} // namespace

QJsonObject toJson(const metering::RequestRecord &r)
{
    QJsonObject usage{{QStringLiteral("input_tokens"), qint64(r.usage.inputTokens)},
                      {QStringLiteral("output_tokens"), qint64(r.usage.outputTokens)},
                      {QStringLiteral("cache_write_tokens"), qint64(r.usage.cacheWriteTokens)},
                      {QStringLiteral("cache_read_tokens"), qint64(r.usage.cacheReadTokens)}};
    return QJsonObject{
        {QStringLiteral("id"), r.id},
        {QStringLiteral("started_at_ms"), r.startedAtMs},
        {QStringLiteral("started_at"), isoTime(r.startedAtMs)},
        {QStringLiteral("completed_at_ms"), r.completedAtMs()},
        {QStringLiteral("provider"), r.flavor},
        {QStringLiteral("endpoint"), r.endpoint},
        {QStringLiteral("user"), r.user},
        {QStringLiteral("plan"), r.plan},
        {QStringLiteral("requested_model"), r.requestedModel},
        {QStringLiteral("used_model"), r.usedModel},
        {QStringLiteral("route"), r.route},
        {QStringLiteral("retries"), r.retries},
        {QStringLiteral("status"), r.status},
        {QStringLiteral("stream"), r.stream},
        {QStringLiteral("latency_ms"), number(r.latencyMs)},
        {QStringLiteral("ttft_ms"), duration(r.ttftMs)},
        {QStringLiteral("upstream_ms"), number(r.upstreamMs)},
        {QStringLiteral("overhead_ms"), number(r.overheadMs)},
        {QStringLiteral("queue_ms"), duration(r.queueMs)},
        {QStringLiteral("connect_ms"), duration(r.connectMs)},
        {QStringLiteral("usage"), usage},
        {QStringLiteral("cost_usd"), number(r.costUsd)},
        {QStringLiteral("priced"), r.priced},
        {QStringLiteral("saved_usd"), number(r.savedUsd)},
        {QStringLiteral("routing_saved_usd"), number(r.routingSavedUsd)},
        {QStringLiteral("cache"), r.cacheStatus},
        {QStringLiteral("error"), r.error},
    };
}

QByteArray csvHeader()
{
    return QByteArrayLiteral(
        "id,started_at,provider,endpoint,user,plan,requested_model,used_model,route,retries,"
        "status,stream,latency_ms,ttft_ms,upstream_ms,overhead_ms,queue_ms,connect_ms,input_tokens,"
        "output_tokens,cache_write_tokens,cache_read_tokens,cost_usd,priced,saved_usd,"
        "routing_saved_usd,cache,error\r\n");
}

QByteArray csvLine(const metering::RequestRecord &r)
{
    const QStringList fields{
        csvField(r.id),
        isoTime(r.startedAtMs),
        csvField(r.flavor),
        csvField(r.endpoint),
        csvField(r.user),
        csvField(r.plan),
        csvField(r.requestedModel),
        csvField(r.usedModel),
        csvField(r.route),
        QString::number(r.retries),
        QString::number(r.status),
        QLatin1String(r.stream ? "true" : "false"),
        csvNumber(r.latencyMs),
        csvDuration(r.ttftMs),
        csvNumber(r.upstreamMs),
        csvNumber(r.overheadMs),
        csvDuration(r.queueMs),
        csvDuration(r.connectMs),
        QString::number(r.usage.inputTokens),
        QString::number(r.usage.outputTokens),
        QString::number(r.usage.cacheWriteTokens),
        QString::number(r.usage.cacheReadTokens),
        csvNumber(r.costUsd),
        QLatin1String(r.priced ? "true" : "false"),
        csvNumber(r.savedUsd),
        csvNumber(r.routingSavedUsd),
        csvField(r.cacheStatus),
        csvField(r.error),
    };
    return (fields.join(QLatin1Char(',')) + QLatin1String("\r\n")).toUtf8();
}

QByteArray line(const metering::RequestRecord &record, Format format)
{
    if (format == Format::Csv)
        return csvLine(record);
    return QJsonDocument(toJson(record)).toJson(QJsonDocument::Compact) + '\n';
}

Expected<qint64> write(QIODevice &out, Format format, const std::optional<RequestLogReader> &log,
                       const metering::RequestFilter &filter, const RequestLogReader::Scope &scope,
                       const QList<metering::RequestRecord> &newer,
                       const std::function<bool(qint64)> &keepGoing, int pageRows,
                       const QString &harBaseUrl)
{
    qint64 rows = 0;
    const auto put = [&out](const QByteArray &bytes) { return out.write(bytes) == bytes.size(); };
    const auto writeFailed = [&out] {
        return Error{QStringLiteral("cannot write the export: %1").arg(out.errorString())};
    };
    // Writes a page of rows; a HAR's entries take their captured exchanges, read per page.
    const auto putRows =
        [&](const QList<metering::RequestRecord> &records) -> std::optional<Error> {
        QHash<QString, CapturedExchange> captured;
        if (format == Format::Har && log) {
            QStringList ids;
            for (const metering::RequestRecord &record : records)
                ids.append(record.id);
            auto found = log->exchanges(ids);
            if (!found)
                return found.error();
            captured = std::move(*found);
        }
        for (const metering::RequestRecord &record : records) {
            QByteArray bytes;
            if (format == Format::Har) {
                const auto exchange = captured.constFind(record.id);
                bytes = (rows == 0 ? QByteArray("\n") : QByteArray(",\n")) +
                        QJsonDocument(
                            harEntry(record, exchange == captured.constEnd() ? nullptr : &*exchange,
                                     harBaseUrl))
                            .toJson(QJsonDocument::Compact);
            } else {
                bytes = line(record, format);
            }
            if (!put(bytes))
                return writeFailed();
            ++rows;
        }
        return std::nullopt;
    };
    // A HAR is one JSON document: its log's head, the entries, then the close.
    if (format == Format::Csv && !put(csvHeader()))
        return writeFailed();
    if (format == Format::Har) {
        const QByteArray head = QJsonDocument(QJsonObject{{QStringLiteral("log"), harLog()}})
                                    .toJson(QJsonDocument::Compact);
        if (!put(head.left(head.size() - 2) + ",\"entries\":["))
            return writeFailed();
    }
    if (auto failed = putRows(newer))
        return *failed;
    std::optional<RequestLogReader::PageCursor> cursor;
    while (log) {
        const auto page = log->page(filter, scope, pageRows, cursor);
        if (!page)
            return page.error();
        if (auto failed = putRows(page->records))
            return *failed;
        cursor = page->next;
        if (keepGoing && !keepGoing(rows))
            return Error{QStringLiteral("export stopped after %1 requests").arg(rows)};
        if (!cursor)
            break;
    }
    if (format == Format::Har && !put("\n]}}\n"))
        return writeFailed();
    return rows;
}

QString curlCommand(const metering::RequestRecord &r, const QString &baseUrl)
{
    const bool openai = r.flavor == QLatin1String("openai");
    QString endpoint = r.endpoint;
    if (endpoint.isEmpty())
        endpoint = QLatin1String(openai ? "/v1/chat/completions" : "/v1/messages");
    QStringList lines;
    lines << QStringLiteral("# Request %1, repeated from the request log. Headers and bodies are "
                            "not logged:")
                 .arg(r.id)
          << QStringLiteral("# the body below is a template with the logged model; put the "
                            "messages back in, and the key comes from your environment.");
    lines << QStringLiteral("curl %1 \\").arg(shellQuoted(baseUrl + endpoint));
    lines << QStringLiteral("  -H 'content-type: application/json' \\");
    if (openai) {
        lines << QStringLiteral("  -H \"authorization: Bearer $OPENAI_API_KEY\" \\");
    } else {
        lines << QStringLiteral("  -H 'anthropic-version: 2023-06-01' \\");
        lines << QStringLiteral("  -H \"x-api-key: $ANTHROPIC_API_KEY\" \\");
    }
    if (!r.user.isEmpty())
        lines << QStringLiteral("  -H %1 \\")
                     .arg(shellQuoted(QStringLiteral("x-tollgate-user: ") + r.user));
    QJsonObject body{{QStringLiteral("model"), r.requestedModel}};
    if (!openai)
        body.insert(QStringLiteral("max_tokens"), 1024);
    if (r.stream)
        body.insert(QStringLiteral("stream"), true);
    body.insert(QStringLiteral("messages"),
                QJsonArray{QJsonObject{{QStringLiteral("role"), QStringLiteral("user")},
                                       {QStringLiteral("content"), QStringLiteral("…")}}});
    if (r.stream)
        lines << QStringLiteral("  -N \\");
    lines << QStringLiteral("  -d %1").arg(
        shellQuoted(QString::fromUtf8(QJsonDocument(body).toJson(QJsonDocument::Compact))));
    return lines.join(QLatin1Char('\n'));
}

namespace {

// Hop-by-hop or recomputed by curl: repeating them would only get in the way.
bool curlSetsItself(const QByteArray &name)
{
    const QByteArray lower = name.toLower();
    return lower == "host" || lower == "content-length" || lower == "connection" ||
           lower == "transfer-encoding" || lower == "accept-encoding";
}

QString headerLines(const http::HeaderList &headers)
{
    QStringList lines;
    for (const auto &[name, value] : headers)
        lines << QStringLiteral("%1: %2").arg(QString::fromLatin1(name),
                                              QString::fromLatin1(value));
    return lines.join(QLatin1Char('\n'));
}

// What a body cut at capture says of itself; empty for a whole one.
QString cutComment(qint64 kept, qint64 total)
{
    return kept < total ? QStringLiteral("cut at %1 of %2 bytes when captured").arg(kept).arg(total)
                        : QString();
}

QString cutNote(qint64 kept, qint64 total)
{
    const QString comment = cutComment(kept, total);
    return comment.isEmpty() ? QString() : QStringLiteral("\n… (%1)").arg(comment);
}

} // namespace

QString curlCommand(const metering::RequestRecord &record, const CapturedExchange &exchange,
                    const QString &baseUrl)
{
    const bool openai = record.flavor == QLatin1String("openai");
    QStringList lines;
    lines << QStringLiteral("# Request %1 as it was sent; the key comes from your environment.")
                 .arg(record.id);
    if (exchange.requestTruncated())
        lines << QStringLiteral("# Its body was cut at %1 of %2 bytes when captured.")
                     .arg(exchange.requestBody.size())
                     .arg(exchange.requestBytes);
    QString method;
    if (exchange.method != "POST" && exchange.method != "GET")
        method = QStringLiteral(" -X %1").arg(QString::fromLatin1(exchange.method));
    lines << QStringLiteral("curl%1 %2 \\")
                 .arg(method, shellQuoted(baseUrl + QString::fromLatin1(exchange.target)));
    for (const auto &[name, value] : exchange.requestHeaders) {
        if (curlSetsItself(name))
            continue;
        if (isCredentialHeader(name)) {
            const QString key =
                openai ? QStringLiteral("$OPENAI_API_KEY") : QStringLiteral("$ANTHROPIC_API_KEY");
            const QString prefix = value.startsWith("Bearer") || name.toLower() == "authorization"
                                       ? QStringLiteral("Bearer ")
                                       : QString();
            lines << QStringLiteral("  -H \"%1: %2%3\" \\")
                         .arg(QString::fromLatin1(name), prefix, key);
            continue;
        }
        lines << QStringLiteral("  -H %1 \\")
                     .arg(shellQuoted(QStringLiteral("%1: %2").arg(QString::fromLatin1(name),
                                                                   QString::fromLatin1(value))));
    }
    if (exchange.streamed)
        lines << QStringLiteral("  -N \\");
    if (exchange.requestBody.isEmpty()) {
        lines.last().chop(2); // no body: the headers end the command
        return lines.join(QLatin1Char('\n'));
    }
    lines << QStringLiteral("  --data-binary %1")
                 .arg(shellQuoted(QString::fromUtf8(exchange.requestBody)));
    return lines.join(QLatin1Char('\n'));
}

QString assembledStreamText(const QByteArray &sse)
{
    http::SseParser parser;
    QString text;
    for (const http::SseEvent &event : parser.feed(sse)) {
        const QJsonObject data = QJsonDocument::fromJson(event.data).object();
        if (data.value(u"type") == QLatin1String("content_block_delta")) {
            text += data.value(u"delta").toObject().value(u"text").toString();
            continue;
        }
        for (const QJsonValue &choice : data.value(u"choices").toArray())
            text += choice.toObject().value(u"delta").toObject().value(u"content").toString();
    }
    return text;
}

QString prettyBody(const QByteArray &body)
{
    QJsonParseError error;
    const QJsonDocument json = QJsonDocument::fromJson(body, &error);
    if (error.error == QJsonParseError::NoError)
        return QString::fromUtf8(json.toJson(QJsonDocument::Indented)).trimmed();
    return QString::fromUtf8(body);
}

QString exchangeText(const CapturedExchange &exchange)
{
    QStringList parts;
    parts << QStringLiteral("%1 %2").arg(QString::fromLatin1(exchange.method),
                                         QString::fromLatin1(exchange.target))
          << headerLines(exchange.requestHeaders) << QString()
          << prettyBody(exchange.requestBody) +
                 cutNote(exchange.requestBody.size(), exchange.requestBytes)
          << QString();
    if (exchange.status == 0) {
        parts << QStringLiteral("(no response: the client left first)");
        return parts.join(QLatin1Char('\n'));
    }
    parts << QStringLiteral("HTTP %1").arg(exchange.status) << headerLines(exchange.responseHeaders)
          << QString();
    if (!exchange.streamed) {
        parts << prettyBody(exchange.responseBody) +
                     cutNote(exchange.responseBody.size(), exchange.responseBytes);
        return parts.join(QLatin1Char('\n'));
    }
    http::SseParser parser;
    const QList<http::SseEvent> events = parser.feed(exchange.responseBody);
    parts << QStringLiteral("%1 events:").arg(events.size());
    for (int i = 0; i < events.size(); ++i) {
        const http::SseEvent &event = events[i];
        const QString name =
            event.event.isEmpty() ? QStringLiteral("message") : QString::fromLatin1(event.event);
        parts << QStringLiteral("%1. %2 %3").arg(i + 1).arg(name, QString::fromUtf8(event.data));
    }
    if (exchange.responseTruncated())
        parts << cutNote(exchange.responseBody.size(), exchange.responseBytes).trimmed();
    parts << QString() << QStringLiteral("Assembled text:")
          << assembledStreamText(exchange.responseBody);
    return parts.join(QLatin1Char('\n'));
}

namespace {

QJsonArray harHeaders(const http::HeaderList &headers)
{
    QJsonArray out;
    for (const auto &[name, value] : headers)
        out.append(QJsonObject{{QStringLiteral("name"), QString::fromLatin1(name)},
                               {QStringLiteral("value"), QString::fromLatin1(value)}});
    return out;
}

} // namespace

QJsonObject harEntry(const metering::RequestRecord &record, const CapturedExchange *exchange,
                     const QString &baseUrl)
{
    // Without a capture the entry says what the log knows: the endpoint, the status, the timing.
    CapturedExchange known;
    if (!exchange) {
        // Every endpoint Tollgate logs is a POST but the model list.
        known.method = record.endpoint.endsWith(QLatin1String("/models")) ? "GET" : "POST";
        known.target = record.endpoint.toUtf8();
        known.status = record.status;
    }
    const CapturedExchange &e = exchange ? *exchange : known;
    const QString requestType =
        QString::fromLatin1(http::headerValue(e.requestHeaders, "content-type"));
    const QString responseType =
        QString::fromLatin1(http::headerValue(e.responseHeaders, "content-type"));
    const QJsonObject request{
        {QStringLiteral("method"), QString::fromLatin1(e.method)},
        {QStringLiteral("url"), baseUrl + QString::fromLatin1(e.target)},
        {QStringLiteral("httpVersion"), QStringLiteral("HTTP/1.1")},
        {QStringLiteral("headers"), harHeaders(e.requestHeaders)},
        {QStringLiteral("queryString"), QJsonArray()},
        {QStringLiteral("cookies"), QJsonArray()},
        {QStringLiteral("headersSize"), -1},
        {QStringLiteral("bodySize"), exchange ? e.requestBytes : -1},
        {QStringLiteral("postData"),
         QJsonObject{
             {QStringLiteral("mimeType"), requestType},
             {QStringLiteral("text"), QString::fromUtf8(e.requestBody)},
             {QStringLiteral("comment"), cutComment(e.requestBody.size(), e.requestBytes)}}}};
    const QJsonObject response{
        {QStringLiteral("status"), e.status},
        {QStringLiteral("statusText"), QString()},
        {QStringLiteral("httpVersion"), QStringLiteral("HTTP/1.1")},
        {QStringLiteral("headers"), harHeaders(e.responseHeaders)},
        {QStringLiteral("cookies"), QJsonArray()},
        {QStringLiteral("content"),
         QJsonObject{
             {QStringLiteral("size"), exchange ? e.responseBytes : -1},
             {QStringLiteral("mimeType"), responseType},
             {QStringLiteral("text"), QString::fromUtf8(e.responseBody)},
             {QStringLiteral("comment"), cutComment(e.responseBody.size(), e.responseBytes)}}},
        {QStringLiteral("redirectURL"), QString()},
        {QStringLiteral("headersSize"), -1},
        {QStringLiteral("bodySize"), exchange ? e.responseBytes : -1}};
    QJsonObject entry{
        {QStringLiteral("startedDateTime"),
         QDateTime::fromMSecsSinceEpoch(record.startedAtMs, Qt::UTC).toString(Qt::ISODateWithMs)},
        {QStringLiteral("time"), record.latencyMs},
        {QStringLiteral("request"), request},
        {QStringLiteral("response"), response},
        {QStringLiteral("cache"), QJsonObject()},
        {QStringLiteral("timings"), harTimings(record)},
        {QStringLiteral("_tollgate"), toJson(record)}};
    if (!exchange)
        entry.insert(QStringLiteral("comment"),
                     QStringLiteral("headers and bodies are not in the log (not captured, not "
                                    "written yet, or gone with its cap)"));
    return entry;
}

QByteArray harDocument(const metering::RequestRecord &record, const CapturedExchange &exchange,
                       const QString &baseUrl)
{
    QJsonObject log = harLog();
    log.insert(QStringLiteral("entries"), QJsonArray{harEntry(record, &exchange, baseUrl)});
    return QJsonDocument(QJsonObject{{QStringLiteral("log"), log}}).toJson(QJsonDocument::Indented);
}

} // namespace tollgate::store::requestexport
