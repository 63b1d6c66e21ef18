#pragma once

#include "http/httpmessage.h"

#include <QByteArray>
#include <QList>
#include <QString>

#include <http_parser.h>

namespace tollgate::http {

/// Incremental HTTP/1.1 response parser over http-parser. feed() returns what the bytes
/// completed, so the caller reacts after parsing (safe if it then drops the connection).
class ResponseParser {
public:
    struct Progress {
        bool headersDone = false; ///< the status line and headers completed in this feed
        QByteArray body;          ///< decoded body bytes (chunked framing removed)
        bool messageDone = false;
        bool failed = false;
        QString error;
    };

    ResponseParser();
    ResponseParser(const ResponseParser &) = delete;
    ResponseParser &operator=(const ResponseParser &) = delete;

    void reset();
    Progress feed(QByteArrayView data);
    /// The peer closed the connection: completes a body delimited by the connection's end.
    Progress finishAtEof();

    int status() const { return m_status; }
    const HeaderList &headers() const { return m_headers; }
    bool keepAlive() const { return m_keepAlive; }
    bool started() const { return m_started; }

private:
    static int onMessageBegin(http_parser *parser);
    static int onHeaderField(http_parser *parser, const char *at, size_t length);
    static int onHeaderValue(http_parser *parser, const char *at, size_t length);
    static int onHeadersComplete(http_parser *parser);
    static int onBody(http_parser *parser, const char *at, size_t length);
    static int onMessageComplete(http_parser *parser);

    Progress run(const char *data, size_t length);

    http_parser m_parser;
    http_parser_settings m_settings;
    Progress *m_progress = nullptr;
    HeaderList m_headers;
    int m_status = 0;
    bool m_keepAlive = false;
    bool m_started = false;
    bool m_lastWasValue = false;
};

} // namespace tollgate::http
