#include "limits/budgetguard.h"
#include "limits/spendledger.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QTest>

#include <atomic>
#include <thread>
#include <vector>

using tollgate::limits::BudgetAction;
using tollgate::limits::BudgetAlignment;
using tollgate::limits::BudgetGuard;
using tollgate::limits::BudgetPolicy;
using tollgate::limits::BudgetStatus;
using tollgate::limits::BudgetWindow;
using tollgate::limits::ChargeOutcome;
using tollgate::limits::SpendIncrement;
using tollgate::limits::SpendLedger;
using tollgate::limits::SpendState;
using tollgate::policy::Principal;

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

Principal member(const QString &user, const QString &team = QStringLiteral("ml"))
{
    Principal p;
    p.user = user;
    p.team = team;
    p.plan = QStringLiteral("pro");
    p.localOwner = false;
    return p;
}

const QString kSonnet = QStringLiteral("claude-sonnet-4-20250514");
const QString kHaiku = QStringLiteral("claude-3-haiku-20240307");

double spent(const SpendLedger &ledger, const QString &budget, qint64 nowMs)
{
    return ledger.snapshot(nowMs).spentAt(budget, nowMs);
}

} // namespace

class TestSpendLedger : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void chargesMatchingBudgetsOnly();
    void ignoresWorthlessCharges();
    void incrementsNameTheirRows();
    void calendarDayBoundary();
    void calendarMonthBoundaries_data();
    void calendarMonthBoundaries();
    void lateChargeOfEndedWindow();
    void rollingWindowExactBoundary_data();
    void rollingWindowExactBoundary();
    void rollingOverManyWindows();
    void crossingsOncePerWindow();
    void status();
    void snapshotDrivesTheGuard();
    void concurrentChargesSumExactly();
    void restoreFromRows();
    void restoreRollingRows();
    void setSpendReplacesRatherThanAdds();
    void setPolicyKeepsSpendByName();
    void oldestNeeded();
};

void TestSpendLedger::chargesMatchingBudgetsOnly()
{
    SpendLedger ledger(policy(
        R"({"name": "all", "window": "day", "limit_usd": 100},)"
        R"({"name": "team-ml", "scope": {"kind": "team", "value": "ml"}, "window": "day", "limit_usd": 50},)"
        R"({"name": "alice", "scope": {"kind": "user", "value": "alice"}, "window": "hour", "limit_usd": 5},)"
        R"({"name": "pro", "scope": {"kind": "plan", "value": "pro"}, "window": "month", "limit_usd": 500},)"
        R"({"name": "batch-key", "scope": {"kind": "key", "value": "batch"}, "window": "day", "limit_usd": 5},)"
        R"({"name": "sonnet", "scope": {"kind": "model", "value": "claude-sonnet-*"}, "window": "day",)"
        R"( "alignment": "rolling", "limit_usd": 20})"));
    const qint64 now = at("2026-11-28T12:00:00.000Z");
    ledger.charge(member(QStringLiteral("alice")), kSonnet, 1.5, now);
    ledger.charge(member(QStringLiteral("bob"), QStringLiteral("web")), kHaiku, 0.25, now);
    Principal local; // the local owner: no user, team, plan or key
    ledger.charge(local, kHaiku, 2, now);

    QCOMPARE(spent(ledger, QStringLiteral("all"), now), 3.75);
    QCOMPARE(spent(ledger, QStringLiteral("team-ml"), now), 1.5);
    QCOMPARE(spent(ledger, QStringLiteral("alice"), now), 1.5);
    QCOMPARE(spent(ledger, QStringLiteral("pro"), now), 1.75);
    QCOMPARE(spent(ledger, QStringLiteral("batch-key"), now), 0.0);
    QCOMPARE(spent(ledger, QStringLiteral("sonnet"), now), 1.5);
    // Budgets with nothing spent are absent from the snapshot.
    QVERIFY(!ledger.snapshot(now).find(QStringLiteral("batch-key")));
}

void TestSpendLedger::ignoresWorthlessCharges()
{
    SpendLedger ledger(policy(R"({"name": "all", "window": "day", "limit_usd": 1})"));
    const qint64 now = at("2026-11-28T12:00:00.000Z");
    for (double cost : {0.0, -1.0, qQNaN(), qInf()}) {
        const ChargeOutcome outcome = ledger.charge(member(QStringLiteral("a")), kHaiku, cost, now);
        QVERIFY(outcome.increments.isEmpty());
        QVERIFY(outcome.crossings.isEmpty());
    }
    QCOMPARE(spent(ledger, QStringLiteral("all"), now), 0.0);
}

void TestSpendLedger::incrementsNameTheirRows()
{
    SpendLedger ledger(policy(
        R"({"name": "daily", "window": "day", "limit_usd": 100},)"
        R"({"name": "rolling-hour", "window": "hour", "alignment": "rolling", "limit_usd": 5},)"
        R"({"name": "web", "scope": {"kind": "team", "value": "web"}, "window": "day", "limit_usd": 5})"));
    const qint64 now = at("2026-11-28T12:34:56.789Z");
    const ChargeOutcome outcome = ledger.charge(member(QStringLiteral("a")), kHaiku, 0.5, now);
    QCOMPARE(outcome.increments.size(), 2);
    const SpendIncrement &daily = outcome.increments.at(0);
    QCOMPARE(daily.budget, QStringLiteral("daily"));
    QCOMPARE(daily.windowStartMs, at("2026-11-28T00:00:00.000Z"));
    QCOMPARE(daily.bucketMs, at("2026-11-28T00:00:00.000Z"));
    QCOMPARE(daily.usd, 0.5);
    const SpendIncrement &rolling = outcome.increments.at(1);
    QCOMPARE(rolling.budget, QStringLiteral("rolling-hour"));
    QCOMPARE(rolling.windowStartMs, 0);
    QCOMPARE(rolling.bucketMs, at("2026-11-28T12:34:00.000Z"));
    QCOMPARE(rolling.usd, 0.5);
}

void TestSpendLedger::calendarDayBoundary()
{
    SpendLedger ledger(policy(R"({"name": "daily", "window": "day", "limit_usd": 100})"));
    const QString daily = QStringLiteral("daily");
    const qint64 last = at("2026-11-28T23:59:59.999Z");
    ledger.charge(member(QStringLiteral("a")), kHaiku, 7, at("2026-11-28T00:00:00.000Z"));
    ledger.charge(member(QStringLiteral("a")), kHaiku, 3, last);
    QCOMPARE(spent(ledger, daily, last), 10.0);
    // At midnight the day's spend is gone, from a snapshot taken before as well as after.
    const SpendState before = ledger.snapshot(last);
    QCOMPARE(before.spentAt(daily, last + 1), 0.0);
    QCOMPARE(spent(ledger, daily, last + 1), 0.0);
    ledger.charge(member(QStringLiteral("a")), kHaiku, 2, last + 1);
    QCOMPARE(spent(ledger, daily, last + 1), 2.0);
    QCOMPARE(ledger.status(last + 1).constFirst().resetsAtMs, at("2026-11-30T00:00:00.000Z"));
}

void TestSpendLedger::calendarMonthBoundaries_data()
{
    QTest::addColumn<QString>("lastInstant");
    QTest::addColumn<QString>("monthStart");
    QTest::newRow("February") << "2026-02-28T23:59:59.999Z"
                              << "2026-02-01T00:00:00.000Z";
    QTest::newRow("leap February") << "2028-02-29T23:59:59.999Z"
                                   << "2028-02-01T00:00:00.000Z";
    QTest::newRow("December into January") << "2026-12-31T23:59:59.999Z"
                                           << "2026-12-01T00:00:00.000Z";
}

void TestSpendLedger::calendarMonthBoundaries()
{
    QFETCH(QString, lastInstant);
    QFETCH(QString, monthStart);
    SpendLedger ledger(policy(R"({"name": "monthly", "window": "month", "limit_usd": 1000})"));
    const QString monthly = QStringLiteral("monthly");
    const qint64 first = at(qPrintable(monthStart));
    const qint64 last = at(qPrintable(lastInstant));
    ledger.charge(member(QStringLiteral("a")), kHaiku, 100, first);
    ledger.charge(member(QStringLiteral("a")), kHaiku, 50, first + 10 * kDayMs);
    ledger.charge(member(QStringLiteral("a")), kHaiku, 25, last);
    QCOMPARE(spent(ledger, monthly, last), 175.0);
    QCOMPARE(ledger.status(last).constFirst().resetsAtMs, last + 1);
    QCOMPARE(ledger.status(last).constFirst().windowStartMs, first);
    QCOMPARE(spent(ledger, monthly, last + 1), 0.0);
    const ChargeOutcome next = ledger.charge(member(QStringLiteral("a")), kHaiku, 1, last + 1);
    QCOMPARE(next.increments.constFirst().windowStartMs, last + 1);
    QCOMPARE(spent(ledger, monthly, last + 1), 1.0);
}

void TestSpendLedger::lateChargeOfEndedWindow()
{
    // A worker read the clock just before midnight and charges after another charged the new
    // day: the late charge is persisted for its own day but does not count in the new one.
    SpendLedger ledger(policy(R"({"name": "daily", "window": "day", "limit_usd": 100})"));
    const qint64 midnight = at("2026-11-29T00:00:00.000Z");
    ledger.charge(member(QStringLiteral("a")), kHaiku, 1, midnight);
    const ChargeOutcome late = ledger.charge(member(QStringLiteral("a")), kHaiku, 5, midnight - 1);
    QCOMPARE(late.increments.constFirst().windowStartMs, at("2026-11-28T00:00:00.000Z"));
    QCOMPARE(spent(ledger, QStringLiteral("daily"), midnight), 1.0);
}

void TestSpendLedger::rollingWindowExactBoundary_data()
{
    QTest::addColumn<QString>("window");
    QTest::addColumn<qint64>("length");
    QTest::addColumn<qint64>("width");
    QTest::newRow("hour") << "hour" << kHourMs << kMinuteMs;
    QTest::newRow("day") << "day" << kDayMs << 24 * kMinuteMs;
    QTest::newRow("month") << "month" << 30 * kDayMs << 12 * kHourMs;
}

void TestSpendLedger::rollingWindowExactBoundary()
{
    QFETCH(QString, window);
    QFETCH(qint64, length);
    QFETCH(qint64, width);
    SpendLedger ledger(
        policy(R"({"name": "r", "alignment": "rolling", "limit_usd": 10, "window": ")" +
               window.toLatin1() + R"("})"));
    const QString r = QStringLiteral("r");
    const qint64 bucket = at("2026-11-28T12:00:00.000Z");          // a bucket start for all three
    ledger.charge(member(QStringLiteral("a")), kHaiku, 1, bucket); // first instant
    ledger.charge(member(QStringLiteral("a")), kHaiku, 2, bucket + width - 1); // last instant
    ledger.charge(member(QStringLiteral("a")), kHaiku, 4, bucket + width);     // next bucket
    QCOMPARE(spent(ledger, r, bucket + width), 7.0);
    // Everything counts for at least the window, from its last instant...
    QCOMPARE(spent(ledger, r, bucket + width - 1 + length), 7.0);
    // ...and leaves with its bucket, one bucket width at most after that.
    const qint64 leaves = bucket + width + length;
    QCOMPARE(spent(ledger, r, leaves - 1), 7.0);
    QCOMPARE(spent(ledger, r, leaves), 4.0);
    QCOMPARE(spent(ledger, r, leaves + width - 1), 4.0);
    QCOMPARE(spent(ledger, r, leaves + width), 0.0);
    // A snapshot says when each part leaves, and status when all of it has.
    const SpendState state = ledger.snapshot(bucket + width);
    QCOMPARE(state.find(r)->slices.size(), 2);
    QCOMPARE(state.find(r)->slices.at(0).leavesAtMs, leaves);
    QCOMPARE(state.spentAt(r, leaves), 4.0);
    QCOMPARE(ledger.status(bucket + width).constFirst().resetsAtMs, leaves + width);
    QCOMPARE(ledger.status(bucket + width).constFirst().windowStartMs, bucket + width - length);
    QCOMPARE(ledger.status(leaves + width).constFirst().resetsAtMs, leaves + width);
}

void TestSpendLedger::rollingOverManyWindows()
{
    // A charge every minute for five hours: the ring of buckets wraps many times and the sum
    // always equals exactly the charges whose bucket has not left.
    SpendLedger ledger(
        policy(R"({"name": "r", "window": "hour", "alignment": "rolling", "limit_usd": 1000})"));
    const qint64 start = at("2026-11-28T10:00:30.000Z");
    QList<QPair<qint64, double>> charges;
    for (int i = 0; i < 300; ++i) {
        const qint64 now = start + i * kMinuteMs;
        const double cost = double(i % 7 + 1) / 8; // exact in binary
        ledger.charge(member(QStringLiteral("a")), kHaiku, cost, now);
        charges.append({now, cost});
        double expected = 0;
        for (const auto &charge : charges) {
            const qint64 bucket = charge.first - charge.first % kMinuteMs;
            if (bucket + kMinuteMs + kHourMs > now)
                expected += charge.second;
        }
        QCOMPARE(spent(ledger, QStringLiteral("r"), now), expected);
        QVERIFY(ledger.snapshot(now).find(QStringLiteral("r"))->slices.size() <= 61);
    }
}

void TestSpendLedger::crossingsOncePerWindow()
{
    SpendLedger ledger(policy(
        R"({"name": "team-ml-daily", "scope": {"kind": "team", "value": "ml"}, "window": "day",)"
        R"( "limit_usd": 50, "actions": [{"at_percent": 50, "action": "alert"},)"
        R"( {"at_percent": 80, "action": "downgrade"}, {"at_percent": 100, "action": "block"}]})"));
    const qint64 now = at("2026-11-28T12:00:00.000Z");
    const Principal alice = member(QStringLiteral("alice"));
    QVERIFY(ledger.charge(alice, kSonnet, 24, now).crossings.isEmpty());
    ChargeOutcome outcome = ledger.charge(alice, kSonnet, 1, now); // 25: exactly 50 %
    QCOMPARE(outcome.crossings.size(), 1);
    QCOMPARE(outcome.crossings.at(0).budget, QStringLiteral("team-ml-daily"));
    QCOMPARE(outcome.crossings.at(0).atPercent, 50.0);
    QCOMPARE(outcome.crossings.at(0).action, BudgetAction::Alert);
    QCOMPARE(outcome.crossings.at(0).spentUsd, 25.0);
    QCOMPARE(outcome.crossings.at(0).limitUsd, 50.0);
    QCOMPARE(outcome.crossings.at(0).atMs, now);
    QVERIFY(ledger.charge(alice, kSonnet, 1, now).crossings.isEmpty()); // 26: nothing new
    // One charge across two thresholds reports both, in order.
    outcome = ledger.charge(alice, kSonnet, 30, now); // 56
    QCOMPARE(outcome.crossings.size(), 2);
    QCOMPARE(outcome.crossings.at(0).action, BudgetAction::Downgrade);
    QCOMPARE(outcome.crossings.at(1).action, BudgetAction::Block);
    QVERIFY(ledger.charge(alice, kSonnet, 1, now).crossings.isEmpty());
    // A new day crosses again.
    outcome = ledger.charge(alice, kSonnet, 25, at("2026-11-29T00:00:00.000Z"));
    QCOMPARE(outcome.crossings.size(), 1);
    QCOMPARE(outcome.crossings.at(0).atPercent, 50.0);
}

void TestSpendLedger::status()
{
    SpendLedger ledger(policy(
        R"({"name": "team-ml-daily", "scope": {"kind": "team", "value": "ml"}, "window": "day",)"
        R"( "limit_usd": 50, "actions": [{"at_percent": 50, "action": "alert"},)"
        R"( {"at_percent": 80, "action": "downgrade"}, {"at_percent": 100, "action": "block"}]},)"
        R"({"name": "idle", "scope": {"kind": "user", "value": "nobody"}, "window": "hour",)"
        R"( "alignment": "rolling", "limit_usd": 2})"));
    const qint64 now = at("2026-11-28T18:30:00.000Z");
    ledger.charge(member(QStringLiteral("alice")), kSonnet, 45, now);
    QList<BudgetStatus> statuses = ledger.status(now);
    QCOMPARE(statuses.size(), 2);
    const BudgetStatus &ml = statuses.at(0);
    QCOMPARE(ml.name, QStringLiteral("team-ml-daily"));
    QCOMPARE(ml.scope.value, QStringLiteral("ml"));
    QCOMPARE(ml.window, BudgetWindow::Day);
    QCOMPARE(ml.alignment, BudgetAlignment::Calendar);
    QCOMPARE(ml.limitUsd, 50.0);
    QCOMPARE(ml.spentUsd, 45.0);
    QCOMPARE(ml.remainingUsd, 5.0);
    QCOMPARE(ml.percent, 90.0);
    QCOMPARE(ml.windowStartMs, at("2026-11-28T00:00:00.000Z"));
    QCOMPARE(ml.resetsAtMs, at("2026-11-29T00:00:00.000Z"));
    QCOMPARE(ml.action, BudgetAction::Downgrade);
    const BudgetStatus &idle = statuses.at(1);
    QCOMPARE(idle.spentUsd, 0.0);
    QCOMPARE(idle.remainingUsd, 2.0);
    QCOMPARE(idle.percent, 0.0);
    QCOMPARE(idle.resetsAtMs, now);
    QCOMPARE(idle.action, BudgetAction::None);

    ledger.charge(member(QStringLiteral("alice")), kSonnet, 10, now);
    statuses = ledger.status(now);
    QCOMPARE(statuses.at(0).remainingUsd, 0.0); // never negative
    QCOMPARE(statuses.at(0).percent, 110.0);
    QCOMPARE(statuses.at(0).action, BudgetAction::Block);
}

void TestSpendLedger::snapshotDrivesTheGuard()
{
    const BudgetPolicy budgets = policy(
        R"({"name": "team-ml-daily", "scope": {"kind": "team", "value": "ml"}, "window": "day",)"
        R"( "limit_usd": 50, "actions": [{"at_percent": 50, "action": "alert"},)"
        R"( {"at_percent": 80, "action": "downgrade"}, {"at_percent": 100, "action": "block"}]})");
    SpendLedger ledger(budgets);
    const Principal alice = member(QStringLiteral("alice"));
    const qint64 now = at("2026-11-28T18:30:00.000Z");
    auto check = [&](double estimate) {
        return BudgetGuard::check(budgets, ledger.snapshot(now), alice, kSonnet, estimate, now);
    };
    QCOMPARE(check(0.1).action, BudgetAction::None);
    ledger.charge(alice, kSonnet, 30, now);
    QCOMPARE(check(0.1).action, BudgetAction::Alert);
    ledger.charge(alice, kSonnet, 10, now);
    QCOMPARE(check(0.1).action, BudgetAction::Downgrade);
    QCOMPARE(check(10.5).action, BudgetAction::Block); // the pre-check
    ledger.charge(alice, kSonnet, 10.12, now);
    const auto blocked = check(0.1);
    QCOMPARE(blocked.action, BudgetAction::Block);
    QCOMPARE(blocked.message, QStringLiteral("Budget \"team-ml-daily\" exhausted: $50.12 of $50.00 "
                                             "spent; resets 2026-11-29T00:00:00Z"));
}

void TestSpendLedger::concurrentChargesSumExactly()
{
    SpendLedger ledger(policy(
        R"({"name": "daily", "window": "day", "limit_usd": 1000000},)"
        R"({"name": "rolling", "window": "hour", "alignment": "rolling", "limit_usd": 1000000})"));
    const qint64 base = at("2026-11-28T12:00:00.000Z");
    constexpr int kThreads = 8;
    constexpr int kCharges = 20000;
    std::atomic<int> crossings{0};
    std::vector<std::thread> threads;
    std::vector<double> incrementSums(kThreads, 0.0);
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            const Principal who = member(QStringLiteral("user%1").arg(t));
            for (int i = 0; i < kCharges; ++i) {
                // Amounts exact in binary, spread over several rolling buckets.
                const ChargeOutcome outcome =
                    ledger.charge(who, kHaiku, 0.125 * (1 + (i + t) % 4), base + (i % 600) * 1000);
                for (const SpendIncrement &increment : outcome.increments)
                    incrementSums[size_t(t)] += increment.usd;
                crossings += int(outcome.crossings.size());
            }
        });
    }
    for (std::thread &thread : threads)
        thread.join();

    double expected = 0;
    for (int t = 0; t < kThreads; ++t) {
        for (int i = 0; i < kCharges; ++i)
            expected += 0.125 * (1 + (i + t) % 4);
    }
    const qint64 end = base + 600 * 1000;
    // Exact equality, not QCOMPARE's fuzzy one: not one charge may be lost or doubled.
    QVERIFY(spent(ledger, QStringLiteral("daily"), end) == expected);
    QVERIFY(spent(ledger, QStringLiteral("rolling"), end) == expected);
    double increments = 0;
    for (double sum : incrementSums)
        increments += sum;
    QVERIFY(increments == 2 * expected); // every charge fed both budgets once
    QCOMPARE(crossings.load(), 0);       // the limits were never reached
}

void TestSpendLedger::restoreFromRows()
{
    SpendLedger ledger(policy(R"({"name": "daily", "window": "day", "limit_usd": 100},)"
                              R"({"name": "monthly", "window": "month", "limit_usd": 1000})"));
    const qint64 now = at("2026-11-28T12:00:00.000Z");
    const qint64 today = at("2026-11-28T00:00:00.000Z");
    const qint64 yesterday = at("2026-11-27T00:00:00.000Z");
    const qint64 november = at("2026-11-01T00:00:00.000Z");
    const qint64 october = at("2026-10-01T00:00:00.000Z");
    ledger.restore({{QStringLiteral("daily"), today, today, 12.5},
                    {QStringLiteral("daily"), yesterday, yesterday, 40}, // a past window
                    {QStringLiteral("monthly"), november, november, 300},
                    {QStringLiteral("monthly"), october, october, 900},
                    {QStringLiteral("gone"), today, today, 5}}, // no longer in the policy
                   now);
    QCOMPARE(spent(ledger, QStringLiteral("daily"), now), 12.5);
    QCOMPARE(spent(ledger, QStringLiteral("monthly"), now), 300.0);
    // Charges add to what was restored.
    ledger.charge(member(QStringLiteral("a")), kHaiku, 0.5, now);
    QCOMPARE(spent(ledger, QStringLiteral("daily"), now), 13.0);
    // Restricted to some budgets, the others are left alone.
    ledger.restore({{QStringLiteral("daily"), today, today, 1},
                    {QStringLiteral("monthly"), november, november, 1}},
                   now, {QStringLiteral("monthly")});
    QCOMPARE(spent(ledger, QStringLiteral("daily"), now), 13.0);
    QCOMPARE(spent(ledger, QStringLiteral("monthly"), now), 301.5);
}

void TestSpendLedger::restoreRollingRows()
{
    SpendLedger ledger(
        policy(R"({"name": "r", "window": "hour", "alignment": "rolling", "limit_usd": 100})"));
    const qint64 now = at("2026-11-28T12:30:00.000Z");
    ledger.restore({{QStringLiteral("r"), 0, at("2026-11-28T11:29:00.000Z"), 1}, // left at 12:30
                    {QStringLiteral("r"), 0, at("2026-11-28T11:30:00.000Z"), 2}, // leaves 12:31
                    {QStringLiteral("r"), 0, at("2026-11-28T12:29:00.000Z"), 4}},
                   now);
    QCOMPARE(spent(ledger, QStringLiteral("r"), now), 6.0);
    QCOMPARE(spent(ledger, QStringLiteral("r"), at("2026-11-28T12:31:00.000Z")), 4.0);
}

void TestSpendLedger::setSpendReplacesRatherThanAdds()
{
    // What RedisSpendStore does every second: the replicas' shared total replaces the budget's
    // spend, so reading the same total twice never counts it twice.
    SpendLedger ledger(policy(R"({"name": "daily", "window": "day", "limit_usd": 100},)"
                              R"({"name": "r", "window": "hour", "alignment": "rolling",)"
                              R"( "limit_usd": 100})"));
    const qint64 now = at("2026-11-28T12:30:00.000Z");
    const qint64 today = at("2026-11-28T00:00:00.000Z");
    ledger.charge(member(QStringLiteral("a")), kHaiku, 2, now);
    const QList<SpendIncrement> shared{
        {QStringLiteral("daily"), today, today, 7.5},
        {QStringLiteral("daily"), today - kDayMs, today - kDayMs, 50}}; // yesterday: not counted
    ledger.setSpend(QStringLiteral("daily"), shared, now);
    QCOMPARE(spent(ledger, QStringLiteral("daily"), now), 7.5);
    ledger.setSpend(QStringLiteral("daily"), shared, now);
    QCOMPARE(spent(ledger, QStringLiteral("daily"), now), 7.5);
    // Other budgets keep their own spend; charges still add on top until the next set.
    QCOMPARE(spent(ledger, QStringLiteral("r"), now), 2.0);
    ledger.charge(member(QStringLiteral("a")), kHaiku, 0.5, now);
    QCOMPARE(spent(ledger, QStringLiteral("daily"), now), 8.0);

    // Rolling rows count by their bucket, as restore() counts them; an empty set clears.
    ledger.setSpend(QStringLiteral("r"),
                    {{QStringLiteral("r"), 0, at("2026-11-28T11:29:00.000Z"), 1}, // has left
                     {QStringLiteral("r"), 0, at("2026-11-28T11:30:00.000Z"), 2},
                     {QStringLiteral("r"), 0, at("2026-11-28T12:29:00.000Z"), 4}},
                    now);
    QCOMPARE(spent(ledger, QStringLiteral("r"), now), 6.0);
    QCOMPARE(spent(ledger, QStringLiteral("r"), at("2026-11-28T12:31:00.000Z")), 4.0);
    ledger.setSpend(QStringLiteral("r"), {}, now);
    QCOMPARE(spent(ledger, QStringLiteral("r"), now), 0.0);
    ledger.setSpend(QStringLiteral("unknown"), shared, now); // ignored
    QCOMPARE(spent(ledger, QStringLiteral("daily"), now), 8.0);
}

void TestSpendLedger::setPolicyKeepsSpendByName()
{
    SpendLedger ledger(policy(R"({"name": "a", "window": "day", "limit_usd": 10},)"
                              R"({"name": "b", "window": "day", "limit_usd": 10})"));
    const qint64 now = at("2026-11-28T12:00:00.000Z");
    ledger.charge(member(QStringLiteral("x")), kHaiku, 3, now);
    const QStringList fresh = ledger.setPolicy(
        policy(R"({"name": "a", "window": "day", "limit_usd": 20,)" // new limit: keeps spend
               R"( "scope": {"kind": "team", "value": "ml"}},)"
               R"({"name": "b", "window": "hour", "limit_usd": 10},)" // new window: starts afresh
               R"({"name": "c", "window": "day", "limit_usd": 10})"));
    QCOMPARE(fresh, (QStringList{QStringLiteral("b"), QStringLiteral("c")}));
    QCOMPARE(spent(ledger, QStringLiteral("a"), now), 3.0);
    QCOMPARE(spent(ledger, QStringLiteral("b"), now), 0.0);
    QCOMPARE(ledger.status(now).constFirst().limitUsd, 20.0);
    QCOMPARE(ledger.policy().budgets().size(), 3);
}

void TestSpendLedger::oldestNeeded()
{
    const qint64 now = at("2026-11-28T12:34:56.000Z");
    QCOMPARE(SpendLedger().oldestNeededMs(now), now);
    SpendLedger calendar(policy(R"({"name": "m", "window": "month", "limit_usd": 1},)"
                                R"({"name": "d", "window": "day", "limit_usd": 1})"));
    QCOMPARE(calendar.oldestNeededMs(now), at("2026-11-01T00:00:00.000Z"));
    SpendLedger rolling(
        policy(R"({"name": "r", "window": "month", "alignment": "rolling", "limit_usd": 1})"));
    QCOMPARE(rolling.oldestNeededMs(now), at("2026-10-29T00:00:00.000Z"));
}

QTEST_GUILESS_MAIN(TestSpendLedger)
#include "tst_spendledger.moc"
