#include "simulator/simulatorserver.h"

#include "http/httpexchange.h"
#include "http/httpserver.h"
#include "simulator/responsesynthesizer.h"
#include "simulator/scriptplayer.h"

#include <QDateTime>
#include <QThread>

namespace tollgate::simulator {

namespace {

/// Answers on the server's worker thread; request numbers are shared by all workers.
class SimulatorHandler : public http::RequestHandler {
public:
    SimulatorHandler(const SimulatorOptions &options, std::atomic<quint64> *sequence)
        : m_synthesizer(options)
        , m_sequence(sequence)
    {
    }

    void handle(http::HttpExchange *exchange) override
    {
        const quint64 sequence = m_sequence->fetch_add(1) + 1;
        ScriptPlayer::play(exchange, m_synthesizer.respond(exchange->request(), sequence,
                                                           QDateTime::currentSecsSinceEpoch()));
    }

    QByteArray errorBody(const QByteArray &path, int status, const QString &message) override
    {
        return m_synthesizer.errorBody(path, status, message);
    }

private:
    ResponseSynthesizer m_synthesizer;
    std::atomic<quint64> *m_sequence;
};

} // namespace

SimulatorServer::SimulatorServer(SimulatorOptions options, QObject *parent)
    : QObject(parent)
    , m_options(options)
{
}

SimulatorServer::~SimulatorServer()
{
    stop();
}

bool SimulatorServer::listen(quint16 port, QString *error)
{
    if (m_thread) {
        if (error)
            *error = QStringLiteral("the simulator is already listening on port %1").arg(m_port);
        return false;
    }
    // A thread of its own accepts, so a caller that blocks (a test waiting on a process, a busy
    // GUI thread) never holds up the simulated provider; one worker keeps answers in order.
    m_thread = new QThread;
    m_thread->setObjectName(QStringLiteral("simulator"));
    m_anchor = new QObject;
    m_anchor->moveToThread(m_thread);
    connect(m_thread, &QThread::finished, m_anchor, &QObject::deleteLater);
    m_thread->start();

    bool listening = false;
    QString reason;
    const SimulatorOptions options = m_options;
    std::atomic<quint64> *sequence = &m_sequence;
    QMetaObject::invokeMethod(
        m_anchor,
        [&] {
            http::HttpServer::Options serverOptions;
            serverOptions.workers = 1;
            m_server = new http::HttpServer(
                serverOptions,
                [options, sequence] {
                    return std::make_unique<SimulatorHandler>(options, sequence);
                },
                m_anchor);
            listening = m_server->listen(QHostAddress::LocalHost, port, &reason);
            if (listening)
                m_port = m_server->serverPort();
        },
        Qt::BlockingQueuedConnection);
    if (!listening) {
        stop();
        if (error)
            *error = reason;
        return false;
    }
    return true;
}

void SimulatorServer::stop()
{
    if (!m_thread)
        return;
    QMetaObject::invokeMethod(
        m_anchor,
        [this] {
            delete m_server; // stops its worker and closes every connection, on its own thread
            m_server = nullptr;
        },
        Qt::BlockingQueuedConnection);
    m_thread->quit();
    m_thread->wait();
    delete m_thread;
    m_thread = nullptr;
    m_anchor = nullptr; // deleted by the thread's finished signal
    m_port = 0;
}

QUrl SimulatorServer::baseUrl() const
{
    return QUrl(QStringLiteral("http://127.0.0.1:%1").arg(m_port));
}

} // namespace tollgate::simulator
