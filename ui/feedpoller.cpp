#include "feedpoller.h"

#include "metering/requestfeed.h"

namespace tollgate::ui {

FeedPoller::FeedPoller(metering::RequestFeed &feed, QObject *parent)
    : QObject(parent)
    , m_feed(feed)
{
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
    Q_EMIT ticked();
}

} // namespace tollgate::ui
