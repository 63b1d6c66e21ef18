#include "api/errorshape.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>
#include <QJsonValue>

namespace tollgate::api {

namespace {

// Longest upstream excerpt put into a wrapped message; enough to recognise a proxy's HTML page
// or a plain-text reason without relaying a whole document.
constexpr int kExcerptChars = 200;
// Upstream messages taken over from JSON are normally a sentence; cap a runaway one.
constexpr int kMessageChars = 1000;

void appendJsonString(QByteArray &out, const QString &text)
{
    const QByteArray utf8 = text.toUtf8();
    out.reserve(out.size() + utf8.size() + 2);
    out.append('"');
    for (const char c : utf8) {
        switch (c) {
        case '"': out.append("\\\""); break;
        case '\\': out.append("\\\\"); break;
        case '\n': out.append("\\n"); break;
        case '\r': out.append("\\r"); break;
        case '\t': out.append("\\t"); break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                static const char hex[] = "0123456789abcdef";
                out.append("\\u00");
                out.append(hex[(c >> 4) & 0xf]);
                out.append(hex[c & 0xf]);
            } else {
                out.append(c);
            }
        }
    }
    out.append('"');
}

bool isAsciiAlnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool isKeyChar(char c)
{
    return isAsciiAlnum(c) || c == '_' || c == '-' || c == '*';
}

bool isBearerChar(char c)
{
    return c > ' ' && c != '"' && c != '\'' && c != '\\' && c != ',' && c != ';';
}

// Replaces the token after each `prefix` with a marker. Works on UTF-8 or raw JSON bytes: token
// characters are ASCII, and the marker contains nothing JSON would need escaped.
void redactTokens(QByteArray &text, QByteArrayView prefix, bool keepPrefix, int minLength,
                  bool (*tokenChar)(char))
{
    static constexpr QByteArrayView marker = "[redacted]";
    qsizetype from = 0;
    while (true) {
        const qsizetype at = text.indexOf(prefix, from);
        if (at < 0)
            return;
        qsizetype end = at + prefix.size();
        while (end < text.size() && tokenChar(text[end]))
            ++end;
        const bool wordStart = at == 0 || !isAsciiAlnum(text[at - 1]);
        if (!wordStart || end - at - prefix.size() < minLength) {
            from = at + 1;
            continue;
        }
        const qsizetype start = keepPrefix ? at + prefix.size() : at;
        text.replace(start, end - start, marker);
        from = start + marker.size();
    }
}

// The upstream body is not expected to carry a credential, but an echoed (even masked) key or
// an Authorization header in a proxy's error page must never reach a client or a log.
QByteArray redactCredentials(QByteArray text)
{
    if (!text.contains("sk-") && !text.contains("earer "))
        return text;
    redactTokens(text, "sk-", false, 8, isKeyChar);
    redactTokens(text, "Bearer ", true, 1, isBearerChar);
    redactTokens(text, "bearer ", true, 1, isBearerChar);
    return text;
}

QString redactCredentials(const QString &text)
{
    return QString::fromUtf8(redactCredentials(text.toUtf8()));
}

QString excerpt(const QByteArray &body)
{
    // Decoding a bounded prefix keeps a multi-megabyte HTML page from costing more than its head.
    const QString text = QString::fromUtf8(body.left(8 * 1024));
    QString collapsed;
    collapsed.reserve(qMin<qsizetype>(text.size(), 2 * kExcerptChars));
    bool pendingSpace = false;
    for (const QChar c : text) {
        if (c.isSpace() || c.category() == QChar::Other_Control) {
            pendingSpace = !collapsed.isEmpty();
            continue;
        }
        if (pendingSpace)
            collapsed.append(QLatin1Char(' '));
        pendingSpace = false;
        collapsed.append(c);
        // Read past the cut so a credential straddling it is still recognised as one.
        if (collapsed.size() >= 2 * kExcerptChars)
            break;
    }
    collapsed = redactCredentials(collapsed);
    if (collapsed.size() > kExcerptChars) {
        collapsed.truncate(kExcerptChars);
        collapsed.append(QChar(0x2026));
    }
    return collapsed;
}

QString openAiErrorCode(int status)
{
    switch (status) {
    case 401: return QStringLiteral("invalid_api_key");
    case 429: return QStringLiteral("rate_limit_exceeded");
    default: return QString();
    }
}

} // namespace

QString anthropicErrorType(int status)
{
    switch (status) {
    case 400: return QStringLiteral("invalid_request_error");
    case 401: return QStringLiteral("authentication_error");
    case 402: return QStringLiteral("billing_error");
    case 403: return QStringLiteral("permission_error");
    case 404: return QStringLiteral("not_found_error");
    case 408:
    case 504: return QStringLiteral("timeout_error");
    case 413: return QStringLiteral("request_too_large");
    case 429: return QStringLiteral("rate_limit_error");
    case 529: return QStringLiteral("overloaded_error");
    default:
        // Anthropic's own rule: other 4xx are invalid_request_error; other 5xx are api_error.
        return status >= 500 ? QStringLiteral("api_error")
                             : QStringLiteral("invalid_request_error");
    }
}

QString openAiErrorType(int status)
{
    switch (status) {
    case 401: return QStringLiteral("authentication_error");
    case 403: return QStringLiteral("permission_error");
    case 404: return QStringLiteral("not_found_error");
    case 429: return QStringLiteral("rate_limit_error");
    default:
        return status >= 500 ? QStringLiteral("server_error")
                             : QStringLiteral("invalid_request_error");
    }
}

QByteArray errorBody(Flavor flavor, int status, const QString &message)
{
    // Written by hand rather than through QJsonObject to keep the providers' member order and
    // to stay cheap on the rate-limit path.
    QByteArray out;
    if (flavor == Flavor::Anthropic) {
        out.append(R"({"type":"error","error":{"type":)");
        appendJsonString(out, anthropicErrorType(status));
        out.append(R"(,"message":)");
        appendJsonString(out, message);
        out.append("}}");
        return out;
    }
    out.append(R"({"error":{"message":)");
    appendJsonString(out, message);
    out.append(R"(,"type":)");
    appendJsonString(out, openAiErrorType(status));
    out.append(R"(,"param":null,"code":)");
    const QString code = openAiErrorCode(status);
    if (code.isEmpty())
        out.append("null");
    else
        appendJsonString(out, code);
    out.append("}}");
    return out;
}

QByteArray streamErrorEvent(Flavor flavor, int status, const QString &message)
{
    const QByteArray body = errorBody(flavor, status, message);
    if (flavor == Flavor::Anthropic)
        return "event: error\ndata: " + body + "\n\n";
    return "data: " + body + "\n\n";
}

QByteArray normalizeUpstreamError(Flavor flavor, int status, const QByteArray &upstreamBody)
{
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(upstreamBody, &parseError);
    if (parseError.error == QJsonParseError::NoError && doc.isObject()) {
        const QJsonObject root = doc.object();
        const QJsonObject error = root.value(QLatin1StringView("error")).toObject();
        const QJsonValue message = error.value(QLatin1StringView("message"));
        const QJsonValue topType = root.value(QLatin1StringView("type"));
        if (message.isString()) {
            const bool anthropicShape = topType.toString() == QLatin1StringView("error") &&
                                        error.value(QLatin1StringView("type")).isString();
            const bool openAiShape = topType.isUndefined();
            if ((flavor == Flavor::Anthropic && anthropicShape) ||
                (flavor == Flavor::OpenAI && openAiShape))
                return redactCredentials(upstreamBody);
            // The other provider's shape (a cross-provider fallback): keep its message.
            return errorBody(flavor, status,
                             redactCredentials(message.toString().left(kMessageChars)));
        }
    }
    QString text = QStringLiteral("upstream returned HTTP %1").arg(status);
    const QString cut = excerpt(upstreamBody);
    if (!cut.isEmpty())
        text += QStringLiteral(": ") + cut;
    return errorBody(flavor, status, text);
}

} // namespace tollgate::api
