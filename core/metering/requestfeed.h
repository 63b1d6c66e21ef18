#pragma once

#include "metering/requestrecord.h"

#include <QList>
#include <QMutex>

#include <atomic>
#include <deque>
#include <limits>

namespace tollgate::metering {

/// The latest finished requests as a capped ring with increasing ids. Consumers (the console's
/// views, later a remote console) ask `since(lastId)` on their own clock, never get a signal per
/// request, and learn how many they missed when they fall behind. Off (capacity 0) until a
/// consumer sets a capacity, so a gateway nobody watches pays one atomic load per request.
class RequestFeed {
public:
    struct Batch {
        QList<RequestRecord> records; ///< oldest first
        quint64 lastId = 0;           ///< id of the last record returned (or the one asked for)
        quint64 lost = 0;             ///< records after the asked id that left the ring unread
    };

    /// Keeps at most `capacity` records (0 turns the feed off and empties it).
    void setCapacity(int capacity);
    int capacity() const { return m_capacity.load(std::memory_order_relaxed); }

    /// Called by every worker once per finished request; one short lock.
    void append(const RequestRecord &record);
    /// The records after `lastId`, at most `maxRecords` of them.
    Batch since(quint64 lastId, int maxRecords = std::numeric_limits<int>::max()) const;
    /// Id of the newest record (0 before the first).
    quint64 lastId() const;

private:
    std::atomic<int> m_capacity{0};
    mutable QMutex m_mutex;
    std::deque<RequestRecord> m_ring; ///< m_ring.back() has id m_nextId - 1
    quint64 m_nextId = 1;
};

} // namespace tollgate::metering
