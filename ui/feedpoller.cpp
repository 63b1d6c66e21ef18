#include "feedpoller.h"

#include "metering/requestfeed.h"
#include "metering/runningrequests.h"

#include <QDateTime>
#include <QScopedValueRollback>

namespace tollgate::ui {

FeedPoller::FeedPoller(metering::RequestFeed &feed, metering::RunningRequests *running,
                       QObject *parent)
    : QObject(parent)
    , m_feed(feed)
    , m_running(running)
{
    if (m_running)
        m_running->setEnabled(true);
    m_timer.setInterval(kDefaultIntervalMs);
    connect(&m_timer, &QTimer::timeout, this, &FeedPoller::pollNow);
    m_timer.start();
}

void FeedPoller::pollNow()
{
    // A handler that spins an event loop must not start a newer poll inside this one: the
    // keeper would get the newer records first.
    if (m_polling)
        return;
    const QScopedValueRollback polling(m_polling, true);
    metering::RequestFeed::Batch batch = m_feed.since(m_lastId, kMaxPerTick);
    m_lastId = batch.lastId;
    Poll poll;
    poll.finished = std::move(batch.records);
    poll.lost = batch.lost;
    poll.nowMs = QDateTime::currentMSecsSinceEpoch();
    if (m_running) {
        QList<metering::RequestRecord> running = m_running->snapshot();
        const bool any = !running.isEmpty();
        if (any || m_hadRunning)
            poll.running = std::move(running);
        m_hadRunning = any;
    }
    if (!poll.finished.isEmpty() || poll.lost > 0 || poll.running) {
        Q_EMIT polled(poll);
        if (m_keeper)
            m_keeper(std::move(poll));
    }
    Q_EMIT ticked();
}

} // namespace tollgate::ui
