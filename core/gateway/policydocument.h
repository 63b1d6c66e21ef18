#pragma once

#include "cache/cachepolicy.h"
#include "limits/budgetpolicy.h"
#include "limits/planpolicy.h"
#include "metering/pricetable.h"
#include "policy/gatewayconfig.h"
#include "routing/reliabilitypolicy.h"
#include "routing/routingpolicy.h"

namespace tollgate::gateway {

/// The whole policy document: server settings plus each part's section. Every field has the
/// reference default, so an empty document reproduces DESIGN.md's behaviour.
struct PolicyDocument {
    policy::GatewayConfig gateway;
    routing::RoutingPolicy routes = routing::RoutingPolicy::reference();
    limits::PlanPolicy plans = limits::PlanPolicy::reference();
    routing::ReliabilityPolicy reliability = routing::ReliabilityPolicy::reference();
    cache::CachePolicy cache = cache::CachePolicy::reference();
    limits::BudgetPolicy budgets = limits::BudgetPolicy::reference();
};

/// Reads a policy document on top of `base` (whose gateway settings come from flags and the
/// environment). One problem comes back with its path; several as one `path: message` line
/// each.
Expected<PolicyDocument> loadPolicy(const QByteArray &json, const metering::PriceTable &prices,
                                    PolicyDocument base = {});

/// The effective document with every default filled in (what `tollgated check-config` prints).
/// Never contains a secret: provider keys are not part of the document.
QJsonObject effectivePolicy(const PolicyDocument &document);

} // namespace tollgate::gateway
