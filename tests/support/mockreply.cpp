#include "mockreply.h"

namespace tollgate::testsupport {

void MockReply::addEvent(QByteArrayView type, QByteArrayView data)
{
    const qsizetype size =
        (type.isEmpty() ? 0 : type.size() + 8) + data.size() + 8; // "event: \n" "data: \n\n"
    QByteArray chunk;
    chunk.reserve(size + 16);
    chunk.append(QByteArray::number(size, 16)).append("\r\n");
    if (!type.isEmpty())
        chunk.append("event: ").append(type).append('\n');
    chunk.append("data: ").append(data).append("\n\n\r\n");
    chunks.append(chunk);
}

QByteArray MockReply::head(bool close) const
{
    QByteArray head;
    head.reserve(256);
    head.append("HTTP/1.1 ").append(QByteArray::number(status)).append(' ');
    head.append(reasonPhrase(status)).append("\r\ncontent-type: ").append(contentType);
    if (streamed)
        head.append("\r\ntransfer-encoding: chunked\r\ncache-control: no-cache");
    else
        head.append("\r\ncontent-length: ").append(QByteArray::number(body.size()));
    for (const auto &field : headers)
        head.append("\r\n").append(field.first).append(": ").append(field.second);
    head.append(close ? "\r\nconnection: close\r\n\r\n" : "\r\nconnection: keep-alive\r\n\r\n");
    return head;
}

QByteArray MockReply::reasonPhrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 529: return "Overloaded";
    default: return "Status";
    }
}

} // namespace tollgate::testsupport
