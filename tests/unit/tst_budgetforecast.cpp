#include "limits/budgetforecast.h"

#include <QTest>

#include <cmath>

using namespace tollgate::limits;

namespace {

constexpr qint64 kHour = 3600 * 1000;
constexpr qint64 kNow = 1700000000000;

/// A $10 budget with `spent` dollars spent, that resets in `resetsIn` ms.
BudgetStatus budget(double spent, qint64 resetsIn = 10 * kHour)
{
    BudgetStatus status;
    status.name = QStringLiteral("daily");
    status.limitUsd = 10;
    status.spentUsd = spent;
    status.remainingUsd = std::max(0.0, 10 - spent);
    status.windowStartMs = kNow - 2 * kHour;
    status.resetsAtMs = kNow + resetsIn;
    return status;
}

} // namespace

class TestBudgetForecast : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void runsOutAtTheBurnRate();
    void lastsPastTheReset();
    void noBurnNoForecast();
    void alreadySpent();
    void averageBurnOverTheWindow();
};

void TestBudgetForecast::runsOutAtTheBurnRate()
{
    // $6 left at $2/h: three hours from now, before the reset in ten.
    const BudgetForecast forecast = forecastBudget(budget(4), 2, kNow);
    QCOMPARE(forecast.burnUsdPerHour, 2.0);
    QVERIFY(forecast.runsOutAtMs);
    QCOMPARE(*forecast.runsOutAtMs, kNow + 3 * kHour);
}

void TestBudgetForecast::lastsPastTheReset()
{
    QVERIFY(!forecastBudget(budget(4, 2 * kHour), 2, kNow).runsOutAtMs);
    QVERIFY(!forecastBudget(budget(4, 3 * kHour), 2, kNow).runsOutAtMs); // exactly at the reset
}

void TestBudgetForecast::noBurnNoForecast()
{
    QVERIFY(!forecastBudget(budget(4), 0, kNow).runsOutAtMs);
    QCOMPARE(forecastBudget(budget(4), -1, kNow).burnUsdPerHour, 0.0);
    QVERIFY(!forecastBudget(budget(4), std::nan(""), kNow).runsOutAtMs);
}

void TestBudgetForecast::alreadySpent()
{
    const BudgetForecast forecast = forecastBudget(budget(12), 0, kNow);
    QVERIFY(forecast.runsOutAtMs);
    QCOMPARE(*forecast.runsOutAtMs, kNow);
}

void TestBudgetForecast::averageBurnOverTheWindow()
{
    QCOMPARE(averageBurnUsdPerHour(budget(4), kNow), 2.0); // $4 over the two hours so far
    BudgetStatus fresh = budget(1);
    fresh.windowStartMs = kNow - 1000; // one second in: counted as a minute
    QCOMPARE(averageBurnUsdPerHour(fresh, kNow), 60.0);
}

QTEST_GUILESS_MAIN(TestBudgetForecast)
#include "tst_budgetforecast.moc"
