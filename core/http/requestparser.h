#pragma once

#include "http/httpmessage.h"

#include <QByteArray>
#include <QString>

#include <utility>

#include <http_parser.h>

namespace tollgate::http {

/// Size limits a client request must respect.
struct RequestLimits {
    qsizetype maxHeaderBytes = 64 * 1024;
    qsizetype maxBodyBytes = 32 * 1024 * 1024;
};

/// Incremental HTTP/1.1 request parser over http-parser. Parses one request at a time and keeps
/// the bytes of pipelined requests for later, so responses go out in request order.
class RequestParser {
public:
    enum class State { NeedMore, Ready, Failed };

    explicit RequestParser(RequestLimits limits = {});
    RequestParser(const RequestParser &) = delete;
    RequestParser &operator=(const RequestParser &) = delete;

    void append(QByteArrayView data) { m_pending.append(data); }
    /// Parses buffered bytes; Ready means takeRequest() has a whole request.
    State parse();
    HttpRequest takeRequest();

    /// True once any byte of a request that is not complete yet has arrived.
    bool inRequest() const { return m_inMessage || !m_pending.isEmpty(); }
    /// True once per request whose headers asked for `Expect: 100-continue`: the client waits
    /// for an interim response before it sends the body.
    bool takeContinueRequest() { return std::exchange(m_wantsContinue, false); }
    /// Path of the request being parsed, as far as it arrived (names the API in error answers).
    QByteArray currentPath() const
    {
        const qsizetype queryAt = m_url.indexOf('?');
        return queryAt < 0 ? m_url : m_url.left(queryAt);
    }
    int errorStatus() const { return m_errorStatus; }
    QString errorMessage() const { return m_errorMessage; }

private:
    static int onMessageBegin(http_parser *parser);
    static int onUrl(http_parser *parser, const char *at, size_t length);
    static int onHeaderField(http_parser *parser, const char *at, size_t length);
    static int onHeaderValue(http_parser *parser, const char *at, size_t length);
    static int onHeadersComplete(http_parser *parser);
    static int onBody(http_parser *parser, const char *at, size_t length);
    static int onMessageComplete(http_parser *parser);

    int fail(int status, const QString &message);
    bool addHeaderBytes(size_t length);

    RequestLimits m_limits;
    http_parser m_parser;
    http_parser_settings m_settings;
    QByteArray m_pending;
    QByteArray m_url;
    HttpRequest m_request;
    bool m_lastWasValue = false;
    bool m_inMessage = false;
    bool m_ready = false;
    bool m_wantsContinue = false;
    qsizetype m_headerBytes = 0;
    int m_errorStatus = 0;
    QString m_errorMessage;
};

} // namespace tollgate::http
