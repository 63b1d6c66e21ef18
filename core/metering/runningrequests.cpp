#include "metering/runningrequests.h"

#include <algorithm>

namespace tollgate::metering {

void RunningRequests::setEnabled(bool enabled)
{
    QMutexLocker lock(&m_mutex);
    m_enabled.store(enabled, std::memory_order_relaxed);
    if (!enabled)
        m_running.clear();
}

void RunningRequests::begin(const RequestRecord &started)
{
    if (!isEnabled())
        return;
    QMutexLocker lock(&m_mutex);
    if (!isEnabled() || m_running.size() >= kMaxRunning)
        return;
    m_running.insert(started.id, started);
}

void RunningRequests::end(const QString &id)
{
    if (!isEnabled())
        return;
    QMutexLocker lock(&m_mutex);
    m_running.remove(id);
}

QList<RequestRecord> RunningRequests::snapshot() const
{
    QList<RequestRecord> running;
    {
        QMutexLocker lock(&m_mutex);
        running = m_running.values();
    }
    std::sort(running.begin(), running.end(), [](const RequestRecord &a, const RequestRecord &b) {
        return a.startedAtMs != b.startedAtMs ? a.startedAtMs < b.startedAtMs : a.id < b.id;
    });
    return running;
}

} // namespace tollgate::metering
