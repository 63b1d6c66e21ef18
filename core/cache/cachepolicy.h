#pragma once

#include "common/expected.h"
#include "http/httpmessage.h"

#include <QJsonObject>
#include <QJsonValue>
#include <QList>
#include <QString>

#include <optional>

namespace tollgate::cache {

/// What one request asked of the cache with `x-tollgate-cache` and `x-tollgate-cache-ttl`.
struct CacheDirective {
    bool read = true;  ///< false for no-cache and no-store: do not answer from the cache
    bool write = true; ///< false for no-store (and a TTL of 0): do not store the answer
    /// `x-tollgate-cache-ttl` in seconds, when given and valid; replaces the policy TTL for the
    /// entry this request stores.
    std::optional<qint64> ttlSeconds;
    /// Values that were not understood, for the request log. They never fail a request: a cache
    /// hint is advice, and the safe reading of a garbled one is "as if absent".
    QString problem;
};

/// Reads `x-tollgate-cache: no-cache | no-store` (comma-separated, case-insensitive, repeated
/// headers combine) and `x-tollgate-cache-ttl: N` (whole seconds, 0 to kMaxTtlSeconds; 0 means
/// do not store).
CacheDirective parseDirective(const http::HeaderList &headers);

/// The value of the `x-tollgate-cache` response header.
enum class CacheOutcome { Hit, Miss, Bypass };
const char *cacheOutcomeName(CacheOutcome outcome);

/// The longest TTL the policy or a request may ask for (one year); beyond it an entry would
/// outlive any model or price it was recorded under.
inline constexpr qint64 kMaxTtlSeconds = 365LL * 24 * 60 * 60;

/// The policy's `cache` section: `{"enabled": true, "ttl_seconds": 3600, "max_bytes": 67108864,
/// "persistent": false, "max_entry_bytes": 4194304}`. Members left out keep these defaults.
struct CachePolicy {
    bool enabled = true;
    qint64 ttlSeconds = 3600;
    /// Memory tier budget: 64 MiB keeps tollgated within its 100 MB RSS target under load.
    qint64 maxBytes = 64LL * 1024 * 1024;
    bool persistent = false; ///< also keep entries in SQLite across restarts
    qint64 maxEntryBytes = 4LL * 1024 * 1024;

    /// The reference behaviour: exact-match cache, TTL 3600 s.
    static CachePolicy reference() { return {}; }

    /// Reads the section at `path` (e.g. "cache"); an absent (undefined or null) section is the
    /// reference. Every problem is reported with its JSON path: one problem as that Error, more
    /// as one Error whose message lists them all ("cache.ttl_seconds: ...; cache.x: ...").
    static Expected<CachePolicy> fromJson(const QJsonValue &value, const QString &path);
    /// Every problem of the section, each with its own path (empty when valid), for editors
    /// that mark fields one by one.
    static QList<Error> validate(const QJsonValue &value, const QString &path);

    /// The section as the policy file spells it, every member present.
    QJsonObject toJson() const;

    /// How long what this request stores lives, in milliseconds: the request's TTL when it gave
    /// one, else the policy's.
    qint64 ttlMs(const CacheDirective &directive) const;

    bool operator==(const CachePolicy &o) const
    {
        return enabled == o.enabled && ttlSeconds == o.ttlSeconds && maxBytes == o.maxBytes &&
               persistent == o.persistent && maxEntryBytes == o.maxEntryBytes;
    }
};

} // namespace tollgate::cache
