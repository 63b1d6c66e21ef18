#pragma once

#include "api/usage.h"
#include "common/expected.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace tollgate::metering {

/// Prices of one model in USD per million tokens, and its measured p95 latency.
struct ModelPrice {
    QString id;
    QString provider; ///< "anthropic" | "openai"
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

    /// Exact id, then alias, then the longest id that is a prefix of `model` followed by '-'
    /// (so "gpt-4o-2024-08-06" finds "gpt-4o"). nullptr when unknown.
    const ModelPrice *find(const QString &model) const;
    /// Cost in USD, or nullopt when the model is unknown.
    std::optional<double> cost(const QString &model, const api::Usage &usage) const;

    const QList<ModelPrice> &models() const { return m_models; }

private:
    QList<ModelPrice> m_models;
    // Indexes into m_models; find() runs on every request, so no linear scans there.
    QHash<QString, qsizetype> m_byId;
    QHash<QString, qsizetype> m_byAlias;
};

} // namespace tollgate::metering
