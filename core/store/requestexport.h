#pragma once

#include "common/expected.h"
#include "metering/requestfilter.h"
#include "metering/requestrecord.h"
#include "store/capturedexchange.h"
#include "store/requestlogreader.h"

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QString>

#include <functional>
#include <optional>

class QIODevice;

/// The request log as files and commands: JSON Lines and CSV exports streamed a page at a time,
/// and a curl command that repeats a logged request as far as the log knows it. No credential is
/// ever written: the log holds none.
namespace tollgate::store::requestexport {

/// JSON Lines, CSV (RFC 4180), or HAR 1.2 (one document, an entry per request with its captured
/// exchange when the log has one).
enum class Format { Jsonl, Csv, Har };

/// One request as the JSON object of a JSONL line (every RequestRecord field, times as epoch ms
/// and UTC ISO 8601).
QJsonObject toJson(const metering::RequestRecord &record);
/// The CSV header line (RFC 4180, CRLF), and a request as a CSV line.
QByteArray csvHeader();
QByteArray csvLine(const metering::RequestRecord &record);
/// `record` as one line of `format`, with its line break.
QByteArray line(const metering::RequestRecord &record, Format format);

/// Writes `newer` (records not in the log yet, e.g. a console's live tail; newest first, already
/// filtered), then every request of `log` matching `filter` within `scope`, newest first, reading
/// `pageRows` at a time so that memory stays flat however long the log. `keepGoing` is asked
/// after every page with the rows so far; false stops the export (an error). Returns the rows
/// written. `harBaseUrl` makes a HAR's request URLs absolute.
Expected<qint64> write(QIODevice &out, Format format, const std::optional<RequestLogReader> &log,
                       const metering::RequestFilter &filter, const RequestLogReader::Scope &scope,
                       const QList<metering::RequestRecord> &newer = {},
                       const std::function<bool(qint64)> &keepGoing = {}, int pageRows = 1000,
                       const QString &harBaseUrl = {});

/// A shell command that sends a request like `record` to the gateway at `baseUrl`. Headers and
/// bodies are not logged, so the body is a template with the logged model and stream flag and a
/// placeholder message, and the key comes from the environment ($ANTHROPIC_API_KEY or
/// $OPENAI_API_KEY); a comment says so.
QString curlCommand(const metering::RequestRecord &record, const QString &baseUrl);
/// The same from a captured exchange: its method, path, headers (a redacted credential becomes
/// the environment's key) and body as sent.
QString curlCommand(const metering::RequestRecord &record, const CapturedExchange &exchange,
                    const QString &baseUrl);

/// A body as it is shown: JSON pretty-printed, anything else as sent.
QString prettyBody(const QByteArray &body);
/// A captured exchange as the request detail shows it: the request line and headers, the body
/// (JSON pretty-printed), the response status and headers, and its body, or for a stream each
/// SSE event in order and then the text the deltas assemble to. Cut bodies say so.
QString exchangeText(const CapturedExchange &exchange);
/// A HAR 1.2 document (JSON) with one entry: the request and response as captured (headers
/// already redacted; bodies as text, cut bodies marked in `comment`), its timings from the record
/// (wait: first byte; receive: the rest), and Tollgate's own fields under `_tollgate` (model,
/// route, tokens, cost). `baseUrl` makes the request's URL absolute.
QByteArray harDocument(const metering::RequestRecord &record, const CapturedExchange &exchange,
                       const QString &baseUrl);
/// One request as a HAR entry: with its captured exchange, or (nullptr) what the log knows of
/// it, with a comment that headers and bodies were not captured.
QJsonObject harEntry(const metering::RequestRecord &record, const CapturedExchange *exchange,
                     const QString &baseUrl);

/// The text a stream's content deltas add up to (Anthropic content_block_delta text, OpenAI
/// choices[].delta.content).
QString assembledStreamText(const QByteArray &sse);

} // namespace tollgate::store::requestexport
