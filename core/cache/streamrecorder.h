#pragma once

#include "http/sseparser.h"

#include <QByteArray>
#include <QList>

namespace tollgate::cache {

/// Keeps the raw events of a live stream as the tee relays them, for the cache.
///
/// It gives up as soon as the recording would exceed the entry limit and frees what it held, so
/// a long stream that could never be stored costs no memory beyond the limit. Whether the stream
/// is worth storing (2xx, reached its final event) is the caller's decision at the end.
class StreamRecorder {
public:
    explicit StreamRecorder(qint64 maxBytes)
        : m_maxBytes(maxBytes)
    {
    }

    void onEvent(const http::SseEvent &event);

    /// The recording passed the limit and was dropped; later events are ignored.
    bool overflowed() const { return m_overflowed; }
    qint64 bytes() const { return m_bytes; }
    /// Hands the events over and leaves the recorder empty; empty when it overflowed.
    QList<QByteArray> takeEvents();

private:
    qint64 m_maxBytes;
    qint64 m_bytes = 0;
    bool m_overflowed = false;
    QList<QByteArray> m_events;
};

} // namespace tollgate::cache
