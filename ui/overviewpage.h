#pragma once

#include "common/expected.h"
#include "metering/requestrecord.h"

#include <QWidget>

#include <deque>
#include <functional>
#include <memory>
#include <optional>

class QGridLayout;
class QLabel;
class QThread;

namespace tollgate::metering {
class TrafficSeries;
}
namespace tollgate::limits {
class SpendLedger;
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
        SpendMonth,
        BudgetRemaining,
        RequestsToday,
        ErrorRateHour,
        LatencyP95Hour,
        CacheHitRatio,
        SavedByCache,
        SavedByRouting,
        GatewayOverhead,
        CardCount
    };

    /// What the requests started in [fromMs, toMs) cost; called on a thread of its own.
    using SpendReader = std::function<Expected<double>(qint64 fromMs, qint64 toMs)>;

    OverviewPage(const metering::TrafficSeries &traffic, const limits::SpendLedger &budgets,
                 Clock clock, QWidget *parent = nullptr);
    ~OverviewPage() override;

    /// Where the month's spend before today comes from (the request log); without one the
    /// month card counts today only.
    void setSpendReader(SpendReader reader);

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
    void showMonth(qint64 nowMs, double todayUsd);
    void showBudget(qint64 nowMs, double lastHourUsd);
    /// Reads the month's spend before today off the GUI thread, once a day.
    void readSpendBeforeToday(qint64 todayStartMs);

    const metering::TrafficSeries &m_traffic;
    const limits::SpendLedger &m_budgets;
    Clock m_clock;
    SpendReader m_spendReader;
    std::unique_ptr<QThread> m_spendReading;
    qint64 m_spendBeforeTodayDay = 0; // the day start it was read for; 0: not read
    std::optional<double> m_spendBeforeToday;
    QString m_spendProblem;
    QGridLayout *m_grid;
    SimulatedBanner *m_simulatedBanner;
    CardLabels m_cards[CardCount];
    std::deque<double> m_overheadMs; // the latest requests' own gateway time
};

} // namespace tollgate::ui
