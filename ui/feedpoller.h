#pragma once

#include "metering/requestrecord.h"

#include <QObject>
#include <QTimer>

#include <functional>
#include <optional>

namespace tollgate::metering {
class RequestFeed;
class RunningRequests;
} // namespace tollgate::metering

namespace tollgate::ui {

/// Pulls the gateway's finished requests on a clock (about 4 Hz) and hands them on as one batch
/// per tick, so views redraw at most that often whatever the request rate.
class FeedPoller : public QObject {
    Q_OBJECT
public:
    static constexpr int kDefaultIntervalMs = 250;
    /// Records taken per tick at most; a burst beyond it arrives over the next ticks.
    static constexpr int kMaxPerTick = 20000;

    /// With `running`, also takes the requests in flight on every tick (and turns them on).
    explicit FeedPoller(metering::RequestFeed &feed, metering::RunningRequests *running = nullptr,
                        QObject *parent = nullptr);

    void setIntervalMs(int intervalMs) { m_timer.setInterval(intervalMs); }
    /// Polls now instead of waiting for the next tick.
    void pollNow();

    /// What one tick found.
    struct Poll {
        /// New records, oldest first.
        QList<metering::RequestRecord> finished;
        /// Records that left the feed before this poller read them (it fell behind).
        quint64 lost = 0;
        /// The requests in flight, when the poller watches them: on every tick while there are
        /// any, and once when the last one ends.
        std::optional<QList<metering::RequestRecord>> running;
        qint64 nowMs = 0;
    };

    /// Who keeps the records: the request log's model. It is handed each poll once the handlers
    /// of polled() have seen it, so the records are moved to it, not copied (a tick carries 1,250
    /// at 5,000 req/s, and copying them was a third of the tick). A handler connected queued
    /// would hold a copy of the poll, and the move would copy after all.
    using Keeper = std::function<void(Poll &&poll)>;
    void setKeeper(Keeper keeper) { m_keeper = std::move(keeper); }

Q_SIGNALS:
    /// On a tick with new records, lost ones or requests in flight: all of it at once, so a
    /// view changes once a tick. The keeper takes it after.
    void polled(const tollgate::ui::FeedPoller::Poll &poll);
    /// Once per tick, with or without records: for views that show time passing.
    void ticked();

private:
    metering::RequestFeed &m_feed;
    metering::RunningRequests *m_running;
    bool m_hadRunning = false;
    QTimer m_timer;
    quint64 m_lastId = 0;
    Keeper m_keeper;
    bool m_polling = false;
};

} // namespace tollgate::ui
