#pragma once

#include "http/httpmessage.h"

#include <QByteArray>
#include <QLatin1String>

namespace tollgate::limits {

/// The message of every 429 the rate limiter causes (DESIGN.md), in the caller's error shape.
inline constexpr char kRateLimitExceededMessage[] =
    "Rate limit exceeded. Upgrade for higher limits.";

/// Limit names as the policy document spells them; Admission::limitName is one of these.
inline constexpr QLatin1String kRequestsPerHour("requests_per_hour");
inline constexpr QLatin1String kRequestsPerMinute("requests_per_minute");
inline constexpr QLatin1String kInputTokensPerMinute("input_tokens_per_minute");
inline constexpr QLatin1String kOutputTokensPerMinute("output_tokens_per_minute");
inline constexpr QLatin1String kMaxConcurrentStreams("max_concurrent_streams");

/// Where one requests window stands, for the x-ratelimit-*-requests headers.
struct RequestQuota {
    qint64 limit = 0; ///< 0: no requests limit applies, so no headers
    qint64 remaining = 0;
    qint64 resetAtMs = 0; ///< when everything counted has left the window
};

/// The rate limiter's answer for one request.
struct Admission {
    bool allowed = true;
    /// The limit that decided: the one that denied (the one that frees up last when several
    /// did), or when allowed the requests window with the least remaining. Null when nothing
    /// limits the request.
    QLatin1String limitName;
    qint64 limit = 0;
    qint64 remaining = 0;      ///< what is left of `limit` after this request
    qint64 resetAtMs = 0;      ///< when that limit is back to full
    int retryAfterSeconds = 0; ///< denied only: whole seconds until a retry can pass, >= 1
    /// The requests window with the least remaining, which the headers describe on every
    /// response; the same as the fields above unless a token or stream limit denied.
    RequestQuota requests;
    /// The request took a concurrent-stream slot: the pipeline calls release() once it ends.
    bool holdsStreamSlot = false;
};

/// Response headers for `admission`: `x-ratelimit-limit-requests`,
/// `x-ratelimit-remaining-requests` and `x-ratelimit-reset-requests` whenever a requests limit
/// applies (allowed or not), plus `retry-after` and `x-tollgate-rate-limit` (the limit's name)
/// on a denial. Empty for an unlimited plan.
http::HeaderList rateLimitHeaders(const Admission &admission, qint64 nowMs);

/// A duration as x-ratelimit-reset-* carries it (OpenAI's format), rounded up to whole
/// seconds: "0s", "36s", "59m50s", "1h0m0s".
QByteArray formatResetDuration(qint64 ms);

} // namespace tollgate::limits
