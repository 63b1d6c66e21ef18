#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>

namespace tollgate::http {

/// One Server-Sent Event: its fields and the exact bytes it arrived as (to relay unchanged).
struct SseEvent {
    QByteArray event; ///< value of the `event:` field, empty when absent
    QByteArray data;  ///< `data:` lines joined with '\n'
    QByteArray raw;   ///< the event's bytes including the blank line that ends it
};

/// Splits a byte stream into complete SSE events, tolerating any chunking and LF/CRLF/CR endings.
class SseParser {
public:
    /// Consumes a chunk and returns the events it completes; a partial event waits for more bytes.
    QList<SseEvent> feed(QByteArrayView chunk);
    /// Bytes of an event that has started but not ended.
    bool hasPartialEvent() const { return !m_buffer.isEmpty(); }

private:
    enum class LineEnding { Unknown, Lf, CrLf, Cr };

    void processLine(QByteArrayView line);

    // Bytes of the current event from its first byte; raw of the event when it ends.
    QByteArray m_buffer;
    // Offsets into the current event's bytes, so a chunk never makes us re-read earlier ones.
    qsizetype m_lineStart = 0;
    qsizetype m_scanFrom = 0;
    // The previous chunk ended with a CR that ended a line: an LF first in the next chunk belongs
    // to that CR and is not a line of its own.
    bool m_skipLf = false;
    // How the last fully seen line ended; decides whether a blank line ending in a bare CR at the
    // end of a chunk is dispatched now or waits for a possible LF.
    LineEnding m_lastEnding = LineEnding::Unknown;
    // Fields of the current event gathered line by line.
    QByteArray m_event;
    QByteArray m_data;
    bool m_hasData = false;
};

} // namespace tollgate::http
