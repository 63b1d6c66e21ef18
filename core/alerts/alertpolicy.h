#pragma once

#include "common/expected.h"

#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

namespace tollgate::alerts {

/// What a rule measures over its window, and so what its threshold means:
/// ErrorRate  errors / requests (a ratio 0..1), as rate(ai_errors_total) / rate(ai_requests_total);
/// Latency    a quantile of request duration in seconds, as histogram_quantile over
///            ai_request_duration_seconds;
/// Cost       the USD spent in the window, as increase(ai_cost_total_usd).
enum class AlertKind { ErrorRate, Latency, Cost };
/// The Prometheus `severity` label of a rule.
enum class AlertSeverity { Critical, Warning, Info };

/// The names the policy document uses: "error_rate", "latency", "cost"; "critical", "warning",
/// "info".
QString alertKindName(AlertKind kind);
QString alertSeverityName(AlertSeverity severity);
/// The names a policy may use for each, in order.
QStringList alertKindNames();
QStringList alertSeverityNames();
/// A duration as Prometheus writes one: 300 -> "5m", 5400 -> "1h30m", 45 -> "45s", 0 -> "0s".
QString prometheusDuration(int seconds);

/// One alert rule: fires when what `kind` measures over the last `windowSeconds` stays above
/// `threshold` for `forSeconds`.
struct AlertRule {
    QString name; ///< unique; the `alert` label; letters, digits and '_', starting with a letter
    AlertKind kind = AlertKind::ErrorRate;
    double threshold = 0;   ///< ErrorRate: a ratio; Latency: seconds; Cost: USD
    double quantile = 0.95; ///< Latency only: which quantile of request durations
    int windowSeconds = 300;
    int forSeconds = 0; ///< Prometheus `for`: how long the condition must hold before firing
    AlertSeverity severity = AlertSeverity::Warning;
    bool enabled = true;

    bool operator==(const AlertRule &other) const;
    bool operator!=(const AlertRule &other) const { return !(*this == other); }
};

/// The `alerts` section of the policy document: DESIGN.md's reference alert rules with their
/// thresholds, windows, `for` durations and severities, each of which can be changed or turned
/// off, plus extra rules of the same kinds. The single source of the daemon's live evaluation,
/// the console's alerts page and the Prometheus rules export. Immutable once built.
class AlertPolicy {
public:
    /// The reference rules (see reference()).
    AlertPolicy();

    /// Reads `alerts` from the whole policy document and ignores its other sections. Without
    /// `alerts` the reference rules apply. The error is the first of validate()'s problems.
    static Expected<AlertPolicy> fromJson(const QJsonObject &document);
    /// Every problem of the alert settings in `document`, each with its JSON path, e.g.
    /// `alerts.rules.HighAILatency.threshold: expected a number of seconds >= 0 and < 10`.
    /// Empty when valid.
    static QList<Error> validate(const QJsonObject &document);
    /// DESIGN.md's rules: HighAIErrorRate (error rate over 5m > 0.05 for 5m, critical),
    /// HighAILatency (p95 latency over 5m > 2 s for 5m, warning) and AIBudgetExceeded (cost over
    /// 1h > 50 USD, critical).
    static AlertPolicy reference();
    /// The reference rule called `name`, or nullptr.
    static const AlertRule *referenceRule(const QString &name);

    /// Reference rules first, in reference order, then the others by name; disabled ones too.
    const QList<AlertRule> &rules() const { return m_rules; }
    /// The rule called `name`, or nullptr.
    const AlertRule *rule(const QString &name) const;
    /// The longest window of an enabled rule (0 when none is enabled): what the request
    /// statistics must keep.
    int longestWindowSeconds() const;

    /// The effective settings, every rule with every field, in the format fromJson() reads:
    /// `{"alerts": {"rules": {...}}}`.
    QJsonObject toJson() const;

private:
    /// Builds what `document` describes and appends every problem to `problems`.
    static AlertPolicy parse(const QJsonObject &document, QList<Error> *problems);

    QList<AlertRule> m_rules;
};

} // namespace tollgate::alerts
