#pragma once

#include <QTcpServer>

#include <functional>

namespace tollgate::testsupport {

/// Accepts connections and hands each raw descriptor to a dispatcher, which picks the worker
/// thread that will own the socket; QTcpServer's own pending queue is never used.
class MockListener : public QTcpServer {
    Q_OBJECT

public:
    using Dispatch = std::function<void(qintptr)>;

    explicit MockListener(Dispatch dispatch, QObject *parent = nullptr);

protected:
    void incomingConnection(qintptr descriptor) override;

private:
    Dispatch m_dispatch;
};

} // namespace tollgate::testsupport
