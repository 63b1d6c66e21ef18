#include "alerts/alertevaluator.h"

#include <algorithm>
#include <cmath>

namespace tollgate::alerts {

namespace {

const AlertState *findState(const QList<AlertState> &states, const QString &name)
{
    const auto it = std::find_if(states.begin(), states.end(),
                                 [&](const AlertState &state) { return state.rule.name == name; });
    return it == states.end() ? nullptr : &*it;
}

bool isEnabled(const AlertPolicy &policy, const QString &name)
{
    const AlertRule *rule = policy.rule(name);
    return rule && rule->enabled;
}

QString measureName(const AlertRule &rule)
{
    switch (rule.kind) {
    case AlertKind::ErrorRate: return QStringLiteral("error rate");
    case AlertKind::Latency:
        return QStringLiteral("p%1 latency").arg(QString::number(rule.quantile * 100, 'g', 6));
    case AlertKind::Cost: return QStringLiteral("cost");
    }
    return {};
}

/// A measured value or a threshold in the rule's unit; values are rounded for reading,
/// thresholds are shown as written.
QString amount(const AlertRule &rule, double value, int digits)
{
    const QString number = QString::number(value, 'g', digits);
    switch (rule.kind) {
    case AlertKind::ErrorRate: return number;
    case AlertKind::Latency: return number + QStringLiteral(" s");
    case AlertKind::Cost: return number + QStringLiteral(" USD");
    }
    return number;
}

QString comparison(const AlertRule &rule, double value, const char *op)
{
    return QStringLiteral("%1 %2 %3 %4")
        .arg(measureName(rule), amount(rule, value, 4), QLatin1String(op),
             amount(rule, rule.threshold, 6));
}

} // namespace

QString alertStatusName(AlertStatus status)
{
    switch (status) {
    case AlertStatus::Inactive: return QStringLiteral("inactive");
    case AlertStatus::Pending: return QStringLiteral("pending");
    case AlertStatus::Firing: return QStringLiteral("firing");
    }
    return {};
}

double measureAlert(const AlertRule &rule, const RequestStats &stats)
{
    switch (rule.kind) {
    case AlertKind::ErrorRate: return stats.errorRate();
    case AlertKind::Latency: return stats.durationQuantile(rule.quantile);
    case AlertKind::Cost: return stats.costUsd;
    }
    return std::nan("");
}

AlertState advanceAlert(const AlertRule &rule, const AlertState &previous, double value,
                        qint64 nowMs)
{
    AlertState next = previous;
    next.rule = rule;
    next.value = value;
    next.evaluatedAtMs = nowMs;
    // The comparison of the reference rules is strict (`> 0.05`); NaN compares false, as in
    // PromQL, where a 0/0 ratio yields no sample and so no alert.
    if (!(value > rule.threshold)) {
        next.status = AlertStatus::Inactive;
        next.activeSinceMs = 0;
        next.firingSinceMs = 0;
        return next;
    }
    if (previous.status == AlertStatus::Inactive) {
        next.status = AlertStatus::Pending;
        next.activeSinceMs = nowMs;
    }
    if (next.status == AlertStatus::Pending &&
        nowMs - next.activeSinceMs >= qint64(rule.forSeconds) * 1000) {
        next.status = AlertStatus::Firing;
        next.firingSinceMs = nowMs;
    }
    return next;
}

AlertEvaluation evaluateAlerts(const AlertPolicy &policy, const RequestStatsWindow &window,
                               const QList<AlertState> &previous, qint64 nowMs)
{
    AlertEvaluation evaluation;
    for (const AlertRule &rule : policy.rules()) {
        if (!rule.enabled)
            continue;
        const AlertState *before = findState(previous, rule.name);
        const AlertState start = before ? *before : AlertState();
        const double value = measureAlert(rule, window.stats(nowMs, rule.windowSeconds));
        AlertState state = advanceAlert(rule, start, value, nowMs);
        if (state.status != start.status)
            evaluation.transitions.append({rule, start.status, state.status, value, nowMs, false});
        evaluation.states.append(std::move(state));
    }
    // A rule turned off while it fired must not leave an alert open in whoever watches the log.
    for (const AlertState &state : previous) {
        if (state.status != AlertStatus::Inactive && !isEnabled(policy, state.rule.name))
            evaluation.transitions.append(
                {state.rule, state.status, AlertStatus::Inactive, std::nan(""), nowMs, true});
    }
    return evaluation;
}

QString describeTransition(const AlertTransition &transition)
{
    const AlertRule &rule = transition.rule;
    const QString head = QStringLiteral("alert %1 ").arg(rule.name);
    const QString window = prometheusDuration(rule.windowSeconds);
    const QString severity = alertSeverityName(rule.severity);
    switch (transition.to) {
    case AlertStatus::Firing:
        return head + QStringLiteral("firing: ") + comparison(rule, transition.value, ">") +
               (rule.forSeconds > 0
                    ? QStringLiteral(" for %1").arg(prometheusDuration(rule.forSeconds))
                    : QString()) +
               QStringLiteral(" (%1, over the last %2)").arg(severity, window);
    case AlertStatus::Pending:
        return head + QStringLiteral("pending: ") + comparison(rule, transition.value, ">") +
               QStringLiteral(" (%1, over the last %2); fires if it holds for %3")
                   .arg(severity, window, prometheusDuration(rule.forSeconds));
    case AlertStatus::Inactive: break;
    }
    const QString change = transition.from == AlertStatus::Firing
                               ? QStringLiteral("resolved: ")
                               : QStringLiteral("no longer pending: ");
    if (transition.ruleRemoved)
        return head + change + QStringLiteral("the rule was turned off");
    if (std::isnan(transition.value))
        return head + change + QStringLiteral("no requests in the last %1").arg(window);
    return head + change + comparison(rule, transition.value, "<=") +
           QStringLiteral(" (over the last %1)").arg(window);
}

QList<AlertTransition> changesBetween(const QList<AlertState> &before,
                                      const QList<AlertState> &after)
{
    QList<AlertTransition> changes;
    for (const AlertState &now : after) {
        const AlertState *then = findState(before, now.rule.name);
        const AlertStatus from = then ? then->status : AlertStatus::Inactive;
        if (from != now.status)
            changes.append({now.rule, from, now.status, now.value, now.evaluatedAtMs, false});
    }
    const qint64 atMs = after.isEmpty() ? 0 : after.first().evaluatedAtMs;
    for (const AlertState &then : before) {
        if (then.status != AlertStatus::Inactive && !findState(after, then.rule.name))
            changes.append({then.rule, then.status, AlertStatus::Inactive, then.value, atMs, true});
    }
    return changes;
}

QString describeState(const AlertState &state)
{
    const QString window = prometheusDuration(state.rule.windowSeconds);
    if (std::isnan(state.value))
        return QStringLiteral("no requests in the last %1").arg(window);
    const char *op = state.status == AlertStatus::Inactive ? "<=" : ">";
    return comparison(state.rule, state.value, op) +
           QStringLiteral(" over the last %1").arg(window);
}

} // namespace tollgate::alerts
