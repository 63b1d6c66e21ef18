#include "limits/redisratelimitstore.h"

#include "store/redisclient.h"

#include <QRandomGenerator>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <thread>
#include <vector>

namespace tollgate::limits {

namespace {

// Same as RateLimiter: a slot frees when some stream ends, which no clock predicts.
constexpr qint64 kStreamRetryMs = 1000;

// Shared by both scripts: the run encoding and the SlidingWindow arithmetic, line for line
// (runs of 1/60 of the window; a run leaves exactly one window after its first amount).
constexpr const char kWindowFunctions[] = R"lua(
local function load(encoded, length, now)
  local runs, total, dropped = {}, 0, false
  if encoded then
    for s, a in string.gmatch(encoded, '(%-?%d+):(%d+)') do
      s = tonumber(s)
      a = tonumber(a)
      if s + length > now then
        runs[#runs + 1] = {s, a}
        total = total + a
      else
        dropped = true
      end
    end
  end
  return runs, total, dropped
end

local function add(runs, length, amount, now)
  local granularity = math.max(1, math.floor(length / 60))
  local last = runs[#runs]
  if last and now - last[1] < granularity then
    last[2] = last[2] + amount
  else
    runs[#runs + 1] = {now, amount}
  end
end

local function encode(runs)
  local parts = {}
  for n, run in ipairs(runs) do
    parts[n] = string.format('%d:%d', run[1], run[2])
  end
  return table.concat(parts, ',')
end

local function belowAt(runs, total, limit, length, now)
  if limit <= 0 or total < limit then
    return now
  end
  local remaining = total
  for _, run in ipairs(runs) do
    remaining = remaining - run[2]
    if remaining < limit then
      return math.max(now, run[1] + length)
    end
  end
  local last = runs[#runs]
  if last then
    return math.max(now, last[1] + length)
  end
  return now
end
)lua";

// KEYS[1]: the principal's hash. ARGV: now, wants a stream slot (1/0), max streams, lease id,
// lease end, then the limits of requests/hour, requests/minute, input tokens/minute and output
// tokens/minute (0: the plan has none). Returns {allowed, open streams before, then per window
// total after, empty-at after, below-limit-at before}.
constexpr const char kAdmitScript[] = R"lua(
local key = KEYS[1]
local now = tonumber(ARGV[1])
local wantSlot = ARGV[2] == '1'
local maxStreams = tonumber(ARGV[3])
local lease = ARGV[4]
local leaseUntil = tonumber(ARGV[5])
local fields = {'h', 'm', 'i', 'o'}
local lengths = {3600000, 60000, 60000, 60000}
local countsRequests = {true, true, false, false}

local stored = {}
local openStreams, expireAt = 0, 0
local flat = redis.call('HGETALL', key)
for n = 1, #flat, 2 do
  local field, value = flat[n], flat[n + 1]
  if string.sub(field, 1, 2) == 's:' then
    local untilMs = tonumber(value) or 0
    if untilMs > now then
      openStreams = openStreams + 1
      expireAt = math.max(expireAt, untilMs)
    else
      redis.call('HDEL', key, field)
    end
  else
    stored[field] = value
  end
end

local allowed = 1
local windows = {}
for w = 1, 4 do
  local runs, total, dropped = load(stored[fields[w]], lengths[w], now)
  local limit = tonumber(ARGV[5 + w])
  windows[w] = {runs = runs, total = total, limit = limit, changed = dropped}
  if limit > 0 and total >= limit then
    allowed = 0
  end
end
if wantSlot and openStreams >= maxStreams then
  allowed = 0
end

local result = {allowed, openStreams}
for w = 1, 4 do
  local win = windows[w]
  win.below = belowAt(win.runs, win.total, win.limit, lengths[w], now)
  if allowed == 1 and countsRequests[w] and win.limit > 0 then
    add(win.runs, lengths[w], 1, now)
    win.total = win.total + 1
    win.changed = true
  end
end
if allowed == 1 and wantSlot then
  redis.call('HSET', key, 's:' .. lease, leaseUntil)
  expireAt = math.max(expireAt, leaseUntil)
end
for w = 1, 4 do
  local win = windows[w]
  local last = win.runs[#win.runs]
  local emptyAt = now
  if last then
    emptyAt = math.max(now, last[1] + lengths[w])
    expireAt = math.max(expireAt, emptyAt)
  end
  if win.changed then
    if last then
      redis.call('HSET', key, fields[w], encode(win.runs))
    else
      redis.call('HDEL', key, fields[w])
    end
  end
  result[#result + 1] = win.total
  result[#result + 1] = emptyAt
  result[#result + 1] = win.below
end
-- The hash lives exactly as long as something in it still counts.
if expireAt > now then
  redis.call('PEXPIRE', key, expireAt - now)
end
return result
)lua";

// KEYS[1]: the principal's hash. ARGV: now, input tokens, output tokens (0: not charged).
constexpr const char kChargeScript[] = R"lua(
local key = KEYS[1]
local now = tonumber(ARGV[1])
local amounts = {tonumber(ARGV[2]), tonumber(ARGV[3])}
local fields = {'i', 'o'}
local keepUntil = 0
for w = 1, 2 do
  if amounts[w] > 0 then
    local runs = load(redis.call('HGET', key, fields[w]), 60000, now)
    add(runs, 60000, amounts[w], now)
    redis.call('HSET', key, fields[w], encode(runs))
    keepUntil = math.max(keepUntil, runs[#runs][1] + 60000)
  end
end
-- Only ever lengthen the TTL: the hour window or a stream lease may need longer.
if keepUntil > now and redis.call('PTTL', key) < keepUntil - now then
  redis.call('PEXPIRE', key, keepUntil - now)
end
return 1
)lua";

const store::RedisScript &admitScript()
{
    static const store::RedisScript script(QByteArray(kWindowFunctions) + kAdmitScript);
    return script;
}

const store::RedisScript &chargeScript()
{
    static const store::RedisScript script(QByteArray(kWindowFunctions) + kChargeScript);
    return script;
}

/// One window as the admission script reports it.
struct WindowResult {
    qint64 total = 0;          ///< after the admission counted (or not)
    qint64 emptyAtMs = 0;      ///< after the admission
    qint64 belowLimitAtMs = 0; ///< before the admission
};

/// One limit of the plan against one window, as RateLimiter checks it.
struct Check {
    QLatin1String name;
    qint64 limit = 0;
    const WindowResult *window = nullptr;
    bool countsRequests = false;
};

RequestQuota quotaOf(const Check &check)
{
    return {check.limit, std::max<qint64>(0, check.limit - check.window->total),
            check.window->emptyAtMs};
}

/// The Admission the script's numbers mean, built exactly as RateLimiter::admit builds it, so
/// callers cannot tell the two stores apart.
Admission admissionFrom(const Plan &plan, qint64 nowMs, bool wantsSlot, bool allowed,
                        qint64 openStreams, const WindowResult (&windows)[4])
{
    Check checks[4];
    int checkCount = 0;
    if (plan.requestsPerHour)
        checks[checkCount++] = {kRequestsPerHour, *plan.requestsPerHour, &windows[0], true};
    if (plan.requestsPerMinute)
        checks[checkCount++] = {kRequestsPerMinute, *plan.requestsPerMinute, &windows[1], true};
    if (plan.inputTokensPerMinute)
        checks[checkCount++] = {kInputTokensPerMinute, *plan.inputTokensPerMinute, &windows[2],
                                false};
    if (plan.outputTokensPerMinute)
        checks[checkCount++] = {kOutputTokensPerMinute, *plan.outputTokensPerMinute, &windows[3],
                                false};

    Admission admission;
    qint64 passAtMs = nowMs;
    if (!allowed) {
        // Nothing was counted, so the totals are those the script decided on.
        for (int i = 0; i < checkCount; ++i) {
            const Check &check = checks[i];
            if (check.window->total < check.limit)
                continue;
            const qint64 atMs = check.window->belowLimitAtMs;
            if (admission.allowed || atMs > passAtMs) {
                const RequestQuota quota = quotaOf(check);
                admission.limitName = check.name;
                admission.limit = quota.limit;
                admission.remaining = quota.remaining;
                admission.resetAtMs = quota.resetAtMs;
                passAtMs = std::max(atMs, nowMs + 1);
            }
            admission.allowed = false;
        }
        if (wantsSlot && openStreams >= *plan.maxConcurrentStreams) {
            const qint64 atMs = nowMs + kStreamRetryMs;
            if (admission.allowed || atMs > passAtMs) {
                admission.limitName = kMaxConcurrentStreams;
                admission.limit = *plan.maxConcurrentStreams;
                admission.remaining = 0;
                admission.resetAtMs = atMs;
                passAtMs = atMs;
            }
        }
        // The script is the authority; should it ever deny for a reason not seen here, the
        // caller still gets a denial with a short retry rather than an unexplained pass.
        admission.allowed = false;
        passAtMs = std::max(passAtMs, nowMs + 1);
        admission.retryAfterSeconds = int((passAtMs - nowMs + 999) / 1000);
    } else if (wantsSlot) {
        admission.holdsStreamSlot = true;
    }

    const Check *tightest = nullptr;
    for (int i = 0; i < checkCount; ++i) {
        if (checks[i].countsRequests &&
            (!tightest ||
             checks[i].limit - checks[i].window->total < tightest->limit - tightest->window->total))
            tightest = &checks[i];
    }
    if (tightest) {
        admission.requests = quotaOf(*tightest);
        if (admission.allowed) {
            admission.limitName = tightest->name;
            admission.limit = admission.requests.limit;
            admission.remaining = admission.requests.remaining;
            admission.resetAtMs = admission.requests.resetAtMs;
        }
    }
    return admission;
}

QByteArray newReplicaId()
{
    return QByteArray::number(QRandomGenerator::system()->generate64(), 16);
}

} // namespace

// Sends queued charges and releases from a thread of its own, one pipeline per interval.
struct RedisRateLimitStore::Flusher {
    struct PendingCharge {
        Plan plan;
        qint64 input = 0;
        qint64 output = 0;
        qint64 atMs = 0;
    };
    struct PendingRelease {
        QString key;
        QByteArray lease;
    };

    explicit Flusher(RedisRateLimitStore &store)
        : owner(store)
        , interval(std::max(1, store.m_options.flushIntervalMs))
    {
        thread = std::thread([this] { run(); });
    }

    ~Flusher()
    {
        {
            std::lock_guard<std::mutex> lock(mutex);
            stopping = true;
        }
        wake.notify_one();
        thread.join();
    }

    bool enqueueCharge(const QString &key, const Plan &plan, qint64 input, qint64 output,
                       qint64 nowMs)
    {
        {
            std::lock_guard<std::mutex> lock(mutex);
            auto it = charges.find(key);
            if (it == charges.end()) {
                if (charges.size() >= owner.m_options.maxPendingKeys)
                    return false;
                it = charges.insert(key, PendingCharge{plan, 0, 0, nowMs});
            }
            // Merged charges count from the latest of their times: a few milliseconds late,
            // never early.
            it->plan = plan;
            it->input += input;
            it->output += output;
            it->atMs = std::max(it->atMs, nowMs);
            ++queued;
        }
        wake.notify_one();
        return true;
    }

    void enqueueRelease(const QString &key, const QByteArray &lease)
    {
        {
            std::lock_guard<std::mutex> lock(mutex);
            // Beyond the bound a release is left to its lease's expiry.
            if (releases.size() >= size_t(owner.m_options.maxPendingKeys))
                return;
            releases.push_back({key, lease});
            ++queued;
        }
        wake.notify_one();
    }

    void flush()
    {
        std::unique_lock<std::mutex> lock(mutex);
        const quint64 target = queued;
        ++flushWaiters;
        wake.notify_one();
        progress.wait(lock, [&] { return sent >= target || exited; });
        --flushWaiters;
    }

    void run();
    void send(QHash<QString, PendingCharge> batch, std::vector<PendingRelease> freed);

    RedisRateLimitStore &owner;
    const std::chrono::milliseconds interval;
    std::mutex mutex;
    std::condition_variable wake;
    std::condition_variable progress;
    QHash<QString, PendingCharge> charges;
    std::vector<PendingRelease> releases;
    quint64 queued = 0; ///< charges and releases ever queued
    quint64 sent = 0;   ///< of those, how many were sent or failed
    int flushWaiters = 0;
    bool stopping = false;
    bool exited = false;
    std::thread thread;
};

void RedisRateLimitStore::Flusher::run()
{
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
        wake.wait(lock, [this] { return stopping || !charges.isEmpty() || !releases.empty(); });
        // Gather for one interval, so a busy principal costs one script per interval.
        if (!stopping && flushWaiters == 0)
            wake.wait_for(lock, interval, [this] { return stopping || flushWaiters > 0; });
        QHash<QString, PendingCharge> batch;
        batch.swap(charges);
        std::vector<PendingRelease> freed;
        freed.swap(releases);
        const quint64 taken = queued;
        const bool last = stopping;
        lock.unlock();
        send(std::move(batch), std::move(freed));
        lock.lock();
        sent = taken;
        progress.notify_all();
        if (last) {
            // Releases that could not go now are left to their leases' expiry.
            exited = true;
            progress.notify_all();
            return;
        }
        // Releases kept for Redis to come back are retried once per interval, not in a spin.
        if (!releases.empty() && charges.isEmpty())
            wake.wait_for(lock, interval, [this] { return stopping || flushWaiters > 0; });
    }
}

void RedisRateLimitStore::Flusher::send(QHash<QString, PendingCharge> batch,
                                        std::vector<PendingRelease> freed)
{
    const bool available = owner.m_client->isAvailable();
    if (!batch.isEmpty()) {
        QList<QString> keys;
        QList<QPair<QList<QByteArray>, QList<QByteArray>>> runs;
        for (auto it = batch.cbegin(); it != batch.cend(); ++it) {
            keys.append(it.key());
            runs.append({{owner.redisKey(it.key())},
                         {QByteArray::number(it->atMs), QByteArray::number(it->input),
                          QByteArray::number(it->output)}});
        }
        const qsizetype maxBatch = std::max(1, owner.m_options.maxBatch);
        for (qsizetype from = 0; from < runs.size(); from += maxBatch) {
            const qsizetype count = std::min(maxBatch, runs.size() - from);
            Expected<QList<store::RedisReply>> replies =
                available ? owner.m_client->evalPipeline(chargeScript(), runs.mid(from, count))
                          : Expected<QList<store::RedisReply>>(Error());
            for (qsizetype i = 0; i < count; ++i) {
                const QString &key = keys.at(from + i);
                if (replies && !replies->at(i).isError()) {
                    ++owner.m_chargesSent;
                    continue;
                }
                if (replies)
                    ++owner.m_errors;
                // Not in Redis: at least this replica's own limiter counts the tokens.
                const PendingCharge &charge = batch.value(key);
                owner.m_fallback.charge(key, charge.plan, charge.input, charge.output, charge.atMs);
                ++owner.m_chargesLocal;
            }
        }
    }
    if (freed.empty())
        return;
    QList<store::RedisConnection::Command> commands;
    for (const PendingRelease &release : freed)
        commands.append({QByteArrayLiteral("HDEL"), owner.redisKey(release.key),
                         QByteArrayLiteral("s:") + release.lease});
    Expected<QList<store::RedisReply>> replies = available
                                                     ? owner.m_client->pipeline(commands)
                                                     : Expected<QList<store::RedisReply>>(Error());
    if (replies) {
        owner.m_releasesSent += quint64(freed.size());
        return;
    }
    // A slot held by a lost release would block its user until the lease expires: keep it
    // for the next pass (bounded like every queue here).
    std::lock_guard<std::mutex> lock(mutex);
    for (PendingRelease &release : freed) {
        if (releases.size() >= size_t(owner.m_options.maxPendingKeys))
            break;
        releases.push_back(std::move(release));
    }
}

RedisRateLimitStore::RedisRateLimitStore(std::shared_ptr<store::RedisClient> client,
                                         Options options)
    : m_client(std::move(client))
    , m_options(std::move(options))
    , m_replicaId(newReplicaId())
{
    m_flusher = std::make_unique<Flusher>(*this);
}

RedisRateLimitStore::~RedisRateLimitStore()
{
    m_flusher.reset();
}

QByteArray RedisRateLimitStore::redisKey(const QString &key) const
{
    return m_options.keyPrefix + QByteArrayLiteral("rl:") + key.toUtf8();
}

Admission RedisRateLimitStore::admit(const QString &key, const Plan &plan, qint64 nowMs,
                                     RequestKind kind)
{
    if (!plan.hasRateLimits())
        return Admission(); // the local owner's path: no round trip
    if (m_client->isAvailable()) {
        if (std::optional<Admission> admission = admitInRedis(key, plan, nowMs, kind)) {
            ++m_redisAdmissions;
            return *admission;
        }
    }
    ++m_fallbackAdmissions;
    Admission admission = m_fallback.admit(key, plan, nowMs, kind);
    if (admission.holdsStreamSlot)
        holdLease(key, QByteArray());
    return admission;
}

std::optional<Admission> RedisRateLimitStore::admitInRedis(const QString &key, const Plan &plan,
                                                           qint64 nowMs, RequestKind kind)
{
    const bool wantsSlot = kind == RequestKind::Stream && plan.maxConcurrentStreams;
    const QByteArray lease =
        wantsSlot ? m_replicaId + ':' + QByteArray::number(++m_nextLease) : QByteArray();
    const auto limit = [](const auto &value) {
        return QByteArray::number(value ? qint64(*value) : 0);
    };
    const Expected<store::RedisReply> reply = m_client->eval(
        admitScript(), {redisKey(key)},
        {QByteArray::number(nowMs), wantsSlot ? "1" : "0", limit(plan.maxConcurrentStreams), lease,
         QByteArray::number(nowMs + m_options.streamLeaseMs), limit(plan.requestsPerHour),
         limit(plan.requestsPerMinute), limit(plan.inputTokensPerMinute),
         limit(plan.outputTokensPerMinute)});
    if (!reply)
        return std::nullopt; // the client counted and logged it
    const QList<store::RedisReply> &values = reply->elements;
    const bool wellFormed =
        reply->type == store::RedisReply::Type::Array && values.size() == 14 &&
        std::all_of(values.begin(), values.end(), [](const store::RedisReply &value) {
            return value.type == store::RedisReply::Type::Integer;
        });
    if (!wellFormed) {
        // WRONGTYPE (something else owns the key), OOM, a script error: decide locally.
        if (++m_errors == 1 || reply->isError())
            qWarning("tollgate: rate limit script failed on %s: %s", redisKey(key).constData(),
                     reply->isError() ? reply->string.constData() : "unexpected reply");
        return std::nullopt;
    }
    WindowResult windows[4];
    for (int w = 0; w < 4; ++w)
        windows[w] = {values.at(2 + 3 * w).integer, values.at(3 + 3 * w).integer,
                      values.at(4 + 3 * w).integer};
    Admission admission = admissionFrom(plan, nowMs, wantsSlot, values.at(0).integer == 1,
                                        values.at(1).integer, windows);
    if (admission.holdsStreamSlot)
        holdLease(key, lease);
    return admission;
}

void RedisRateLimitStore::holdLease(const QString &key, QByteArray lease)
{
    std::lock_guard<std::mutex> lock(m_leaseMutex);
    m_leases[key].append(std::move(lease));
}

void RedisRateLimitStore::charge(const QString &key, const Plan &plan, qint64 inputTokens,
                                 qint64 outputTokens, qint64 nowMs)
{
    const qint64 input = plan.inputTokensPerMinute && inputTokens > 0 ? inputTokens : 0;
    const qint64 output = plan.outputTokensPerMinute && outputTokens > 0 ? outputTokens : 0;
    if (input == 0 && output == 0)
        return;
    if (m_client->isAvailable() && m_flusher->enqueueCharge(key, plan, input, output, nowMs))
        return;
    m_fallback.charge(key, plan, input, output, nowMs);
    ++m_chargesLocal;
}

void RedisRateLimitStore::release(const QString &key)
{
    QByteArray lease;
    {
        std::lock_guard<std::mutex> lock(m_leaseMutex);
        auto it = m_leases.find(key);
        if (it == m_leases.end() || it->isEmpty()) {
            lease.clear();
        } else {
            lease = it->takeLast();
            if (it->isEmpty())
                m_leases.erase(it);
        }
    }
    if (lease.isEmpty())
        m_fallback.release(key);
    else
        m_flusher->enqueueRelease(key, lease);
}

void RedisRateLimitStore::flush()
{
    m_flusher->flush();
}

RedisRateLimitStore::Stats RedisRateLimitStore::stats() const
{
    Stats s;
    s.redisAdmissions = m_redisAdmissions.load();
    s.fallbackAdmissions = m_fallbackAdmissions.load();
    s.errors = m_errors.load();
    s.chargesSent = m_chargesSent.load();
    s.chargesLocal = m_chargesLocal.load();
    s.releasesSent = m_releasesSent.load();
    return s;
}

} // namespace tollgate::limits
