#pragma once

#include "mockreply.h"
#include "mockrequest.h"

#include <QObject>
#include <QTimer>

#include <deque>

#include <http_parser.h>

class QTcpSocket;

namespace tollgate::testsupport {

class MockJournal;

/// One client connection of the mock upstream: parses pipelined requests with http-parser and
/// answers them strictly in order, pacing, stalling or breaking each answer as its scenario says.
class MockConnection : public QObject {
    Q_OBJECT

public:
    MockConnection(qintptr descriptor, const QByteArray &requiredKey, MockJournal &journal,
                   QObject *parent);

private:
    enum class Stage { Idle, Answering, Draining, Hanging, Closed };

    static const http_parser_settings &parserSettings();
    static MockConnection *self(http_parser *parser);
    static int onMessageBegin(http_parser *parser);
    static int onUrl(http_parser *parser, const char *at, size_t length);
    static int onHeaderField(http_parser *parser, const char *at, size_t length);
    static int onHeaderValue(http_parser *parser, const char *at, size_t length);
    static int onHeadersComplete(http_parser *parser);
    static int onBody(http_parser *parser, const char *at, size_t length);
    static int onMessageComplete(http_parser *parser);

    void readRequests();
    void parse(const char *data, size_t size);
    void pump();
    void begin(MockRequest request);
    MockReply controlReply(const MockRequest &request);
    void sendHead();
    void sendEvents();
    void finish();
    void complete();
    void resetConnection();
    bool write(QByteArrayView bytes);
    void onTimer();
    void onBytesWritten();
    void onDisconnected();

    QTcpSocket *m_socket;
    MockJournal &m_journal;
    const QByteArray m_requiredKey;
    http_parser m_parser;
    QByteArray m_readBuffer;
    MockRequest m_incoming;
    bool m_inHeaderValue = false;
    bool m_ignoreInput = false;
    std::deque<MockRequest> m_queue;
    MockRequest m_current;
    MockReply m_reply;
    qsizetype m_nextChunk = 0;
    bool m_headSent = false;
    QTimer m_timer;
    Stage m_stage = Stage::Idle;
};

} // namespace tollgate::testsupport
