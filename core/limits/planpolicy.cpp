#include "limits/planpolicy.h"

#include <QJsonValue>
#include <QRegularExpression>

#include <cmath>

namespace tollgate::limits {

namespace {

const QString kPlansKey = QStringLiteral("plans");
const QString kDefaultPlanKey = QStringLiteral("default_plan");
const QString kLocalOwnerPlanKey = QStringLiteral("local_owner_plan");
const QString kReferenceDefaultPlan = QStringLiteral("free");
const QString kReferenceLocalOwnerPlan = QStringLiteral("local");

// Counts above 2^53 - 1 lose precision in a JSON number (a double), so they are refused rather
// than silently rounded.
constexpr qint64 kMaxCount = 9007199254740991LL;
constexpr qint64 kMaxInt = 2147483647;

std::optional<qint64> positiveInteger(const QJsonValue &value, qint64 maximum, const QString &path,
                                      QList<Error> *problems)
{
    const double number = value.toDouble();
    if (!value.isDouble() || number < 1 || number != std::floor(number)) {
        problems->append(Error(QStringLiteral("expected a positive integer"), path));
        return std::nullopt;
    }
    if (number > double(maximum)) {
        problems->append(Error(QStringLiteral("expected at most %1").arg(maximum), path));
        return std::nullopt;
    }
    return qint64(number);
}

/// One optional limit of a plan: its JSON name, its bound and where it goes.
struct Field {
    QString name;
    qint64 maximum;
    std::optional<qint64> Plan::*count = nullptr;
    std::optional<int> Plan::*small = nullptr;
};

const QList<Field> &fields()
{
    static const QList<Field> list = {
        {QStringLiteral("requests_per_hour"), kMaxCount, &Plan::requestsPerHour, nullptr},
        {QStringLiteral("requests_per_minute"), kMaxCount, &Plan::requestsPerMinute, nullptr},
        {QStringLiteral("input_tokens_per_minute"), kMaxCount, &Plan::inputTokensPerMinute,
         nullptr},
        {QStringLiteral("output_tokens_per_minute"), kMaxCount, &Plan::outputTokensPerMinute,
         nullptr},
        {QStringLiteral("max_concurrent_streams"), kMaxInt, nullptr, &Plan::maxConcurrentStreams},
        {QStringLiteral("max_tokens"), kMaxInt, nullptr, &Plan::maxTokens},
    };
    return list;
}

Plan parsePlan(const QString &name, const QJsonValue &value, const QString &path,
               QList<Error> *problems)
{
    Plan plan;
    plan.name = name;
    // Plan names travel in x-tollgate-plan headers, metric labels and Redis keys.
    static const QRegularExpression validName(QStringLiteral("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"));
    if (!validName.match(name).hasMatch())
        problems->append(
            Error(QStringLiteral("expected a plan name of up to 64 letters, digits, '_', '.' or "
                                 "'-', starting with a letter or digit"),
                  path));
    if (!value.isObject()) {
        problems->append(Error(QStringLiteral("expected an object"), path));
        return plan;
    }
    const QJsonObject object = value.toObject();
    for (auto it = object.begin(); it != object.end(); ++it) {
        const QString fieldPath = path + QLatin1Char('.') + it.key();
        const auto field = std::find_if(fields().begin(), fields().end(),
                                        [&](const Field &f) { return f.name == it.key(); });
        if (field == fields().end()) {
            problems->append(Error(QStringLiteral("unknown setting"), fieldPath));
            continue;
        }
        const auto parsed = positiveInteger(it.value(), field->maximum, fieldPath, problems);
        if (!parsed)
            continue;
        if (field->count)
            plan.*(field->count) = *parsed;
        else
            plan.*(field->small) = int(*parsed);
    }
    return plan;
}

/// Reads default_plan or local_owner_plan; `fallback` when absent.
QString planReference(const QJsonObject &document, const QString &key, const QString &fallback,
                      QList<Error> *problems)
{
    const QJsonValue value = document.value(key);
    if (value.isUndefined())
        return fallback;
    if (!value.isString() || value.toString().isEmpty()) {
        problems->append(Error(QStringLiteral("expected a plan name"), key));
        return {};
    }
    return value.toString();
}

} // namespace

PlanPolicy::PlanPolicy()
    : m_defaultPlan(kReferenceDefaultPlan)
    , m_localOwnerPlan(kReferenceLocalOwnerPlan)
{
    Plan free;
    free.name = kReferenceDefaultPlan;
    free.requestsPerHour = 100;
    Plan pro;
    pro.name = QStringLiteral("pro");
    pro.requestsPerHour = 1000;
    Plan enterprise;
    enterprise.name = QStringLiteral("enterprise");
    enterprise.requestsPerHour = 10000;
    Plan local;
    local.name = kReferenceLocalOwnerPlan;
    for (const Plan &plan : {free, pro, enterprise, local})
        m_plans.insert(plan.name, plan);
}

PlanPolicy PlanPolicy::reference()
{
    return PlanPolicy();
}

PlanPolicy PlanPolicy::parse(const QJsonObject &document, QList<Error> *problems)
{
    PlanPolicy policy;
    const QJsonValue plans = document.value(kPlansKey);
    // Without readable plans, "unknown plan" for the references would only repeat the problem.
    bool plansKnown = true;
    if (!plans.isUndefined()) {
        // A plans section replaces the reference plans, so an operator can drop one.
        policy.m_plans.clear();
        if (!plans.isObject()) {
            problems->append(Error(QStringLiteral("expected an object"), kPlansKey));
            plansKnown = false;
        } else {
            const QJsonObject object = plans.toObject();
            for (auto it = object.begin(); it != object.end(); ++it)
                policy.m_plans.insert(it.key(),
                                      parsePlan(it.key(), it.value(),
                                                kPlansKey + QLatin1Char('.') + it.key(), problems));
        }
    }

    const bool defaultGiven = document.contains(kDefaultPlanKey);
    policy.m_defaultPlan =
        planReference(document, kDefaultPlanKey, kReferenceDefaultPlan, problems);
    if (plansKnown && !policy.m_defaultPlan.isEmpty() &&
        !policy.m_plans.contains(policy.m_defaultPlan)) {
        problems->append(Error(QStringLiteral("unknown plan \"%1\"%2")
                                   .arg(policy.m_defaultPlan,
                                        defaultGiven ? QString()
                                                     : QStringLiteral(" (the default when "
                                                                      "default_plan is absent)")),
                               kDefaultPlanKey));
    }

    const bool localGiven = document.contains(kLocalOwnerPlanKey);
    policy.m_localOwnerPlan =
        planReference(document, kLocalOwnerPlanKey, kReferenceLocalOwnerPlan, problems);
    if (!localGiven && !policy.m_plans.contains(kReferenceLocalOwnerPlan)) {
        // The local owner's own tools must never fall under a limit nobody chose for them, so a
        // plans section without "local" still leaves the local owner unlimited.
        Plan local;
        local.name = kReferenceLocalOwnerPlan;
        policy.m_plans.insert(local.name, local);
    } else if (plansKnown && !policy.m_localOwnerPlan.isEmpty() &&
               !policy.m_plans.contains(policy.m_localOwnerPlan)) {
        problems->append(Error(QStringLiteral("unknown plan \"%1\"").arg(policy.m_localOwnerPlan),
                               kLocalOwnerPlanKey));
    }
    return policy;
}

QList<Error> PlanPolicy::validate(const QJsonObject &document)
{
    QList<Error> problems;
    parse(document, &problems);
    return problems;
}

Expected<PlanPolicy> PlanPolicy::fromJson(const QJsonObject &document)
{
    QList<Error> problems;
    PlanPolicy policy = parse(document, &problems);
    if (!problems.isEmpty())
        return problems.constFirst();
    return policy;
}

const Plan *PlanPolicy::plan(const QString &name) const
{
    const auto it = m_plans.constFind(name);
    return it == m_plans.constEnd() ? nullptr : &it.value();
}

QString PlanPolicy::resolvePlanName(const policy::Principal &principal) const
{
    if (!principal.plan.isEmpty() && m_plans.contains(principal.plan))
        return principal.plan;
    return principal.localOwner ? m_localOwnerPlan : m_defaultPlan;
}

const Plan &PlanPolicy::resolvePlan(const policy::Principal &principal) const
{
    return *plan(resolvePlanName(principal));
}

QJsonObject PlanPolicy::toJson() const
{
    QJsonObject plans;
    for (const Plan &plan : m_plans) {
        QJsonObject object;
        for (const Field &field : fields()) {
            if (field.count && plan.*(field.count))
                object.insert(field.name, *(plan.*(field.count)));
            else if (field.small && plan.*(field.small))
                object.insert(field.name, *(plan.*(field.small)));
        }
        plans.insert(plan.name, object);
    }
    return QJsonObject{{kPlansKey, plans},
                       {kDefaultPlanKey, m_defaultPlan},
                       {kLocalOwnerPlanKey, m_localOwnerPlan}};
}

} // namespace tollgate::limits
