#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QPair>

namespace tollgate::testsupport {

/// Header fields in arrival order with lower-cased names; repeated fields stay separate.
using MockHeaders = QList<QPair<QByteArray, QByteArray>>;

/// The value of the first field called `name` (lower case), or an empty array.
QByteArray headerValue(const MockHeaders &headers, QByteArrayView name);

/// One HTTP request as the mock upstream received it.
struct MockRequest {
    quint64 seq = 0; ///< journal sequence number; 0 for /_mock/ control requests
    QByteArray method;
    QByteArray target; ///< request target as sent, query included
    MockHeaders headers;
    QByteArray body; ///< de-chunked
    bool keepAlive = true;
    bool malformed = false; ///< http-parser rejected the bytes; answer 400 and close

    QByteArray header(QByteArrayView name) const { return headerValue(headers, name); }
    /// The target without its query string.
    QByteArrayView path() const;
    bool isControl() const { return path().startsWith("/_mock/"); }
};

} // namespace tollgate::testsupport
