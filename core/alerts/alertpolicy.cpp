#include "alerts/alertpolicy.h"

#include "alerts/requeststatswindow.h"
#include "policy/policyfields.h"

#include <QJsonValue>
#include <QRegularExpression>
#include <QStringList>

#include <algorithm>
#include <cmath>

namespace tollgate::alerts {

namespace {

using policy::enumChoices;
using policy::EnumName;
using policy::enumName;
using policy::memberPath;

const QString kAlertsKey = QStringLiteral("alerts");
const QString kRulesKey = QStringLiteral("rules");

// Every rule is evaluated each second and exported as a few series; a bound keeps both small.
constexpr int kMaxRules = 64;
// A day is as long as a rule's window or `for` may be: longer spans belong to budgets (spend)
// and to Prometheus itself (history), and the window's memory grows with the longest one.
constexpr int kMaxSeconds = RequestStatsWindow::kMaxSpanSeconds;
constexpr double kMaxCostUsd = 1e12;

constexpr EnumName<AlertKind> kKinds[] = {{AlertKind::ErrorRate, "error_rate"},
                                          {AlertKind::Latency, "latency"},
                                          {AlertKind::Cost, "cost"}};
constexpr EnumName<AlertSeverity> kSeverities[] = {{AlertSeverity::Critical, "critical"},
                                                   {AlertSeverity::Warning, "warning"},
                                                   {AlertSeverity::Info, "info"}};

const QList<AlertRule> &referenceRules()
{
    static const QList<AlertRule> rules = [] {
        AlertRule errors;
        errors.name = QStringLiteral("HighAIErrorRate");
        errors.kind = AlertKind::ErrorRate;
        errors.threshold = 0.05;
        errors.windowSeconds = 300;
        errors.forSeconds = 300;
        errors.severity = AlertSeverity::Critical;
        AlertRule latency;
        latency.name = QStringLiteral("HighAILatency");
        latency.kind = AlertKind::Latency;
        latency.threshold = 2;
        latency.quantile = 0.95;
        latency.windowSeconds = 300;
        latency.forSeconds = 300;
        latency.severity = AlertSeverity::Warning;
        AlertRule cost;
        cost.name = QStringLiteral("AIBudgetExceeded");
        cost.kind = AlertKind::Cost;
        cost.threshold = 50;
        cost.windowSeconds = 3600;
        cost.forSeconds = 0;
        cost.severity = AlertSeverity::Critical;
        return QList<AlertRule>{errors, latency, cost};
    }();
    return rules;
}

/// The reference rule of `kind`: where a new rule of that kind takes its defaults from.
const AlertRule &referenceOfKind(AlertKind kind)
{
    for (const AlertRule &rule : referenceRules()) {
        if (rule.kind == kind)
            return rule;
    }
    return referenceRules().constFirst();
}

// Walks the JSON once and keeps going after a problem, so one pass reports all of them.
class Parser {
public:
    QList<AlertRule> parseSection(const QJsonValue &section)
    {
        QList<AlertRule> rules = referenceRules();
        if (section.isUndefined())
            return rules;
        if (!section.isObject()) {
            fail(kAlertsKey, QStringLiteral("expected an object"));
            return rules;
        }
        const QJsonObject object = section.toObject();
        checkKeys(object, kAlertsKey, {kRulesKey});
        const QJsonValue value = object.value(kRulesKey);
        const QString rulesPath = memberPath(kAlertsKey, kRulesKey);
        if (value.isUndefined())
            return rules;
        if (!value.isObject()) {
            fail(rulesPath, QStringLiteral("expected an object of rules by name"));
            return rules;
        }
        const QJsonObject given = value.toObject();
        // QJsonObject iterates in key order, so rules beyond the reference come sorted by name.
        for (auto it = given.begin(); it != given.end(); ++it) {
            AlertRule rule = parseRule(it.key(), it.value(), memberPath(rulesPath, it.key()));
            const auto existing =
                std::find_if(rules.begin(), rules.end(),
                             [&](const AlertRule &known) { return known.name == rule.name; });
            if (existing != rules.end())
                *existing = rule;
            else
                rules.append(rule);
        }
        if (rules.size() > kMaxRules)
            fail(rulesPath, QStringLiteral("expected at most %1 rules, the reference ones included")
                                .arg(kMaxRules));
        return rules;
    }

    QList<Error> takeErrors() { return std::move(m_errors); }

private:
    void fail(const QString &path, const QString &message)
    {
        m_errors.append(Error(message, path));
    }

    // Unknown keys are errors: a misspelt "treshold" must not leave a rule at its default.
    void checkKeys(const QJsonObject &object, const QString &path, const QStringList &known)
    {
        for (auto it = object.begin(); it != object.end(); ++it) {
            if (!known.contains(it.key()))
                fail(memberPath(path, it.key()), QStringLiteral("unknown setting"));
        }
    }

    template <typename Enum, size_t N>
    bool parseEnum(const QJsonValue &value, const QString &path, const EnumName<Enum> (&table)[N],
                   Enum *result)
    {
        if (value.isString()) {
            for (const auto &entry : table) {
                if (value.toString() == QLatin1String(entry.name)) {
                    *result = entry.value;
                    return true;
                }
            }
        }
        fail(path, QStringLiteral("expected one of %1").arg(enumChoices(table)));
        return false;
    }

    void parseSeconds(const QJsonValue &value, const QString &path, int minimum, int *result)
    {
        const double number = value.toDouble();
        if (!value.isDouble() || number != std::floor(number) || number < minimum ||
            number > kMaxSeconds) {
            fail(path, QStringLiteral("expected a whole number of seconds from %1 to %2 (one day)")
                           .arg(minimum)
                           .arg(kMaxSeconds));
            return;
        }
        *result = int(number);
    }

    void parseThreshold(const QJsonValue &value, const QString &path, AlertKind kind,
                        double *result)
    {
        const double number = value.toDouble();
        const bool finite = value.isDouble() && std::isfinite(number) && number >= 0;
        switch (kind) {
        case AlertKind::ErrorRate:
            if (!finite || number >= 1) {
                fail(path, QStringLiteral("expected a ratio of errors to requests, >= 0 and < 1 "
                                          "(0.05 is 5 %)"));
                return;
            }
            break;
        case AlertKind::Latency: {
            // histogram_quantile() never answers above the largest finite bucket bound, so a
            // threshold there could never be crossed, here or in Prometheus.
            const double largest = RequestStatsWindow::kDurationBounds.back();
            if (!finite || number >= largest) {
                fail(path, QStringLiteral("expected a number of seconds >= 0 and < %1 (the largest "
                                          "bucket of ai_request_duration_seconds: a quantile "
                                          "above it cannot be measured)")
                               .arg(largest));
                return;
            }
            break;
        }
        case AlertKind::Cost:
            if (!finite || number > kMaxCostUsd) {
                fail(path, QStringLiteral("expected an amount in USD >= 0 and at most 1e12"));
                return;
            }
            break;
        }
        *result = number;
    }

    AlertRule parseRule(const QString &name, const QJsonValue &value, const QString &path)
    {
        const AlertRule *reference = AlertPolicy::referenceRule(name);
        AlertRule rule = reference ? *reference : AlertRule();
        rule.name = name;
        // Rule names become the `alert` label and a Prometheus alert name, and appear in logs.
        static const QRegularExpression validName(QStringLiteral("^[A-Za-z][A-Za-z0-9_]{0,63}$"));
        if (!validName.match(name).hasMatch())
            fail(path, QStringLiteral("expected a rule name of up to 64 letters, digits or '_', "
                                      "starting with a letter"));
        if (!value.isObject()) {
            fail(path, QStringLiteral("expected an object"));
            return rule;
        }
        const QJsonObject object = value.toObject();
        checkKeys(object, path,
                  {QStringLiteral("kind"), QStringLiteral("threshold"), QStringLiteral("quantile"),
                   QStringLiteral("window_seconds"), QStringLiteral("for_seconds"),
                   QStringLiteral("severity"), QStringLiteral("enabled")});

        // The kind decides what the threshold means, so it is read first.
        bool kindKnown = reference != nullptr;
        const QString kindPath = memberPath(path, QStringLiteral("kind"));
        const QJsonValue kind = object.value(QStringLiteral("kind"));
        if (kind.isUndefined()) {
            if (!reference)
                fail(kindPath, QStringLiteral("required for a rule that is not one of the "
                                              "reference rules (%1)")
                                   .arg(referenceNames()));
        } else {
            AlertKind parsed = rule.kind;
            kindKnown = parseEnum(kind, kindPath, kKinds, &parsed);
            if (kindKnown && reference && parsed != reference->kind) {
                fail(kindPath, QStringLiteral("%1 is a reference rule of kind %2; give a rule of "
                                              "another kind a name of its own")
                                   .arg(name, alertKindName(reference->kind)));
                kindKnown = false;
            } else if (kindKnown && !reference) {
                rule = referenceOfKind(parsed);
                rule.name = name;
            }
        }

        const QString thresholdPath = memberPath(path, QStringLiteral("threshold"));
        const QJsonValue threshold = object.value(QStringLiteral("threshold"));
        if (!threshold.isUndefined() && kindKnown)
            parseThreshold(threshold, thresholdPath, rule.kind, &rule.threshold);

        const QString quantilePath = memberPath(path, QStringLiteral("quantile"));
        const QJsonValue quantile = object.value(QStringLiteral("quantile"));
        if (!quantile.isUndefined() && kindKnown) {
            const double number = quantile.toDouble();
            if (rule.kind != AlertKind::Latency)
                fail(quantilePath, QStringLiteral("only latency rules take a quantile"));
            else if (!quantile.isDouble() || !(number > 0 && number < 1))
                fail(quantilePath,
                     QStringLiteral("expected a number > 0 and < 1 (0.95 for the p95)"));
            else
                rule.quantile = number;
        }

        const QJsonValue window = object.value(QStringLiteral("window_seconds"));
        if (!window.isUndefined())
            parseSeconds(window, memberPath(path, QStringLiteral("window_seconds")), 1,
                         &rule.windowSeconds);
        const QJsonValue holdFor = object.value(QStringLiteral("for_seconds"));
        if (!holdFor.isUndefined())
            parseSeconds(holdFor, memberPath(path, QStringLiteral("for_seconds")), 0,
                         &rule.forSeconds);

        const QJsonValue severity = object.value(QStringLiteral("severity"));
        if (!severity.isUndefined())
            parseEnum(severity, memberPath(path, QStringLiteral("severity")), kSeverities,
                      &rule.severity);

        const QJsonValue enabled = object.value(QStringLiteral("enabled"));
        if (!enabled.isUndefined()) {
            if (enabled.isBool())
                rule.enabled = enabled.toBool();
            else
                fail(memberPath(path, QStringLiteral("enabled")), QStringLiteral("expected true or "
                                                                                 "false"));
        }
        return rule;
    }

    static QString referenceNames()
    {
        QStringList names;
        for (const AlertRule &rule : referenceRules())
            names.append(rule.name);
        return names.join(QStringLiteral(", "));
    }

    QList<Error> m_errors;
};

} // namespace

QString alertKindName(AlertKind kind)
{
    return enumName(kKinds, kind);
}

QString alertSeverityName(AlertSeverity severity)
{
    return enumName(kSeverities, severity);
}

QStringList alertKindNames()
{
    return policy::enumNames(kKinds);
}

QStringList alertSeverityNames()
{
    return policy::enumNames(kSeverities);
}

QString prometheusDuration(int seconds)
{
    // Prometheus' model.Duration.String(): years and weeks only when they divide evenly.
    if (seconds <= 0)
        return QStringLiteral("0s");
    qint64 left = seconds;
    QString text;
    const auto unit = [&](const char *name, qint64 size, bool exact) {
        if (exact && left % size != 0)
            return;
        if (const qint64 count = left / size; count > 0) {
            text += QString::number(count) + QLatin1String(name);
            left -= count * size;
        }
    };
    unit("y", 365 * 86400, true);
    unit("w", 7 * 86400, true);
    unit("d", 86400, false);
    unit("h", 3600, false);
    unit("m", 60, false);
    unit("s", 1, false);
    return text;
}

bool AlertRule::operator==(const AlertRule &other) const
{
    return name == other.name && kind == other.kind && threshold == other.threshold &&
           quantile == other.quantile && windowSeconds == other.windowSeconds &&
           forSeconds == other.forSeconds && severity == other.severity && enabled == other.enabled;
}

AlertPolicy::AlertPolicy()
    : m_rules(referenceRules())
{
}

AlertPolicy AlertPolicy::reference()
{
    return AlertPolicy();
}

const AlertRule *AlertPolicy::referenceRule(const QString &name)
{
    for (const AlertRule &rule : referenceRules()) {
        if (rule.name == name)
            return &rule;
    }
    return nullptr;
}

AlertPolicy AlertPolicy::parse(const QJsonObject &document, QList<Error> *problems)
{
    Parser parser;
    AlertPolicy policy;
    policy.m_rules = parser.parseSection(document.value(kAlertsKey));
    *problems += parser.takeErrors();
    return policy;
}

QList<Error> AlertPolicy::validate(const QJsonObject &document)
{
    QList<Error> problems;
    parse(document, &problems);
    return problems;
}

Expected<AlertPolicy> AlertPolicy::fromJson(const QJsonObject &document)
{
    QList<Error> problems;
    AlertPolicy policy = parse(document, &problems);
    if (!problems.isEmpty())
        return problems.constFirst();
    return policy;
}

const AlertRule *AlertPolicy::rule(const QString &name) const
{
    for (const AlertRule &rule : m_rules) {
        if (rule.name == name)
            return &rule;
    }
    return nullptr;
}

int AlertPolicy::longestWindowSeconds() const
{
    int longest = 0;
    for (const AlertRule &rule : m_rules) {
        if (rule.enabled)
            longest = std::max(longest, rule.windowSeconds);
    }
    return longest;
}

QJsonObject AlertPolicy::toJson() const
{
    QJsonObject rules;
    for (const AlertRule &rule : m_rules) {
        QJsonObject object{{QStringLiteral("kind"), alertKindName(rule.kind)},
                           {QStringLiteral("threshold"), rule.threshold},
                           {QStringLiteral("window_seconds"), rule.windowSeconds},
                           {QStringLiteral("for_seconds"), rule.forSeconds},
                           {QStringLiteral("severity"), alertSeverityName(rule.severity)},
                           {QStringLiteral("enabled"), rule.enabled}};
        if (rule.kind == AlertKind::Latency)
            object.insert(QStringLiteral("quantile"), rule.quantile);
        rules.insert(rule.name, object);
    }
    return QJsonObject{{kAlertsKey, QJsonObject{{kRulesKey, rules}}}};
}

} // namespace tollgate::alerts
