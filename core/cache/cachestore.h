#pragma once

#include "cache/cachedresponse.h"

#include <QByteArray>

#include <memory>

namespace tollgate::cache {

/// Where cache entries live: the in-process memory tier (ResponseCache), the optional SQLite tier
/// (SqliteCacheStore) and, for replicas, a Redis tier. All are safe to call from any worker.
///
/// The clock is a parameter, never read inside, so expiry is decided the same way live, in tests
/// and when replaying a request log.
class CacheStore {
public:
    virtual ~CacheStore() = default;

    /// The entry for `key` if one is stored and not expired at `nowMs`; null otherwise.
    virtual std::shared_ptr<const CachedResponse> lookup(const QByteArray &key, qint64 nowMs) = 0;
    /// Stores `response` under `key`, replacing any entry there, until response->expiresAtMs.
    /// A store may decline (not 2xx, already expired, too large, queue full): a cache is allowed
    /// to forget, so this reports nothing; each store counts what it declined.
    virtual void store(const QByteArray &key, std::shared_ptr<const CachedResponse> response,
                       qint64 nowMs) = 0;
    virtual void remove(const QByteArray &key) = 0;

protected:
    CacheStore() = default;
    CacheStore(const CacheStore &) = delete;
    CacheStore &operator=(const CacheStore &) = delete;
};

} // namespace tollgate::cache
