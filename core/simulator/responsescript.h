#pragma once

#include "http/httpmessage.h"

#include <QByteArray>
#include <QList>

namespace tollgate::simulator {

/// A whole simulated HTTP response and when each part of it leaves, in milliseconds from the
/// request's arrival: the simulator decides everything first and then only keeps time.
struct ResponseScript {
    struct Part {
        qint64 atMs = 0;
        QByteArray bytes;
    };

    int status = 200;
    http::HeaderList headers;
    /// Chunked, with the head going out with the first part; otherwise `parts` holds exactly one
    /// part, the body.
    bool streamed = false;
    QList<Part> parts;

    /// When the last part leaves.
    qint64 endMs() const { return parts.isEmpty() ? 0 : parts.constLast().atMs; }
};

} // namespace tollgate::simulator
