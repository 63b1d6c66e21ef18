#include "http/requestparser.h"

#include <climits>
#include <cstring>

namespace tollgate::http {

namespace {
RequestParser *self(http_parser *parser)
{
    return static_cast<RequestParser *>(parser->data);
}
} // namespace

RequestParser::RequestParser(RequestLimits limits)
    : m_limits(limits)
{
    http_parser_init(&m_parser, HTTP_REQUEST);
    m_parser.data = this;
    http_parser_settings_init(&m_settings);
    m_settings.on_message_begin = &RequestParser::onMessageBegin;
    m_settings.on_url = &RequestParser::onUrl;
    m_settings.on_header_field = &RequestParser::onHeaderField;
    m_settings.on_header_value = &RequestParser::onHeaderValue;
    m_settings.on_headers_complete = &RequestParser::onHeadersComplete;
    m_settings.on_body = &RequestParser::onBody;
    m_settings.on_message_complete = &RequestParser::onMessageComplete;
}

RequestParser::State RequestParser::parse()
{
    if (m_errorStatus)
        return State::Failed;
    if (m_ready)
        return State::Ready;
    if (m_pending.isEmpty())
        return State::NeedMore;

    http_parser_pause(&m_parser, 0);
    const size_t consumed =
        http_parser_execute(&m_parser, &m_settings, m_pending.constData(), m_pending.size());
    const auto errorCode = HTTP_PARSER_ERRNO(&m_parser);
    if (m_errorStatus)
        return State::Failed;
    if (errorCode != HPE_OK && errorCode != HPE_PAUSED) {
        const int status = errorCode == HPE_HEADER_OVERFLOW ? 431 : 400;
        fail(status, QStringLiteral("malformed HTTP request: %1")
                         .arg(QString::fromLatin1(http_errno_description(errorCode))));
        return State::Failed;
    }
    m_pending.remove(0, qsizetype(consumed));
    if (m_ready && m_parser.upgrade) {
        fail(400, QStringLiteral("protocol upgrades are not supported"));
        return State::Failed;
    }
    return m_ready ? State::Ready : State::NeedMore;
}

HttpRequest RequestParser::takeRequest()
{
    m_ready = false;
    return std::exchange(m_request, HttpRequest{});
}

int RequestParser::fail(int status, const QString &message)
{
    m_errorStatus = status;
    m_errorMessage = message;
    return -1;
}

bool RequestParser::addHeaderBytes(size_t length)
{
    m_headerBytes += qsizetype(length);
    if (m_headerBytes <= m_limits.maxHeaderBytes)
        return true;
    fail(431, QStringLiteral("request headers exceed %1 bytes").arg(m_limits.maxHeaderBytes));
    return false;
}

int RequestParser::onMessageBegin(http_parser *parser)
{
    auto *p = self(parser);
    p->m_inMessage = true;
    p->m_headerBytes = 0;
    p->m_url.clear();
    p->m_lastWasValue = false;
    p->m_request = HttpRequest{};
    p->m_request.headers.reserve(16); // room for a typical client's headers: no regrowth
    return 0;
}

int RequestParser::onUrl(http_parser *parser, const char *at, size_t length)
{
    auto *p = self(parser);
    if (!p->addHeaderBytes(length))
        return -1;
    p->m_url.append(at, qsizetype(length));
    return 0;
}

int RequestParser::onHeaderField(http_parser *parser, const char *at, size_t length)
{
    auto *p = self(parser);
    if (!p->addHeaderBytes(length))
        return -1;
    auto &headers = p->m_request.headers;
    if (headers.isEmpty() || p->m_lastWasValue)
        headers.append(QPair<QByteArray, QByteArray>());
    appendLowerCase(headers.last().first, QByteArrayView(at, qsizetype(length)));
    p->m_lastWasValue = false;
    return 0;
}

int RequestParser::onHeaderValue(http_parser *parser, const char *at, size_t length)
{
    auto *p = self(parser);
    if (!p->addHeaderBytes(length))
        return -1;
    appendPiece(p->m_request.headers.last().second, QByteArrayView(at, qsizetype(length)));
    p->m_lastWasValue = true;
    return 0;
}

int RequestParser::onHeadersComplete(http_parser *parser)
{
    auto *p = self(parser);
    auto &request = p->m_request;
    // The method names are static strings: no copy per request.
    const char *method = http_method_str(http_method(parser->method));
    request.method = QByteArray::fromRawData(method, qsizetype(std::strlen(method)));
    const qsizetype queryAt = p->m_url.indexOf('?');
    request.path = queryAt < 0 ? p->m_url : p->m_url.left(queryAt);
    request.query = queryAt < 0 ? QByteArray() : p->m_url.mid(queryAt + 1);
    request.keepAlive = http_should_keep_alive(parser) != 0;
    // content_length is ULLONG_MAX when the body is chunked or absent.
    if (parser->content_length != ULLONG_MAX &&
        parser->content_length > quint64(p->m_limits.maxBodyBytes))
        return p->fail(
            413, QStringLiteral("request body exceeds %1 bytes").arg(p->m_limits.maxBodyBytes));
    // The spare bytes let the JSON parser (simdjson needs 64 bytes of padding) read in place.
    if (parser->content_length != ULLONG_MAX)
        request.body.reserve(qsizetype(parser->content_length) + 64);
    p->m_wantsContinue = request.header("expect").toLower() == "100-continue";
    return 0;
}

int RequestParser::onBody(http_parser *parser, const char *at, size_t length)
{
    auto *p = self(parser);
    auto &body = p->m_request.body;
    if (body.size() + qsizetype(length) > p->m_limits.maxBodyBytes)
        return p->fail(
            413, QStringLiteral("request body exceeds %1 bytes").arg(p->m_limits.maxBodyBytes));
    body.append(at, qsizetype(length));
    return 0;
}

int RequestParser::onMessageComplete(http_parser *parser)
{
    auto *p = self(parser);
    p->m_inMessage = false;
    p->m_ready = true;
    // Stop after one request: the rest of the buffer belongs to pipelined requests.
    http_parser_pause(parser, 1);
    return 0;
}

} // namespace tollgate::http
