#pragma once

#include "alerts/alertpolicy.h"
#include "cache/cachepolicy.h"
#include "limits/budgetpolicy.h"
#include "limits/planpolicy.h"
#include "metering/pricetable.h"
#include "policy/gatewayconfig.h"
#include "routing/reliabilitypolicy.h"
#include "routing/routingpolicy.h"
#include "store/statepolicy.h"

namespace tollgate::gateway {

/// The whole policy document: server settings plus each part's section. Every field has the
/// reference default, so an empty document reproduces DESIGN.md's behaviour.
struct PolicyDocument {
    policy::GatewayConfig gateway;
    /// The built-in price table with the document's `models` added: what every target, cost
    /// and budget estimate is looked up in.
    metering::PriceTable prices = metering::PriceTable::builtin();
    routing::RoutingPolicy routes = routing::RoutingPolicy::reference();
    limits::PlanPolicy plans = limits::PlanPolicy::reference();
    routing::ReliabilityPolicy reliability = routing::ReliabilityPolicy::reference();
    cache::CachePolicy cache = cache::CachePolicy::reference();
    limits::BudgetPolicy budgets = limits::BudgetPolicy::reference();
    store::StatePolicy state = store::StatePolicy::reference();
    alerts::AlertPolicy alerts = alerts::AlertPolicy::reference();
};

/// Reads a policy document on top of `base` (whose gateway settings come from flags and the
/// environment). One problem comes back with its path; several as one `path: message` line
/// each, and every one with its own path in `problems` (for an editor that shows each problem
/// by its field).
/// `prices` is the table the document's `models` section adds to (normally the built-in one).
Expected<PolicyDocument> loadPolicy(const QByteArray &json, const metering::PriceTable &prices,
                                    PolicyDocument base = {}, QList<Error> *problems = nullptr);

/// The effective document with every default filled in (what `tollgated check-config` prints).
/// Never contains a secret: provider keys are not part of the document.
QJsonObject effectivePolicy(const PolicyDocument &document);

} // namespace tollgate::gateway
