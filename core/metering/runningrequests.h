#pragma once

#include "metering/requestrecord.h"

#include <QHash>
#include <QList>
#include <QMutex>

#include <atomic>

namespace tollgate::metering {

/// The requests in flight, for a watching console: what each is known to be once it is sent
/// upstream (status 0, no latency yet). Consumers take a snapshot on their own clock, never a
/// signal per request. Off until a consumer enables it, so a gateway nobody watches pays one
/// atomic load per request; at most kMaxRunning are kept.
class RunningRequests {
public:
    static constexpr int kMaxRunning = 10000;

    void setEnabled(bool enabled);
    bool isEnabled() const { return m_enabled.load(std::memory_order_relaxed); }

    /// A request went upstream. Ignored while off, or when kMaxRunning are running.
    void begin(const RequestRecord &started);
    /// It finished (or was abandoned); safe to call for an id that never began.
    void end(const QString &id);
    /// The requests running now, oldest start first.
    QList<RequestRecord> snapshot() const;

private:
    std::atomic<bool> m_enabled{false};
    mutable QMutex m_mutex;
    QHash<QString, RequestRecord> m_running;
};

} // namespace tollgate::metering
