#include "feedpoller.h"

#include "metering/requestfeed.h"
#include "metering/runningrequests.h"

#include <QDateTime>

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
    metering::RequestFeed::Batch batch = m_feed.since(m_lastId, kMaxPerTick);
    m_lastId = batch.lastId;
    if (!batch.records.isEmpty() || batch.lost > 0)
        Q_EMIT recordsArrived(batch.records, batch.lost);
    if (m_running) {
        const QList<metering::RequestRecord> running = m_running->snapshot();
        if (!running.isEmpty() || m_hadRunning)
            Q_EMIT runningPolled(running, QDateTime::currentMSecsSinceEpoch());
        m_hadRunning = !running.isEmpty();
    }
    Q_EMIT ticked();
}

} // namespace tollgate::ui
