#include "gateway/policyedit.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>

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
