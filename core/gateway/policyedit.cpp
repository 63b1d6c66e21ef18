#include "gateway/policyedit.h"

#include "policy/jsonpath.h"
#include "policy/policyfields.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>

#include <algorithm>
#include <functional>

namespace tollgate::gateway {

namespace {

/// `overlay`'s models over `base`'s, matched by id: a file that adds one model still shows the
/// whole table it will be priced with.
QJsonArray mergedModels(const QJsonArray &base, const QJsonValue &overlay)
{
    QJsonArray result = base;
    if (!overlay.isArray())
        return result;
    for (const QJsonValue &model : overlay.toArray()) {
        const QString id = model.toObject().value(u"id").toString();
        qsizetype at = -1;
        for (qsizetype i = 0; i < result.size() && !id.isEmpty(); ++i) {
            if (result.at(i).toObject().value(u"id").toString() == id)
                at = i;
        }
        if (at >= 0)
            result.replace(at, model);
        else
            result.append(model);
    }
    return result;
}

/// `value` with the name `from` made `to`: the string itself, or each such entry of a list.
QJsonValue renamedIn(const QJsonValue &value, const QString &from, const QString &to)
{
    if (value.isString())
        return value.toString() == from ? QJsonValue(to) : value;
    if (!value.isArray())
        return value;
    QJsonArray list = value.toArray();
    for (qsizetype i = 0; i < list.size(); ++i) {
        if (list.at(i).isString() && list.at(i).toString() == from)
            list.replace(i, to);
    }
    return list;
}

/// Lets `edit` change each object of the list `document[key]`; other elements stay as they are.
void editElements(QJsonObject &document, const QString &key,
                  const std::function<void(QJsonObject &)> &edit)
{
    if (!document.value(key).isArray())
        return;
    QJsonArray list = document.value(key).toArray();
    for (qsizetype i = 0; i < list.size(); ++i) {
        if (!list.at(i).isObject())
            continue;
        QJsonObject element = list.at(i).toObject();
        edit(element);
        list.replace(i, element);
    }
    document.insert(key, list);
}

/// Renames in the match condition `field` of every rule.
void renameInRuleMatches(QJsonObject &document, const QString &field, const QString &from,
                         const QString &to)
{
    editElements(document, QStringLiteral("routes"), [&](QJsonObject &rule) {
        if (!rule.value(u"match").isObject())
            return;
        QJsonObject match = rule.value(u"match").toObject();
        if (match.contains(field))
            match.insert(field, renamedIn(match.value(field), from, to));
        rule.insert(QStringLiteral("match"), match);
    });
}

/// Renames the value of every budget scoped to `kind` `from`.
void renameInBudgetScopes(QJsonObject &document, const QString &kind, const QString &from,
                          const QString &to)
{
    editElements(document, QStringLiteral("budgets"), [&](QJsonObject &budget) {
        QJsonObject scope = budget.value(u"scope").toObject();
        if (scope.value(u"kind").toString() != kind || scope.value(u"value").toString() != from)
            return;
        scope.insert(QStringLiteral("value"), to);
        budget.insert(QStringLiteral("scope"), scope);
    });
}

Expected<bool> checkNewName(const QString &what, const QString &from, const QString &to,
                            bool fromExists, bool toExists)
{
    if (!fromExists)
        return Error(QStringLiteral("there is no %1 \"%2\"").arg(what, from));
    if (to.isEmpty())
        return Error(QStringLiteral("a %1 name cannot be empty").arg(what));
    if (toExists)
        return Error(QStringLiteral("there is a %1 \"%2\" already").arg(what, to));
    return true;
}

/// `path` with indexes as "[]" and the names of plans and alert rules as "*": the field it is,
/// whichever element ("budgets[2].window" is "budgets[].window").
QString fieldOf(const QString &path)
{
    const auto steps = policy::parseJsonPath(path);
    if (!steps)
        return {};
    QString field;
    for (const policy::JsonPathStep &step : *steps) {
        if (step.isIndex())
            field += QStringLiteral("[]");
        else if (field == QLatin1String("plans") || field == QLatin1String("alerts.rules"))
            field += QStringLiteral(".*");
        else
            field = policy::memberPath(field, step.key);
    }
    return field;
}

QList<QJsonValue> valuesOf(const QStringList &names)
{
    return QList<QJsonValue>(names.begin(), names.end());
}

QStringList modelIds(const QJsonObject &edited)
{
    QStringList ids;
    for (const QJsonValue &model : edited.value(u"models").toArray())
        ids.append(model.toObject().value(u"id").toString());
    ids.removeAll(QString());
    return ids;
}

/// A budget's scope: every model and plan the document knows, global, or (open) any other.
QList<QJsonValue> budgetScopes(const QJsonObject &edited)
{
    QList<QJsonValue> scopes{QJsonObject{{QStringLiteral("kind"), QStringLiteral("global")}}};
    const auto add = [&](const QString &kind, const QStringList &names) {
        for (const QString &name : names)
            scopes.append(
                QJsonObject{{QStringLiteral("kind"), kind}, {QStringLiteral("value"), name}});
    };
    add(QStringLiteral("plan"), edited.value(u"plans").toObject().keys());
    add(QStringLiteral("model"), modelIds(edited));
    return scopes;
}

} // namespace

const QStringList &editableSections()
{
    static const QStringList sections = {
        QStringLiteral("version"),      QStringLiteral("routes"),
        QStringLiteral("models"),       QStringLiteral("plans"),
        QStringLiteral("default_plan"), QStringLiteral("local_owner_plan"),
        QStringLiteral("budgets"),      QStringLiteral("alerts"),
        QStringLiteral("cache"),        QStringLiteral("retries"),
        QStringLiteral("breakers")};
    return sections;
}

QJsonObject editablePolicy(const PolicyDocument &document)
{
    const QJsonObject effective = effectivePolicy(document);
    QJsonObject result;
    for (const QString &section : editableSections()) {
        if (effective.contains(section))
            result.insert(section, effective.value(section));
    }
    return result;
}

Expected<PolicyDocument> editedPolicy(const QJsonObject &edited, const PolicyDocument &running,
                                      QList<Error> *problems)
{
    QJsonObject document;
    for (const QString &section : editableSections()) {
        if (edited.contains(section))
            document.insert(section, edited.value(section));
    }
    // Prices start from the built-in table, as for tollgated: a model taken out of the
    // document is priced as shipped again.
    return loadPolicy(QJsonDocument(document).toJson(QJsonDocument::Compact),
                      metering::PriceTable::builtin(), running, problems);
}

Expected<QJsonObject> withPlanRenamed(const QJsonObject &edited, const QString &from,
                                      const QString &to)
{
    QJsonObject plans = edited.value(u"plans").toObject();
    auto checked =
        checkNewName(QStringLiteral("plan"), from, to, plans.contains(from), plans.contains(to));
    if (!checked)
        return checked.error();
    QJsonObject result = edited;
    plans.insert(to, plans.take(from));
    result.insert(QStringLiteral("plans"), plans);
    // Absent, these name the reference plans; a renamed reference plan must be named for them.
    const limits::PlanPolicy reference = limits::PlanPolicy::reference();
    const std::pair<QString, QString> choices[] = {
        {QStringLiteral("default_plan"), reference.defaultPlanName()},
        {QStringLiteral("local_owner_plan"), reference.localOwnerPlanName()}};
    for (const auto &[key, fallback] : choices) {
        if (edited.value(key).toString(fallback) == from)
            result.insert(key, to);
    }
    renameInRuleMatches(result, QStringLiteral("plan"), from, to);
    renameInBudgetScopes(result, QStringLiteral("plan"), from, to);
    return result;
}

Expected<QJsonObject> withModelRenamed(const QJsonObject &edited, const QString &from,
                                       const QString &to)
{
    const auto hasId = [&](const QString &id) {
        const QJsonArray models = edited.value(u"models").toArray();
        return std::any_of(models.begin(), models.end(), [&](const QJsonValue &model) {
            return model.toObject().value(u"id").toString() == id;
        });
    };
    auto checked = checkNewName(QStringLiteral("model"), from, to, hasId(from), hasId(to));
    if (!checked)
        return checked.error();
    QJsonObject result = edited;
    editElements(result, QStringLiteral("models"), [&](QJsonObject &model) {
        if (model.value(u"id").toString() == from)
            model.insert(QStringLiteral("id"), to);
    });
    editElements(result, QStringLiteral("routes"), [&](QJsonObject &rule) {
        if (rule.contains(u"targets"))
            rule.insert(QStringLiteral("targets"), renamedIn(rule.value(u"targets"), from, to));
    });
    renameInRuleMatches(result, QStringLiteral("model"), from, to);
    renameInBudgetScopes(result, QStringLiteral("model"), from, to);
    return result;
}

FieldChoices fieldChoices(const QJsonObject &edited, const PolicyDocument &running,
                          const QString &path)
{
    const QString field = fieldOf(path);
    const QStringList plans = edited.value(u"plans").toObject().keys();
    if (field == QLatin1String("default_plan") || field == QLatin1String("local_owner_plan"))
        return {valuesOf(plans)};
    if (field == QLatin1String("routes[].targets"))
        return {valuesOf(modelIds(edited) << QStringLiteral("$requested")), true};
    if (field == QLatin1String("routes[].match.model"))
        return {valuesOf(QStringList{QString(routing::kAutoModel)} + modelIds(edited)), true};
    if (field == QLatin1String("routes[].match.plan"))
        return {valuesOf(plans), true};
    if (field == QLatin1String("budgets[].actions[].action"))
        return {valuesOf(limits::budgetActionNames())};
    if (field == QLatin1String("models[].provider")) {
        QStringList providers;
        for (const policy::ProviderConfig &provider : running.gateway.providers)
            providers.append(provider.name);
        return {valuesOf(providers)};
    }
    if (field == QLatin1String("budgets[].scope"))
        return {budgetScopes(edited), true}; // teams, users and keys the policy cannot list
    if (field == QLatin1String("budgets[].window"))
        return {valuesOf(limits::budgetWindowNames())};
    if (field == QLatin1String("budgets[].alignment"))
        return {valuesOf(limits::budgetAlignmentNames())};
    if (field == QLatin1String("alerts.rules.*.kind"))
        return {valuesOf(alerts::alertKindNames())};
    if (field == QLatin1String("alerts.rules.*.severity"))
        return {valuesOf(alerts::alertSeverityNames())};
    FieldChoices choices;
    // Switches (cache.enabled, breakers.enabled, ...) are the settings that hold a boolean.
    choices.boolean = field == QLatin1String("alerts.rules.*.enabled") ||
                      policy::valueAtPath(edited, path).isBool();
    return choices;
}

Expected<QJsonObject> editablePolicyFromJson(const QByteArray &json, QStringList *skipped)
{
    QJsonParseError parseError;
    const QJsonDocument parsed = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return Error(QStringLiteral("not valid JSON: %1 at offset %2")
                         .arg(parseError.errorString())
                         .arg(parseError.offset));
    if (!parsed.isObject())
        return Error(QStringLiteral("the policy must be a JSON object"));
    const QJsonObject file = parsed.object();
    QJsonObject result = editablePolicy(PolicyDocument{});
    for (auto it = file.begin(); it != file.end(); ++it) {
        if (!editableSections().contains(it.key())) {
            if (skipped)
                skipped->append(it.key());
        } else if (it.key() == QLatin1String("models")) {
            result.insert(it.key(), mergedModels(result.value(u"models").toArray(), it.value()));
        } else {
            result.insert(it.key(), it.value());
        }
    }
    return result;
}

QByteArray editablePolicyJson(const QJsonObject &edited)
{
    QJsonObject document;
    for (const QString &section : editableSections()) {
        if (edited.contains(section))
            document.insert(section, edited.value(section));
    }
    return QJsonDocument(document).toJson(QJsonDocument::Indented);
}

Expected<QJsonObject> readEditablePolicyFile(const QString &path, QStringList *skipped)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return Error(QStringLiteral("cannot read %1: %2").arg(path, file.errorString()));
    auto read = editablePolicyFromJson(file.readAll(), skipped);
    if (!read)
        return Error(QStringLiteral("%1: %2").arg(path, read.error().toString()));
    return read;
}

Expected<bool> writeEditablePolicyFile(const QString &path, const QJsonObject &edited)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(editablePolicyJson(edited)) < 0 ||
        !file.commit())
        return Error(QStringLiteral("cannot write %1: %2").arg(path, file.errorString()));
    return true;
}

} // namespace tollgate::gateway
