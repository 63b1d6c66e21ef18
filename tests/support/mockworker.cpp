#include "mockworker.h"

#include "mockconnection.h"
#include "mocklistener.h"

#include <QThread>

#include <unistd.h>

namespace tollgate::testsupport {

MockWorker::MockWorker(const QByteArray &requiredKey, MockJournal &journal)
    : m_requiredKey(requiredKey)
    , m_journal(journal)
{
}

MockWorker::~MockWorker()
{
    // Accepted at shutdown but never adopted: nobody else will close these.
    for (const qintptr descriptor : m_pending)
        ::close(int(descriptor));
}

void MockWorker::enqueue(qintptr descriptor)
{
    if (thread() == QThread::currentThread()) {
        new MockConnection(descriptor, m_requiredKey, m_journal, this);
        return;
    }
    bool wake = false;
    {
        const std::lock_guard<std::mutex> lock(m_pendingMutex);
        wake = m_pending.empty(); // one wake-up drains everything queued behind it
        m_pending.push_back(descriptor);
    }
    if (wake)
        QMetaObject::invokeMethod(this, "adoptPending", Qt::QueuedConnection);
}

bool MockWorker::listen(const QHostAddress &address, quint16 port,
                        std::function<void(qintptr)> dispatch)
{
    m_listener = new MockListener(std::move(dispatch), this);
    const bool listening = m_listener->listen(address, port);
    m_serverPort = listening ? m_listener->serverPort() : 0;
    m_serverAddress = m_listener->serverAddress();
    m_errorString = m_listener->errorString();
    return listening;
}

void MockWorker::adoptPending()
{
    std::vector<qintptr> descriptors;
    {
        const std::lock_guard<std::mutex> lock(m_pendingMutex);
        descriptors.swap(m_pending);
    }
    for (const qintptr descriptor : descriptors)
        new MockConnection(descriptor, m_requiredKey, m_journal, this);
}

} // namespace tollgate::testsupport
