#include "gateway/upstreamtargets.h"

namespace tollgate::gateway {

QList<UpstreamTarget> upstreamTargets(const QStringList &models, api::Flavor flavor,
                                      const QList<policy::ProviderConfig> &providers,
                                      const metering::PriceTable &prices)
{
    const policy::ProviderConfig *fallback = policy::defaultProviderFor(providers, flavor);
    QList<UpstreamTarget> targets;
    for (const QString &model : models) {
        const metering::ModelPrice *price = prices.find(model);
        const policy::ProviderConfig *provider =
            price ? policy::findProvider(providers, price->provider) : nullptr;
        const bool ownProvider = provider && provider->flavor() == flavor;
        if (!ownProvider)
            provider = fallback;
        if (!provider)
            continue;
        // upstream_id names the exact model entry, not the dated variants find() also matches.
        const bool exactEntry = price && (price->id == model || price->aliases.contains(model));
        const QString upstreamModel =
            ownProvider && exactEntry && !price->upstreamId.isEmpty() ? price->upstreamId : model;
        for (const QUrl &baseUrl : provider->baseUrls)
            targets.append({model, upstreamModel, provider, baseUrl,
                            provider->name + QLatin1Char(' ') + baseUrl.toString() +
                                QLatin1Char(' ') + model});
    }
    return targets;
}

} // namespace tollgate::gateway
