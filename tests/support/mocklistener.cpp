#include "mocklistener.h"

namespace tollgate::testsupport {

namespace {

// Benchmarks open hundreds of connections at once; the default backlog of 50 would drop SYNs.
constexpr int listenBacklog = 1024;

} // namespace

MockListener::MockListener(Dispatch dispatch, QObject *parent)
    : QTcpServer(parent)
    , m_dispatch(std::move(dispatch))
{
    setListenBacklogSize(listenBacklog);
}

void MockListener::incomingConnection(qintptr descriptor)
{
    m_dispatch(descriptor);
}

} // namespace tollgate::testsupport
