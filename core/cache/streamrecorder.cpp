#include "cache/streamrecorder.h"

#include <utility>

namespace tollgate::cache {

void StreamRecorder::onEvent(const http::SseEvent &event)
{
    if (m_overflowed)
        return;
    m_bytes += event.raw.size();
    if (m_bytes > m_maxBytes) {
        m_overflowed = true;
        m_events = {};
        return;
    }
    // Shares the relayed bytes (implicitly shared QByteArray): recording copies nothing.
    m_events.append(event.raw);
}

QList<QByteArray> StreamRecorder::takeEvents()
{
    m_bytes = 0;
    return std::exchange(m_events, {});
}

} // namespace tollgate::cache
