#pragma once

#include <QByteArray>
#include <QElapsedTimer>
#include <QHostAddress>
#include <QJsonDocument>
#include <QJsonObject>
#include <QList>
#include <QPair>
#include <QString>
#include <QStringList>

#include <http_parser.h>

class QEventLoop;
class QTcpSocket;

namespace tollgate::testsupport {

/// Header fields in order; names as given on send, lower-cased on receipt.
using HttpHeaders = QList<QPair<QByteArray, QByteArray>>;

/// A piece of response body as one read delivered it, with its arrival time since the request
/// was written (microseconds).
struct HttpTestChunk {
    QByteArray data;
    qint64 atUs = 0;
};

/// One Server-Sent Event of a streamed response, with its arrival time (microseconds).
struct HttpTestEvent {
    QByteArray event; ///< the `event:` field, empty when absent
    QByteArray data;  ///< `data:` lines joined with '\n'
    qint64 atUs = 0;
    // const, so that chained lookups like json()["delta"]["text"] pick the read-only operator[].
    const QJsonObject json() const { return QJsonDocument::fromJson(data).object(); }
};

struct HttpTestResponse {
    int status = 0; ///< 0: no status line arrived
    HttpHeaders headers;
    QByteArray body; ///< de-chunked
    QList<HttpTestChunk> chunks;
    QList<HttpTestEvent> events; ///< filled for text/event-stream bodies
    bool complete = false;       ///< the message ended as its framing promised
    bool hungUp = false;         ///< we hung up on purpose (hangUpAfter*)
    bool closedEarly = false;    ///< the server closed or reset the connection before the end
    bool timedOut = false;
    QString error; ///< socket or parser error text, if any
    qint64 headersAtUs = -1;
    qint64 doneAtUs = -1;

    QByteArray header(QByteArrayView name) const;
    const QJsonObject json() const { return QJsonDocument::fromJson(body).object(); }
    /// The `event:` names of events, in order ("" where an event has none).
    QStringList eventNames() const;
    /// Status, error, header fields and the first `bodyChars` of the body: a failure message.
    QString describe(int bodyChars = 600) const;
};

struct HttpTestRequest {
    QByteArray method = "GET";
    QByteArray path = "/";
    HttpHeaders headers; ///< Host and Content-Length are added unless given
    QByteArray body;
    bool chunkedBody = false;   ///< send the body with Transfer-Encoding: chunked
    int hangUpAfterBytes = -1;  ///< abort once this many body bytes arrived
    int hangUpAfterEvents = -1; ///< abort once this many SSE events arrived
    int hangUpAfterMs = -1;     ///< abort this long after sending, whatever arrived
    int timeoutMs = 10000;

    static HttpTestRequest get(const QByteArray &path, const HttpHeaders &headers = {});
    static HttpTestRequest post(const QByteArray &path, const QByteArray &body,
                                const HttpHeaders &headers = {});
};

/// A raw HTTP/1.1 client for tests: waits in a local event loop (so in-process servers on the
/// same thread keep running), parses with http-parser, records arrival times, and can hang up
/// mid-response on purpose. One instance keeps its connection alive across requests.
class HttpTestClient {
public:
    explicit HttpTestClient(quint16 port, const QHostAddress &host = QHostAddress::LocalHost);
    ~HttpTestClient();
    HttpTestClient(const HttpTestClient &) = delete;
    HttpTestClient &operator=(const HttpTestClient &) = delete;

    HttpTestResponse request(const HttpTestRequest &request);
    /// Writes all requests at once, then collects the answers in order.
    QList<HttpTestResponse> pipeline(const QList<HttpTestRequest> &requests, int timeoutMs = 10000);
    bool isConnected() const;
    void disconnect();

    /// One request on a fresh connection.
    static HttpTestResponse send(quint16 port, const QByteArray &method, const QByteArray &path,
                                 const HttpHeaders &headers = {}, const QByteArray &body = {},
                                 int timeoutMs = 10000);
    static HttpTestResponse send(quint16 port, const HttpTestRequest &request);
    static QByteArray serialize(const HttpTestRequest &request, quint16 port);

private:
    static const http_parser_settings &parserSettings();
    static HttpTestClient *self(http_parser *parser);
    static int onMessageBegin(http_parser *parser);
    static int onStatus(http_parser *parser, const char *at, size_t length);
    static int onHeaderField(http_parser *parser, const char *at, size_t length);
    static int onHeaderValue(http_parser *parser, const char *at, size_t length);
    static int onHeadersComplete(http_parser *parser);
    static int onBody(http_parser *parser, const char *at, size_t length);
    static int onMessageComplete(http_parser *parser);

    bool ensureConnected(int timeoutMs);
    QList<HttpTestResponse> exchange(const QList<HttpTestRequest> &requests, int timeoutMs);
    void onReadyRead();
    void onDisconnected();
    void extractEvents(HttpTestResponse &response);
    void hangUp();
    bool finished() const;
    qint64 now() const { return m_clock.nsecsElapsed() / 1000; }
    /// The response http-parser is filling.
    HttpTestResponse &current() { return m_responses[m_responseIndex]; }
    /// The first response not yet complete: where errors and hang-ups are recorded.
    HttpTestResponse &pending() { return m_responses[qMin(m_completed, m_responses.size() - 1)]; }

    QTcpSocket *m_socket;
    QHostAddress m_host;
    quint16 m_port;
    http_parser m_parser;
    QEventLoop *m_loop = nullptr;
    QElapsedTimer m_clock;
    QList<HttpTestResponse> m_responses; ///< the exchange in progress, in request order
    QList<HttpTestRequest> m_requests;
    qsizetype m_responseIndex = 0;
    qsizetype m_completed = 0;
    qsizetype m_bodyBytes = 0;
    QByteArray m_sseBuffer;
    bool m_inHeaderValue = false;
    bool m_stopped = false;         ///< hung up, closed or timed out: the exchange is over
    bool m_serverWillClose = false; ///< the last answer ended the connection
};

} // namespace tollgate::testsupport
