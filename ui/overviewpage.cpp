#include "overviewpage.h"

#include "format.h"
#include "simulatedbanner.h"

#include "limits/budgetforecast.h"
#include "limits/spendledger.h"
#include "metering/trafficseries.h"

#include <QDateTime>
#include <QFrame>
#include <QGridLayout>
#include <QLabel>
#include <QThread>
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

qint64 startOfMonth(qint64 nowMs)
{
    const QDate today = QDateTime::fromMSecsSinceEpoch(nowMs).date();
    return QDateTime(QDate(today.year(), today.month(), 1), QTime(0, 0)).toMSecsSinceEpoch();
}

QString clockTime(qint64 atMs, qint64 nowMs)
{
    const QDateTime at = QDateTime::fromMSecsSinceEpoch(atMs);
    if (at.date() == QDateTime::fromMSecsSinceEpoch(nowMs).date())
        return at.toString(QStringLiteral("HH:mm"));
    return at.toString(QStringLiteral("ddd d MMM HH:mm"));
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

OverviewPage::OverviewPage(const TrafficSeries &traffic, const limits::SpendLedger &budgets,
                           Clock clock, QWidget *parent)
    : QWidget(parent)
    , m_traffic(traffic)
    , m_budgets(budgets)
    , m_clock(std::move(clock))
    , m_grid(new QGridLayout)
    , m_simulatedBanner(new SimulatedBanner(this))
{
    addCard(SpendToday, tr("Spend today"));
    addCard(SpendMonth, tr("Spend this month"));
    addCard(BudgetRemaining, tr("Budget remaining"));
    addCard(RequestsToday, tr("Requests today"));
    addCard(ErrorRateHour, tr("Error rate, last hour"));
    addCard(LatencyP95Hour, tr("Latency p95, last hour"));
    addCard(CacheHitRatio, tr("Cache hit ratio today"));
    addCard(SavedByCache, tr("Saved by the cache today"));
    addCard(SavedByRouting, tr("Saved by routing today"));
    addCard(GatewayOverhead, tr("Gateway overhead p50 / p99"));

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_simulatedBanner);
    layout->addLayout(m_grid);
    layout->addStretch(1);
    refresh();
}

OverviewPage::~OverviewPage()
{
    if (m_spendReading)
        m_spendReading->wait();
}

void OverviewPage::setSpendReader(SpendReader reader)
{
    m_spendReader = std::move(reader);
    m_spendBeforeTodayDay = 0;
    refresh();
}

void OverviewPage::readSpendBeforeToday(qint64 todayStartMs)
{
    if (!m_spendReader || m_spendBeforeTodayDay == todayStartMs ||
        (m_spendReading && m_spendReading->isRunning()))
        return;
    if (m_spendReading)
        m_spendReading->wait();
    m_spendBeforeTodayDay = todayStartMs;
    const qint64 monthStartMs = startOfMonth(todayStartMs);
    m_spendReading.reset(
        QThread::create([this, reader = m_spendReader, monthStartMs, todayStartMs] {
            const Expected<double> spent = reader(monthStartMs, todayStartMs);
            QMetaObject::invokeMethod(this, [this, spent] {
                m_spendBeforeToday.reset();
                m_spendProblem.clear();
                if (spent)
                    m_spendBeforeToday = *spent;
                else
                    m_spendProblem = spent.error().message;
                refresh();
            });
        }));
    m_spendReading->start();
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
    showMonth(now, today.costUsd);
    showBudget(now, hour.costUsd);
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
    setCard(SavedByRouting, usd(today.routingSavedUsd),
            tr("against the requested model (the strongest, for a router model)"));

    const std::vector<double> overhead(m_overheadMs.begin(), m_overheadMs.end());
    setCard(GatewayOverhead,
            QStringLiteral("%1 / %2").arg(milliseconds(quantile(overhead, 0.50)),
                                          milliseconds(quantile(overhead, 0.99))),
            tr("Tollgate's own time, latest %1 provider calls").arg(overhead.size()));
}

void OverviewPage::showMonth(qint64 nowMs, double todayUsd)
{
    const qint64 today = startOfToday(nowMs);
    readSpendBeforeToday(today);
    if (!m_spendReader) {
        setCard(SpendMonth, usd(todayUsd), tr("today only: no request log"));
    } else if (!m_spendProblem.isEmpty()) {
        setCard(SpendMonth, usd(todayUsd), tr("today only: %1").arg(m_spendProblem));
    } else if (!m_spendBeforeToday || m_spendBeforeTodayDay != today) {
        setCard(SpendMonth, QStringLiteral("…"), tr("reading the request log"));
    } else {
        const double month = *m_spendBeforeToday + todayUsd;
        const int days = int(QDateTime::fromMSecsSinceEpoch(nowMs).date().day());
        setCard(SpendMonth, usd(month),
                tr("%1 a day on average over %2 days").arg(usd(month / days)).arg(days));
    }
}

void OverviewPage::showBudget(qint64 nowMs, double lastHourUsd)
{
    // The budget closest to its limit speaks for all of them.
    const QList<limits::BudgetStatus> budgets = m_budgets.status(nowMs);
    const limits::BudgetStatus *tightest = nullptr;
    for (const limits::BudgetStatus &budget : budgets) {
        if (!tightest || budget.percent > tightest->percent)
            tightest = &budget;
    }
    if (!tightest) {
        setCard(BudgetRemaining, tr("No budget"), tr("set budgets in the policy to cap spend"));
        return;
    }
    // A global budget burns at the whole gateway's rate; a scoped one at its own average.
    const double burn = tightest->scope.kind == limits::BudgetScopeKind::Global
                            ? lastHourUsd
                            : limits::averageBurnUsdPerHour(*tightest, nowMs);
    const limits::BudgetForecast forecast = limits::forecastBudget(*tightest, burn, nowMs);
    const QString name = tr("of %1, %2 (%3)")
                             .arg(usd(tightest->limitUsd), tightest->name,
                                  limits::budgetWindowName(tightest->window));
    QString outlook;
    if (tightest->remainingUsd <= 0)
        outlook = tr("spent: %1 until %2")
                      .arg(limits::budgetActionName(tightest->action),
                           clockTime(tightest->resetsAtMs, nowMs));
    else if (forecast.runsOutAtMs)
        outlook = tr("runs out at %1 at %2/h")
                      .arg(clockTime(*forecast.runsOutAtMs, nowMs), usd(forecast.burnUsdPerHour));
    else if (forecast.burnUsdPerHour > 0)
        outlook = tr("lasts until the reset at %1 at %2/h")
                      .arg(clockTime(tightest->resetsAtMs, nowMs), usd(forecast.burnUsdPerHour));
    else
        outlook = tr("nothing spent in the last hour");
    const QString more = budgets.size() > 1 ? tr("; %1 budgets").arg(budgets.size()) : QString();
    setCard(BudgetRemaining, usd(tightest->remainingUsd),
            name + QStringLiteral("\n") + outlook + more);
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
