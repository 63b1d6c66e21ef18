#include "http/httpmessage.h"

namespace tollgate::http {

QByteArray headerValue(const HeaderList &headers, QByteArrayView name)
{
    for (const auto &field : headers) {
        if (field.first == name)
            return field.second;
    }
    return {};
}

HeaderList redactCredentials(HeaderList headers)
{
    static const char *const kExact[] = {"cookie", "set-cookie"};
    static const char *const kParts[] = {"key", "token", "secret", "auth", "password", "session"};
    for (auto &field : headers) {
        const QByteArray name = field.first.toLower();
        bool secret = false;
        for (const char *exact : kExact)
            secret = secret || name == exact;
        for (const char *part : kParts)
            secret = secret || name.contains(part);
        if (secret)
            field.second = QByteArrayLiteral("[redacted]");
    }
    return headers;
}

void appendLowerCase(QByteArray &out, QByteArrayView text)
{
    const qsizetype start = out.size();
    if (start == 0)
        out = QByteArray(text.size(), Qt::Uninitialized); // exactly this size, no growth policy
    else
        out.resize(start + text.size());
    char *to = out.data() + start;
    for (const char c : text)
        *to++ = (c >= 'A' && c <= 'Z') ? char(c + ('a' - 'A')) : c;
}

void appendPiece(QByteArray &out, QByteArrayView text)
{
    if (out.isEmpty())
        out = text.toByteArray();
    else
        out.append(text);
}

QByteArray reasonPhrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 529: return "Overloaded";
    default: return status < 400 ? "OK" : "Error";
    }
}

} // namespace tollgate::http
