#pragma once

#include "common/expected.h"
#include "routing/circuitbreaker.h"
#include "routing/retrypolicy.h"

#include <QJsonObject>
#include <QList>

namespace tollgate::routing {

/// The `retries` and `breakers` sections of the policy document: how the gateway retries a
/// target, when it moves on to the next target of a chain, and when it stops calling a target
/// at all (docs/reliability.md).
struct ReliabilityPolicy {
    RetryPolicy retries;
    BreakerPolicy breakers;

    /// The reference defaults:
    /// retries  {max_attempts 2, base_delay_ms 250, max_delay_ms 8000, jitter 0.2,
    ///           deadline_ms 60000, retry_on [408, 429, 500, 502, 503, 504, 529],
    ///           honour_retry_after true}
    /// breakers {consecutive_failures 5, error_rate 0.5, window_ms 60000, min_requests 20,
    ///           cooldown_ms 30000, half_open_probes 1}
    static ReliabilityPolicy reference();

    /// Reads `retries` and `breakers` from the policy document (other top-level keys belong to
    /// other sections and are left alone). A missing section or field keeps its reference value;
    /// an unknown field is an error. On failure the error's message lists every problem, one
    /// "path: message" per line; `validate` returns them one by one.
    static Expected<ReliabilityPolicy> fromJson(const QJsonObject &document);
    /// Every problem of the two sections with its JSON path, e.g.
    /// `retries.max_attempts: expected an integer >= 1`. Empty when valid.
    static QList<Error> validate(const QJsonObject &document);

    /// `{"retries": {...}, "breakers": {...}}` with every field, in the format fromJson reads
    /// (for `check-config` and the policy editor).
    QJsonObject toJson() const;

    bool operator==(const ReliabilityPolicy &other) const
    {
        return retries == other.retries && breakers == other.breakers;
    }
    bool operator!=(const ReliabilityPolicy &other) const { return !(*this == other); }
};

} // namespace tollgate::routing
