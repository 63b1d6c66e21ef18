#pragma once

#include "simulator/simulatoroptions.h"

#include <QObject>
#include <QString>
#include <QUrl>

#include <atomic>

class QThread;

namespace tollgate::http {
class HttpServer;
}

namespace tollgate::simulator {

/// The built-in simulated provider: Anthropic and OpenAI endpoints on a loopback port, served on
/// threads of its own with realistic latency, usage, streaming and occasional errors, so that the
/// gateway and the console work without any provider key. It accepts any key, reads none, and
/// never connects anywhere.
class SimulatorServer : public QObject {
    Q_OBJECT
public:
    explicit SimulatorServer(SimulatorOptions options = {}, QObject *parent = nullptr);
    /// Stops serving and joins its threads.
    ~SimulatorServer() override;

    /// Serves on 127.0.0.1:`port` (0: any free port); on failure returns false with a reason.
    bool listen(quint16 port = 0, QString *error = nullptr);
    /// Closes every connection and joins the threads; listen() may be called again.
    void stop();

    bool isListening() const { return m_port != 0; }
    quint16 port() const { return m_port; }
    /// http://127.0.0.1:PORT, the base URL for both providers.
    QUrl baseUrl() const;
    const SimulatorOptions &options() const { return m_options; }
    /// Requests answered or being answered since the server was made.
    quint64 requestCount() const { return m_sequence.load(); }

private:
    SimulatorOptions m_options;
    QThread *m_thread = nullptr;
    /// Lives on m_thread: the context that runs the HTTP server's setup and teardown there.
    QObject *m_anchor = nullptr;
    http::HttpServer *m_server = nullptr;
    quint16 m_port = 0;
    std::atomic<quint64> m_sequence{0};
};

} // namespace tollgate::simulator
