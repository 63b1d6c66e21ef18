#pragma once

#include <QtGlobal>

#include <chrono>
#include <optional>

namespace tollgate::store {

class SqliteWriter;

/// A store's pending writes as its SqliteWriter sees them. The store keeps them in whatever
/// shape suits it (a FIFO of rows, a map that merges increments, a map by cache key) and changes
/// them only under SqliteWriter::lock(); the writer decides when a batch is due, takes it and
/// commits it on its own thread.
class SqliteWriteQueue {
public:
    using Clock = std::chrono::steady_clock;
    /// What takeBatch() returns when its batch completes every write accepted so far.
    static constexpr quint64 kEverythingAccepted = ~quint64(0);

    virtual ~SqliteWriteQueue() = default;

    /// Lock held. Whether a batch should be taken now; `urgent` while a flush waits or the
    /// writer is stopping. When not, may move `wakeAt` earlier, to when one falls due.
    virtual bool batchDue(Clock::time_point now, bool urgent, Clock::time_point &wakeAt) = 0;
    /// Lock held. Moves the next batch out of the queue and returns how many of the accepted
    /// writes (SqliteWriter::accepted) it completes, or kEverythingAccepted.
    virtual quint64 takeBatch() = 0;
    /// Lock not held. Commits the batch taken last; false when none of it was committed.
    virtual bool writeBatch(SqliteWriter &writer) = 0;
    /// Lock held. After writeBatch(): count or put back what failed, release what was in flight.
    virtual void batchDone(bool written, bool stopping) = 0;
    /// Lock not held. Upkeep such as retention: on the writer's timer (no argument) or for
    /// SqliteWriter::maintain(argument), which returns the result.
    virtual qint64 maintain(SqliteWriter &writer, std::optional<qint64> argument) = 0;
};

} // namespace tollgate::store
