#pragma once

#include "gateway/gateway.h"

#include <QHostAddress>
#include <QThread>

#include <memory>

namespace tollgate::gateway {

/// Runs a Gateway on a thread of its own, for a program whose main thread is busy with other
/// things (the console's GUI): the acceptor, the timers and the drain happen there, the workers
/// on their own threads as always, and the caller's thread never touches the request path.
class GatewayThread {
public:
    explicit GatewayThread(PolicyDocument policy);
    ~GatewayThread(); ///< stop()

    /// Starts the thread and the gateway; blocks until it listens or has failed (with a reason).
    bool start(QString *error);
    /// Drains in-flight requests (up to the policy's drain timeout), then ends the thread.
    void stop();
    bool isRunning() const { return m_gateway != nullptr; }

    /// Gateway::pause() or resume() on the gateway's thread; the state stays either way.
    bool setServing(bool serving, QString *error);
    bool isServing() const { return m_gateway && !m_gateway->isPaused(); }

    /// Same as Gateway::applyPolicy, run on the gateway's thread.
    bool applyPolicy(PolicyDocument policy, QString *error);

    QHostAddress address() const { return m_address; }
    quint16 port() const { return m_port; }
    /// The shared state; its members are thread-safe (or read-only) for any thread.
    GatewayContext *context() const { return m_gateway ? &m_gateway->context() : nullptr; }

private:
    /// Runs `work` on the gateway's thread and waits for it.
    void runThere(const std::function<void()> &work);

    PolicyDocument m_policy;
    QThread m_thread;
    std::unique_ptr<QObject> m_anchor; ///< lives on m_thread: the target of runThere()
    Gateway *m_gateway = nullptr;      ///< created, used and deleted on m_thread
    QHostAddress m_address;
    quint16 m_port = 0;
};

} // namespace tollgate::gateway
