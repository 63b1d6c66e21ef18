#include "limits/spendledger.h"

#include "limits/budgetwindow.h"

#include <QSet>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace tollgate::limits {

namespace {

constexpr qint64 kNever = std::numeric_limits<qint64>::min();
// Matches BudgetGuard: sums of small doubles must still reach a threshold they add up to.
constexpr double kToleranceUsd = 1e-9;

qint64 positiveModulo(qint64 value, qint64 modulus)
{
    const qint64 remainder = value % modulus;
    return remainder < 0 ? remainder + modulus : remainder;
}

} // namespace

// The spend of one budget. Not thread-safe: the ledger's lock guards it.
struct SpendLedger::Account {
    // One more bucket than a window holds: the oldest still counts while the newest fills.
    static constexpr int kRingSize = budgetwindow::kRollingBuckets + 1;

    struct Bucket {
        qint64 startMs = kNever;
        double usd = 0;
    };

    Account(BudgetWindow window_, BudgetAlignment alignment_)
        : window(window_)
        , alignment(alignment_)
        , lengthMs(budgetwindow::rollingLengthMs(window_))
        , widthMs(budgetwindow::bucketWidthMs(window_))
    {
    }

    bool rolling() const { return alignment == BudgetAlignment::Rolling; }

    qint64 leavesAtMs(const Bucket &bucket) const { return bucket.startMs + widthMs + lengthMs; }

    /// Adds `usd` spent at `timeMs` and returns the increment to persist. Spend too old for
    /// the window in memory is not counted there, but is still persisted: it happened.
    SpendIncrement add(const QString &name, double usd, qint64 timeMs)
    {
        if (rolling()) {
            const qint64 start = budgetwindow::bucketStartMs(window, timeMs);
            Bucket &bucket = ring[size_t(positiveModulo(start / widthMs, kRingSize))];
            if (bucket.startMs < start)
                bucket = {start, 0.0};
            // A newer bucket in the slot means `timeMs` is a window old: it no longer counts.
            if (bucket.startMs == start)
                bucket.usd += usd;
            return {name, 0, start, usd};
        }
        const qint64 start = budgetwindow::calendarStartMs(window, timeMs);
        if (windowStartMs < start) {
            windowStartMs = start;
            spentUsd = 0;
        }
        // A charge read from the clock just before midnight may arrive after one from just
        // after it; it belongs to the window that has ended.
        if (windowStartMs == start)
            spentUsd += usd;
        return {name, start, start, usd};
    }

    /// Counts a persisted or shared row where its bucketMs falls: in the current calendar
    /// window, or in a rolling bucket that has not left the window yet. Rows are points in
    /// time, so they count correctly even when written under another window or alignment.
    void addRow(const SpendIncrement &row, qint64 nowMs)
    {
        if (!std::isfinite(row.usd) || row.usd == 0)
            return;
        if (rolling()) {
            const qint64 start = budgetwindow::bucketStartMs(window, row.bucketMs);
            if (start + widthMs + lengthMs <= nowMs || row.bucketMs > nowMs)
                return;
        } else if (budgetwindow::calendarStartMs(window, row.bucketMs) !=
                   budgetwindow::calendarStartMs(window, nowMs)) {
            return;
        }
        add(row.budget, row.usd, row.bucketMs);
    }

    void clear()
    {
        windowStartMs = kNever;
        spentUsd = 0;
        ring.fill(Bucket());
    }

    double spentAt(qint64 nowMs) const
    {
        if (!rolling())
            return windowStartMs == budgetwindow::calendarStartMs(window, nowMs) ? spentUsd : 0.0;
        double total = 0;
        for (const Bucket &bucket : ring) {
            if (bucket.startMs != kNever && leavesAtMs(bucket) > nowMs)
                total += bucket.usd;
        }
        return total;
    }

    BudgetSpend spend(qint64 nowMs) const
    {
        BudgetSpend result;
        if (!rolling()) {
            if (windowStartMs == budgetwindow::calendarStartMs(window, nowMs) && spentUsd != 0)
                result.slices.append({budgetwindow::calendarEndMs(window, nowMs), spentUsd});
            return result;
        }
        for (const Bucket &bucket : ring) {
            if (bucket.startMs != kNever && bucket.usd != 0 && leavesAtMs(bucket) > nowMs)
                result.slices.append({leavesAtMs(bucket), bucket.usd});
        }
        std::sort(
            result.slices.begin(), result.slices.end(),
            [](const SpendSlice &a, const SpendSlice &b) { return a.leavesAtMs < b.leavesAtMs; });
        return result;
    }

    const BudgetWindow window;
    const BudgetAlignment alignment;
    const qint64 lengthMs;
    const qint64 widthMs;
    // calendar
    qint64 windowStartMs = kNever;
    double spentUsd = 0;
    // rolling
    std::array<Bucket, kRingSize> ring{};
};

SpendLedger::SpendLedger(BudgetPolicy policy)
{
    setPolicy(std::move(policy));
}

SpendLedger::~SpendLedger() = default;

QStringList SpendLedger::setPolicy(BudgetPolicy policy)
{
    std::lock_guard<std::mutex> lock(m_mutex);
    std::vector<std::unique_ptr<Account>> accounts;
    QHash<QString, qsizetype> indexByName;
    QStringList fresh;
    for (const Budget &budget : policy.budgets()) {
        std::unique_ptr<Account> account;
        const auto old = m_indexByName.constFind(budget.name);
        if (old != m_indexByName.constEnd()) {
            std::unique_ptr<Account> &previous = m_accounts[size_t(old.value())];
            if (previous && previous->window == budget.window &&
                previous->alignment == budget.alignment)
                account = std::move(previous);
        }
        if (!account) {
            account = std::make_unique<Account>(budget.window, budget.alignment);
            fresh.append(budget.name);
        }
        indexByName.insert(budget.name, qsizetype(accounts.size()));
        accounts.push_back(std::move(account));
    }
    m_policy = std::move(policy);
    m_accounts = std::move(accounts);
    m_indexByName = std::move(indexByName);
    return fresh;
}

BudgetPolicy SpendLedger::policy() const
{
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_policy;
}

ChargeOutcome SpendLedger::charge(const policy::Principal &principal, const QString &model,
                                  double costUsd, qint64 nowMs)
{
    ChargeOutcome outcome;
    if (!std::isfinite(costUsd) || costUsd <= 0)
        return outcome;
    std::lock_guard<std::mutex> lock(m_mutex);
    const QList<Budget> &budgets = m_policy.budgets();
    for (qsizetype i = 0; i < budgets.size(); ++i) {
        const Budget &budget = budgets.at(i);
        if (!budget.scope.matches(principal, model))
            continue;
        Account &account = *m_accounts[size_t(i)];
        const double before = account.spentAt(nowMs);
        outcome.increments.append(account.add(budget.name, costUsd, nowMs));
        const double after = account.spentAt(nowMs);
        for (const BudgetThreshold &threshold : budget.actions) {
            const double amount = threshold.amountUsd(budget.limitUsd) - kToleranceUsd;
            if (before < amount && after >= amount)
                outcome.crossings.append({budget.name, threshold.atPercent, threshold.action, after,
                                          budget.limitUsd, nowMs});
        }
    }
    return outcome;
}

void SpendLedger::restore(const QList<SpendIncrement> &rows, qint64 nowMs,
                          const QStringList &onlyBudgets)
{
    const QSet<QString> only(onlyBudgets.begin(), onlyBudgets.end());
    std::lock_guard<std::mutex> lock(m_mutex);
    for (const SpendIncrement &row : rows) {
        if (!only.isEmpty() && !only.contains(row.budget))
            continue;
        const auto index = m_indexByName.constFind(row.budget);
        if (index != m_indexByName.constEnd())
            m_accounts[size_t(index.value())]->addRow(row, nowMs);
    }
}

void SpendLedger::setSpend(const QString &budget, const QList<SpendIncrement> &rows, qint64 nowMs)
{
    std::lock_guard<std::mutex> lock(m_mutex);
    const auto index = m_indexByName.constFind(budget);
    if (index == m_indexByName.constEnd())
        return;
    Account &account = *m_accounts[size_t(index.value())];
    account.clear();
    for (const SpendIncrement &row : rows)
        account.addRow(row, nowMs);
}

SpendState SpendLedger::snapshot(qint64 nowMs) const
{
    SpendState state;
    state.takenAtMs = nowMs;
    std::lock_guard<std::mutex> lock(m_mutex);
    const QList<Budget> &budgets = m_policy.budgets();
    state.budgets.reserve(budgets.size());
    for (qsizetype i = 0; i < budgets.size(); ++i) {
        BudgetSpend spend = m_accounts[size_t(i)]->spend(nowMs);
        if (!spend.slices.isEmpty())
            state.budgets.insert(budgets.at(i).name, std::move(spend));
    }
    return state;
}

QList<BudgetStatus> SpendLedger::status(qint64 nowMs) const
{
    QList<BudgetStatus> result;
    std::lock_guard<std::mutex> lock(m_mutex);
    const QList<Budget> &budgets = m_policy.budgets();
    result.reserve(budgets.size());
    for (qsizetype i = 0; i < budgets.size(); ++i) {
        const Budget &budget = budgets.at(i);
        const Account &account = *m_accounts[size_t(i)];
        BudgetStatus status;
        status.name = budget.name;
        status.scope = budget.scope;
        status.window = budget.window;
        status.alignment = budget.alignment;
        status.limitUsd = budget.limitUsd;
        const BudgetSpend spend = account.spend(nowMs);
        status.spentUsd = spend.spentAt(nowMs);
        status.remainingUsd = std::max(0.0, budget.limitUsd - status.spentUsd);
        status.percent = status.spentUsd / budget.limitUsd * 100.0;
        if (account.rolling()) {
            status.windowStartMs = nowMs - account.lengthMs;
            status.resetsAtMs =
                spend.slices.isEmpty() ? nowMs : spend.slices.constLast().leavesAtMs;
        } else {
            status.windowStartMs = budgetwindow::calendarStartMs(budget.window, nowMs);
            status.resetsAtMs = budgetwindow::calendarEndMs(budget.window, nowMs);
        }
        for (const BudgetThreshold &threshold : budget.actions) {
            if (status.spentUsd >= threshold.amountUsd(budget.limitUsd) - kToleranceUsd)
                status.action = std::max(status.action, threshold.action);
        }
        result.append(status);
    }
    return result;
}

qint64 SpendLedger::oldestNeededMs(qint64 nowMs) const
{
    std::lock_guard<std::mutex> lock(m_mutex);
    qint64 oldest = nowMs;
    for (const std::unique_ptr<Account> &account : m_accounts) {
        const qint64 needed =
            account->rolling() ? budgetwindow::bucketStartMs(
                                     account->window, nowMs - account->lengthMs - account->widthMs)
                               : budgetwindow::calendarStartMs(account->window, nowMs);
        oldest = std::min(oldest, needed);
    }
    return oldest;
}

} // namespace tollgate::limits
