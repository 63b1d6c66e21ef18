#include "routing/breakerregistry.h"

#include <algorithm>

namespace tollgate::routing {

BreakerRegistry::BreakerRegistry(const BreakerPolicy &policy)
    : m_policy(policy)
{
}

void BreakerRegistry::setPolicy(const BreakerPolicy &policy)
{
    std::unique_lock lock(m_lock);
    m_policy = policy;
    for (auto &[target, entry] : m_entries) {
        // Every per-target operation holds m_lock shared, so no entry mutex is needed here.
        entry->breaker.setPolicy(policy);
    }
}

BreakerPolicy BreakerRegistry::policy() const
{
    std::shared_lock lock(m_lock);
    return m_policy;
}

template <typename Apply>
void BreakerRegistry::update(const QString &target, qint64 nowMs, Apply apply)
{
    {
        std::shared_lock lock(m_lock);
        auto it = m_entries.find(target);
        if (it != m_entries.end()) {
            Entry &entry = *it->second;
            std::lock_guard guard(entry.mutex);
            apply(entry.breaker);
            entry.closed.store(entry.breaker.state(nowMs) == State::Closed,
                               std::memory_order_relaxed);
            return;
        }
    }
    std::unique_lock lock(m_lock);
    // Another thread may have added it between the two locks; keep the one it made.
    auto &slot = m_entries[target];
    if (!slot)
        slot = std::make_unique<Entry>(m_policy);
    // Exclusive lock: no one else can be inside this entry.
    apply(slot->breaker);
    slot->closed.store(slot->breaker.state(nowMs) == State::Closed, std::memory_order_relaxed);
}

bool BreakerRegistry::allow(const QString &target, qint64 nowMs)
{
    std::shared_lock lock(m_lock);
    auto it = m_entries.find(target);
    if (it == m_entries.end())
        return true;
    Entry &entry = *it->second;
    if (entry.closed.load(std::memory_order_relaxed))
        return true;
    std::lock_guard guard(entry.mutex);
    const bool allowed = entry.breaker.allow(nowMs);
    entry.closed.store(entry.breaker.state(nowMs) == State::Closed, std::memory_order_relaxed);
    return allowed;
}

void BreakerRegistry::recordSuccess(const QString &target, qint64 nowMs)
{
    update(target, nowMs, [nowMs](CircuitBreaker &breaker) { breaker.recordSuccess(nowMs); });
}

void BreakerRegistry::recordFailure(const QString &target, qint64 nowMs)
{
    update(target, nowMs, [nowMs](CircuitBreaker &breaker) { breaker.recordFailure(nowMs); });
}

void BreakerRegistry::recordNeutral(const QString &target, qint64 nowMs)
{
    std::shared_lock lock(m_lock);
    auto it = m_entries.find(target);
    // An unknown target has no probe to free; creating it would only add noise to metrics.
    if (it == m_entries.end())
        return;
    Entry &entry = *it->second;
    std::lock_guard guard(entry.mutex);
    entry.breaker.recordNeutral(nowMs);
}

void BreakerRegistry::record(const QString &target, BreakerOutcome outcome, qint64 nowMs)
{
    switch (outcome) {
    case BreakerOutcome::Success: recordSuccess(target, nowMs); break;
    case BreakerOutcome::Failure: recordFailure(target, nowMs); break;
    case BreakerOutcome::Neutral: recordNeutral(target, nowMs); break;
    }
}

BreakerRegistry::State BreakerRegistry::state(const QString &target, qint64 nowMs) const
{
    std::shared_lock lock(m_lock);
    auto it = m_entries.find(target);
    if (it == m_entries.end())
        return State::Closed;
    std::lock_guard guard(it->second->mutex);
    return it->second->breaker.state(nowMs);
}

TargetState BreakerRegistry::targetState(const QString &target, qint64 nowMs) const
{
    std::shared_lock lock(m_lock);
    TargetState result;
    auto it = m_entries.find(target);
    if (it != m_entries.end()) {
        std::lock_guard guard(it->second->mutex);
        result = it->second->breaker.inspect(nowMs);
    }
    result.target = target;
    return result;
}

QList<TargetState> BreakerRegistry::snapshot(qint64 nowMs) const
{
    QList<TargetState> result;
    {
        std::shared_lock lock(m_lock);
        result.reserve(qsizetype(m_entries.size()));
        for (const auto &[target, entry] : m_entries) {
            std::lock_guard guard(entry->mutex);
            TargetState state = entry->breaker.inspect(nowMs);
            state.target = target;
            result.append(std::move(state));
        }
    }
    std::sort(result.begin(), result.end(),
              [](const TargetState &a, const TargetState &b) { return a.target < b.target; });
    return result;
}

void BreakerRegistry::retainOnly(const QStringList &targets)
{
    std::unique_lock lock(m_lock);
    for (auto it = m_entries.begin(); it != m_entries.end();) {
        if (targets.contains(it->first))
            ++it;
        else
            it = m_entries.erase(it);
    }
}

} // namespace tollgate::routing
