#include "mockupstream.h"

#include "mockconnection.h"
#include "mocklistener.h"

#include <QThread>

namespace tollgate::testsupport {

MockUpstream::MockUpstream(QObject *parent)
    : QObject(parent)
{
}

MockUpstream::~MockUpstream()
{
    close();
}

void MockUpstream::setThreads(int threads)
{
    m_threadCount = qMax(0, threads);
}

void MockUpstream::setRequiredKey(const QByteArray &key)
{
    m_requiredKey = key;
}

void MockUpstream::setJournalLimit(int entries)
{
    m_journal.setLimit(entries);
}

bool MockUpstream::listen(const QHostAddress &address, quint16 port)
{
    close();
    startWorkers();
    if (!startListener(address, port)) {
        stopWorkers();
        return false;
    }
    return true;
}

void MockUpstream::close()
{
    stopWorkers();
    m_port = 0;
}

QUrl MockUpstream::baseUrl() const
{
    QUrl url;
    url.setScheme(QStringLiteral("http"));
    // A wildcard address is not something a client can connect to; loopback always is.
    const bool wildcard = m_address == QHostAddress::Any || m_address == QHostAddress::AnyIPv4 ||
                          m_address == QHostAddress::AnyIPv6;
    url.setHost(wildcard ? QStringLiteral("127.0.0.1") : m_address.toString());
    url.setPort(m_port);
    return url;
}

QList<JournalEntry> MockUpstream::journal() const
{
    return m_journal.entries();
}

QByteArray MockUpstream::journalJson() const
{
    return m_journal.toJson();
}

void MockUpstream::clearJournal()
{
    m_journal.clear();
}

void MockUpstream::startWorkers()
{
    if (m_threadCount == 0) {
        m_workers.append({nullptr, new QObject(this)});
        return;
    }
    for (int i = 0; i < m_threadCount; ++i) {
        Worker worker{new QThread, new QObject};
        worker.thread->setObjectName(QStringLiteral("mock-upstream-%1").arg(i));
        worker.context->moveToThread(worker.thread);
        // Documented way to free objects of a thread in that thread once its loop has stopped.
        connect(worker.thread, &QThread::finished, worker.context, &QObject::deleteLater);
        worker.thread->start();
        m_workers.append(worker);
    }
}

void MockUpstream::stopWorkers()
{
    for (const Worker &worker : std::as_const(m_workers)) {
        if (worker.thread == nullptr) {
            delete worker.context;
            continue;
        }
        worker.thread->quit();
        worker.thread->wait();
        delete worker.thread;
    }
    m_workers.clear();
    m_listener = nullptr; // a child of the first worker's context, gone with it
}

bool MockUpstream::startListener(const QHostAddress &address, quint16 port)
{
    QObject *home = m_workers.first().context;
    m_listener = new MockListener([this](qintptr descriptor) { dispatch(descriptor); });
    bool listening = false;
    auto start = [&] {
        m_listener->setParent(home);
        listening = m_listener->listen(address, port);
        m_port = listening ? m_listener->serverPort() : 0;
        m_address = m_listener->serverAddress();
        m_errorString = m_listener->errorString();
    };
    if (m_workers.first().thread == nullptr) {
        start();
    } else {
        m_listener->moveToThread(m_workers.first().thread);
        QMetaObject::invokeMethod(home, start, Qt::BlockingQueuedConnection);
    }
    return listening;
}

void MockUpstream::dispatch(qintptr descriptor)
{
    QObject *context = m_workers.at(m_nextWorker).context;
    m_nextWorker = (m_nextWorker + 1) % m_workers.size();
    auto adopt = [this, descriptor, context] {
        new MockConnection(descriptor, m_requiredKey, m_journal, context);
    };
    if (context->thread() == QThread::currentThread())
        adopt();
    else
        QMetaObject::invokeMethod(context, adopt, Qt::QueuedConnection);
}

} // namespace tollgate::testsupport
