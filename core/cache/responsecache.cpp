#include "cache/responsecache.h"

#include <QHash>

#include <algorithm>
#include <list>
#include <mutex>

namespace tollgate::cache {

namespace {

using Released = std::vector<std::shared_ptr<const CachedResponse>>;

bool isSuccess(int status)
{
    return status >= 200 && status < 300;
}

} // namespace

struct ResponseCache::Shard {
    struct Node {
        QByteArray key;
        std::shared_ptr<const CachedResponse> response;
        qint64 charged;
        qint64 expiresAtMs;
    };
    using Iterator = std::list<Node>::iterator;

    explicit Shard(qint64 capacityBytes)
        : capacity(capacityBytes)
    {
    }

    // Unlinks a node and hands its response to `released`, so the last reference (and the
    // memory behind it) is dropped after the lock is let go.
    void erase(Iterator it, Released &released)
    {
        bytes -= it->charged;
        index.remove(it->key);
        released.push_back(std::move(it->response));
        lru.erase(it);
    }

    // Drops least recently used entries until the shard fits its budget; expired ones met on the
    // way are counted as expirations, live ones as evictions.
    void shrinkToCapacity(qint64 nowMs, Released &released)
    {
        while (bytes > capacity && !lru.empty()) {
            auto last = std::prev(lru.end());
            if (nowMs >= last->expiresAtMs)
                ++expirations;
            else
                ++evictions;
            erase(last, released);
        }
    }

    mutable std::mutex mutex;
    std::list<Node> lru; // front: most recently used
    QHash<QByteArray, Iterator> index;
    qint64 capacity;
    qint64 bytes = 0;
    quint64 hits = 0;
    quint64 misses = 0;
    quint64 stores = 0;
    quint64 rejected = 0;
    quint64 evictions = 0;
    quint64 expirations = 0;
    // The newest time any call told this shard; setLimits() and clear() have no clock of their
    // own and use it to tell expired from live entries in the statistics.
    qint64 lastNowMs = 0;
};

ResponseCache::ResponseCache()
    : ResponseCache(Options())
{
}

ResponseCache::ResponseCache(const Options &options)
    : m_maxBytes(std::max<qint64>(0, options.maxBytes))
    , m_maxEntryBytes(std::max<qint64>(0, options.maxEntryBytes))
{
    const qint64 maxBytes = m_maxBytes.load();
    const qint64 entryBytes = std::max<qint64>(1, m_maxEntryBytes.load());
    // A shard smaller than the largest entry could never hold it.
    const qint64 count = std::clamp<qint64>(maxBytes / entryBytes, 1, std::max(1, options.shards));
    m_shards.reserve(size_t(count));
    for (qint64 i = 0; i < count; ++i)
        m_shards.push_back(std::make_unique<Shard>(maxBytes / count));
}

ResponseCache::~ResponseCache() = default;

ResponseCache::Shard &ResponseCache::shardFor(const QByteArray &key) const
{
    return *m_shards[qHash(key) % m_shards.size()];
}

std::shared_ptr<const CachedResponse> ResponseCache::lookup(const QByteArray &key, qint64 nowMs)
{
    Shard &shard = shardFor(key);
    Released released; // declared before the lock, so destroyed after it is let go
    std::lock_guard<std::mutex> lock(shard.mutex);
    shard.lastNowMs = std::max(shard.lastNowMs, nowMs);
    const auto found = shard.index.constFind(key);
    if (found == shard.index.cend()) {
        ++shard.misses;
        return nullptr;
    }
    const Shard::Iterator node = found.value();
    if (nowMs >= node->expiresAtMs) {
        ++shard.expirations;
        ++shard.misses;
        shard.erase(node, released);
        return nullptr;
    }
    shard.lru.splice(shard.lru.begin(), shard.lru, node);
    ++shard.hits;
    return node->response;
}

void ResponseCache::store(const QByteArray &key, std::shared_ptr<const CachedResponse> response,
                          qint64 nowMs)
{
    if (!response)
        return;
    Shard &shard = shardFor(key);
    // Size once, outside the lock: it walks the events.
    const qint64 charged = response->sizeBytes() + key.size();
    const bool acceptable = isSuccess(response->status) && !response->isExpiredAt(nowMs) &&
                            charged <= m_maxEntryBytes.load(std::memory_order_relaxed);
    Released released;
    std::lock_guard<std::mutex> lock(shard.mutex);
    shard.lastNowMs = std::max(shard.lastNowMs, nowMs);
    if (!acceptable || charged > shard.capacity) {
        ++shard.rejected;
        return;
    }
    const auto existing = shard.index.constFind(key);
    if (existing != shard.index.cend())
        shard.erase(existing.value(), released);
    const qint64 expiresAtMs = response->expiresAtMs;
    shard.lru.push_front(Shard::Node{key, std::move(response), charged, expiresAtMs});
    shard.index.insert(key, shard.lru.begin());
    shard.bytes += charged;
    ++shard.stores;
    shard.shrinkToCapacity(nowMs, released);
}

void ResponseCache::remove(const QByteArray &key)
{
    Shard &shard = shardFor(key);
    Released released;
    std::lock_guard<std::mutex> lock(shard.mutex);
    const auto found = shard.index.constFind(key);
    if (found != shard.index.cend())
        shard.erase(found.value(), released);
}

void ResponseCache::setLimits(qint64 maxBytes, qint64 maxEntryBytes)
{
    maxBytes = std::max<qint64>(0, maxBytes);
    m_maxBytes.store(maxBytes);
    m_maxEntryBytes.store(std::max<qint64>(0, maxEntryBytes));
    const qint64 perShard = maxBytes / qint64(m_shards.size());
    for (const auto &shard : m_shards) {
        Released released;
        std::lock_guard<std::mutex> lock(shard->mutex);
        shard->capacity = perShard;
        shard->shrinkToCapacity(shard->lastNowMs, released);
    }
}

qint64 ResponseCache::purgeExpired(qint64 nowMs)
{
    qint64 purged = 0;
    for (const auto &shard : m_shards) {
        Released released;
        std::lock_guard<std::mutex> lock(shard->mutex);
        shard->lastNowMs = std::max(shard->lastNowMs, nowMs);
        for (auto it = shard->lru.begin(); it != shard->lru.end();) {
            const auto next = std::next(it);
            if (nowMs >= it->expiresAtMs) {
                shard->erase(it, released);
                ++shard->expirations;
                ++purged;
            }
            it = next;
        }
    }
    return purged;
}

void ResponseCache::clear()
{
    for (const auto &shard : m_shards) {
        std::list<Shard::Node> dropped;
        {
            std::lock_guard<std::mutex> lock(shard->mutex);
            dropped.swap(shard->lru);
            shard->index.clear();
            shard->bytes = 0;
        }
    }
}

ResponseCache::Stats ResponseCache::stats() const
{
    Stats total;
    for (const auto &shard : m_shards) {
        std::lock_guard<std::mutex> lock(shard->mutex);
        total.hits += shard->hits;
        total.misses += shard->misses;
        total.stores += shard->stores;
        total.rejected += shard->rejected;
        total.evictions += shard->evictions;
        total.expirations += shard->expirations;
        total.entries += qint64(shard->index.size());
        total.bytes += shard->bytes;
    }
    return total;
}

} // namespace tollgate::cache
