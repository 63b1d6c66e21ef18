#include "overviewpage.h"

#include "format.h"
#include "simulatedbanner.h"

#include "metering/trafficseries.h"

#include <QDateTime>
#include <QFrame>
#include <QGridLayout>
#include <QLabel>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <vector>

namespace tollgate::ui {

namespace {

using metering::TrafficSeries;

// The overhead percentiles describe the latest requests, enough for a stable p99.
constexpr size_t kOverheadSamples = 10000;
constexpr int kColumns = 4;

qint64 startOfToday(qint64 nowMs)
{
    const QDateTime now = QDateTime::fromMSecsSinceEpoch(nowMs);
    return QDateTime(now.date(), QTime(0, 0)).toMSecsSinceEpoch();
}

// Nearest-rank quantile of unsorted samples.
double quantile(std::vector<double> samples, double q)
{
    if (samples.empty())
        return std::nan("");
    const size_t rank = size_t(std::ceil(q * double(samples.size())));
    const auto nth =
        samples.begin() + std::ptrdiff_t(std::clamp<size_t>(rank, 1, samples.size()) - 1);
    std::nth_element(samples.begin(), nth, samples.end());
    return *nth;
}

} // namespace

OverviewPage::OverviewPage(const TrafficSeries &traffic, Clock clock, QWidget *parent)
    : QWidget(parent)
    , m_traffic(traffic)
    , m_clock(std::move(clock))
    , m_grid(new QGridLayout)
    , m_simulatedBanner(new SimulatedBanner(this))
{

    addCard(SpendToday, tr("Spend today"));
    addCard(RequestsToday, tr("Requests today"));
    addCard(ErrorRateHour, tr("Error rate, last hour"));
    addCard(LatencyP95Hour, tr("Latency p95, last hour"));
    addCard(CacheHitRatio, tr("Cache hit ratio today"));
    addCard(SavedByCache, tr("Saved by the cache today"));
    addCard(GatewayOverhead, tr("Gateway overhead p50 / p99"));

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_simulatedBanner);
    layout->addLayout(m_grid);
    layout->addStretch(1);
    refresh();
}

void OverviewPage::addCard(Card card, const QString &title)
{
    auto *frame = new QFrame(this);
    frame->setFrameShape(QFrame::StyledPanel);
    frame->setMinimumWidth(200);
    auto *layout = new QVBoxLayout(frame);
    auto *caption = new QLabel(title, frame);
    caption->setStyleSheet(QStringLiteral("color: palette(mid);"));
    auto *value = new QLabel(frame);
    QFont big = value->font();
    big.setPointSizeF(big.pointSizeF() * 1.8);
    big.setBold(true);
    value->setFont(big);
    auto *detail = new QLabel(frame);
    detail->setWordWrap(true);
    layout->addWidget(caption);
    layout->addWidget(value);
    layout->addWidget(detail);
    m_cards[card] = {value, detail};
    m_grid->addWidget(frame, card / kColumns, card % kColumns);
}

void OverviewPage::setCard(Card card, const QString &value, const QString &detail)
{
    m_cards[card].value->setText(value);
    m_cards[card].detail->setText(detail);
}

void OverviewPage::addRecords(const QList<metering::RequestRecord> &records)
{
    for (const metering::RequestRecord &record : records) {
        if (record.cacheStatus == QLatin1String("hit") || record.status == 0)
            continue; // a hit has no upstream time to subtract, so its overhead is its latency
        m_overheadMs.push_back(record.overheadMs);
        if (m_overheadMs.size() > kOverheadSamples)
            m_overheadMs.pop_front();
    }
}

void OverviewPage::refresh()
{
    const qint64 now = m_clock();
    const TrafficSeries::Point today = m_traffic.totals(startOfToday(now), now);
    const TrafficSeries::Point hour = m_traffic.totals(now - 3600 * 1000, now);

    setCard(SpendToday, usd(today.costUsd),
            tr("%1 tokens in, %2 out").arg(today.inputTokens).arg(today.outputTokens));
    setCard(RequestsToday, QString::number(today.requests),
            tr("%1 streamed, %2 in the last hour").arg(today.streams).arg(hour.requests));
    setCard(ErrorRateHour, percent(hour.errorRate()),
            tr("%1 of %2 requests failed").arg(hour.errors).arg(hour.requests));
    setCard(LatencyP95Hour, milliseconds(hour.latencyP95Ms),
            tr("p50 %1, first token p50 %2")
                .arg(milliseconds(hour.latencyP50Ms), milliseconds(hour.ttftP50Ms)));
    setCard(CacheHitRatio, percent(today.cacheHitRate()),
            tr("%1 hits of %2 requests").arg(today.cacheHits).arg(today.requests));
    setCard(SavedByCache, usd(today.savedUsd), tr("what the hits would have cost"));

    const std::vector<double> overhead(m_overheadMs.begin(), m_overheadMs.end());
    setCard(GatewayOverhead,
            QStringLiteral("%1 / %2").arg(milliseconds(quantile(overhead, 0.50)),
                                          milliseconds(quantile(overhead, 0.99))),
            tr("Tollgate's own time, latest %1 provider calls").arg(overhead.size()));
}

void OverviewPage::setSimulated(bool simulated)
{
    m_simulatedBanner->setVisible(simulated);
}

QString OverviewPage::cardValue(Card card) const
{
    return m_cards[card].value->text();
}

QString OverviewPage::cardDetail(Card card) const
{
    return m_cards[card].detail->text();
}

} // namespace tollgate::ui
