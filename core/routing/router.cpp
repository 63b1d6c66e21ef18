#include "routing/router.h"

#include "metering/pricetable.h"
#include "routing/complexity.h"
#include "routing/glob.h"

#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cmath>

namespace tollgate::routing {

namespace {

const char *priorityName(policy::Priority priority)
{
    switch (priority) {
    case policy::Priority::Low: return "low";
    case policy::Priority::Medium: return "medium";
    case policy::Priority::High: return "high";
    case policy::Priority::Unspecified: break;
    }
    return "none";
}

const char *budgetName(policy::BudgetHint budget)
{
    switch (budget) {
    case policy::BudgetHint::Strict: return "strict";
    case policy::BudgetHint::Flexible: return "flexible";
    case policy::BudgetHint::Unspecified: break;
    }
    return "none";
}

const char *budgetStateName(BudgetState state)
{
    return state == BudgetState::Downgraded ? "downgraded" : "ok";
}

bool anyMatches(const QStringList &patterns, QStringView text)
{
    return std::any_of(patterns.begin(), patterns.end(),
                       [&](const QString &pattern) { return globMatch(pattern, text); });
}

// One request's view for matching: what every rule compares against, computed once.
struct Subject {
    const RoutingPolicy &routingPolicy;
    const policy::RequestFeatures &features;
    const RouteState &state;
    QString canonicalModel;
    double complexity = 0;
    bool complexityEstimated = false;
};

bool modelMatches(const QStringList &patterns, const Subject &subject)
{
    const QString &requested = subject.features.requestedModel;
    for (const QString &pattern : patterns) {
        if (pattern == kAutoModel) {
            if (subject.routingPolicy.isRouterModel(requested))
                return true;
            continue;
        }
        // Either spelling matches, so a rule for "claude-3-haiku-20240307" also catches a
        // request for its alias, and a glob on canonical ids catches every alias.
        if (globMatch(pattern, requested) ||
            (subject.canonicalModel != requested && globMatch(pattern, subject.canonicalModel)))
            return true;
    }
    return false;
}

bool headerMatches(const QByteArray &name, const QStringList &patterns,
                   const http::HeaderList &headers)
{
    for (const auto &header : headers) {
        if (header.first == name && anyMatches(patterns, QString::fromUtf8(header.second)))
            return true;
    }
    return false;
}

// A field the body repeats (OpenAI's `user` and a metadata `user_id`) holds when any of its
// values matches, as a repeated header does.
bool metadataMatches(const QString &name, const QStringList &patterns,
                     const QList<QPair<QString, QString>> &metadata)
{
    bool present = false;
    for (const auto &field : metadata) {
        if (field.first != name)
            continue;
        present = true;
        if (anyMatches(patterns, field.second))
            return true;
    }
    // A field of that exact name decides: OpenAI metadata keys may contain dots themselves.
    const qsizetype dot = name.indexOf(QLatin1Char('.'));
    if (present || dot <= 0)
        return false;
    // "user_id.account_uuid": a member of a field holding a JSON object as text, which is how
    // Claude Code fills metadata.user_id. Parsed only here, for rules that ask, and only for
    // text that looks like an object.
    const QStringView outer = QStringView(name).left(dot);
    const QString inner = name.mid(dot + 1);
    for (const auto &field : metadata) {
        if (field.first != outer || !field.second.startsWith(QLatin1Char('{')))
            continue;
        const QJsonValue value =
            QJsonDocument::fromJson(field.second.toUtf8()).object().value(inner);
        if (value.isString() && anyMatches(patterns, value.toString()))
            return true;
    }
    return false;
}

bool matches(const RouteMatch &match, const Subject &subject)
{
    const policy::RequestFeatures &f = subject.features;
    const policy::Principal &who = f.principal;
    if (!match.priorities.isEmpty() && !match.priorities.contains(f.priority))
        return false;
    if (!match.budgets.isEmpty() && !match.budgets.contains(f.budget))
        return false;
    if (!match.budgetStates.isEmpty() && !match.budgetStates.contains(subject.state.budget))
        return false;
    if (!match.apis.isEmpty() && !match.apis.contains(f.flavor))
        return false;
    if (match.complexityAbove && !(subject.complexity > *match.complexityAbove))
        return false;
    if (match.complexityAtMost && !(subject.complexity <= *match.complexityAtMost))
        return false;
    if (!match.models.isEmpty() && !modelMatches(match.models, subject))
        return false;
    // An empty plan/user/team/key (e.g. the local owner has no user) never matches a pattern,
    // not even "*": a rule for "some user" should not catch anonymous traffic.
    auto principalMatches = [](const QStringList &patterns, const QString &value) {
        return patterns.isEmpty() || (!value.isEmpty() && anyMatches(patterns, value));
    };
    if (!principalMatches(match.plans, who.plan) || !principalMatches(match.users, who.user) ||
        !principalMatches(match.teams, who.team) || !principalMatches(match.keys, who.keyName))
        return false;
    for (const auto &header : match.headers) {
        if (!headerMatches(header.first, header.second, f.headers))
            return false;
    }
    for (const auto &field : match.metadata) {
        if (!metadataMatches(field.first, field.second, f.metadata))
            return false;
    }
    return true;
}

QString number(double value)
{
    return QString::number(value, 'f', 2);
}

// Names the request's value for each condition the rule checked, so a log line says why this
// rule won without looking the policy up.
QString reasonFor(const RouteMatch &match, const Subject &subject)
{
    if (match.isEmpty())
        return QStringLiteral("default");
    const policy::RequestFeatures &f = subject.features;
    QStringList parts;
    if (!match.priorities.isEmpty())
        parts.append(QStringLiteral("priority=") + QLatin1String(priorityName(f.priority)));
    if (!match.budgets.isEmpty())
        parts.append(QStringLiteral("budget=") + QLatin1String(budgetName(f.budget)));
    if (!match.budgetStates.isEmpty())
        parts.append(QStringLiteral("budget_state=") +
                     QLatin1String(budgetStateName(subject.state.budget)));
    if (!match.models.isEmpty())
        parts.append(QStringLiteral("model=") + f.requestedModel);
    if (match.complexityAbove || match.complexityAtMost) {
        QString part = QStringLiteral("complexity=") + number(subject.complexity);
        if (match.complexityAbove)
            part += QLatin1Char('>') + number(*match.complexityAbove);
        if (match.complexityAtMost)
            part += QStringLiteral("<=") + number(*match.complexityAtMost);
        if (subject.complexityEstimated)
            part += QStringLiteral(" (estimated)");
        parts.append(part);
    }
    if (!match.plans.isEmpty())
        parts.append(QStringLiteral("plan=") + f.principal.plan);
    if (!match.users.isEmpty())
        parts.append(QStringLiteral("user=") + f.principal.user);
    if (!match.teams.isEmpty())
        parts.append(QStringLiteral("team=") + f.principal.team);
    if (!match.keys.isEmpty())
        parts.append(QStringLiteral("key=") + f.principal.keyName);
    for (const auto &header : match.headers)
        parts.append(QStringLiteral("header ") + QString::fromLatin1(header.first));
    // Names only, like headers: the values are the caller's and may identify a person.
    for (const auto &field : match.metadata)
        parts.append(QStringLiteral("metadata ") + field.first);
    if (!match.apis.isEmpty())
        parts.append(QStringLiteral("api=") + QLatin1String(api::flavorName(f.flavor)));
    return parts.join(QStringLiteral(", "));
}

// Resolves targets to what goes upstream: canonical ids, "$requested" replaced by the request's
// model (never a router model, which no provider knows), repeats dropped so a fallback is never
// the model that just failed.
QStringList chainFor(const QStringList &targets, const Subject &subject,
                     const metering::PriceTable &prices)
{
    QStringList chain;
    for (const QString &target : targets) {
        QString model;
        if (target == kRequestedTarget) {
            const QString &requested = subject.features.requestedModel;
            if (requested.isEmpty() || subject.routingPolicy.isRouterModel(requested))
                continue;
            model = subject.canonicalModel;
        } else {
            model = canonicalModel(target, prices);
        }
        if (!chain.contains(model))
            chain.append(model);
    }
    return chain;
}

} // namespace

double effectiveComplexity(const policy::RequestFeatures &features)
{
    if (features.complexity && !std::isnan(*features.complexity))
        return std::clamp(*features.complexity, 0.0, 1.0);
    return estimateComplexity(features);
}

QString canonicalModel(const QString &model, const metering::PriceTable &prices)
{
    const metering::ModelPrice *price = prices.find(model);
    if (price && (price->id == model || price->aliases.contains(model)))
        return price->id;
    return model;
}

RouteDecision route(const RoutingPolicy &policy, const policy::RequestFeatures &features,
                    const metering::PriceTable &prices, const RouteState &state)
{
    Subject subject{policy, features, state, canonicalModel(features.requestedModel, prices)};
    subject.complexityEstimated = !features.complexity || std::isnan(*features.complexity);
    subject.complexity = effectiveComplexity(features);

    RouteDecision decision;
    decision.complexityUsed = subject.complexity;
    decision.complexityEstimated = subject.complexityEstimated;
    decision.maxTokens = std::max(features.maxTokens, 0);

    const QList<RouteRule> &rules = policy.rules();
    for (qsizetype i = 0; i < rules.size(); ++i) {
        const RouteRule &rule = rules.at(i);
        if (!matches(rule.match, subject))
            continue;
        decision.ruleName = rule.name;
        decision.ruleIndex = int(i);
        decision.chain = chainFor(rule.targets, subject, prices);
        decision.maxTokens = rule.maxTokens.apply(decision.maxTokens);
        decision.reason = reasonFor(rule.match, subject);
        break;
    }
    if (decision.ruleIndex < 0) {
        // No rule spoke: the request keeps its model, the same as a final "$requested" rule.
        decision.chain = chainFor({QString(kRequestedTarget)}, subject, prices);
        decision.reason = QStringLiteral("no rule matched");
    }
    if (decision.chain.isEmpty())
        decision.reason +=
            QStringLiteral("; no upstream model for \"%1\"").arg(features.requestedModel);
    return decision;
}

} // namespace tollgate::routing
