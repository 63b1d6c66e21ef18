#include "limits/redisspendstore.h"

#include "limits/budgetwindow.h"
#include "store/redisclient.h"

#include <QDateTime>
#include <QHash>
#include <QMap>
#include <QtDebug>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

namespace tollgate::limits {

namespace {

// Matches SpendLedger and BudgetGuard: sums of small doubles must still reach a threshold they
// add up to.
constexpr double kToleranceUsd = 1e-9;

// KEYS[1]: one budget's hash. ARGV: now (ms since the epoch); the newest bucket start that no
// longer counts (fields at or below it are deleted); until when the newest field counts (the
// hash lives at least that long); then field, amount pairs to add. Returns the hash after all
// of that, as HGETALL does: the global total right after this replica's increments.
constexpr const char kAddScript[] = R"lua(
local key = KEYS[1]
local now = tonumber(ARGV[1])
local dropAtOrBelow = tonumber(ARGV[2])
local keepUntil = tonumber(ARGV[3])
for n = 4, #ARGV, 2 do
  redis.call('HINCRBYFLOAT', key, ARGV[n], ARGV[n + 1])
end
local flat = redis.call('HGETALL', key)
local kept = {}
for n = 1, #flat, 2 do
  local bucket = tonumber(flat[n])
  if bucket == nil or bucket <= dropAtOrBelow then
    redis.call('HDEL', key, flat[n])
  else
    kept[#kept + 1] = flat[n]
    kept[#kept + 1] = flat[n + 1]
  end
end
-- Only ever lengthen the TTL: another replica may have sent newer spend a moment ago.
if #kept > 0 and keepUntil > now and redis.call('PTTL', key) < keepUntil - now then
  redis.call('PEXPIRE', key, keepUntil - now)
end
return kept
)lua";

const store::RedisScript &addScript()
{
    static const store::RedisScript script{QByteArray(kAddScript)};
    return script;
}

bool rolling(const Budget &budget)
{
    return budget.alignment == BudgetAlignment::Rolling;
}

/// Whether spend at `bucketMs` counts in `budget`'s window at `nowMs`; the same rule as
/// SpendLedger::restore().
bool counts(const Budget &budget, qint64 bucketMs, qint64 nowMs)
{
    if (rolling(budget)) {
        const qint64 start = budgetwindow::bucketStartMs(budget.window, bucketMs);
        return start + budgetwindow::bucketWidthMs(budget.window) +
                       budgetwindow::rollingLengthMs(budget.window) >
                   nowMs &&
               bucketMs <= nowMs;
    }
    return budgetwindow::calendarStartMs(budget.window, bucketMs) ==
           budgetwindow::calendarStartMs(budget.window, nowMs);
}

/// The newest bucket start that no longer counts at `nowMs`: fields at or below it are
/// deleted.
qint64 dropAtOrBelowMs(const Budget &budget, qint64 nowMs)
{
    if (rolling(budget))
        return nowMs - budgetwindow::bucketWidthMs(budget.window) -
               budgetwindow::rollingLengthMs(budget.window);
    return budgetwindow::calendarStartMs(budget.window, nowMs) - 1;
}

/// How long the hash must live for spend at `bucketMs`: a window length plus one bucket after
/// the start of its bucket (rolling) or its window (calendar, where the extra bucket covers
/// replicas whose clocks run a little behind).
qint64 keepUntilMs(const Budget &budget, qint64 bucketMs)
{
    const qint64 width = budgetwindow::bucketWidthMs(budget.window);
    if (rolling(budget))
        return budgetwindow::bucketStartMs(budget.window, bucketMs) + width +
               budgetwindow::rollingLengthMs(budget.window);
    return budgetwindow::calendarEndMs(budget.window, bucketMs) + width;
}

SpendIncrement row(const Budget &budget, qint64 bucketMs, double usd)
{
    return {budget.name, rolling(budget) ? 0 : bucketMs, bucketMs, usd};
}

/// A budget's hash as HGETALL (or the script) returns it: field, value, field, value...
/// Unreadable pairs are skipped.
QList<SpendIncrement> rowsOf(const Budget &budget, const store::RedisReply &reply)
{
    QList<SpendIncrement> rows;
    const QList<store::RedisReply> &flat = reply.elements;
    for (qsizetype n = 0; n + 1 < flat.size(); n += 2) {
        bool bucketOk = false;
        bool usdOk = false;
        const qint64 bucketMs = flat.at(n).string.toLongLong(&bucketOk);
        const double usd = flat.at(n + 1).string.toDouble(&usdOk);
        if (bucketOk && usdOk && std::isfinite(usd))
            rows.append(row(budget, bucketMs, usd));
    }
    return rows;
}

double countedUsd(const Budget &budget, const QList<SpendIncrement> &rows, qint64 nowMs)
{
    double total = 0;
    for (const SpendIncrement &r : rows) {
        if (counts(budget, r.bucketMs, nowMs))
            total += r.usd;
    }
    return total;
}

bool isHash(const store::RedisReply &reply)
{
    return reply.type == store::RedisReply::Type::Array;
}

} // namespace

// The queue of unsent increments and the thread that sends them and reads the totals back.
struct RedisSpendStore::Worker {
    using Rows = QMap<qint64, SpendIncrement>; // bucketMs → merged increment
    enum class Link { Starting, Up, Down };

    explicit Worker(RedisSpendStore &store)
        : owner(store)
        , flushInterval(std::max(1, store.m_options.flushIntervalMs))
        , refreshInterval(std::max(1, store.m_options.refreshIntervalMs))
    {
        thread = std::thread([this] { run(); });
    }

    ~Worker()
    {
        {
            std::lock_guard<std::mutex> lock(mutex);
            stopping = true;
        }
        wake.notify_one();
        thread.join();
    }

    void enqueue(const QList<SpendIncrement> &increments)
    {
        bool wasEmpty = false;
        {
            std::lock_guard<std::mutex> lock(mutex);
            wasEmpty = pending.isEmpty();
            merge(increments);
            ++queued;
        }
        if (wasEmpty)
            wake.notify_one();
    }

    /// Adds increments to the queue; a row already waiting always takes more, a new one only
    /// below the bound. Under the mutex.
    void merge(const QList<SpendIncrement> &increments)
    {
        for (const SpendIncrement &increment : increments) {
            auto budget = pending.find(increment.budget);
            if (budget != pending.end()) {
                auto it = budget->find(increment.bucketMs);
                if (it != budget->end()) {
                    it->usd += increment.usd;
                    continue;
                }
            }
            if (pendingRows >= qsizetype(owner.m_options.maxPendingRows)) {
                ++owner.m_dropped;
                continue;
            }
            if (budget == pending.end())
                budget = pending.insert(increment.budget, Rows());
            budget->insert(increment.bucketMs, increment);
            ++pendingRows;
        }
    }

    void flush()
    {
        std::unique_lock<std::mutex> lock(mutex);
        const quint64 target = queued;
        ++flushWaiters;
        wake.notify_one();
        progress.wait(lock, [&] { return sentUpTo >= target || exited; });
        --flushWaiters;
    }

    void refresh()
    {
        std::unique_lock<std::mutex> lock(mutex);
        const quint64 target = ++refreshWanted;
        wake.notify_one();
        progress.wait(lock, [&] { return refreshDone >= target || exited; });
    }

    /// Rows not in Redis yet: queued, or in a batch being sent.
    quint64 pendingCount()
    {
        std::lock_guard<std::mutex> lock(mutex);
        return quint64(pendingRows + sendingRows);
    }

    void run();
    void send(QHash<QString, Rows> batch, qint64 nowMs);
    void readAll(qint64 nowMs);
    /// Sets the ledger's spend of `budget` to `shared` plus what still waits here. Holding the
    /// queue's lock, so that no increment is in neither.
    void setLedger(const QString &budget, QList<SpendIncrement> shared, qint64 nowMs);
    void putBack(const QList<SpendIncrement> &rows);
    void linkUp();
    void linkDown();
    void report(const ThresholdCrossing &crossing);

    RedisSpendStore &owner;
    const std::chrono::milliseconds flushInterval;
    const std::chrono::milliseconds refreshInterval;
    std::mutex mutex;
    std::condition_variable wake;
    std::condition_variable progress;
    QHash<QString, Rows> pending;
    qsizetype pendingRows = 0;
    qsizetype sendingRows = 0; ///< in the batch being sent and not put back
    quint64 queued = 0;        ///< appends ever made
    quint64 sentUpTo = 0;      ///< of those, how many were sent or failed
    quint64 refreshWanted = 0;
    quint64 refreshDone = 0;
    int flushWaiters = 0;
    bool stopping = false;
    bool exited = false;
    Link link = Link::Starting; ///< the thread's own; m_sharing mirrors it for append()
    std::thread thread;
};

void RedisSpendStore::Worker::run()
{
    std::unique_lock<std::mutex> lock(mutex);
    auto nextRefresh = std::chrono::steady_clock::now(); // read the shared totals at once
    const auto wanted = [this] {
        return stopping || flushWaiters > 0 || refreshWanted > refreshDone;
    };
    for (;;) {
        wake.wait_until(lock, nextRefresh, [&] { return wanted() || !pending.isEmpty(); });
        // Gather for one interval, so a busy budget costs one script per interval, not one
        // per request.
        if (!pending.isEmpty() && !wanted())
            wake.wait_for(lock, flushInterval, wanted);
        QHash<QString, Rows> batch;
        batch.swap(pending);
        sendingRows = pendingRows;
        pendingRows = 0;
        const quint64 taken = queued;
        const quint64 refreshTarget = refreshWanted;
        const bool last = stopping;
        const bool refreshDue =
            std::chrono::steady_clock::now() >= nextRefresh || refreshTarget > refreshDone;
        lock.unlock();
        const qint64 nowMs = QDateTime::currentMSecsSinceEpoch();
        if (!batch.isEmpty())
            send(std::move(batch), nowMs);
        if (refreshDue && !last)
            readAll(nowMs);
        lock.lock();
        sendingRows = 0;
        if (refreshDue) {
            nextRefresh = std::chrono::steady_clock::now() + refreshInterval;
            refreshDone = std::max(refreshDone, refreshTarget);
        }
        sentUpTo = std::max(sentUpTo, taken);
        if (last) {
            // What could not be sent now stays in this replica's SQLite spend store only.
            exited = true;
            progress.notify_all();
            return;
        }
        progress.notify_all();
    }
}

void RedisSpendStore::Worker::send(QHash<QString, Rows> batch, qint64 nowMs)
{
    const BudgetPolicy policy = owner.m_ledger.policy();
    struct Run {
        const Budget *budget = nullptr;
        QList<SpendIncrement> rows;
        double usd = 0; ///< what these rows add to the window counted now
    };
    QList<Run> runs;
    QList<QPair<QList<QByteArray>, QList<QByteArray>>> scripts;
    for (auto it = batch.cbegin(); it != batch.cend(); ++it) {
        // A budget that a reload removed: its spend no longer matters to any decision (and
        // this replica's SQLite store still has it).
        const Budget *budget = policy.budget(it.key());
        if (!budget)
            continue;
        Run run{budget, {}, 0};
        QList<QByteArray> args{QByteArray::number(nowMs),
                               QByteArray::number(dropAtOrBelowMs(*budget, nowMs)), QByteArray()};
        qint64 keepUntil = 0;
        for (const SpendIncrement &increment : it.value()) {
            // Spend that left the window while it waited (a long outage) would only be deleted
            // again by the script.
            if (!counts(*budget, increment.bucketMs, nowMs))
                continue;
            run.rows.append(increment);
            run.usd += increment.usd;
            keepUntil = std::max(keepUntil, keepUntilMs(*budget, increment.bucketMs));
            args << QByteArray::number(increment.bucketMs)
                 << QByteArray::number(increment.usd, 'g', 17);
        }
        if (run.rows.isEmpty())
            continue;
        args[2] = QByteArray::number(keepUntil);
        scripts.append({{owner.redisKey(budget->name)}, args});
        runs.append(std::move(run));
    }

    const qsizetype maxBatch = std::max(1, owner.m_options.maxBatch);
    for (qsizetype from = 0; from < runs.size(); from += maxBatch) {
        const qsizetype count = std::min(maxBatch, runs.size() - from);
        // During an outage's backoff the client would refuse without trying: skip the call.
        const bool tried = owner.m_client->isAvailable();
        const Expected<QList<store::RedisReply>> replies =
            tried ? owner.m_client->evalPipeline(addScript(), scripts.mid(from, count))
                  : Expected<QList<store::RedisReply>>(Error());
        if (!replies) {
            if (tried)
                ++owner.m_errors;
            for (qsizetype i = from; i < from + count; ++i)
                putBack(runs.at(i).rows);
            linkDown();
            continue;
        }
        linkUp();
        for (qsizetype i = 0; i < count; ++i) {
            const Run &run = runs.at(from + i);
            const store::RedisReply &reply = replies->at(i);
            if (!isHash(reply)) {
                // WRONGTYPE (something else owns the key), OOM, a script error: sending again
                // would fail the same way, and the SQLite store has the spend.
                owner.m_dropped += quint64(run.rows.size());
                if (++owner.m_errors == 1 || reply.isError())
                    qWarning("tollgate: budget spend script failed on %s: %s",
                             owner.redisKey(run.budget->name).constData(),
                             reply.isError() ? reply.string.constData() : "unexpected reply");
                continue;
            }
            owner.m_sent += quint64(run.rows.size());
            QList<SpendIncrement> shared = rowsOf(*run.budget, reply);
            // The script ran atomically: the total before this batch is the total after it
            // minus the batch, so exactly one replica's batch takes it across each threshold.
            const double after = countedUsd(*run.budget, shared, nowMs);
            const double before = after - run.usd;
            for (const BudgetThreshold &threshold : run.budget->actions) {
                const double amount = threshold.amountUsd(run.budget->limitUsd) - kToleranceUsd;
                if (before < amount && after >= amount)
                    report({run.budget->name, threshold.atPercent, threshold.action, after,
                            run.budget->limitUsd, nowMs});
            }
            setLedger(run.budget->name, std::move(shared), nowMs);
            owner.m_lastSyncMs.store(QDateTime::currentMSecsSinceEpoch());
        }
    }
}

void RedisSpendStore::Worker::readAll(qint64 nowMs)
{
    const BudgetPolicy policy = owner.m_ledger.policy();
    const QList<Budget> &budgets = policy.budgets();
    if (budgets.isEmpty())
        return;
    if (!owner.m_client->isAvailable()) {
        linkDown();
        return;
    }
    const qsizetype maxBatch = std::max(1, owner.m_options.maxBatch);
    bool complete = true;
    for (qsizetype from = 0; from < budgets.size(); from += maxBatch) {
        const qsizetype count = std::min(maxBatch, budgets.size() - from);
        QList<store::RedisConnection::Command> commands;
        for (qsizetype i = from; i < from + count; ++i)
            commands.append({QByteArrayLiteral("HGETALL"), owner.redisKey(budgets.at(i).name)});
        const Expected<QList<store::RedisReply>> replies = owner.m_client->pipeline(commands);
        if (!replies) {
            ++owner.m_errors;
            linkDown();
            return;
        }
        linkUp();
        for (qsizetype i = 0; i < count; ++i) {
            const store::RedisReply &reply = replies->at(i);
            if (!isHash(reply)) {
                ++owner.m_errors;
                complete = false;
                continue;
            }
            setLedger(budgets.at(from + i).name, rowsOf(budgets.at(from + i), reply), nowMs);
        }
    }
    if (complete)
        ++owner.m_refreshes;
    owner.m_lastSyncMs.store(QDateTime::currentMSecsSinceEpoch());
}

void RedisSpendStore::Worker::setLedger(const QString &budget, QList<SpendIncrement> shared,
                                        qint64 nowMs)
{
    // An increment charged to the ledger but not yet appended here (the moment between the two
    // calls) is missing until the next read, a second later at most; nothing is counted twice.
    std::lock_guard<std::mutex> lock(mutex);
    const auto waiting = pending.constFind(budget);
    if (waiting != pending.constEnd()) {
        for (const SpendIncrement &increment : waiting.value())
            shared.append(increment);
    }
    owner.m_ledger.setSpend(budget, shared, nowMs);
}

void RedisSpendStore::Worker::putBack(const QList<SpendIncrement> &rows)
{
    std::lock_guard<std::mutex> lock(mutex);
    sendingRows = std::max<qsizetype>(0, sendingRows - rows.size());
    merge(rows);
}

void RedisSpendStore::Worker::linkUp()
{
    owner.m_sharing.store(true);
    if (std::exchange(link, Link::Up) == Link::Down)
        qWarning("tollgate: budget spend reaches Redis at %s again; what was held is sent and "
                 "budgets count what all replicas spent",
                 qPrintable(owner.m_client->address()));
}

void RedisSpendStore::Worker::linkDown()
{
    owner.m_sharing.store(false);
    if (std::exchange(link, Link::Down) != Link::Down)
        qWarning("tollgate: budget spend cannot reach Redis at %s; until it is back, budgets "
                 "count this replica's spend on top of the last shared totals, and its "
                 "increments wait to be sent",
                 qPrintable(owner.m_client->address()));
}

void RedisSpendStore::Worker::report(const ThresholdCrossing &crossing)
{
    ++owner.m_crossings;
    if (owner.m_options.onCrossing) {
        owner.m_options.onCrossing(crossing);
        return;
    }
    qWarning("budget \"%s\" reached %g%% ($%.2f of $%.2f): %s", qPrintable(crossing.budget),
             crossing.atPercent, crossing.spentUsd, crossing.limitUsd,
             qPrintable(budgetActionName(crossing.action)));
}

RedisSpendStore::RedisSpendStore(std::shared_ptr<store::RedisClient> client, SpendLedger &ledger,
                                 Options options)
    : m_client(std::move(client))
    , m_ledger(ledger)
    , m_options(std::move(options))
{
    m_worker = std::make_unique<Worker>(*this);
}

RedisSpendStore::~RedisSpendStore()
{
    m_worker.reset();
}

bool RedisSpendStore::append(const QList<SpendIncrement> &increments)
{
    if (!increments.isEmpty())
        m_worker->enqueue(increments);
    return m_sharing.load() && m_client->isAvailable();
}

void RedisSpendStore::flush()
{
    m_worker->flush();
}

void RedisSpendStore::refresh()
{
    m_worker->refresh();
}

QByteArray RedisSpendStore::redisKey(const QString &budget) const
{
    return m_options.keyPrefix + QByteArrayLiteral("spend:") + budget.toUtf8();
}

RedisSpendStore::Stats RedisSpendStore::stats() const
{
    Stats s;
    s.sent = m_sent.load();
    s.errors = m_errors.load();
    s.dropped = m_dropped.load();
    s.refreshes = m_refreshes.load();
    s.crossings = m_crossings.load();
    s.pending = m_worker->pendingCount();
    s.lastSyncMs = m_lastSyncMs.load();
    s.sharing = m_sharing.load();
    return s;
}

} // namespace tollgate::limits
