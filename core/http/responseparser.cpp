#include "http/responseparser.h"

namespace tollgate::http {

namespace {
ResponseParser *self(http_parser *parser)
{
    return static_cast<ResponseParser *>(parser->data);
}
} // namespace

ResponseParser::ResponseParser()
{
    http_parser_settings_init(&m_settings);
    m_settings.on_message_begin = &ResponseParser::onMessageBegin;
    m_settings.on_header_field = &ResponseParser::onHeaderField;
    m_settings.on_header_value = &ResponseParser::onHeaderValue;
    m_settings.on_headers_complete = &ResponseParser::onHeadersComplete;
    m_settings.on_body = &ResponseParser::onBody;
    m_settings.on_message_complete = &ResponseParser::onMessageComplete;
    reset();
}

void ResponseParser::reset()
{
    http_parser_init(&m_parser, HTTP_RESPONSE);
    m_parser.data = this;
    m_headers.clear();
    m_status = 0;
    m_keepAlive = false;
    m_started = false;
    m_lastWasValue = false;
}

ResponseParser::Progress ResponseParser::feed(QByteArrayView data)
{
    return run(data.data(), size_t(data.size()));
}

ResponseParser::Progress ResponseParser::finishAtEof()
{
    return run(nullptr, 0);
}

ResponseParser::Progress ResponseParser::run(const char *data, size_t length)
{
    Progress progress;
    m_progress = &progress;
    const size_t consumed = http_parser_execute(&m_parser, &m_settings, data, length);
    m_progress = nullptr;
    const auto errorCode = HTTP_PARSER_ERRNO(&m_parser);
    if (errorCode != HPE_OK && errorCode != HPE_PAUSED) {
        progress.failed = true;
        progress.error = QStringLiteral("malformed upstream response: %1")
                             .arg(QString::fromLatin1(http_errno_description(errorCode)));
    } else if (!progress.messageDone && consumed < length) {
        progress.failed = true;
        progress.error = QStringLiteral("upstream sent bytes after its response");
    }
    return progress;
}

int ResponseParser::onMessageBegin(http_parser *parser)
{
    self(parser)->m_started = true;
    return 0;
}

int ResponseParser::onHeaderField(http_parser *parser, const char *at, size_t length)
{
    auto *p = self(parser);
    if (p->m_headers.isEmpty() || p->m_lastWasValue)
        p->m_headers.append(QPair<QByteArray, QByteArray>());
    appendLowerCase(p->m_headers.last().first, QByteArrayView(at, qsizetype(length)));
    p->m_lastWasValue = false;
    return 0;
}

int ResponseParser::onHeaderValue(http_parser *parser, const char *at, size_t length)
{
    auto *p = self(parser);
    appendPiece(p->m_headers.last().second, QByteArrayView(at, qsizetype(length)));
    p->m_lastWasValue = true;
    return 0;
}

int ResponseParser::onHeadersComplete(http_parser *parser)
{
    auto *p = self(parser);
    p->m_status = int(parser->status_code);
    p->m_progress->headersDone = true;
    return 0;
}

int ResponseParser::onBody(http_parser *parser, const char *at, size_t length)
{
    appendPiece(self(parser)->m_progress->body, QByteArrayView(at, qsizetype(length)));
    return 0;
}

int ResponseParser::onMessageComplete(http_parser *parser)
{
    auto *p = self(parser);
    p->m_keepAlive = http_should_keep_alive(parser) != 0;
    p->m_progress->messageDone = true;
    // One response per request: stop here so stray bytes are not taken as the next response.
    http_parser_pause(parser, 1);
    return 0;
}

} // namespace tollgate::http
