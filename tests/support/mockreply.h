#pragma once

#include "mockrequest.h"

#include <QByteArray>
#include <QList>

namespace tollgate::testsupport {

/// One planned answer of the mock: what to send, and how to pace or break the sending.
struct MockReply {
    int status = 200;
    QByteArray contentType = "application/json";
    MockHeaders headers;      ///< extra response fields
    QByteArray body;          ///< the whole body of a non-streamed answer
    QList<QByteArray> chunks; ///< streamed answer: one framed chunk per SSE event
    bool streamed = false;

    int slowMs = 0;
    int gapMs = 0;
    int resetAfter = -1;
    bool hang = false;

    /// Adds one SSE event (`event: TYPE` line only when type is given) as its own chunk.
    void addEvent(QByteArrayView type, QByteArrayView data);
    /// Status line and fields; Content-Length for a body, chunked framing for a stream.
    QByteArray head(bool close) const;
    static QByteArray reasonPhrase(int status);
};

} // namespace tollgate::testsupport
