#pragma once

#include "api/usage.h"
#include "metering/pricetable.h"
#include "policy/providers.h"

#include <QList>
#include <QString>
#include <QStringList>
#include <QUrl>

namespace tollgate::gateway {

/// One place a request can go: a model at one endpoint of the provider that serves it.
struct UpstreamTarget {
    QString model;         ///< as routed: what x-tollgate-model, prices and breakers name
    QString upstreamModel; ///< what the provider is asked for (the model's upstream_id)
    const policy::ProviderConfig *provider = nullptr; ///< owned by the policy snapshot
    QUrl baseUrl;
    /// One circuit breaker per provider endpoint and model: a region or a model can fail while
    /// its siblings work. Built once here; every attempt and outcome looks it up.
    QString breakerKey;
};

/// Expands a routed chain of models into the targets to try in order: each model at each
/// endpoint of its provider (regional failover), then the next model. A model goes to the
/// provider its price-table entry names when that provider speaks the client's API; any other
/// model (unknown, or of a provider of the other API) to the default provider of the client's
/// API, so a client's own choice of model is passed on as asked. Pure.
QList<UpstreamTarget> upstreamTargets(const QStringList &models, api::Flavor flavor,
                                      const QList<policy::ProviderConfig> &providers,
                                      const metering::PriceTable &prices);

} // namespace tollgate::gateway
