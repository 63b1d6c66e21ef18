#pragma once

#include "http/requesthandler.h"
#include "http/serverconnection.h"

#include <QHostAddress>
#include <QObject>

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

class QThread;
class QTcpServer;

namespace tollgate::http {

class ServerWorker;

/// HTTP/1.1 server: one acceptor on the owner's thread hands connections round-robin to N
/// worker threads, each with its own event loop, request handler and connections.
class HttpServer : public QObject {
    Q_OBJECT
public:
    /// Builds a worker's handler; called once on each worker thread.
    using HandlerFactory = std::function<std::unique_ptr<RequestHandler>()>;

    struct Options {
        int workers = 0; ///< 0: one per core
        RequestLimits limits;
        ConnectionTimeouts timeouts;
    };

    HttpServer(Options options, HandlerFactory factory, QObject *parent = nullptr);
    ~HttpServer() override;

    /// Starts the workers and listens; on failure returns false with a reason.
    bool listen(const QHostAddress &address, quint16 port, QString *error);
    QHostAddress serverAddress() const;
    quint16 serverPort() const;
    /// Stops accepting; open connections go on.
    void stopListening();
    /// Listens again after stopListening(), with the same workers.
    bool resumeListening(const QHostAddress &address, quint16 port, QString *error);
    /// Closes keep-alive connections that wait for a request (used while draining).
    void closeIdleConnections();
    /// Closes every connection and joins the worker threads.
    void stop();

    int workerCount() const { return int(m_workers.size()); }
    int openConnections() const { return m_openConnections.load(); }

private:
    void dispatch(qintptr descriptor);

    Options m_options;
    HandlerFactory m_factory;
    QTcpServer *m_acceptor = nullptr;
    std::vector<QThread *> m_threads;
    std::vector<ServerWorker *> m_workers;
    size_t m_next = 0;
    std::atomic<int> m_openConnections{0};
};

} // namespace tollgate::http
