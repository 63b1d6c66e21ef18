#pragma once

#include "common/expected.h"
#include "policy/requestfeatures.h"

#include <QJsonObject>
#include <QList>
#include <QMap>
#include <QString>
#include <QStringList>

#include <optional>

namespace tollgate::limits {

/// The limits of one plan. An absent limit is unlimited.
struct Plan {
    QString name;
    std::optional<qint64> requestsPerHour;
    std::optional<qint64> requestsPerMinute;
    std::optional<qint64> inputTokensPerMinute;
    std::optional<qint64> outputTokensPerMinute;
    std::optional<int> maxConcurrentStreams;
    /// A cap, not a rate: the pipeline clamps a request's max_tokens to it.
    std::optional<int> maxTokens;

    /// Whether the rate limiter has anything to count for this plan. False lets the limiter
    /// answer without touching shared state (the local owner's default plan).
    bool hasRateLimits() const
    {
        return requestsPerHour || requestsPerMinute || inputTokensPerMinute ||
               outputTokensPerMinute || maxConcurrentStreams;
    }
    /// `requested` clamped to max_tokens.
    int cappedMaxTokens(int requested) const
    {
        return maxTokens && requested > *maxTokens ? *maxTokens : requested;
    }
};

/// The `plans` section of the policy document: the plans, the default plan of identified users
/// and the plan of the local owner. Immutable once built, so worker threads share it freely.
class PlanPolicy {
public:
    /// The reference plans (see reference()).
    PlanPolicy();

    /// Reads `plans`, `default_plan` and `local_owner_plan` from the whole policy document and
    /// ignores its other sections. Without `plans` the reference plans apply. The error is the
    /// first of validate()'s problems.
    static Expected<PlanPolicy> fromJson(const QJsonObject &document);
    /// Every problem of the plan settings in `document`, each with its JSON path, e.g.
    /// `plans.pro.requests_per_hour: expected a positive integer`. Empty when valid.
    static QList<Error> validate(const QJsonObject &document);
    /// DESIGN.md's reference: enterprise 10,000/h, pro 1,000/h, free 100/h (the default plan),
    /// and an unlimited "local" plan for the local owner.
    static PlanPolicy reference();

    /// The plan called `name`, or nullptr.
    const Plan *plan(const QString &name) const;
    /// The plan that applies to `principal`: its explicit plan when that plan exists (the
    /// pipeline only sets one from a trusted key or header); otherwise the local owner gets
    /// local_owner_plan and everyone else default_plan.
    QString resolvePlanName(const policy::Principal &principal) const;
    /// resolvePlanName() as a plan; always valid because both fallbacks are validated plans.
    const Plan &resolvePlan(const policy::Principal &principal) const;

    QString defaultPlanName() const { return m_defaultPlan; }
    QString localOwnerPlanName() const { return m_localOwnerPlan; }
    QStringList planNames() const { return m_plans.keys(); }

    /// The effective settings, in the format fromJson() reads (for `check-config` and export).
    QJsonObject toJson() const;

private:
    /// Builds what `document` describes and appends every problem to `problems`.
    static PlanPolicy parse(const QJsonObject &document, QList<Error> *problems);

    QMap<QString, Plan> m_plans; // a handful of plans: a sorted map is as fast as a hash here
    QString m_defaultPlan;
    QString m_localOwnerPlan;
};

} // namespace tollgate::limits
