#pragma once

#include <QLatin1String>
#include <QString>
#include <QtGlobal>

#include <array>
#include <limits>
#include <optional>

namespace tollgate::routing {

/// The `breakers` section of the policy: when a target is taken out of rotation and how it is let
/// back. The member defaults are the reference policy (docs/reliability.md).
struct BreakerPolicy {
    int consecutiveFailures = 5; ///< this many failures in a row open the breaker
    double errorRate = 0.5;      ///< failures / outcomes in the window that open it...
    int windowMs = 60000;        ///< ...over this sliding window...
    int minRequests = 20;        ///< ...once the window holds at least this many outcomes
    int cooldownMs = 30000;      ///< open this long before probes are let through
    int halfOpenProbes = 1;      ///< probes in flight at once while half-open

    bool operator==(const BreakerPolicy &other) const;
    bool operator!=(const BreakerPolicy &other) const { return !(*this == other); }
};

/// Breaker states; the values are the `tollgate_breaker_state` gauge.
enum class BreakerState { Closed = 0, HalfOpen = 1, Open = 2 };

/// "closed", "half_open" or "open".
QLatin1String breakerStateName(BreakerState state);

/// What one finished upstream call says about its target's health.
enum class BreakerOutcome {
    Success, ///< the target answered (2xx-4xx except those below)
    Failure, ///< transport error, 408, 5xx (529 included)
    Neutral, ///< no verdict: 429 (the target works, our quota does not), client hang-up
};

/// Maps an HTTP status (0: transport failure) to its breaker outcome. 429 is Neutral on purpose:
/// a rate limit is a property of our key, not of the target's health, and opening the breaker
/// would also stop the requests that still fit the quota (docs/reliability.md).
BreakerOutcome breakerOutcome(int status);

/// One breaker as seen by metrics and the admin view.
struct TargetState {
    QString target;
    BreakerState state = BreakerState::Closed;
    int consecutiveFailures = 0;
    int windowRequests = 0; ///< outcomes (success + failure) in the sliding window
    int windowFailures = 0;
    double errorRate = 0;                ///< windowFailures / windowRequests, 0 when empty
    std::optional<qint64> openedAtMs;    ///< when it last opened; unset while closed
    std::optional<qint64> nextProbeAtMs; ///< earliest time a probe is admitted; unset if closed
    int probesInFlight = 0;
    qint64 timesOpened = 0; ///< since the process started (closed -> open and half-open -> open)
};

/// The circuit breaker of one upstream target: closed -> open after N consecutive failures or an
/// error rate over a sliding window -> half-open after a cooldown, where a bounded number of
/// probes decide between closed (a success) and open again (a failure). Time comes only from the
/// callers' nowMs. Not thread-safe on its own: BreakerRegistry serializes access per target.
class CircuitBreaker {
public:
    explicit CircuitBreaker(const BreakerPolicy &policy = {});

    /// New thresholds apply from the next call; a different window_ms restarts the window since
    /// its buckets would no longer line up.
    void setPolicy(const BreakerPolicy &policy);
    const BreakerPolicy &policy() const { return m_policy; }

    /// May a call go to the target now? Open: no. Half-open: yes while fewer than
    /// half_open_probes probes are in flight (the caller then owns a probe and must report its
    /// outcome with one record call).
    bool allow(qint64 nowMs);
    void recordSuccess(qint64 nowMs);
    void recordFailure(qint64 nowMs);
    /// The call ended without a verdict (429, client hang-up): frees its probe slot, if any.
    void recordNeutral(qint64 nowMs);
    void record(BreakerOutcome outcome, qint64 nowMs);

    /// The state at nowMs: an open breaker whose cooldown has passed reads as half-open.
    BreakerState state(qint64 nowMs) const;
    /// Everything but `target`, at nowMs.
    TargetState inspect(qint64 nowMs) const;

private:
    /// Outcomes in fixed buckets of a tenth of the window, so the memory per target is constant
    /// at any request rate. An outcome counts for between 9/10 and all of window_ms.
    struct Bucket {
        qint64 slot = std::numeric_limits<qint64>::min();
        int requests = 0;
        int failures = 0;
    };
    static constexpr int kBuckets = 10;

    void advance(qint64 nowMs);
    void open(qint64 nowMs);
    void close();
    void addToWindow(qint64 nowMs, bool failure);
    void windowCounts(qint64 nowMs, int *requests, int *failures) const;
    qint64 slotOf(qint64 nowMs) const;

    BreakerPolicy m_policy;
    BreakerState m_state = BreakerState::Closed;
    int m_consecutiveFailures = 0;
    qint64 m_openedAtMs = 0;
    int m_probesInFlight = 0;
    qint64 m_lastProbeAtMs = 0;
    qint64 m_timesOpened = 0;
    qint64 m_bucketMs = 1;
    std::array<Bucket, kBuckets> m_buckets{};
};

} // namespace tollgate::routing
