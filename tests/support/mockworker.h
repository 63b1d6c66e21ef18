#pragma once

#include <QByteArray>
#include <QHostAddress>
#include <QObject>

#include <functional>
#include <mutex>
#include <vector>

namespace tollgate::testsupport {

class MockJournal;
class MockListener;

/// One event loop of the mock upstream: owns the connections it is handed, and on the first
/// worker also the listener. Descriptors cross threads through a std::mutex-guarded queue and
/// a string-based queued call, so ThreadSanitizer sees every hand-off even with an
/// uninstrumented Qt (a queued functor would be allocated and run in instrumented code on two
/// threads with the synchronisation hidden inside libQt6Core).
class MockWorker : public QObject {
    Q_OBJECT

public:
    MockWorker(const QByteArray &requiredKey, MockJournal &journal);
    ~MockWorker() override;

    /// Thread-safe: queues an accepted socket for this worker's thread.
    void enqueue(qintptr descriptor);
    /// Creates the listener on this worker's thread; `dispatch` picks a worker per connection.
    bool listen(const QHostAddress &address, quint16 port, std::function<void(qintptr)> dispatch);
    quint16 serverPort() const { return m_serverPort; }
    QHostAddress serverAddress() const { return m_serverAddress; }
    QString errorString() const { return m_errorString; }

private:
    Q_INVOKABLE void adoptPending();

    const QByteArray m_requiredKey;
    MockJournal &m_journal;
    std::mutex m_pendingMutex;
    std::vector<qintptr> m_pending;
    MockListener *m_listener = nullptr;
    quint16 m_serverPort = 0;
    QHostAddress m_serverAddress;
    QString m_errorString;
};

} // namespace tollgate::testsupport
