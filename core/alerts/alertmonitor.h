#pragma once

#include "alerts/alertevaluator.h"
#include "alerts/alertpolicy.h"
#include "alerts/requeststatswindow.h"
#include "metering/requestrecord.h"

#include <QByteArray>
#include <QList>
#include <QMutex>

namespace tollgate::alerts {

/// The alert rules of the policy evaluated live: keeps the request statistics their windows
/// need, the state of each rule between evaluations, and their gauges for /metrics.
/// Thread-safe: workers record() while one thread evaluates and others read.
class AlertMonitor {
public:
    /// Evaluates the reference rules until setPolicy().
    AlertMonitor();

    /// The rules to evaluate from now on. Rules that keep their name keep their state (a pending
    /// rule keeps counting its `for`); the window grows or shrinks to the longest rule window,
    /// keeping the seconds that still fit.
    void setPolicy(const AlertPolicy &policy);
    AlertPolicy policy() const;

    /// Counts one finished request in the second it completed.
    void record(const metering::RequestRecord &record);
    /// Evaluates every enabled rule at `nowMs` and returns what changed since the last call,
    /// each change exactly once.
    QList<AlertTransition> evaluate(qint64 nowMs);
    /// The state of every enabled rule as of the last evaluation, in policy order (inactive for
    /// a rule not evaluated yet).
    QList<AlertState> states() const;

    /// Prometheus text exposition (0.0.4) of the enabled rules as of the last evaluation:
    /// tollgate_alert_firing{alert,severity} and tollgate_alert_pending{alert,severity} (0 or 1),
    /// tollgate_alert_value{alert,kind} (what the rule measured; NaN when nothing) and
    /// tollgate_alert_threshold{alert,kind}.
    QByteArray renderPrometheus() const;

private:
    QList<AlertState> statesLocked() const;

    RequestStatsWindow m_window;
    mutable QMutex m_mutex; // guards the policy and the states, never held while recording
    AlertPolicy m_policy;
    QList<AlertState> m_states;
};

} // namespace tollgate::alerts
