#include "cache/rediscachestore.h"

#include "store/redisclient.h"

#include <QHash>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace tollgate::cache {

namespace {

bool isSuccess(int status)
{
    return status >= 200 && status < 300;
}

} // namespace

// Owns the queue and the thread that sends it.
struct RedisCacheStore::Writer {
    // A queued write: a response to store (with the time it was stored, for its PX), or null to
    // delete the key.
    struct Pending {
        std::shared_ptr<const CachedResponse> response;
        qint64 storedAtMs = 0;
    };

    explicit Writer(RedisCacheStore &store)
        : owner(store)
        , capacity(qsizetype(std::max(1, store.m_options.queueCapacity)))
        , maxBatch(size_t(std::max(1, store.m_options.maxBatch)))
    {
        thread = std::thread([this] { run(); });
    }

    ~Writer()
    {
        {
            std::lock_guard<std::mutex> lock(mutex);
            stopping = true;
        }
        wake.notify_one();
        thread.join();
    }

    bool enqueue(const QByteArray &key, Pending pending)
    {
        {
            std::lock_guard<std::mutex> lock(mutex);
            auto found = queue.find(key);
            if (found != queue.end()) {
                found.value() = std::move(pending);
            } else {
                if (queue.size() >= capacity)
                    return false;
                queue.insert(key, std::move(pending));
                order.push_back(key);
            }
            ++queued;
        }
        wake.notify_one();
        return true;
    }

    // What the queue says about `key`: nullopt when nothing is queued for it.
    std::optional<Pending> queuedFor(const QByteArray &key)
    {
        std::lock_guard<std::mutex> lock(mutex);
        auto found = queue.constFind(key);
        if (found != queue.cend())
            return found.value();
        found = inFlight.constFind(key);
        if (found != inFlight.cend())
            return found.value();
        return std::nullopt;
    }

    void flush()
    {
        std::unique_lock<std::mutex> lock(mutex);
        const quint64 target = queued;
        progress.wait(lock, [&] { return sent >= target || exited; });
    }

    void run();
    void send(const std::vector<std::pair<QByteArray, Pending>> &batch);

    RedisCacheStore &owner;
    const qsizetype capacity;
    const size_t maxBatch;
    std::mutex mutex;
    std::condition_variable wake;
    std::condition_variable progress;
    QHash<QByteArray, Pending> queue;
    std::deque<QByteArray> order;        // keys of `queue`, oldest first
    QHash<QByteArray, Pending> inFlight; // taken, not yet answered by Redis
    quint64 queued = 0;                  // writes ever queued (overwrites included)
    quint64 sent = 0;                    // of those, how many were sent or failed
    bool stopping = false;
    bool exited = false;
    std::thread thread;
};

void RedisCacheStore::Writer::run()
{
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
        wake.wait(lock, [this] { return stopping || !order.empty(); });
        if (order.empty()) {
            exited = true;
            progress.notify_all();
            return;
        }
        // No timer: whatever queued while the last batch was on the wire goes as the next one,
        // so batches grow with load on their own.
        std::vector<std::pair<QByteArray, Pending>> batch;
        while (!order.empty() && batch.size() < maxBatch) {
            QByteArray key = std::move(order.front());
            order.pop_front();
            Pending pending = queue.take(key);
            inFlight.insert(key, pending);
            batch.emplace_back(std::move(key), std::move(pending));
        }
        // Once the queue is empty, every write queued so far is in this batch or an earlier one.
        const quint64 taken = order.empty() ? queued : sent;
        lock.unlock();
        send(batch);
        batch.clear(); // free the (possibly large) responses outside the lock
        lock.lock();
        inFlight.clear();
        sent = std::max(sent, taken);
        progress.notify_all();
    }
}

void RedisCacheStore::Writer::send(const std::vector<std::pair<QByteArray, Pending>> &batch)
{
    QList<store::RedisConnection::Command> commands;
    commands.reserve(qsizetype(batch.size()));
    for (const auto &[key, pending] : batch) {
        if (!pending.response) {
            commands.append({QByteArrayLiteral("DEL"), owner.redisKey(key)});
            continue;
        }
        const qint64 ttlMs =
            std::max<qint64>(1, pending.response->expiresAtMs - pending.storedAtMs);
        commands.append({QByteArrayLiteral("SET"), owner.redisKey(key),
                         pending.response->serialize(), QByteArrayLiteral("PX"),
                         QByteArray::number(ttlMs)});
    }
    if (!owner.m_client->isAvailable()) {
        // A cache may forget: what cannot be written now is not kept for later.
        owner.m_dropped += quint64(commands.size());
        return;
    }
    const Expected<QList<store::RedisReply>> replies = owner.m_client->pipeline(commands);
    if (!replies) {
        owner.m_dropped += quint64(commands.size());
        return;
    }
    for (const store::RedisReply &reply : *replies) {
        if (reply.isError())
            ++owner.m_dropped;
        else
            ++owner.m_written;
    }
}

RedisCacheStore::RedisCacheStore(std::shared_ptr<store::RedisClient> client, Options options)
    : m_client(std::move(client))
    , m_options(std::move(options))
{
    m_writer = std::make_unique<Writer>(*this);
}

RedisCacheStore::~RedisCacheStore()
{
    m_writer.reset();
}

QByteArray RedisCacheStore::redisKey(const QByteArray &key) const
{
    return m_options.keyPrefix + QByteArrayLiteral("cache:") + key;
}

std::shared_ptr<const CachedResponse> RedisCacheStore::lookup(const QByteArray &key, qint64 nowMs)
{
    if (std::optional<Writer::Pending> queued = m_writer->queuedFor(key)) {
        const auto &response = queued->response;
        if (response && !response->isExpiredAt(nowMs)) {
            ++m_hits;
            return response;
        }
        ++m_misses;
        return nullptr;
    }
    if (!m_client->isAvailable()) {
        ++m_errors;
        return nullptr;
    }
    const Expected<store::RedisReply> reply =
        m_client->command({QByteArrayLiteral("GET"), redisKey(key)});
    if (!reply || reply->isError()) {
        ++m_errors;
        return nullptr;
    }
    if (reply->type != store::RedisReply::Type::String) {
        ++m_misses;
        return nullptr;
    }
    Expected<CachedResponse> response = CachedResponse::deserialize(reply->string);
    if (!response) {
        // Another build's format, or not ours at all: it can never be served.
        ++m_errors;
        remove(key);
        return nullptr;
    }
    // Redis expires by its own clock; the entry's own expiry is what decides.
    if (response->isExpiredAt(nowMs)) {
        ++m_misses;
        return nullptr;
    }
    ++m_hits;
    return std::make_shared<const CachedResponse>(std::move(*response));
}

void RedisCacheStore::store(const QByteArray &key, std::shared_ptr<const CachedResponse> response,
                            qint64 nowMs)
{
    if (!response || !isSuccess(response->status) || response->isExpiredAt(nowMs) ||
        response->sizeBytes() + key.size() > m_options.maxEntryBytes) {
        ++m_rejected;
        return;
    }
    if (!m_writer->enqueue(key, {std::move(response), nowMs}))
        ++m_dropped;
}

void RedisCacheStore::remove(const QByteArray &key)
{
    // A delete that cannot be queued leaves an entry that expires on its own.
    if (!m_writer->enqueue(key, {nullptr, 0}))
        ++m_dropped;
}

void RedisCacheStore::flush()
{
    m_writer->flush();
}

RedisCacheStore::Stats RedisCacheStore::stats() const
{
    Stats s;
    s.hits = m_hits.load();
    s.misses = m_misses.load();
    s.errors = m_errors.load();
    s.written = m_written.load();
    s.dropped = m_dropped.load();
    s.rejected = m_rejected.load();
    return s;
}

} // namespace tollgate::cache
