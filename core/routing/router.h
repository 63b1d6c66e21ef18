#pragma once

#include "policy/requestfeatures.h"
#include "routing/routingpolicy.h"

#include <QString>
#include <QStringList>

namespace tollgate::metering {
class PriceTable;
}

namespace tollgate::routing {

/// State that other decisions hand to the router for one request (budgets run before it).
struct RouteState {
    BudgetState budget = BudgetState::Ok;
};

/// Where one request goes and why; what x-tollgate-model and the request log explain.
struct RouteDecision {
    QString ruleName;   ///< the rule that matched; empty when none did
    int ruleIndex = -1; ///< its position in RoutingPolicy::rules(), -1 when none
    /// Canonical upstream model ids, primary first, then fallbacks in order, without repeats.
    /// Empty when the request named a router model (e.g. "auto") and no rule picked a model:
    /// the pipeline then answers 400, since there is nothing to send upstream.
    QStringList chain;
    int maxTokens = 0; ///< after the rule's transforms; 0: the request has none and gets none
    double complexityUsed = 0;
    bool complexityEstimated = false; ///< true when the caller gave no usable complexity
    QString reason;                   ///< short and human, e.g. "priority=high"
};

/// The caller's complexity (clamped to 0..1) when it gave one, else estimateComplexity().
/// A NaN hint counts as none rather than as a value no rule can compare.
double effectiveComplexity(const policy::RequestFeatures &features);

/// The id the price table files `model` under when `model` is an id or alias of it; otherwise
/// `model` unchanged. Dated variants the table only prices by family ("gpt-4o-2024-08-06") stay
/// as given: they name a specific snapshot the client asked for.
QString canonicalModel(const QString &model, const metering::PriceTable &prices);

/// Applies the first rule of `policy` whose conditions all hold. When none holds, the request
/// keeps the model it named. Pure: same inputs, same decision.
RouteDecision route(const RoutingPolicy &policy, const policy::RequestFeatures &features,
                    const metering::PriceTable &prices, const RouteState &state = {});

} // namespace tollgate::routing
