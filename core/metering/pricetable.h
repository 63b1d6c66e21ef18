#pragma once

#include "api/usage.h"
#include "common/expected.h"

#include <QByteArray>
#include <QHash>
#include <QJsonArray>
#include <QJsonValue>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace tollgate::metering {

/// Prices of one model in USD per million tokens, and its measured p95 latency.
struct ModelPrice {
    QString id;
    QString provider;   ///< the name of the provider that serves it
    QString upstreamId; ///< the provider's name for it, when not `id`; empty: `id`
    QStringList aliases;
    double inputPerMTok = 0;
    double outputPerMTok = 0;
    double cacheWritePerMTok = 0;
    double cacheReadPerMTok = 0;
    int p95LatencyMs = 0;
};

/// The editable price table: looks models up by id, alias or dated variant and prices usage.
class PriceTable {
public:
    /// Parses the price table JSON (see resources/prices.json); errors carry the JSON path.
    static Expected<PriceTable> fromJson(const QByteArray &json);
    /// The table shipped in resources/prices.json.
    static PriceTable builtin();

    /// This table with the models of a policy's `models` section (entries in the format of
    /// prices.json, plus `upstream_id`): an entry with a table model's id replaces it, and the
    /// policy's names win over the table's aliases. Problems are appended with their paths.
    PriceTable withModels(const QJsonValue &models, const QString &path,
                          QList<Error> *problems) const;
    /// Every model in the format withModels reads.
    QJsonArray toJson() const;

    /// Exact id, then alias, then the longest id that is a prefix of `model` followed by '-'
    /// (so "gpt-4o-2024-08-06" finds "gpt-4o"). nullptr when unknown.
    const ModelPrice *find(const QString &model) const;
    /// Cost in USD, or nullopt when the model is unknown.
    std::optional<double> cost(const QString &model, const api::Usage &usage) const;

    const QList<ModelPrice> &models() const { return m_models; }

private:
    void add(ModelPrice model);

    QList<ModelPrice> m_models;
    // Indexes into m_models; find() runs on every request, so no linear scans there.
    QHash<QString, qsizetype> m_byId;
    QHash<QString, qsizetype> m_byAlias;
};

/// The model routing savings are measured against: the model the client asked for when the table
/// prices it; otherwise (a router model such as "auto") the strongest model, by output price, of
/// the provider that served the request. Empty when there is none.
QString routingBaselineModel(const QString &requested, const QString &used,
                             const PriceTable &prices);

/// What routing saved on one provider call: the usage priced at the baseline model minus priced
/// at the model that served it. Negative when routing chose a dearer model (an upgrade); 0 when
/// the request kept its model or either price is unknown.
double routingSavingsUsd(const QString &requested, const QString &used, const api::Usage &usage,
                         const PriceTable &prices);

} // namespace tollgate::metering
