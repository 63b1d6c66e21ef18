#pragma once

#include "mockrequest.h"

#include <QJsonObject>
#include <QList>
#include <QMutex>

namespace tollgate::testsupport {

/// What the mock upstream saw of one request and how its answer ended.
struct JournalEntry {
    quint64 seq = 0;
    QByteArray method;
    QByteArray path; ///< request target as sent, query included
    MockHeaders headers;
    QByteArray body;
    bool completed = false;    ///< the whole response was handed to the kernel
    bool clientClosed = false; ///< the client hung up before the response was complete

    QByteArray header(QByteArrayView name) const { return headerValue(headers, name); }
    /// {"seq","method","path","headers":{name: value},"body","completed","client_closed"}
    QJsonObject toJson() const;
};

/// The requests the mock received, shared by all its worker threads. Bounded: only the newest
/// `limit` entries are kept so that a long benchmark does not grow without end.
class MockJournal {
public:
    /// Assigns the next sequence number (also when the limit is 0) and stores the entry.
    quint64 record(const MockRequest &request);
    void markCompleted(quint64 seq);
    void markClientClosed(quint64 seq);

    QList<JournalEntry> entries() const;
    QByteArray toJson() const;
    /// Drops the entries; sequence numbers keep counting so in-flight answers never touch a
    /// newer entry.
    void clear();
    void setLimit(int limit);

private:
    JournalEntry *find(quint64 seq); // the caller holds m_mutex

    mutable QMutex m_mutex;
    QList<JournalEntry> m_entries;
    quint64 m_lastSeq = 0;
    int m_limit = 10000;
};

} // namespace tollgate::testsupport
