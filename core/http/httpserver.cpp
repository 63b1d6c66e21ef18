#include "http/httpserver.h"

#include <QTcpServer>
#include <QThread>

namespace tollgate::http {

/// Lives on one worker thread: owns its handler and the connections handed to it.
class ServerWorker : public QObject {
public:
    ServerWorker(const HttpServer::HandlerFactory &factory, HttpServer::Options options,
                 std::atomic<int> *openConnections)
        : m_factory(factory)
        , m_options(options)
        , m_openConnections(openConnections)
    {
    }

    void adopt(qintptr descriptor)
    {
        if (!m_handler)
            m_handler = m_factory();
        auto *connection = new ServerConnection(descriptor, m_handler.get(), m_options.limits,
                                                m_options.timeouts, this);
        if (!connection->isValid()) {
            delete connection;
            return;
        }
        m_openConnections->fetch_add(1);
        connect(connection, &ServerConnection::closed, this,
                [this] { m_openConnections->fetch_sub(1); });
    }

    void closeConnections(bool idleOnly)
    {
        const auto connections = findChildren<ServerConnection *>(Qt::FindDirectChildrenOnly);
        for (ServerConnection *connection : connections) {
            if (!idleOnly || connection->isIdle())
                connection->close();
        }
    }

    /// Runs on the worker thread before it ends, so handlers and sockets die where they live.
    void shutdown()
    {
        closeConnections(false);
        qDeleteAll(children());
        m_handler.reset();
    }

private:
    HttpServer::HandlerFactory m_factory;
    HttpServer::Options m_options;
    std::atomic<int> *m_openConnections;
    std::unique_ptr<RequestHandler> m_handler;
};

namespace {
/// A QTcpServer that passes raw descriptors on instead of creating sockets on its own thread.
class Acceptor : public QTcpServer {
public:
    explicit Acceptor(std::function<void(qintptr)> onConnection, QObject *parent)
        : QTcpServer(parent)
        , m_onConnection(std::move(onConnection))
    {
    }

protected:
    void incomingConnection(qintptr descriptor) override { m_onConnection(descriptor); }

private:
    std::function<void(qintptr)> m_onConnection;
};
} // namespace

HttpServer::HttpServer(Options options, HandlerFactory factory, QObject *parent)
    : QObject(parent)
    , m_options(options)
    , m_factory(std::move(factory))
{
}

HttpServer::~HttpServer()
{
    stop();
}

bool HttpServer::listen(const QHostAddress &address, quint16 port, QString *error)
{
    const int count = m_options.workers > 0 ? m_options.workers : QThread::idealThreadCount();
    for (int i = 0; i < count; ++i) {
        auto *thread = new QThread;
        thread->setObjectName(QStringLiteral("http-worker-%1").arg(i));
        auto *worker = new ServerWorker(m_factory, m_options, &m_openConnections);
        worker->moveToThread(thread);
        connect(thread, &QThread::finished, worker, &QObject::deleteLater);
        thread->start();
        m_threads.push_back(thread);
        m_workers.push_back(worker);
    }
    m_acceptor = new Acceptor([this](qintptr descriptor) { dispatch(descriptor); }, this);
    m_acceptor->setMaxPendingConnections(1024);
    if (!m_acceptor->listen(address, port)) {
        if (error)
            *error = QStringLiteral("cannot listen on %1:%2: %3")
                         .arg(address.toString())
                         .arg(port)
                         .arg(m_acceptor->errorString());
        stop();
        return false;
    }
    return true;
}

QHostAddress HttpServer::serverAddress() const
{
    return m_acceptor ? m_acceptor->serverAddress() : QHostAddress();
}

quint16 HttpServer::serverPort() const
{
    return m_acceptor ? m_acceptor->serverPort() : 0;
}

void HttpServer::dispatch(qintptr descriptor)
{
    ServerWorker *worker = m_workers[m_next++ % m_workers.size()];
    QMetaObject::invokeMethod(
        worker, [worker, descriptor] { worker->adopt(descriptor); }, Qt::QueuedConnection);
}

void HttpServer::stopListening()
{
    if (m_acceptor)
        m_acceptor->close();
}

bool HttpServer::resumeListening(const QHostAddress &address, quint16 port, QString *error)
{
    if (!m_acceptor || m_acceptor->isListening())
        return m_acceptor != nullptr;
    if (m_acceptor->listen(address, port))
        return true;
    if (error)
        *error = QStringLiteral("cannot listen on %1:%2: %3")
                     .arg(address.toString())
                     .arg(port)
                     .arg(m_acceptor->errorString());
    return false;
}

void HttpServer::closeIdleConnections()
{
    for (ServerWorker *worker : m_workers)
        QMetaObject::invokeMethod(
            worker, [worker] { worker->closeConnections(true); }, Qt::QueuedConnection);
}

void HttpServer::stop()
{
    stopListening();
    for (ServerWorker *worker : m_workers)
        QMetaObject::invokeMethod(
            worker, [worker] { worker->shutdown(); }, Qt::BlockingQueuedConnection);
    for (QThread *thread : m_threads) {
        thread->quit();
        thread->wait();
        delete thread;
    }
    m_threads.clear();
    m_workers.clear();
}

} // namespace tollgate::http
