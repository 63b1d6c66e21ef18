#include "http/sseparser.h"

#include <utility>

namespace tollgate::http {

namespace {

const char *findLineEnd(const char *from, const char *end)
{
    // A plain byte loop: it is linear whatever the line-ending style, which two memchr passes
    // (one for LF, one for CR) would not be on a CR-only stream.
    while (from < end && *from != '\n' && *from != '\r')
        ++from;
    return from;
}

} // namespace

QList<SseEvent> SseParser::feed(QByteArrayView chunk)
{
    QList<SseEvent> events;
    if (chunk.isEmpty())
        return events;

    // Upstreams usually write whole events, so when nothing is pending the chunk is parsed where
    // it lies and only the tail of an unfinished event is copied.
    const bool inPlace = m_buffer.isEmpty();
    if (!inPlace)
        m_buffer.append(chunk);
    const QByteArrayView view = inPlace ? chunk : QByteArrayView(m_buffer);
    const char *const p = view.data();
    const qsizetype n = view.size();

    qsizetype eventStart = 0;
    qsizetype lineStart = m_lineStart;
    qsizetype i = m_scanFrom;

    if (m_skipLf) {
        m_skipLf = false;
        if (p[i] == '\n') {
            m_lastEnding = LineEnding::CrLf;
            lineStart = ++i;
        } else {
            m_lastEnding = LineEnding::Cr;
        }
    }

    bool bufferTaken = false;
    while (i < n) {
        const qsizetype t = findLineEnd(p + i, p + n) - p;
        if (t == n) {
            i = n; // the line is not finished; next time resume the search here, not at its start
            break;
        }
        const QByteArrayView line(p + lineStart, t - lineStart);
        qsizetype next = t + 1;
        LineEnding ending = LineEnding::Lf;
        if (p[t] == '\r') {
            if (t + 1 < n) {
                if (p[t + 1] == '\n') {
                    ending = LineEnding::CrLf;
                    next = t + 2;
                } else {
                    ending = LineEnding::Cr;
                }
            } else if (line.isEmpty() && m_lastEnding != LineEnding::Cr) {
                // A blank line ending in a CR that may be the first half of a CRLF split across
                // chunks: wait for the next byte so the event's raw bytes include the LF and do
                // not depend on chunking. A stream seen to use bare CRs does not wait, or its
                // last event would only come out when more bytes arrive.
                i = t;
                break;
            } else {
                ending = LineEnding::Unknown;
                m_skipLf = true;
            }
        }

        if (line.isEmpty()) {
            SseEvent event;
            event.event = std::exchange(m_event, QByteArray());
            event.data = std::exchange(m_data, QByteArray());
            m_hasData = false;
            if (!inPlace && eventStart == 0 && next == n) {
                // The event is the whole buffer: hand it over instead of copying it.
                event.raw = std::move(m_buffer);
                bufferTaken = true;
            } else {
                event.raw = QByteArray(p + eventStart, next - eventStart);
            }
            events.append(std::move(event));
            eventStart = next;
        } else {
            processLine(line);
        }
        if (ending != LineEnding::Unknown)
            m_lastEnding = ending;
        lineStart = i = next;
    }

    if (bufferTaken)
        m_buffer = QByteArray();
    else if (inPlace)
        m_buffer = QByteArray(p + eventStart, n - eventStart);
    else if (eventStart > 0)
        m_buffer.remove(0, eventStart);
    m_lineStart = lineStart - eventStart;
    m_scanFrom = i - eventStart;
    return events;
}

void SseParser::processLine(QByteArrayView line)
{
    if (line.front() == ':')
        return; // comment, e.g. a keep-alive; it stays in raw
    const qsizetype colon = line.indexOf(':');
    const QByteArrayView field = colon < 0 ? line : line.first(colon);
    QByteArrayView value = colon < 0 ? QByteArrayView() : line.sliced(colon + 1);
    if (value.startsWith(' '))
        value = value.sliced(1);

    if (field == "data") {
        if (m_hasData)
            m_data.append('\n');
        m_data.append(value);
        m_hasData = true;
    } else if (field == "event") {
        m_event = value.toByteArray();
    }
    // `id` and `retry` are relayed in raw; nothing in the gateway needs them parsed.
}

} // namespace tollgate::http
