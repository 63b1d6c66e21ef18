#pragma once

#include "metering/requestrecord.h"

#include <QWidget>

#include <deque>
#include <functional>

class QGridLayout;
class QLabel;

namespace tollgate::metering {
class TrafficSeries;
}

namespace tollgate::ui {

class SimulatedBanner;

/// The first page: cards with today's spend and traffic, the last hour's health, what the cache
/// saved and the gateway's own overhead. Reads the traffic series' totals when refreshed (the
/// window's timer), never per request.
class OverviewPage : public QWidget {
    Q_OBJECT
public:
    using Clock = std::function<qint64()>; ///< wall clock, ms since epoch

    /// The cards, in reading order.
    enum Card {
        SpendToday,
        RequestsToday,
        ErrorRateHour,
        LatencyP95Hour,
        CacheHitRatio,
        SavedByCache,
        GatewayOverhead,
        CardCount
    };

    OverviewPage(const metering::TrafficSeries &traffic, Clock clock, QWidget *parent = nullptr);

    /// Takes the overhead of finished requests (the series keeps no overhead histogram).
    void addRecords(const QList<metering::RequestRecord> &records);
    /// Reads the totals again and updates every card.
    void refresh();
    /// Marks the figures as coming from the built-in simulated provider.
    void setSimulated(bool simulated);

    QString cardValue(Card card) const;
    QString cardDetail(Card card) const;

private:
    struct CardLabels {
        QLabel *value;
        QLabel *detail;
    };
    void addCard(Card card, const QString &title);
    void setCard(Card card, const QString &value, const QString &detail);

    const metering::TrafficSeries &m_traffic;
    Clock m_clock;
    QGridLayout *m_grid;
    SimulatedBanner *m_simulatedBanner;
    CardLabels m_cards[CardCount];
    std::deque<double> m_overheadMs; // the latest requests' own gateway time
};

} // namespace tollgate::ui
