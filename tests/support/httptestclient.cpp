#include "httptestclient.h"

#include <QEventLoop>
#include <QTcpSocket>
#include <QTimer>

namespace tollgate::testsupport {

namespace {

QByteArray fieldValue(const HttpHeaders &headers, QByteArrayView name)
{
    for (const auto &field : headers) {
        if (QByteArrayView(field.first).compare(name, Qt::CaseInsensitive) == 0)
            return field.second;
    }
    return {};
}

HttpTestEvent parseEvent(QByteArrayView block, qint64 atUs)
{
    HttpTestEvent event;
    event.atUs = atUs;
    bool firstData = true;
    qsizetype start = 0;
    while (start < block.size()) {
        qsizetype end = block.indexOf('\n', start);
        if (end < 0)
            end = block.size();
        const QByteArrayView line = block.sliced(start, end - start);
        const qsizetype colon = line.indexOf(':');
        const QByteArrayView name = colon < 0 ? line : line.first(colon);
        QByteArrayView value = colon < 0 ? QByteArrayView() : line.sliced(colon + 1);
        if (value.startsWith(' '))
            value = value.sliced(1);
        if (name == "event") {
            event.event = value.toByteArray();
        } else if (name == "data") {
            if (!firstData)
                event.data.append('\n');
            event.data.append(value);
            firstData = false;
        }
        start = end + 1;
    }
    return event;
}

} // namespace

QByteArray HttpTestResponse::header(QByteArrayView name) const
{
    return fieldValue(headers, name);
}

QStringList HttpTestResponse::eventNames() const
{
    QStringList names;
    for (const HttpTestEvent &item : events)
        names.append(QString::fromLatin1(item.event));
    return names;
}

QString HttpTestResponse::describe(int bodyChars) const
{
    QStringList fields;
    for (const auto &field : headers)
        fields.append(QString::fromLatin1(field.first + ": " + field.second));
    return QStringLiteral("HTTP %1 %2\n%3\n%4")
        .arg(status)
        .arg(error, fields.join(QLatin1Char('\n')), QString::fromUtf8(body.left(bodyChars)));
}

HttpTestRequest HttpTestRequest::get(const QByteArray &path, const HttpHeaders &headers)
{
    HttpTestRequest request;
    request.path = path;
    request.headers = headers;
    return request;
}

HttpTestRequest HttpTestRequest::post(const QByteArray &path, const QByteArray &body,
                                      const HttpHeaders &headers)
{
    HttpTestRequest request;
    request.method = "POST";
    request.path = path;
    request.headers = headers;
    request.body = body;
    return request;
}

HttpTestClient::HttpTestClient(quint16 port, const QHostAddress &host)
    : m_socket(new QTcpSocket)
    , m_host(host)
    , m_port(port)
{
    QObject::connect(m_socket, &QTcpSocket::readyRead, m_socket, [this] { onReadyRead(); });
    QObject::connect(m_socket, &QTcpSocket::disconnected, m_socket, [this] { onDisconnected(); });
}

HttpTestClient::~HttpTestClient()
{
    m_socket->disconnect();
    m_socket->abort();
    delete m_socket;
}

HttpTestResponse HttpTestClient::request(const HttpTestRequest &request)
{
    return exchange({request}, request.timeoutMs).first();
}

QList<HttpTestResponse> HttpTestClient::pipeline(const QList<HttpTestRequest> &requests,
                                                 int timeoutMs)
{
    return exchange(requests, timeoutMs);
}

bool HttpTestClient::isConnected() const
{
    return m_socket->state() == QAbstractSocket::ConnectedState;
}

void HttpTestClient::disconnect()
{
    m_stopped = true;
    m_socket->abort();
}

HttpTestResponse HttpTestClient::send(quint16 port, const QByteArray &method,
                                      const QByteArray &path, const HttpHeaders &headers,
                                      const QByteArray &body, int timeoutMs)
{
    HttpTestRequest request;
    request.method = method;
    request.path = path;
    request.headers = headers;
    request.body = body;
    request.timeoutMs = timeoutMs;
    return send(port, request);
}

HttpTestResponse HttpTestClient::send(quint16 port, const HttpTestRequest &request)
{
    HttpTestClient client(port);
    return client.request(request);
}

QByteArray HttpTestClient::serialize(const HttpTestRequest &request, quint16 port)
{
    QByteArray out = request.method + ' ' + request.path + " HTTP/1.1\r\n";
    if (fieldValue(request.headers, "host").isNull())
        out += "Host: 127.0.0.1:" + QByteArray::number(port) + "\r\n";
    for (const auto &field : request.headers)
        out += field.first + ": " + field.second + "\r\n";
    const bool framed = !fieldValue(request.headers, "content-length").isNull() ||
                        !fieldValue(request.headers, "transfer-encoding").isNull();
    if (request.chunkedBody) {
        // Two chunks, so that a server has to join pieces rather than read one.
        const qsizetype half = request.body.size() / 2;
        out += "Transfer-Encoding: chunked\r\n\r\n";
        for (const QByteArray &piece : {request.body.left(half), request.body.mid(half)}) {
            if (!piece.isEmpty())
                out += QByteArray::number(piece.size(), 16) + "\r\n" + piece + "\r\n";
        }
        return out + "0\r\n\r\n";
    }
    if (!framed && (!request.body.isEmpty() || request.method == "POST"))
        out += "Content-Length: " + QByteArray::number(request.body.size()) + "\r\n";
    return out + "\r\n" + request.body;
}

bool HttpTestClient::ensureConnected(int timeoutMs)
{
    if (isConnected() && !m_serverWillClose)
        return true;
    m_serverWillClose = false;
    m_socket->abort();
    QEventLoop loop;
    QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
    QObject::connect(m_socket, &QTcpSocket::connected, &loop, &QEventLoop::quit);
    QObject::connect(m_socket, &QTcpSocket::errorOccurred, &loop, &QEventLoop::quit);
    m_socket->connectToHost(m_host, m_port);
    if (m_socket->state() != QAbstractSocket::ConnectedState)
        loop.exec();
    if (!isConnected())
        return false;
    m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    http_parser_init(&m_parser, HTTP_RESPONSE);
    m_parser.data = this;
    return true;
}

QList<HttpTestResponse> HttpTestClient::exchange(const QList<HttpTestRequest> &requests,
                                                 int timeoutMs)
{
    m_requests = requests;
    m_responses = QList<HttpTestResponse>(requests.size());
    m_responseIndex = 0;
    m_completed = 0;
    m_stopped = false;
    if (!ensureConnected(timeoutMs)) {
        for (HttpTestResponse &response : m_responses)
            response.error = QStringLiteral("connect failed: ") + m_socket->errorString();
        return m_responses;
    }

    QByteArray bytes;
    for (const HttpTestRequest &request : requests)
        bytes += serialize(request, m_port);
    QEventLoop loop;
    m_loop = &loop;
    QTimer timeout;
    timeout.setSingleShot(true);
    QObject::connect(&timeout, &QTimer::timeout, &loop, [this] {
        pending().timedOut = true;
        pending().error = QStringLiteral("timeout");
        m_stopped = true;
        m_socket->abort(); // a half-read connection cannot carry the next request
        m_loop->quit();
    });
    QTimer hangUpTimer;
    hangUpTimer.setSingleShot(true);
    QObject::connect(&hangUpTimer, &QTimer::timeout, &loop, [this] { hangUp(); });

    m_clock.start();
    m_socket->write(bytes);
    timeout.start(timeoutMs);
    if (requests.first().hangUpAfterMs >= 0)
        hangUpTimer.start(requests.first().hangUpAfterMs);
    if (!finished())
        loop.exec();
    m_loop = nullptr;
    return m_responses;
}

const http_parser_settings &HttpTestClient::parserSettings()
{
    static const http_parser_settings settings = [] {
        http_parser_settings s;
        http_parser_settings_init(&s);
        s.on_message_begin = &HttpTestClient::onMessageBegin;
        s.on_status = &HttpTestClient::onStatus;
        s.on_header_field = &HttpTestClient::onHeaderField;
        s.on_header_value = &HttpTestClient::onHeaderValue;
        s.on_headers_complete = &HttpTestClient::onHeadersComplete;
        s.on_body = &HttpTestClient::onBody;
        s.on_message_complete = &HttpTestClient::onMessageComplete;
        return s;
    }();
    return settings;
}

HttpTestClient *HttpTestClient::self(http_parser *parser)
{
    return static_cast<HttpTestClient *>(parser->data);
}

int HttpTestClient::onMessageBegin(http_parser *parser)
{
    HttpTestClient *client = self(parser);
    if (client->m_completed >= client->m_responses.size())
        return 1; // an answer nobody asked for
    client->m_responseIndex = client->m_completed;
    client->m_bodyBytes = 0;
    client->m_sseBuffer.clear();
    client->m_inHeaderValue = false;
    return 0;
}

int HttpTestClient::onStatus(http_parser *, const char *, size_t)
{
    return 0;
}

int HttpTestClient::onHeaderField(http_parser *parser, const char *at, size_t length)
{
    HttpTestClient *client = self(parser);
    HttpHeaders &headers = client->current().headers;
    if (client->m_inHeaderValue || headers.isEmpty())
        headers.emplace_back();
    client->m_inHeaderValue = false;
    headers.last().first.append(at, qsizetype(length));
    return 0;
}

int HttpTestClient::onHeaderValue(http_parser *parser, const char *at, size_t length)
{
    HttpTestClient *client = self(parser);
    client->m_inHeaderValue = true;
    client->current().headers.last().second.append(at, qsizetype(length));
    return 0;
}

int HttpTestClient::onHeadersComplete(http_parser *parser)
{
    HttpTestClient *client = self(parser);
    HttpTestResponse &response = client->current();
    response.status = int(parser->status_code);
    response.headersAtUs = client->now();
    for (auto &field : response.headers)
        field.first = std::move(field.first).toLower();
    // A HEAD answer announces a body it does not carry.
    return client->m_requests.at(client->m_responseIndex).method == "HEAD" ? 1 : 0;
}

int HttpTestClient::onBody(http_parser *parser, const char *at, size_t length)
{
    HttpTestClient *client = self(parser);
    HttpTestResponse &response = client->current();
    const QByteArray piece(at, qsizetype(length));
    response.body.append(piece);
    response.chunks.append({piece, client->now()});
    client->m_bodyBytes += piece.size();
    if (response.header("content-type").startsWith("text/event-stream")) {
        client->m_sseBuffer.append(piece);
        client->extractEvents(response);
    }
    return 0;
}

int HttpTestClient::onMessageComplete(http_parser *parser)
{
    HttpTestClient *client = self(parser);
    HttpTestResponse &response = client->current();
    response.complete = true;
    response.doneAtUs = client->now();
    client->m_serverWillClose = http_should_keep_alive(parser) == 0;
    ++client->m_completed;
    if (client->m_loop != nullptr && client->finished())
        client->m_loop->quit();
    return 0;
}

void HttpTestClient::onReadyRead()
{
    const QByteArray data = m_socket->readAll();
    if (m_stopped || m_responses.isEmpty())
        return;
    const size_t parsed =
        http_parser_execute(&m_parser, &parserSettings(), data.constData(), size_t(data.size()));
    if (parsed != size_t(data.size()) || HTTP_PARSER_ERRNO(&m_parser) != HPE_OK) {
        pending().error = QString::fromLatin1(
            http_errno_description(static_cast<http_errno>(HTTP_PARSER_ERRNO(&m_parser))));
        m_stopped = true;
        m_socket->abort();
    }
    if (!finished()) {
        const HttpTestRequest &request = m_requests.at(m_completed);
        const bool enoughBytes =
            request.hangUpAfterBytes >= 0 && m_bodyBytes >= request.hangUpAfterBytes;
        const bool enoughEvents =
            request.hangUpAfterEvents >= 0 && pending().events.size() >= request.hangUpAfterEvents;
        if (enoughBytes || enoughEvents)
            hangUp();
    }
    if (m_loop != nullptr && finished())
        m_loop->quit();
}

void HttpTestClient::onDisconnected()
{
    if (m_stopped || m_responses.isEmpty() || finished())
        return;
    // EOF ends a body that has neither Content-Length nor chunked framing.
    http_parser_execute(&m_parser, &parserSettings(), nullptr, 0);
    if (!finished()) {
        pending().closedEarly = true;
        pending().error = m_socket->errorString();
        m_stopped = true;
    }
    if (m_loop != nullptr)
        m_loop->quit();
}

void HttpTestClient::extractEvents(HttpTestResponse &response)
{
    m_sseBuffer.replace("\r\n", "\n");
    qsizetype end = 0;
    while ((end = m_sseBuffer.indexOf("\n\n")) >= 0) {
        response.events.append(parseEvent(QByteArrayView(m_sseBuffer).first(end), now()));
        m_sseBuffer.remove(0, end + 2);
    }
}

void HttpTestClient::hangUp()
{
    if (m_stopped)
        return;
    pending().hungUp = true;
    m_stopped = true;
    m_socket->abort();
    if (m_loop != nullptr)
        m_loop->quit();
}

bool HttpTestClient::finished() const
{
    return m_stopped || m_completed == m_responses.size();
}

} // namespace tollgate::testsupport
