#pragma once

#include "mockjournal.h"

#include <QHostAddress>
#include <QList>
#include <QObject>
#include <QUrl>

class QThread;

namespace tollgate::testsupport {

class MockWorker;

/// A fake LLM provider on a real socket: the Anthropic Messages and OpenAI Chat Completions APIs
/// over HTTP/1.1 (keep-alive, pipelining, chunked SSE), faults injected per request through the
/// scenario grammar (see README.md), and a journal of what it received.
///
/// With threads() == 0 everything runs on the thread that owns this object. With N > 0, the
/// listener and the connections live on N worker threads of their own, so the mock keeps serving
/// while the owning thread blocks (e.g. in QProcess::waitForFinished).
class MockUpstream : public QObject {
    Q_OBJECT

public:
    explicit MockUpstream(QObject *parent = nullptr);
    ~MockUpstream() override;

    /// Worker threads; takes effect at the next listen().
    void setThreads(int threads);
    int threads() const { return m_threadCount; }
    /// Requests without `x-api-key: KEY` or `Authorization: Bearer KEY` get a 401. Set before
    /// listen(); an empty key turns the check off.
    void setRequiredKey(const QByteArray &key);
    /// Newest entries kept in the journal (default 10000); 0 keeps none.
    void setJournalLimit(int entries);

    bool listen(const QHostAddress &address = QHostAddress::LocalHost, quint16 port = 0);
    void close();
    bool isListening() const { return m_port != 0; }
    quint16 port() const { return m_port; }
    QHostAddress address() const { return m_address; }
    /// http://HOST:PORT, without a path.
    QUrl baseUrl() const;
    QString errorString() const { return m_errorString; }

    /// Thread-safe: a snapshot of the journal.
    QList<JournalEntry> journal() const;
    /// The same JSON array as GET /_mock/journal.
    QByteArray journalJson() const;
    void clearJournal();

private:
    bool listenInline(const QHostAddress &address, quint16 port);
    bool listenThreaded(const QHostAddress &address, quint16 port);
    void dispatch(qintptr descriptor);

    MockJournal m_journal;
    QByteArray m_requiredKey;
    int m_threadCount = 0;
    QList<MockWorker *> m_workers; ///< the first one also listens
    QList<QThread *> m_threads;    ///< one per worker; empty when serving inline
    qsizetype m_nextWorker = 0;    ///< touched only on the listener's thread
    QHostAddress m_address;
    quint16 m_port = 0;
    QString m_errorString;
};

} // namespace tollgate::testsupport
