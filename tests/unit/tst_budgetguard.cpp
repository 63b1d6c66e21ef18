#include "limits/budgetguard.h"
#include "metering/pricetable.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QTest>

using tollgate::limits::BudgetAction;
using tollgate::limits::BudgetAlignment;
using tollgate::limits::BudgetCheck;
using tollgate::limits::BudgetGuard;
using tollgate::limits::BudgetPolicy;
using tollgate::limits::BudgetSpend;
using tollgate::limits::BudgetWindow;
using tollgate::limits::SpendState;
using tollgate::policy::Principal;
namespace budgetwindow = tollgate::limits::budgetwindow;

namespace {

constexpr qint64 kMinuteMs = 60'000;
constexpr qint64 kHourMs = 60 * kMinuteMs;
constexpr qint64 kDayMs = 24 * kHourMs;

qint64 at(const char *iso)
{
    const QDateTime time = QDateTime::fromString(QLatin1String(iso), Qt::ISODateWithMs);
    if (!time.isValid() || time.timeSpec() != Qt::UTC)
        qFatal("bad test time %s", iso);
    return time.toMSecsSinceEpoch();
}

BudgetPolicy policy(const QByteArray &budgets)
{
    const auto parsed = BudgetPolicy::fromJson(
        QJsonDocument::fromJson(R"({"budgets": [)" + budgets + "]}").object());
    if (!parsed.ok())
        qFatal("bad test policy: %s", qPrintable(parsed.error().toString()));
    return *parsed;
}

const QByteArray kTeamMlDaily =
    R"({"name": "team-ml-daily", "scope": {"kind": "team", "value": "ml"}, "window": "day",)"
    R"( "limit_usd": 50, "actions": [{"at_percent": 50, "action": "alert"},)"
    R"( {"at_percent": 80, "action": "downgrade"}, {"at_percent": 100, "action": "block"}]})";

Principal member(const QString &user, const QString &team = QStringLiteral("ml"),
                 const QString &plan = QStringLiteral("pro"), const QString &key = {})
{
    Principal p;
    p.user = user;
    p.team = team;
    p.plan = plan;
    p.keyName = key;
    p.localOwner = false;
    return p;
}

/// The spend of a calendar budget: one slice that leaves at the window's end.
void spendCalendar(SpendState &state, const QString &budget, BudgetWindow window, double usd,
                   qint64 nowMs)
{
    state.budgets[budget].slices.append({budgetwindow::calendarEndMs(window, nowMs), usd});
}

const QString kModel = QStringLiteral("claude-sonnet-4-20250514");

} // namespace

class TestBudgetGuard : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void calendarHour();
    void calendarDay();
    void calendarMonth_data();
    void calendarMonth();
    void beforeTheEpoch();
    void rollingWindows_data();
    void rollingWindows();
    void resetAt();
    void formatUtc();

    void noBudgetsNoAction();
    void everyScope_data();
    void everyScope();
    void actionsInOrder_data();
    void actionsInOrder();
    void strongestAcrossBudgets();
    void blockMessageExhausted();
    void precheckUsesEstimate();
    void estimateBeyondTheLimit();
    void blockBelowHundredPercent();
    void blockOfSeveralNamesTheLatest();
    void rollingBlockResetsWhenSpendLeaves();
    void calendarSpendEndsAtTheBoundary();
    void alertsAboveHundredPercent();
    void negativeOrNanEstimateCountsAsZero();

    void estimateCost();
    void formatUsd();
};

void TestBudgetGuard::calendarHour()
{
    using budgetwindow::calendarEndMs;
    using budgetwindow::calendarStartMs;
    const qint64 last = at("2026-11-28T13:59:59.999Z");
    QCOMPARE(calendarStartMs(BudgetWindow::Hour, last), at("2026-11-28T13:00:00.000Z"));
    QCOMPARE(calendarEndMs(BudgetWindow::Hour, last), at("2026-11-28T14:00:00.000Z"));
    QCOMPARE(calendarStartMs(BudgetWindow::Hour, last + 1), at("2026-11-28T14:00:00.000Z"));
    QCOMPARE(calendarEndMs(BudgetWindow::Hour, last + 1), at("2026-11-28T15:00:00.000Z"));
}

void TestBudgetGuard::calendarDay()
{
    using budgetwindow::calendarEndMs;
    using budgetwindow::calendarStartMs;
    const qint64 last = at("2026-11-28T23:59:59.999Z");
    QCOMPARE(calendarStartMs(BudgetWindow::Day, last), at("2026-11-28T00:00:00.000Z"));
    QCOMPARE(calendarEndMs(BudgetWindow::Day, last), at("2026-11-29T00:00:00.000Z"));
    QCOMPARE(calendarStartMs(BudgetWindow::Day, last + 1), at("2026-11-29T00:00:00.000Z"));
    QCOMPARE(calendarEndMs(BudgetWindow::Day, last + 1), at("2026-11-30T00:00:00.000Z"));
    // New Year's Eve into New Year's Day.
    QCOMPARE(calendarEndMs(BudgetWindow::Day, at("2026-12-31T12:00:00.000Z")),
             at("2027-01-01T00:00:00.000Z"));
}

void TestBudgetGuard::calendarMonth_data()
{
    QTest::addColumn<QString>("lastInstant"); // the last millisecond of a month
    QTest::addColumn<QString>("monthStart");
    QTest::addColumn<QString>("nextMonthStart");
    QTest::addColumn<QString>("followingMonthStart");
    QTest::newRow("February, common year") << "2026-02-28T23:59:59.999Z"
                                           << "2026-02-01T00:00:00.000Z"
                                           << "2026-03-01T00:00:00.000Z"
                                           << "2026-04-01T00:00:00.000Z";
    QTest::newRow("February, leap year") << "2028-02-29T23:59:59.999Z"
                                         << "2028-02-01T00:00:00.000Z"
                                         << "2028-03-01T00:00:00.000Z"
                                         << "2028-04-01T00:00:00.000Z";
    QTest::newRow("January into February") << "2028-01-31T23:59:59.999Z"
                                           << "2028-01-01T00:00:00.000Z"
                                           << "2028-02-01T00:00:00.000Z"
                                           << "2028-03-01T00:00:00.000Z";
    QTest::newRow("December into January") << "2026-12-31T23:59:59.999Z"
                                           << "2026-12-01T00:00:00.000Z"
                                           << "2027-01-01T00:00:00.000Z"
                                           << "2027-02-01T00:00:00.000Z";
    QTest::newRow("30-day month") << "2026-11-30T23:59:59.999Z"
                                  << "2026-11-01T00:00:00.000Z"
                                  << "2026-12-01T00:00:00.000Z"
                                  << "2027-01-01T00:00:00.000Z";
}

void TestBudgetGuard::calendarMonth()
{
    using budgetwindow::calendarEndMs;
    using budgetwindow::calendarStartMs;
    QFETCH(QString, lastInstant);
    QFETCH(QString, monthStart);
    QFETCH(QString, nextMonthStart);
    QFETCH(QString, followingMonthStart);
    const qint64 last = at(qPrintable(lastInstant));
    QCOMPARE(calendarStartMs(BudgetWindow::Month, last), at(qPrintable(monthStart)));
    QCOMPARE(calendarEndMs(BudgetWindow::Month, last), at(qPrintable(nextMonthStart)));
    QCOMPARE(calendarStartMs(BudgetWindow::Month, at(qPrintable(monthStart))),
             at(qPrintable(monthStart)));
    // One millisecond later the next month has begun.
    QCOMPARE(calendarStartMs(BudgetWindow::Month, last + 1), at(qPrintable(nextMonthStart)));
    QCOMPARE(calendarEndMs(BudgetWindow::Month, last + 1), at(qPrintable(followingMonthStart)));
    QCOMPARE(tollgate::limits::resetAtMs(BudgetWindow::Month, BudgetAlignment::Calendar, last),
             at(qPrintable(nextMonthStart)));
}

void TestBudgetGuard::beforeTheEpoch()
{
    using budgetwindow::calendarStartMs;
    QCOMPARE(calendarStartMs(BudgetWindow::Day, -1), -kDayMs);
    QCOMPARE(calendarStartMs(BudgetWindow::Hour, -1), -kHourMs);
    QCOMPARE(calendarStartMs(BudgetWindow::Month, -1), at("1969-12-01T00:00:00.000Z"));
    QCOMPARE(budgetwindow::bucketStartMs(BudgetWindow::Hour, -1), -kMinuteMs);
}

void TestBudgetGuard::rollingWindows_data()
{
    QTest::addColumn<BudgetWindow>("window");
    QTest::addColumn<qint64>("length");
    QTest::addColumn<qint64>("width");
    QTest::newRow("hour") << BudgetWindow::Hour << kHourMs << kMinuteMs;
    QTest::newRow("day") << BudgetWindow::Day << kDayMs << 24 * kMinuteMs;
    QTest::newRow("month") << BudgetWindow::Month << 30 * kDayMs << 12 * kHourMs;
}

void TestBudgetGuard::rollingWindows()
{
    QFETCH(BudgetWindow, window);
    QFETCH(qint64, length);
    QFETCH(qint64, width);
    QCOMPARE(budgetwindow::rollingLengthMs(window), length);
    QCOMPARE(budgetwindow::bucketWidthMs(window), width);
    const qint64 bucket = at("2026-11-28T12:00:00.000Z");
    QCOMPARE(budgetwindow::bucketStartMs(window, bucket), bucket);
    QCOMPARE(budgetwindow::bucketStartMs(window, bucket + width - 1), bucket);
    QCOMPARE(budgetwindow::bucketStartMs(window, bucket + width), bucket + width);
    // Spend made in a bucket counts until the bucket's end plus the window: at least the whole
    // window for every part of it.
    using tollgate::limits::resetAtMs;
    QCOMPARE(resetAtMs(window, BudgetAlignment::Rolling, bucket), bucket + width + length);
    QCOMPARE(resetAtMs(window, BudgetAlignment::Rolling, bucket + width - 1),
             bucket + width + length);
}

void TestBudgetGuard::resetAt()
{
    using tollgate::limits::resetAtMs;
    const qint64 now = at("2026-11-28T13:45:10.000Z");
    QCOMPARE(resetAtMs(BudgetWindow::Hour, BudgetAlignment::Calendar, now),
             at("2026-11-28T14:00:00.000Z"));
    QCOMPARE(resetAtMs(BudgetWindow::Day, BudgetAlignment::Calendar, now),
             at("2026-11-29T00:00:00.000Z"));
    QCOMPARE(resetAtMs(BudgetWindow::Month, BudgetAlignment::Calendar, now),
             at("2026-12-01T00:00:00.000Z"));
    QCOMPARE(resetAtMs(BudgetWindow::Hour, BudgetAlignment::Rolling, now),
             at("2026-11-28T14:46:00.000Z"));
    QCOMPARE(resetAtMs(BudgetWindow::Day, BudgetAlignment::Rolling, now),
             at("2026-11-29T14:00:00.000Z")); // bucket 13:36-14:00, plus 24 h
    QCOMPARE(resetAtMs(BudgetWindow::Month, BudgetAlignment::Rolling, now),
             at("2026-12-29T00:00:00.000Z")); // bucket 12:00-24:00, plus 30 d
}

void TestBudgetGuard::formatUtc()
{
    QCOMPARE(tollgate::limits::formatUtc(at("2026-11-29T00:00:00.000Z")),
             QStringLiteral("2026-11-29T00:00:00Z"));
    QCOMPARE(tollgate::limits::formatUtc(0), QStringLiteral("1970-01-01T00:00:00Z"));
}

void TestBudgetGuard::noBudgetsNoAction()
{
    SpendState spend;
    const BudgetCheck check =
        BudgetGuard::check(BudgetPolicy(), spend, member(QStringLiteral("alice")), kModel, 1e6, 0);
    QCOMPARE(check.action, BudgetAction::None);
    QVERIFY(check.allowed());
    QVERIFY(!check.downgraded());
    QVERIFY(check.budget.isEmpty());
    QVERIFY(check.alerts.isEmpty());
}

void TestBudgetGuard::everyScope_data()
{
    QTest::addColumn<QByteArray>("scope");
    QTest::addColumn<Principal>("inside");
    QTest::addColumn<QString>("insideModel");
    QTest::addColumn<Principal>("outside");
    QTest::addColumn<QString>("outsideModel");

    const QString haiku = QStringLiteral("claude-3-haiku-20240307");
    const Principal alice = member(QStringLiteral("alice"), QStringLiteral("ml"),
                                   QStringLiteral("pro"), QStringLiteral("alice-laptop"));
    const Principal bob = member(QStringLiteral("bob"), QStringLiteral("web"),
                                 QStringLiteral("free"), QStringLiteral("bob-ci"));
    QTest::newRow("global") << QByteArray(R"({"kind": "global"})") << Principal() << kModel
                            << Principal() << QString(); // nothing is outside: see below
    QTest::newRow("plan") << QByteArray(R"({"kind": "plan", "value": "pro"})") << alice << kModel
                          << bob << kModel;
    QTest::newRow("team") << QByteArray(R"({"kind": "team", "value": "ml"})") << alice << kModel
                          << bob << kModel;
    QTest::newRow("user") << QByteArray(R"({"kind": "user", "value": "alice"})") << alice << kModel
                          << bob << kModel;
    QTest::newRow("key") << QByteArray(R"({"kind": "key", "value": "alice-laptop"})") << alice
                         << kModel << bob << kModel;
    QTest::newRow("model") << QByteArray(R"({"kind": "model", "value": "claude-sonnet-*"})") << bob
                           << kModel << alice << haiku;
}

void TestBudgetGuard::everyScope()
{
    QFETCH(QByteArray, scope);
    QFETCH(Principal, inside);
    QFETCH(QString, insideModel);
    QFETCH(Principal, outside);
    QFETCH(QString, outsideModel);
    const BudgetPolicy budgets =
        policy(R"({"name": "b", "window": "day", "limit_usd": 10, "scope": )" + scope + "}");
    const qint64 now = at("2026-11-28T10:00:00.000Z");
    SpendState spend;
    spendCalendar(spend, QStringLiteral("b"), BudgetWindow::Day, 10, now);

    const BudgetCheck in = BudgetGuard::check(budgets, spend, inside, insideModel, 0, now);
    QCOMPARE(in.action, BudgetAction::Block);
    QCOMPARE(in.budget, QStringLiteral("b"));
    if (budgets.budgets().constFirst().scope.kind == tollgate::limits::BudgetScopeKind::Global)
        return; // every request is inside a global budget
    const BudgetCheck out = BudgetGuard::check(budgets, spend, outside, outsideModel, 0, now);
    QCOMPARE(out.action, BudgetAction::None);
    QVERIFY(out.allowed());
}

void TestBudgetGuard::actionsInOrder_data()
{
    QTest::addColumn<double>("spent");
    QTest::addColumn<BudgetAction>("action");
    QTest::addColumn<QList<double>>("alerts");
    QTest::newRow("nothing spent") << 0.0 << BudgetAction::None << QList<double>();
    QTest::newRow("just below 50 %") << 24.99 << BudgetAction::None << QList<double>();
    QTest::newRow("exactly 50 %") << 25.0 << BudgetAction::Alert << QList<double>{50};
    QTest::newRow("below 80 %") << 39.99 << BudgetAction::Alert << QList<double>{50};
    QTest::newRow("exactly 80 %") << 40.0 << BudgetAction::Downgrade << QList<double>{50};
    QTest::newRow("below 100 %") << 49.99 << BudgetAction::Downgrade << QList<double>{50};
    QTest::newRow("exactly 100 %") << 50.0 << BudgetAction::Block << QList<double>{50};
    QTest::newRow("over") << 50.12 << BudgetAction::Block << QList<double>{50};
}

void TestBudgetGuard::actionsInOrder()
{
    QFETCH(double, spent);
    QFETCH(BudgetAction, action);
    QFETCH(QList<double>, alerts);
    const BudgetPolicy budgets = policy(kTeamMlDaily);
    const qint64 now = at("2026-11-28T18:30:00.000Z");
    SpendState spend;
    if (spent > 0)
        spendCalendar(spend, QStringLiteral("team-ml-daily"), BudgetWindow::Day, spent, now);
    const BudgetCheck check =
        BudgetGuard::check(budgets, spend, member(QStringLiteral("alice")), kModel, 0, now);
    QCOMPARE(check.action, action);
    QCOMPARE(check.allowed(), action != BudgetAction::Block);
    QCOMPARE(check.downgraded(), action == BudgetAction::Downgrade);
    QList<double> percents;
    for (const auto &hit : check.alerts) {
        QCOMPARE(hit.budget, QStringLiteral("team-ml-daily"));
        QCOMPARE(hit.action, BudgetAction::Alert);
        QCOMPARE(hit.spentUsd, spent);
        QCOMPARE(hit.limitUsd, 50.0);
        percents.append(hit.atPercent);
    }
    QCOMPARE(percents, alerts);
    if (action != BudgetAction::None) {
        QCOMPARE(check.budget, QStringLiteral("team-ml-daily"));
        QCOMPARE(check.spentUsd, spent);
        QCOMPARE(check.limitUsd, 50.0);
    }
    QCOMPARE(check.message.isEmpty(), action != BudgetAction::Block);
}

void TestBudgetGuard::strongestAcrossBudgets()
{
    const BudgetPolicy budgets = policy(
        kTeamMlDaily +
        R"(, {"name": "alice-hourly", "scope": {"kind": "user", "value": "alice"}, "window": "hour",)"
        R"( "limit_usd": 2, "actions": [{"at_percent": 50, "action": "alert"}, {"at_percent": 90, "action": "alert"},)"
        R"( {"at_percent": 100, "action": "block"}]},)"
        R"( {"name": "global-monthly", "window": "month", "limit_usd": 1000,)"
        R"( "actions": [{"at_percent": 10, "action": "downgrade"}]})");
    const qint64 now = at("2026-11-28T18:30:00.000Z");
    const Principal alice = member(QStringLiteral("alice"));

    SpendState spend;
    spendCalendar(spend, QStringLiteral("team-ml-daily"), BudgetWindow::Day, 30, now);  // alert
    spendCalendar(spend, QStringLiteral("alice-hourly"), BudgetWindow::Hour, 1.9, now); // alerts
    BudgetCheck check = BudgetGuard::check(budgets, spend, alice, kModel, 0, now);
    QCOMPARE(check.action, BudgetAction::Alert);
    QCOMPARE(check.budget, QStringLiteral("team-ml-daily")); // the first in policy order
    QCOMPARE(check.alerts.size(), 3);
    QCOMPARE(check.alerts.at(0).budget, QStringLiteral("team-ml-daily"));
    QCOMPARE(check.alerts.at(1).budget, QStringLiteral("alice-hourly"));
    QCOMPARE(check.alerts.at(1).atPercent, 50.0);
    QCOMPARE(check.alerts.at(2).atPercent, 90.0);

    // A downgrade anywhere outranks alerts.
    spendCalendar(spend, QStringLiteral("global-monthly"), BudgetWindow::Month, 100, now);
    check = BudgetGuard::check(budgets, spend, alice, kModel, 0, now);
    QCOMPARE(check.action, BudgetAction::Downgrade);
    QCOMPARE(check.budget, QStringLiteral("global-monthly"));
    QCOMPARE(check.alerts.size(), 3); // still reported

    // A block anywhere outranks a downgrade, and only applies to those under it.
    spend.budgets[QStringLiteral("alice-hourly")].slices.first().usd = 2.0;
    check = BudgetGuard::check(budgets, spend, alice, kModel, 0, now);
    QCOMPARE(check.action, BudgetAction::Block);
    QCOMPARE(check.budget, QStringLiteral("alice-hourly"));
    QCOMPARE(check.message, QStringLiteral("Budget \"alice-hourly\" exhausted: $2.00 of $2.00 "
                                           "spent; resets 2026-11-28T19:00:00Z"));
    check = BudgetGuard::check(budgets, spend, member(QStringLiteral("carol")), kModel, 0, now);
    QCOMPARE(check.action, BudgetAction::Downgrade);
}

void TestBudgetGuard::blockMessageExhausted()
{
    const BudgetPolicy budgets = policy(kTeamMlDaily);
    const qint64 now = at("2026-11-28T18:30:00.000Z");
    SpendState spend;
    spendCalendar(spend, QStringLiteral("team-ml-daily"), BudgetWindow::Day, 50.12, now);
    const BudgetCheck check =
        BudgetGuard::check(budgets, spend, member(QStringLiteral("alice")), kModel, 0.05, now);
    QCOMPARE(check.action, BudgetAction::Block);
    QVERIFY(!check.allowed());
    QCOMPARE(check.message, QStringLiteral("Budget \"team-ml-daily\" exhausted: $50.12 of $50.00 "
                                           "spent; resets 2026-11-29T00:00:00Z"));
    QCOMPARE(check.resetAtMs, at("2026-11-29T00:00:00.000Z"));
    QCOMPARE(check.retryAfterSeconds, 5 * 3600 + 30 * 60);
    QCOMPARE(check.spentUsd, 50.12);
    QCOMPARE(check.limitUsd, 50.0);
}

void TestBudgetGuard::precheckUsesEstimate()
{
    const BudgetPolicy budgets = policy(kTeamMlDaily);
    const qint64 now = at("2026-11-28T23:59:59.500Z");
    const Principal alice = member(QStringLiteral("alice"));
    SpendState spend;
    spendCalendar(spend, QStringLiteral("team-ml-daily"), BudgetWindow::Day, 49.75, now);

    // Without the estimate only the downgrade applies.
    QCOMPARE(BudgetGuard::check(budgets, spend, alice, kModel, 0, now).action,
             BudgetAction::Downgrade);
    // Up to the limit exactly still passes.
    QCOMPARE(BudgetGuard::check(budgets, spend, alice, kModel, 0.25, now).action,
             BudgetAction::Downgrade);
    // Past it does not.
    const BudgetCheck check = BudgetGuard::check(budgets, spend, alice, kModel, 0.30, now);
    QCOMPARE(check.action, BudgetAction::Block);
    QCOMPARE(check.message, QStringLiteral("Budget \"team-ml-daily\" would be exceeded: $49.75 of "
                                           "$50.00 spent and this request may cost up to $0.30; "
                                           "resets 2026-11-29T00:00:00Z"));
    QCOMPARE(check.resetAtMs, at("2026-11-29T00:00:00.000Z"));
    QCOMPARE(check.retryAfterSeconds, 1); // rounded up, never 0
    // The estimate does not advance alerts or downgrades: those follow real spend.
    SpendState little;
    spendCalendar(little, QStringLiteral("team-ml-daily"), BudgetWindow::Day, 10, now);
    const BudgetCheck early = BudgetGuard::check(budgets, little, alice, kModel, 35, now);
    QCOMPARE(early.action, BudgetAction::None);
    QVERIFY(early.alerts.isEmpty());
    // ...but a block still sees it.
    QCOMPARE(BudgetGuard::check(budgets, little, alice, kModel, 40.01, now).action,
             BudgetAction::Block);
}

void TestBudgetGuard::estimateBeyondTheLimit()
{
    const BudgetPolicy budgets = policy(kTeamMlDaily);
    const qint64 now = at("2026-11-28T12:00:00.000Z");
    const BudgetCheck check =
        BudgetGuard::check(budgets, SpendState(), member(QStringLiteral("a")), kModel, 60, now);
    QCOMPARE(check.action, BudgetAction::Block);
    QCOMPARE(check.message, QStringLiteral("Budget \"team-ml-daily\" cannot cover this request: it "
                                           "may cost up to $60.00, more than the $50.00 limit; "
                                           "lower max_tokens"));
    QCOMPARE(check.resetAtMs, 0);
    QCOMPARE(check.retryAfterSeconds, 0);
}

void TestBudgetGuard::blockBelowHundredPercent()
{
    const BudgetPolicy budgets = policy(R"({"name": "soft", "window": "hour", "limit_usd": 10,)"
                                        R"( "actions": [{"at_percent": 90, "action": "block"}]})");
    const qint64 now = at("2026-11-28T12:15:00.000Z");
    const Principal alice = member(QStringLiteral("alice"));
    SpendState spend;
    spendCalendar(spend, QStringLiteral("soft"), BudgetWindow::Hour, 9, now);
    BudgetCheck check = BudgetGuard::check(budgets, spend, alice, kModel, 0, now);
    QCOMPARE(check.action, BudgetAction::Block);
    QCOMPARE(check.message, QStringLiteral("Budget \"soft\" blocks at 90 % of its limit: $9.00 of "
                                           "$10.00 spent; resets 2026-11-28T13:00:00Z"));
    spend.budgets[QStringLiteral("soft")].slices.first().usd = 8.5;
    check = BudgetGuard::check(budgets, spend, alice, kModel, 1, now);
    QCOMPARE(check.message, QStringLiteral("Budget \"soft\" would pass 90 % of its limit, where it "
                                           "blocks: $8.50 of $10.00 spent and this request may "
                                           "cost up to $1.00; resets 2026-11-28T13:00:00Z"));
    check = BudgetGuard::check(budgets, SpendState(), alice, kModel, 9.5, now);
    QCOMPARE(check.message, QStringLiteral("Budget \"soft\" cannot cover this request: it may cost "
                                           "up to $9.50, more than the $9.00 it allows (90 % of "
                                           "$10.00); lower max_tokens"));
}

void TestBudgetGuard::blockOfSeveralNamesTheLatest()
{
    const BudgetPolicy budgets =
        policy(R"({"name": "hourly", "window": "hour", "limit_usd": 1},)"
               R"({"name": "daily", "window": "day", "limit_usd": 5},)"
               R"({"name": "hourly-2", "window": "hour", "limit_usd": 1})");
    const qint64 now = at("2026-11-28T12:15:00.000Z");
    SpendState spend;
    spendCalendar(spend, QStringLiteral("hourly"), BudgetWindow::Hour, 1, now);
    spendCalendar(spend, QStringLiteral("daily"), BudgetWindow::Day, 5, now);
    spendCalendar(spend, QStringLiteral("hourly-2"), BudgetWindow::Hour, 1, now);
    const BudgetCheck check =
        BudgetGuard::check(budgets, spend, member(QStringLiteral("a")), kModel, 0, now);
    QCOMPARE(check.budget, QStringLiteral("daily")); // retrying at 13:00 would be refused again
    QCOMPARE(check.resetAtMs, at("2026-11-29T00:00:00.000Z"));
}

void TestBudgetGuard::rollingBlockResetsWhenSpendLeaves()
{
    const BudgetPolicy budgets = policy(R"({"name": "r", "window": "hour", "alignment": "rolling",)"
                                        R"( "limit_usd": 10})");
    const qint64 now = at("2026-11-28T12:30:00.000Z");
    SpendState spend;
    // $4 spent at 11:40, $6 at 12:10: leaving one bucket plus an hour later.
    spend.budgets[QStringLiteral("r")].slices = {{at("2026-11-28T12:41:00.000Z"), 4},
                                                 {at("2026-11-28T13:11:00.000Z"), 6}};
    const Principal alice = member(QStringLiteral("alice"));
    BudgetCheck check = BudgetGuard::check(budgets, spend, alice, kModel, 0, now);
    QCOMPARE(check.action, BudgetAction::Block);
    // Once the $4 leave, $6 of $10 is below the limit.
    QCOMPARE(check.resetAtMs, at("2026-11-28T12:41:00.000Z"));
    QCOMPARE(check.message, QStringLiteral("Budget \"r\" exhausted: $10.00 of $10.00 spent; "
                                           "resets 2026-11-28T12:41:00Z"));
    // A $5 request needs the $6 gone as well.
    check = BudgetGuard::check(budgets, spend, alice, kModel, 5, now);
    QCOMPARE(check.resetAtMs, at("2026-11-28T13:11:00.000Z"));
    // At 12:41 the $4 have left: $6 + $4 estimate fits exactly.
    check = BudgetGuard::check(budgets, spend, alice, kModel, 4, at("2026-11-28T12:41:00.000Z"));
    QCOMPARE(check.action, BudgetAction::Alert); // 60 % ≥ 50 %
    check = BudgetGuard::check(budgets, spend, alice, kModel, 0, at("2026-11-28T12:40:59.999Z"));
    QCOMPARE(check.action, BudgetAction::Block);
}

void TestBudgetGuard::calendarSpendEndsAtTheBoundary()
{
    // A snapshot taken before midnight no longer counts after it.
    const BudgetPolicy budgets = policy(kTeamMlDaily);
    const qint64 before = at("2026-11-28T23:59:59.999Z");
    SpendState spend;
    spendCalendar(spend, QStringLiteral("team-ml-daily"), BudgetWindow::Day, 60, before);
    const Principal alice = member(QStringLiteral("alice"));
    QCOMPARE(BudgetGuard::check(budgets, spend, alice, kModel, 0, before).action,
             BudgetAction::Block);
    QCOMPARE(BudgetGuard::check(budgets, spend, alice, kModel, 0, before + 1).action,
             BudgetAction::None);
}

void TestBudgetGuard::alertsAboveHundredPercent()
{
    const BudgetPolicy budgets =
        policy(R"({"name": "soft", "window": "day", "limit_usd": 10, "actions": [)"
               R"({"at_percent": 100, "action": "alert"}, {"at_percent": 150, "action": "alert"},)"
               R"( {"at_percent": 200, "action": "block"}]})");
    const qint64 now = at("2026-11-28T12:00:00.000Z");
    SpendState spend;
    spendCalendar(spend, QStringLiteral("soft"), BudgetWindow::Day, 15, now);
    const BudgetCheck check =
        BudgetGuard::check(budgets, spend, member(QStringLiteral("a")), kModel, 1, now);
    QCOMPARE(check.action, BudgetAction::Alert);
    QCOMPARE(check.alerts.size(), 2);
    QCOMPARE(check.alerts.at(1).atPercent, 150.0);
}

void TestBudgetGuard::negativeOrNanEstimateCountsAsZero()
{
    const BudgetPolicy budgets = policy(kTeamMlDaily);
    const qint64 now = at("2026-11-28T12:00:00.000Z");
    SpendState spend;
    spendCalendar(spend, QStringLiteral("team-ml-daily"), BudgetWindow::Day, 49, now);
    const Principal alice = member(QStringLiteral("alice"));
    QCOMPARE(BudgetGuard::check(budgets, spend, alice, kModel, -100, now).action,
             BudgetAction::Downgrade);
    QCOMPARE(BudgetGuard::check(budgets, spend, alice, kModel, qQNaN(), now).action,
             BudgetAction::Downgrade);
}

void TestBudgetGuard::estimateCost()
{
    tollgate::metering::ModelPrice sonnet;
    sonnet.inputPerMTok = 3.0;
    sonnet.outputPerMTok = 15.0;
    // 4,000 characters ≈ 1,000 input tokens; 1,024 output tokens at most.
    QCOMPARE(BudgetGuard::estimateCostUsd(4000, 1024, sonnet), (1000 * 3.0 + 1024 * 15.0) / 1e6);
    // Characters round up to whole tokens.
    QCOMPARE(BudgetGuard::estimateCostUsd(5, 0, sonnet), 2 * 3.0 / 1e6);
    QCOMPARE(BudgetGuard::estimateCostUsd(0, 0, sonnet), 0.0);
    QCOMPARE(BudgetGuard::estimateCostUsd(-5, -1, sonnet), 0.0);
    tollgate::metering::ModelPrice haiku;
    haiku.inputPerMTok = 0.25;
    haiku.outputPerMTok = 1.25;
    QCOMPARE(BudgetGuard::estimateCostUsd(400'000, 4096, haiku),
             (100'000 * 0.25 + 4096 * 1.25) / 1e6);
}

void TestBudgetGuard::formatUsd()
{
    QCOMPARE(BudgetGuard::formatUsd(50), QStringLiteral("$50.00"));
    QCOMPARE(BudgetGuard::formatUsd(50.123), QStringLiteral("$50.12"));
    QCOMPARE(BudgetGuard::formatUsd(0), QStringLiteral("$0.00"));
    QCOMPARE(BudgetGuard::formatUsd(0.3), QStringLiteral("$0.30"));
    QCOMPARE(BudgetGuard::formatUsd(0.0031), QStringLiteral("$0.0031"));
}

QTEST_GUILESS_MAIN(TestBudgetGuard)
#include "tst_budgetguard.moc"
