#include "metering/pricetable.h"

#include <tuple>

#include "policy/policyfields.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>
#include <QJsonValue>
#include <QtDebug>

#include <cmath>
#include <initializer_list>
#include <limits>
#include <utility>

namespace tollgate::metering {

namespace {

using policy::indexedPath;
using policy::memberPath;

constexpr int kFormatVersion = 1;

// Unknown keys are rejected rather than ignored: a misspelt "cache_raed" would otherwise
// silently fall back to a default price and skew every cost the gateway reports.
std::optional<Error> checkKeys(const QJsonObject &object, const QString &path,
                               std::initializer_list<const char *> allowed)
{
    for (auto it = object.begin(); it != object.end(); ++it) {
        bool known = false;
        for (const char *key : allowed) {
            if (it.key() == QLatin1String(key)) {
                known = true;
                break;
            }
        }
        if (!known)
            return Error{QStringLiteral("unknown field"), memberPath(path, it.key())};
    }
    return std::nullopt;
}

std::optional<Error> readPrice(const QJsonObject &object, const QString &path, const char *key,
                               double &out)
{
    const QJsonValue value = object.value(QLatin1String(key));
    const double number = value.toDouble(-1);
    if (!value.isDouble() || !std::isfinite(number) || number < 0)
        return Error{QStringLiteral("must be a non-negative number"),
                     memberPath(path, QLatin1String(key))};
    out = number;
    return std::nullopt;
}

Expected<ModelPrice> parseModel(const QJsonValue &value, const QString &path)
{
    if (!value.isObject())
        return Error{QStringLiteral("must be an object"), path};
    const QJsonObject object = value.toObject();
    if (auto error = checkKeys(object, path,
                               {"id", "provider", "upstream_id", "aliases", "input", "output",
                                "cache_write", "cache_read", "p95_latency_ms"}))
        return *error;

    ModelPrice model;
    const QJsonValue id = object.value(QLatin1String("id"));
    model.id = id.toString().trimmed();
    if (!id.isString() || model.id.isEmpty() || model.id != id.toString())
        return Error{QStringLiteral("must be a non-empty string without surrounding spaces"),
                     memberPath(path, QStringLiteral("id"))};

    const QJsonValue provider = object.value(QLatin1String("provider"));
    model.provider = provider.toString();
    if (!provider.isString() || model.provider.isEmpty())
        return Error{QStringLiteral("must name a provider"),
                     memberPath(path, QStringLiteral("provider"))};

    const QJsonValue upstreamId = object.value(QLatin1String("upstream_id"));
    if (!upstreamId.isUndefined()) {
        model.upstreamId = upstreamId.toString();
        if (!upstreamId.isString() || model.upstreamId.isEmpty() ||
            model.upstreamId.trimmed() != model.upstreamId)
            return Error{QStringLiteral("must be a non-empty string without surrounding spaces"),
                         memberPath(path, QStringLiteral("upstream_id"))};
    }

    const QJsonValue aliases = object.value(QLatin1String("aliases"));
    if (!aliases.isUndefined()) {
        const QString aliasesPath = memberPath(path, QStringLiteral("aliases"));
        if (!aliases.isArray())
            return Error{QStringLiteral("must be an array of strings"), aliasesPath};
        const QJsonArray list = aliases.toArray();
        for (qsizetype i = 0; i < list.size(); ++i) {
            const QString alias = list.at(i).toString();
            if (!list.at(i).isString() || alias.isEmpty() || alias.trimmed() != alias)
                return Error{
                    QStringLiteral("must be a non-empty string without surrounding spaces"),
                    indexedPath(aliasesPath, i)};
            model.aliases.append(alias);
        }
    }

    if (auto error = readPrice(object, path, "input", model.inputPerMTok))
        return *error;
    if (auto error = readPrice(object, path, "output", model.outputPerMTok))
        return *error;
    // A table that leaves cache prices out charges cached tokens like plain input: spend is then
    // over- rather than under-reported, which is the safe side for budgets.
    model.cacheWritePerMTok = model.inputPerMTok;
    model.cacheReadPerMTok = model.inputPerMTok;
    if (object.contains(QLatin1String("cache_write"))) {
        if (auto error = readPrice(object, path, "cache_write", model.cacheWritePerMTok))
            return *error;
    }
    if (object.contains(QLatin1String("cache_read"))) {
        if (auto error = readPrice(object, path, "cache_read", model.cacheReadPerMTok))
            return *error;
    }

    const QJsonValue latency = object.value(QLatin1String("p95_latency_ms"));
    if (!latency.isUndefined()) {
        const double ms = latency.toDouble(-1);
        if (!latency.isDouble() || !std::isfinite(ms) || ms < 0 || std::floor(ms) != ms ||
            ms > std::numeric_limits<int>::max())
            return Error{QStringLiteral("must be a non-negative whole number of milliseconds"),
                         memberPath(path, QStringLiteral("p95_latency_ms"))};
        model.p95LatencyMs = static_cast<int>(ms);
    }
    return model;
}

} // namespace

Expected<PriceTable> PriceTable::fromJson(const QByteArray &json)
{
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return Error{QStringLiteral("invalid JSON at offset %1: %2")
                         .arg(parseError.offset)
                         .arg(parseError.errorString())};
    if (!document.isObject())
        return Error{QStringLiteral("the price table must be a JSON object")};
    const QJsonObject root = document.object();
    if (auto error = checkKeys(root, QString(), {"version", "models"}))
        return *error;

    const QJsonValue version = root.value(QLatin1String("version"));
    if (!version.isDouble() || version.toDouble() != kFormatVersion)
        return Error{
            QStringLiteral("must be %1 (the only format this build reads)").arg(kFormatVersion),
            QStringLiteral("version")};

    const QJsonValue models = root.value(QLatin1String("models"));
    if (!models.isArray())
        return Error{QStringLiteral("must be an array"), QStringLiteral("models")};

    PriceTable table;
    // Every id and alias shares one namespace, or a name could resolve to two prices.
    QHash<QString, QString> owners; // name -> path that claimed it
    const QJsonArray list = models.toArray();
    for (qsizetype i = 0; i < list.size(); ++i) {
        const QString path = indexedPath(QStringLiteral("models"), i);
        Expected<ModelPrice> parsed = parseModel(list.at(i), path);
        if (!parsed)
            return parsed.error();
        ModelPrice &model = parsed.value();

        auto claim = [&owners](const QString &name,
                               const QString &namePath) -> std::optional<Error> {
            const auto owner = owners.constFind(name);
            if (owner != owners.constEnd())
                return Error{QStringLiteral("duplicate model name \"%1\" (already used by %2)")
                                 .arg(name, owner.value()),
                             namePath};
            owners.insert(name, namePath);
            return std::nullopt;
        };
        if (auto error = claim(model.id, memberPath(path, QStringLiteral("id"))))
            return *error;
        for (qsizetype a = 0; a < model.aliases.size(); ++a) {
            if (auto error = claim(model.aliases.at(a),
                                   indexedPath(memberPath(path, QStringLiteral("aliases")), a)))
                return *error;
        }

        table.add(std::move(model));
    }
    return table;
}

PriceTable PriceTable::withModels(const QJsonValue &models, const QString &path,
                                  QList<Error> *problems) const
{
    if (!models.isArray()) {
        problems->append(Error{QStringLiteral("must be an array of models"), path});
        return *this;
    }
    QList<ModelPrice> added;
    QHash<QString, QString> owners; // name -> path that claimed it, among the added models
    const QJsonArray list = models.toArray();
    for (qsizetype i = 0; i < list.size(); ++i) {
        const QString modelPath = indexedPath(path, i);
        Expected<ModelPrice> parsed = parseModel(list.at(i), modelPath);
        if (!parsed) {
            problems->append(parsed.error());
            continue;
        }
        QStringList names = parsed->aliases;
        names.prepend(parsed->id);
        for (const QString &name : std::as_const(names)) {
            if (owners.contains(name))
                problems->append(Error{QStringLiteral("duplicate model name \"%1\" (already used "
                                                      "by %2)")
                                           .arg(name, owners.value(name)),
                                       modelPath});
            owners.insert(name, modelPath);
        }
        added.append(std::move(parsed.value()));
    }
    // The policy's models come first, so their names win over the table's aliases. A replaced
    // entry keeps its aliases: new prices must not break the names clients already use.
    PriceTable table;
    for (ModelPrice &model : added) {
        if (auto it = m_byId.constFind(model.id); it != m_byId.constEnd()) {
            for (const QString &alias : m_models.at(it.value()).aliases) {
                if (!model.aliases.contains(alias))
                    model.aliases.append(alias);
            }
        }
        table.add(std::move(model));
    }
    for (const ModelPrice &model : m_models) {
        if (!table.m_byId.contains(model.id))
            table.add(model);
    }
    return table;
}

QJsonArray PriceTable::toJson() const
{
    QJsonArray models;
    for (const ModelPrice &model : m_models) {
        QJsonObject entry{{QStringLiteral("id"), model.id},
                          {QStringLiteral("provider"), model.provider},
                          {QStringLiteral("aliases"), QJsonArray::fromStringList(model.aliases)},
                          {QStringLiteral("input"), model.inputPerMTok},
                          {QStringLiteral("output"), model.outputPerMTok},
                          {QStringLiteral("cache_write"), model.cacheWritePerMTok},
                          {QStringLiteral("cache_read"), model.cacheReadPerMTok},
                          {QStringLiteral("p95_latency_ms"), model.p95LatencyMs}};
        if (!model.upstreamId.isEmpty())
            entry.insert(QStringLiteral("upstream_id"), model.upstreamId);
        models.append(entry);
    }
    return models;
}

void PriceTable::add(ModelPrice model)
{
    const qsizetype index = m_models.size();
    m_byId.insert(model.id, index);
    for (const QString &alias : std::as_const(model.aliases)) {
        if (!m_byId.contains(alias) && !m_byAlias.contains(alias))
            m_byAlias.insert(alias, index);
    }
    m_models.append(std::move(model));
}

PriceTable PriceTable::builtin()
{
    // Parsed once: the resource never changes while the process runs.
    static const PriceTable table = [] {
        QFile file(QStringLiteral(":/tollgate/prices.json"));
        if (!file.open(QIODevice::ReadOnly)) {
            qWarning("tollgate: built-in price table is missing from the resources");
            return PriceTable();
        }
        Expected<PriceTable> parsed = fromJson(file.readAll());
        if (!parsed) {
            qWarning("tollgate: built-in price table is invalid: %s",
                     qPrintable(parsed.error().toString()));
            return PriceTable();
        }
        return std::move(parsed.value());
    }();
    return table;
}

const ModelPrice *PriceTable::find(const QString &model) const
{
    if (auto it = m_byId.constFind(model); it != m_byId.constEnd())
        return &m_models.at(it.value());
    if (auto it = m_byAlias.constFind(model); it != m_byAlias.constEnd())
        return &m_models.at(it.value());
    // Cutting at each '-' from the right tries the longest candidate first, so
    // "gpt-4o-mini-2024-07-18" resolves to gpt-4o-mini, not gpt-4o.
    for (qsizetype cut = model.lastIndexOf(QLatin1Char('-')); cut > 0;
         cut = model.lastIndexOf(QLatin1Char('-'), cut - 1)) {
        if (auto it = m_byId.constFind(model.left(cut)); it != m_byId.constEnd())
            return &m_models.at(it.value());
    }
    return nullptr;
}

std::optional<double> PriceTable::cost(const QString &model, const api::Usage &usage) const
{
    const ModelPrice *price = find(model);
    if (!price)
        return std::nullopt;
    // One division at the end keeps the rounding error of the sum to a single step.
    const double microDollars = double(usage.inputTokens) * price->inputPerMTok +
                                double(usage.outputTokens) * price->outputPerMTok +
                                double(usage.cacheWriteTokens) * price->cacheWritePerMTok +
                                double(usage.cacheReadTokens) * price->cacheReadPerMTok;
    return microDollars / 1e6;
}

QString routingBaselineModel(const QString &requested, const QString &used,
                             const PriceTable &prices)
{
    if (const ModelPrice *asked = prices.find(requested))
        return asked->id;
    const ModelPrice *served = prices.find(used);
    if (!served)
        return {};
    const ModelPrice *strongest = served;
    for (const ModelPrice &model : prices.models()) {
        if (model.provider != served->provider)
            continue;
        if (std::tie(model.outputPerMTok, model.inputPerMTok) >
            std::tie(strongest->outputPerMTok, strongest->inputPerMTok))
            strongest = &model;
    }
    return strongest->id;
}

double routingSavingsUsd(const QString &requested, const QString &used, const api::Usage &usage,
                         const PriceTable &prices)
{
    const QString baseline = routingBaselineModel(requested, used, prices);
    const ModelPrice *served = prices.find(used);
    if (baseline.isEmpty() || !served || served->id == baseline)
        return 0;
    const std::optional<double> wouldHave = prices.cost(baseline, usage);
    const std::optional<double> did = prices.cost(used, usage);
    return wouldHave && did ? *wouldHave - *did : 0;
}

} // namespace tollgate::metering
