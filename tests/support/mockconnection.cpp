#include "mockconnection.h"

#include "mockjournal.h"
#include "mockresponder.h"

#include <QTcpSocket>

#include <sys/socket.h>

namespace tollgate::testsupport {

namespace {

constexpr qsizetype readBufferSize = 64 * 1024;
constexpr QByteArrayView lastChunk = "0\r\n\r\n";

} // namespace

MockConnection::MockConnection(qintptr descriptor, const QByteArray &requiredKey,
                               MockJournal &journal, QObject *parent)
    : QObject(parent)
    , m_socket(new QTcpSocket(this))
    , m_journal(journal)
    , m_requiredKey(requiredKey)
    , m_readBuffer(readBufferSize, Qt::Uninitialized)
{
    http_parser_init(&m_parser, HTTP_REQUEST);
    m_parser.data = this;
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, &MockConnection::onTimer);
    connect(m_socket, &QTcpSocket::readyRead, this, &MockConnection::readRequests);
    connect(m_socket, &QTcpSocket::bytesWritten, this, &MockConnection::onBytesWritten);
    connect(m_socket, &QTcpSocket::disconnected, this, &MockConnection::onDisconnected);
    if (!m_socket->setSocketDescriptor(descriptor)) {
        m_stage = Stage::Closed;
        deleteLater();
        return;
    }
    // Answers are written in one piece or one chunk per event; Nagle would only add delay.
    m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
}

const http_parser_settings &MockConnection::parserSettings()
{
    static const http_parser_settings settings = [] {
        http_parser_settings s;
        http_parser_settings_init(&s);
        s.on_message_begin = &MockConnection::onMessageBegin;
        s.on_url = &MockConnection::onUrl;
        s.on_header_field = &MockConnection::onHeaderField;
        s.on_header_value = &MockConnection::onHeaderValue;
        s.on_headers_complete = &MockConnection::onHeadersComplete;
        s.on_body = &MockConnection::onBody;
        s.on_message_complete = &MockConnection::onMessageComplete;
        return s;
    }();
    return settings;
}

MockConnection *MockConnection::self(http_parser *parser)
{
    return static_cast<MockConnection *>(parser->data);
}

int MockConnection::onMessageBegin(http_parser *parser)
{
    MockConnection *connection = self(parser);
    connection->m_incoming = MockRequest();
    connection->m_inHeaderValue = false;
    return 0;
}

int MockConnection::onUrl(http_parser *parser, const char *at, size_t length)
{
    self(parser)->m_incoming.target.append(at, qsizetype(length));
    return 0;
}

int MockConnection::onHeaderField(http_parser *parser, const char *at, size_t length)
{
    MockConnection *connection = self(parser);
    MockHeaders &headers = connection->m_incoming.headers;
    // A name may arrive in several pieces; a new field starts after a value.
    if (connection->m_inHeaderValue || headers.isEmpty())
        headers.emplace_back();
    connection->m_inHeaderValue = false;
    headers.last().first.append(at, qsizetype(length));
    return 0;
}

int MockConnection::onHeaderValue(http_parser *parser, const char *at, size_t length)
{
    MockConnection *connection = self(parser);
    connection->m_inHeaderValue = true;
    connection->m_incoming.headers.last().second.append(at, qsizetype(length));
    return 0;
}

int MockConnection::onHeadersComplete(http_parser *parser)
{
    MockRequest &request = self(parser)->m_incoming;
    for (auto &field : request.headers)
        field.first = std::move(field.first).toLower();
    const char *method = http_method_str(static_cast<http_method>(parser->method));
    request.method = QByteArray::fromRawData(method, qsizetype(qstrlen(method)));
    return 0;
}

int MockConnection::onBody(http_parser *parser, const char *at, size_t length)
{
    self(parser)->m_incoming.body.append(at, qsizetype(length));
    return 0;
}

int MockConnection::onMessageComplete(http_parser *parser)
{
    MockConnection *connection = self(parser);
    MockRequest &request = connection->m_incoming;
    request.keepAlive = http_should_keep_alive(parser) != 0;
    if (!request.isControl())
        request.seq = connection->m_journal.record(request);
    // After a request that closes the connection, any further bytes are not ours to answer.
    connection->m_ignoreInput = !request.keepAlive;
    connection->m_queue.push_back(std::move(request));
    return 0;
}

void MockConnection::readRequests()
{
    while (m_stage != Stage::Closed) {
        const qint64 size = m_socket->read(m_readBuffer.data(), m_readBuffer.size());
        if (size <= 0)
            break;
        if (!m_ignoreInput)
            parse(m_readBuffer.constData(), size_t(size));
    }
    pump();
}

void MockConnection::parse(const char *data, size_t size)
{
    const size_t parsed = http_parser_execute(&m_parser, &parserSettings(), data, size);
    if (m_ignoreInput || (parsed == size && HTTP_PARSER_ERRNO(&m_parser) == HPE_OK))
        return;
    MockRequest bad;
    bad.malformed = true;
    bad.keepAlive = false;
    m_queue.push_back(std::move(bad));
    m_ignoreInput = true;
}

void MockConnection::pump()
{
    while (m_stage == Stage::Idle && !m_queue.empty()) {
        MockRequest next = std::move(m_queue.front());
        m_queue.pop_front();
        begin(std::move(next));
    }
}

void MockConnection::begin(MockRequest request)
{
    m_current = std::move(request);
    if (m_current.malformed) {
        m_reply = MockReply();
        m_reply.status = 400;
        m_reply.contentType = "text/plain";
        m_reply.body = "malformed HTTP request";
    } else {
        m_reply = m_current.isControl() ? controlReply(m_current)
                                        : MockResponder::respond(m_current, m_requiredKey);
    }
    m_nextChunk = 0;
    m_headSent = false;
    if (m_reply.hang) {
        m_stage = Stage::Hanging;
        return;
    }
    m_stage = Stage::Answering;
    if (m_reply.slowMs > 0)
        m_timer.start(m_reply.slowMs);
    else
        sendHead();
}

MockReply MockConnection::controlReply(const MockRequest &request)
{
    MockReply reply;
    if (request.method == "GET" && request.path() == "/_mock/journal") {
        reply.body = m_journal.toJson();
    } else if (request.method == "POST" && request.path() == "/_mock/reset") {
        m_journal.clear();
        reply.body = R"({"ok":true})";
    } else {
        reply.status = 404;
        reply.body = R"({"error":"unknown mock control endpoint"})";
    }
    return reply;
}

void MockConnection::sendHead()
{
    m_headSent = true;
    QByteArray bytes = m_reply.head(!m_current.keepAlive);
    if (m_reply.streamed) {
        if (write(bytes))
            sendEvents();
        return;
    }
    if (m_reply.resetAfter >= 0) {
        // Content-Length promises the whole body; half of it then a reset is a truncated answer.
        if (write(bytes.append(m_reply.body.first(m_reply.body.size() / 2))))
            resetConnection();
        return;
    }
    if (write(bytes.append(m_reply.body)))
        finish();
}

void MockConnection::sendEvents()
{
    const qsizetype count = m_reply.chunks.size();
    for (;;) {
        if (m_reply.resetAfter >= 0 && m_nextChunk >= m_reply.resetAfter) {
            resetConnection();
            return;
        }
        if (m_nextChunk == count)
            break;
        if (!write(m_reply.chunks.at(m_nextChunk++)))
            return;
        if (m_reply.gapMs > 0 && m_nextChunk < count) {
            m_timer.start(m_reply.gapMs);
            return;
        }
    }
    if (write(lastChunk))
        finish();
}

void MockConnection::finish()
{
    // "completed" means handed to the kernel; a slow reader may still hold some of it back.
    if (m_socket->bytesToWrite() > 0) {
        m_stage = Stage::Draining;
        return;
    }
    complete();
}

void MockConnection::complete()
{
    if (m_current.seq != 0)
        m_journal.markCompleted(m_current.seq);
    if (m_current.keepAlive) {
        m_stage = Stage::Idle;
        return;
    }
    m_stage = Stage::Closed;
    m_socket->disconnectFromHost();
}

void MockConnection::resetConnection()
{
    m_stage = Stage::Closed;
    m_socket->flush();
    // SO_LINGER with a zero timeout turns close() into a RST instead of an orderly FIN.
    const linger abortive{1, 0};
    ::setsockopt(int(m_socket->socketDescriptor()), SOL_SOCKET, SO_LINGER, &abortive,
                 sizeof abortive);
    m_socket->abort();
    deleteLater();
}

bool MockConnection::write(QByteArrayView bytes)
{
    if (m_stage == Stage::Closed || m_socket->state() != QAbstractSocket::ConnectedState)
        return false;
    m_socket->write(bytes.data(), bytes.size());
    m_socket->flush();
    // A write to a peer that is gone reports the hang-up synchronously.
    return m_stage != Stage::Closed;
}

void MockConnection::onTimer()
{
    if (m_stage != Stage::Answering)
        return;
    if (m_headSent)
        sendEvents();
    else
        sendHead();
    pump();
}

void MockConnection::onBytesWritten()
{
    if (m_stage != Stage::Draining || m_socket->bytesToWrite() > 0)
        return;
    complete();
    pump();
}

void MockConnection::onDisconnected()
{
    m_timer.stop();
    deleteLater();
    if (m_stage == Stage::Closed)
        return; // we closed it ourselves: after the last answer, or a scripted reset
    if (m_stage != Stage::Idle && m_current.seq != 0)
        m_journal.markClientClosed(m_current.seq);
    for (const MockRequest &queued : m_queue) {
        if (queued.seq != 0)
            m_journal.markClientClosed(queued.seq);
    }
    m_queue.clear();
    m_stage = Stage::Closed;
}

} // namespace tollgate::testsupport
