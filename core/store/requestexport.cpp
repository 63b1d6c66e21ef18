#include "store/requestexport.h"

#include <QDateTime>
#include <QIODevice>
#include <QJsonArray>
#include <QJsonDocument>
#include <QStringList>

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

// A field with a separator, a quote or a line break is quoted, its quotes doubled.
QString csvField(QString text)
{
    if (!text.contains(QLatin1Char(',')) && !text.contains(QLatin1Char('"')) &&
        !text.contains(QLatin1Char('\n')) && !text.contains(QLatin1Char('\r')))
        return text;
    text.replace(QLatin1Char('"'), QLatin1String("\"\""));
    return QLatin1Char('"') + text + QLatin1Char('"');
}

QString csvNumber(double value)
{
    return std::isfinite(value) ? QString::number(value, 'g', 12) : QString();
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
        {QStringLiteral("ttft_ms"), r.ttftMs < 0 ? QJsonValue() : number(r.ttftMs)},
        {QStringLiteral("upstream_ms"), number(r.upstreamMs)},
        {QStringLiteral("overhead_ms"), number(r.overheadMs)},
        {QStringLiteral("usage"), usage},
        {QStringLiteral("cost_usd"), number(r.costUsd)},
        {QStringLiteral("priced"), r.priced},
        {QStringLiteral("saved_usd"), number(r.savedUsd)},
        {QStringLiteral("cache"), r.cacheStatus},
        {QStringLiteral("error"), r.error},
    };
}

QByteArray csvHeader()
{
    return QByteArrayLiteral(
        "id,started_at,provider,endpoint,user,plan,requested_model,used_model,route,retries,"
        "status,stream,latency_ms,ttft_ms,upstream_ms,overhead_ms,input_tokens,output_tokens,"
        "cache_write_tokens,cache_read_tokens,cost_usd,priced,saved_usd,cache,error\r\n");
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
        r.ttftMs < 0 ? QString() : csvNumber(r.ttftMs),
        csvNumber(r.upstreamMs),
        csvNumber(r.overheadMs),
        QString::number(r.usage.inputTokens),
        QString::number(r.usage.outputTokens),
        QString::number(r.usage.cacheWriteTokens),
        QString::number(r.usage.cacheReadTokens),
        csvNumber(r.costUsd),
        QLatin1String(r.priced ? "true" : "false"),
        csvNumber(r.savedUsd),
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
                       const std::function<bool(qint64)> &keepGoing, int pageRows)
{
    qint64 rows = 0;
    const auto put = [&out](const QByteArray &bytes) { return out.write(bytes) == bytes.size(); };
    const auto writeFailed = [&out] {
        return Error{QStringLiteral("cannot write the export: %1").arg(out.errorString())};
    };
    if (format == Format::Csv && !put(csvHeader()))
        return writeFailed();
    for (const metering::RequestRecord &record : newer) {
        if (!put(line(record, format)))
            return writeFailed();
        ++rows;
    }
    if (!log)
        return rows;
    std::optional<RequestLogReader::PageCursor> cursor;
    do {
        const auto page = log->page(filter, scope, pageRows, cursor);
        if (!page)
            return page.error();
        for (const metering::RequestRecord &record : page->records) {
            if (!put(line(record, format)))
                return writeFailed();
            ++rows;
        }
        cursor = page->next;
        if (keepGoing && !keepGoing(rows))
            return Error{QStringLiteral("export stopped after %1 requests").arg(rows)};
    } while (cursor);
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

} // namespace tollgate::store::requestexport
