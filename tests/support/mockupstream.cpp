#include "mockupstream.h"

#include "mockworker.h"

#include <QThread>

#include <future>

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
    for (int i = 0; i < qMax(1, m_threadCount); ++i)
        m_workers.append(new MockWorker(m_requiredKey, m_journal));
    m_nextWorker = 0;
    const bool listening =
        m_threadCount == 0 ? listenInline(address, port) : listenThreaded(address, port);
    const MockWorker *first = m_workers.first();
    m_address = first->serverAddress();
    m_errorString = first->errorString();
    if (!listening) {
        close();
        return false;
    }
    m_port = first->serverPort();
    return true;
}

void MockUpstream::close()
{
    // The first thread holds the listener: stopping it first means no more dispatching.
    for (QThread *thread : std::as_const(m_threads)) {
        thread->quit();
        thread->wait();
        delete thread; // its worker went with it (deleteLater on finished)
    }
    if (m_threads.isEmpty())
        qDeleteAll(m_workers);
    m_threads.clear();
    m_workers.clear();
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

bool MockUpstream::listenInline(const QHostAddress &address, quint16 port)
{
    MockWorker *worker = m_workers.first();
    worker->setParent(this);
    return worker->listen(address, port, [this](qintptr descriptor) { dispatch(descriptor); });
}

bool MockUpstream::listenThreaded(const QHostAddress &address, quint16 port)
{
    for (qsizetype i = 0; i < m_workers.size(); ++i) {
        auto *thread = new QThread;
        thread->setObjectName(QStringLiteral("mock-upstream-%1").arg(i));
        m_workers[i]->moveToThread(thread);
        // Documented way to free an object of a thread in that thread once its loop has stopped.
        connect(thread, &QThread::finished, m_workers[i], &QObject::deleteLater);
        m_threads.append(thread);
    }
    // The first thread creates the listener as its very first act, so everything it reads was
    // written before the thread started, and the promise hands the result back.
    std::promise<bool> listening;
    std::future<bool> result = listening.get_future();
    MockWorker *first = m_workers.first();
    const QMetaObject::Connection connection = connect(
        m_threads.first(), &QThread::started, first,
        [&] {
            listening.set_value(
                first->listen(address, port, [this](qintptr descriptor) { dispatch(descriptor); }));
        },
        Qt::DirectConnection);
    for (QThread *thread : std::as_const(m_threads))
        thread->start();
    const bool ok = result.get();
    disconnect(connection);
    return ok;
}

void MockUpstream::dispatch(qintptr descriptor)
{
    MockWorker *worker = m_workers.at(m_nextWorker);
    m_nextWorker = (m_nextWorker + 1) % m_workers.size();
    worker->enqueue(descriptor);
}

} // namespace tollgate::testsupport
