#pragma once

#include "alerts/alertpolicy.h"
#include "alerts/requeststatswindow.h"

#include <QList>
#include <QString>

#include <limits>

namespace tollgate::alerts {

/// Where a rule stands, with Prometheus' meaning: Pending while its condition holds but has not
/// yet held for the rule's `for`; Firing once it has.
enum class AlertStatus { Inactive, Pending, Firing };

/// "inactive", "pending", "firing" (Prometheus' alertstate values).
QString alertStatusName(AlertStatus status);

/// One enabled rule's standing after an evaluation.
struct AlertState {
    AlertRule rule;
    AlertStatus status = AlertStatus::Inactive;
    /// What the rule measured at the last evaluation (error ratio, latency seconds or USD); NaN
    /// when there was nothing to measure (no requests in the window for a ratio or a quantile).
    double value = std::numeric_limits<double>::quiet_NaN();
    qint64 activeSinceMs = 0; ///< when the condition began to hold; 0 while inactive
    qint64 firingSinceMs = 0; ///< when the rule began firing; 0 unless firing
    qint64 evaluatedAtMs = 0;
};

/// A change of a rule's status, reported by the evaluation that saw it (so exactly once).
struct AlertTransition {
    AlertRule rule;
    AlertStatus from = AlertStatus::Inactive;
    AlertStatus to = AlertStatus::Inactive;
    double value = std::numeric_limits<double>::quiet_NaN(); ///< as AlertState::value
    qint64 atMs = 0;
    /// The rule was turned off or removed from the policy while pending or firing.
    bool ruleRemoved = false;
};

/// The result of one evaluation: the state of every enabled rule, in policy order, and what
/// changed since the previous evaluation.
struct AlertEvaluation {
    QList<AlertState> states;
    QList<AlertTransition> transitions;
};

/// What `rule` measures in `stats` (the requests of its window): the error ratio, the latency
/// quantile in seconds or the USD spent. NaN when there is nothing to measure.
double measureAlert(const AlertRule &rule, const RequestStats &stats);

/// `previous` moved on by one evaluation at `nowMs` in which the rule measured `value`, with
/// Prometheus' `for` semantics: a condition that starts to hold makes the rule pending; once it
/// has held for `forSeconds` (at once when 0) the rule fires; when it stops holding the rule is
/// inactive again. A NaN value never holds. Pure.
AlertState advanceAlert(const AlertRule &rule, const AlertState &previous, double value,
                        qint64 nowMs);

/// Evaluates every enabled rule of `policy` over `window` at `nowMs`, starting from `previous`
/// (the states of the last evaluation, matched by rule name; empty at first). A rule that was
/// pending or firing and is now off or gone reports a transition to inactive. Pure apart from
/// reading the window.
AlertEvaluation evaluateAlerts(const AlertPolicy &policy, const RequestStatsWindow &window,
                               const QList<AlertState> &previous, qint64 nowMs);

/// One line for a log, e.g. `alert HighAIErrorRate firing: error rate 0.31 > 0.05 for 5m
/// (critical, over the last 5m)`.
QString describeTransition(const AlertTransition &transition);

/// What changed between two readings of the states, for a watcher that polls states() rather
/// than evaluating (the console): each rule whose status differs, and each rule that was pending
/// or firing and is gone (ruleRemoved). Stamped with the time of `after`'s evaluation. Pure.
QList<AlertTransition> changesBetween(const QList<AlertState> &before,
                                      const QList<AlertState> &after);

/// Where a rule stands, for a table, e.g. `error rate 0.31 > 0.05 over the last 5m` or
/// `p95 latency 1.2 s <= 8 s over the last 5m`; `no requests in the last 5m` when nothing was
/// measured.
QString describeState(const AlertState &state);

} // namespace tollgate::alerts
