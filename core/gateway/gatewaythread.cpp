#include "gateway/gatewaythread.h"

#include <QEventLoop>

namespace tollgate::gateway {

GatewayThread::GatewayThread(PolicyDocument policy)
    : m_policy(std::move(policy))
{
    m_thread.setObjectName(QStringLiteral("gateway"));
}

GatewayThread::~GatewayThread()
{
    stop();
}

void GatewayThread::runThere(const std::function<void()> &work)
{
    QMetaObject::invokeMethod(m_anchor.get(), work, Qt::BlockingQueuedConnection);
}

bool GatewayThread::start(QString *error)
{
    if (m_gateway)
        return true;
    m_anchor = std::make_unique<QObject>();
    m_anchor->moveToThread(&m_thread);
    m_thread.start();
    bool started = false;
    runThere([&] {
        auto gateway = std::make_unique<Gateway>(m_policy);
        started = gateway->start(error);
        if (!started)
            return;
        m_address = gateway->address();
        m_port = gateway->port();
        m_gateway = gateway.release();
    });
    if (!started) {
        m_thread.quit();
        m_thread.wait();
        m_anchor.reset();
    }
    return started;
}

void GatewayThread::stop()
{
    if (!m_thread.isRunning())
        return;
    if (m_gateway) {
        // The drain answers through the gateway thread's event loop: wait for it there.
        runThere([this] {
            QEventLoop loop;
            bool drained = false; // the drain may finish at once, before the loop could run
            m_gateway->drain([&] {
                drained = true;
                loop.quit();
            });
            if (!drained)
                loop.exec();
            delete m_gateway;
            m_gateway = nullptr;
        });
    }
    m_thread.quit();
    m_thread.wait();
    // The anchor belongs to the finished thread; deleting it from here is safe now.
    m_anchor.reset();
}

bool GatewayThread::setServing(bool serving, QString *error)
{
    if (!m_gateway) {
        *error = QStringLiteral("the gateway is not running");
        return false;
    }
    bool done = true;
    runThere([&] {
        if (serving)
            done = m_gateway->resume(error);
        else
            m_gateway->pause();
    });
    return done;
}

bool GatewayThread::applyPolicy(PolicyDocument policy, QString *error)
{
    if (!m_gateway) {
        *error = QStringLiteral("the gateway is not running");
        return false;
    }
    bool applied = false;
    runThere([&] { applied = m_gateway->applyPolicy(std::move(policy), error); });
    if (applied)
        m_policy = *m_gateway->context().policy();
    return applied;
}

} // namespace tollgate::gateway
