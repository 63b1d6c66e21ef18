#pragma once

#include "routing/circuitbreaker.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

namespace tollgate::routing {

/// The circuit breakers of every upstream target, shared by all worker threads. A target is any
/// string the pipeline uses for one member of a chain (e.g.
/// "anthropic:https://api.anthropic.com:claude-sonnet-4-20250514"); its breaker is created on the
/// first recorded outcome. Each target has its own small mutex held for a few comparisons, never
/// across I/O; allow() on a closed target takes no mutex at all. Time comes only from nowMs.
class BreakerRegistry {
public:
    using State = BreakerState;

    explicit BreakerRegistry(const BreakerPolicy &policy = {});
    BreakerRegistry(const BreakerRegistry &) = delete;
    BreakerRegistry &operator=(const BreakerRegistry &) = delete;

    /// For a policy reload: new thresholds apply to every breaker from its next call; states and
    /// counters are kept.
    void setPolicy(const BreakerPolicy &policy);
    BreakerPolicy policy() const;

    /// May a call go to `target` now? An unknown target is closed. When this returns true on a
    /// half-open target the caller holds a probe and must report exactly one outcome for it.
    bool allow(const QString &target, qint64 nowMs);
    void recordSuccess(const QString &target, qint64 nowMs);
    void recordFailure(const QString &target, qint64 nowMs);
    /// No verdict on the target's health (429, client hang-up); frees a half-open probe slot.
    void recordNeutral(const QString &target, qint64 nowMs);
    void record(const QString &target, BreakerOutcome outcome, qint64 nowMs);

    State state(const QString &target, qint64 nowMs) const;
    /// One target's breaker; a closed, empty state for an unknown target.
    TargetState targetState(const QString &target, qint64 nowMs) const;
    /// Every known target, sorted by name, for metrics and the admin view.
    QList<TargetState> snapshot(qint64 nowMs) const;

    /// Forgets the breakers of targets not in `targets` (a reload removed them), so metrics stop
    /// reporting them.
    void retainOnly(const QStringList &targets);

private:
    struct Entry {
        explicit Entry(const BreakerPolicy &policy)
            : breaker(policy)
        {
        }
        mutable std::mutex mutex;
        CircuitBreaker breaker;
        /// Mirrors "breaker is closed" so the hot allow() path reads one atomic. A racing
        /// transition can let one extra call through, which a breaker tolerates by design.
        std::atomic<bool> closed{true};
    };
    using Map = std::unordered_map<QString, std::unique_ptr<Entry>>;

    /// Runs `apply` on the target's breaker under its mutex, creating the breaker first if needed.
    template <typename Apply> void update(const QString &target, qint64 nowMs, Apply apply);

    // Shared for every per-target operation, exclusive only to add or remove targets and to
    // change the policy; the per-target mutex serializes the breaker itself.
    mutable std::shared_mutex m_lock;
    Map m_entries;
    BreakerPolicy m_policy;
};

} // namespace tollgate::routing
