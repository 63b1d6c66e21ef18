#include "alerts/alertmonitor.h"

#include <QLocale>
#include <QMutexLocker>

#include <algorithm>
#include <cmath>

namespace tollgate::alerts {

namespace {

QByteArray formatValue(double value)
{
    if (std::isnan(value))
        return "NaN";
    if (std::isinf(value))
        return value > 0 ? "+Inf" : "-Inf";
    return QByteArray::number(value, 'g', QLocale::FloatingPointShortest);
}

void writeHeader(QByteArray &out, const char *name, const char *help)
{
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += " gauge\n";
}

// Rule names are letters, digits and '_' and severities and kinds come from fixed tables, so no
// label value here needs escaping.
void writeSample(QByteArray &out, const char *name, const AlertRule &rule, const char *second,
                 const QString &secondValue, const QByteArray &value)
{
    out += name;
    out += "{alert=\"";
    out += rule.name.toLatin1();
    out += "\",";
    out += second;
    out += "=\"";
    out += secondValue.toLatin1();
    out += "\"} ";
    out += value;
    out += '\n';
}

} // namespace

AlertMonitor::AlertMonitor()
    : m_window(AlertPolicy::reference().longestWindowSeconds())
{
}

void AlertMonitor::setPolicy(const AlertPolicy &policy)
{
    QMutexLocker locker(&m_mutex);
    m_policy = policy;
    m_window.setSpanSeconds(std::max(1, policy.longestWindowSeconds()));
}

AlertPolicy AlertMonitor::policy() const
{
    QMutexLocker locker(&m_mutex);
    return m_policy;
}

void AlertMonitor::record(const metering::RequestRecord &record)
{
    m_window.add(RequestSample::fromRecord(record));
}

QList<AlertTransition> AlertMonitor::evaluate(qint64 nowMs)
{
    QMutexLocker locker(&m_mutex);
    AlertEvaluation evaluation = evaluateAlerts(m_policy, m_window, m_states, nowMs);
    m_states = std::move(evaluation.states);
    return std::move(evaluation.transitions);
}

QList<AlertState> AlertMonitor::states() const
{
    QMutexLocker locker(&m_mutex);
    return statesLocked();
}

QList<AlertState> AlertMonitor::statesLocked() const
{
    // Built from the policy rather than the last evaluation, so a rule added by a reload shows
    // (inactive) before its first evaluation and a removed one is gone at once.
    QList<AlertState> states;
    for (const AlertRule &rule : m_policy.rules()) {
        if (!rule.enabled)
            continue;
        const auto it =
            std::find_if(m_states.begin(), m_states.end(),
                         [&](const AlertState &state) { return state.rule.name == rule.name; });
        AlertState state = it != m_states.end() ? *it : AlertState();
        state.rule = rule;
        states.append(std::move(state));
    }
    return states;
}

QByteArray AlertMonitor::renderPrometheus() const
{
    const QList<AlertState> states = this->states();
    QByteArray out;
    out.reserve(1024 + int(states.size()) * 320);

    writeHeader(out, "tollgate_alert_firing",
                "Whether each alert rule of the policy is firing (1) or not (0).");
    for (const AlertState &state : states)
        writeSample(out, "tollgate_alert_firing", state.rule, "severity",
                    alertSeverityName(state.rule.severity),
                    state.status == AlertStatus::Firing ? "1" : "0");

    writeHeader(out, "tollgate_alert_pending",
                "Whether each alert rule's condition holds but has not yet held for its for "
                "duration (1) or not (0).");
    for (const AlertState &state : states)
        writeSample(out, "tollgate_alert_pending", state.rule, "severity",
                    alertSeverityName(state.rule.severity),
                    state.status == AlertStatus::Pending ? "1" : "0");

    writeHeader(out, "tollgate_alert_value",
                "What each alert rule measured over its window at the last evaluation: error "
                "ratio, latency in seconds or cost in USD (NaN when there was nothing to "
                "measure).");
    for (const AlertState &state : states)
        writeSample(out, "tollgate_alert_value", state.rule, "kind", alertKindName(state.rule.kind),
                    formatValue(state.value));

    writeHeader(out, "tollgate_alert_threshold",
                "The threshold each alert rule compares its value with (fires above it).");
    for (const AlertState &state : states)
        writeSample(out, "tollgate_alert_threshold", state.rule, "kind",
                    alertKindName(state.rule.kind), formatValue(state.rule.threshold));
    return out;
}

} // namespace tollgate::alerts
