#include "policy/jsonpath.h"

#include "policy/policyfields.h"

#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>

namespace tollgate::policy {

namespace {

Error pathError(const QString &path, const QString &message)
{
    return Error(message, path);
}

/// Reads "[N]" at `at`; returns the index or -1, and moves `at` past the bracket.
qsizetype readIndex(const QString &path, qsizetype &at)
{
    const qsizetype close = path.indexOf(QLatin1Char(']'), at);
    if (close < 0)
        return -1;
    bool ok = false;
    const qsizetype index = path.mid(at + 1, close - at - 1).toLongLong(&ok);
    at = close + 1;
    return ok && index >= 0 ? index : -1;
}

/// Replaces the value at `steps[from..]` inside `root`; `shown` is the path so far, for errors.
Expected<QJsonValue> replaced(const QJsonValue &root, const QList<JsonPathStep> &steps,
                              qsizetype from, const QJsonValue &value, const QString &shown)
{
    if (from == steps.size())
        return value;
    const JsonPathStep &step = steps.at(from);
    if (step.isIndex()) {
        const QString here = indexedPath(shown, step.index);
        if (!root.isArray())
            return pathError(shown, QStringLiteral("not a list"));
        QJsonArray array = root.toArray();
        if (step.index > array.size() || (step.index == array.size() && from + 1 < steps.size()))
            return pathError(here, QStringLiteral("no such element"));
        const QJsonValue child = step.index < array.size() ? array.at(step.index) : QJsonValue();
        auto next = replaced(child, steps, from + 1, value, here);
        if (!next)
            return next;
        if (next->isUndefined()) {
            if (step.index < array.size())
                array.removeAt(step.index);
        } else if (step.index == array.size()) {
            array.append(*next);
        } else {
            array.replace(step.index, *next);
        }
        return QJsonValue(array);
    }
    const QString here = memberPath(shown, step.key);
    if (!root.isObject() && !root.isUndefined() && !root.isNull())
        return pathError(shown, QStringLiteral("not an object"));
    QJsonObject object = root.toObject();
    auto next = replaced(object.value(step.key), steps, from + 1, value, here);
    if (!next)
        return next;
    if (next->isUndefined())
        object.remove(step.key);
    else
        object.insert(step.key, *next);
    return QJsonValue(object);
}

} // namespace

Expected<QList<JsonPathStep>> parseJsonPath(const QString &path)
{
    QList<JsonPathStep> steps;
    qsizetype at = 0;
    while (at < path.size()) {
        if (path.at(at) == QLatin1Char('[')) {
            const qsizetype index = readIndex(path, at);
            if (index < 0)
                return Error(QStringLiteral("expected [N] at %1").arg(at), path);
            steps.append({QString(), index});
            continue;
        }
        if (path.at(at) == QLatin1Char('.')) {
            if (steps.isEmpty())
                return Error(QStringLiteral("a path does not start with '.'"), path);
            ++at;
        }
        qsizetype end = at;
        while (end < path.size() && path.at(end) != QLatin1Char('.') &&
               path.at(end) != QLatin1Char('['))
            ++end;
        if (end == at)
            return Error(QStringLiteral("empty member name at %1").arg(at), path);
        steps.append({path.mid(at, end - at), -1});
        at = end;
    }
    return steps;
}

QJsonValue valueAtPath(const QJsonValue &root, const QString &path)
{
    const auto steps = parseJsonPath(path);
    if (!steps)
        return QJsonValue(QJsonValue::Undefined);
    QJsonValue value = root;
    for (const JsonPathStep &step : *steps) {
        if (step.isIndex()) {
            const QJsonArray array = value.toArray();
            if (!value.isArray() || step.index >= array.size())
                return QJsonValue(QJsonValue::Undefined);
            value = array.at(step.index);
        } else {
            if (!value.isObject())
                return QJsonValue(QJsonValue::Undefined);
            value = value.toObject().value(step.key);
        }
    }
    return value;
}

Expected<QJsonValue> withValueAtPath(const QJsonValue &root, const QString &path,
                                     const QJsonValue &value)
{
    const auto steps = parseJsonPath(path);
    if (!steps)
        return steps.error();
    return replaced(root, *steps, 0, value, QString());
}

bool isWithinPath(const QString &path, const QString &ancestor)
{
    if (ancestor.isEmpty() || path == ancestor)
        return true;
    if (!path.startsWith(ancestor))
        return false;
    const QChar next = path.at(ancestor.size());
    return next == QLatin1Char('.') || next == QLatin1Char('[');
}

QString elementName(const QJsonValue &element)
{
    const QJsonObject object = element.toObject();
    const QString name = object.value(u"name").toString();
    return name.isEmpty() ? object.value(u"id").toString() : name;
}

namespace {

/// The index of each element by its name; empty unless every element has a distinct one.
QHash<QString, qsizetype> indexByName(const QJsonArray &list)
{
    QHash<QString, qsizetype> result;
    for (qsizetype i = 0; i < list.size(); ++i) {
        const QString name = elementName(list.at(i));
        if (name.isEmpty() || result.contains(name))
            return {};
        result.insert(name, i);
    }
    return result;
}

/// Which of `order` (old positions, in their new order) keep their place relative to each
/// other: a longest increasing run. The rest are what moved. Ties keep the later elements: of
/// two rules swapped, the one now higher is the one that was dragged.
QList<bool> keptInPlace(const QList<qsizetype> &order)
{
    const qsizetype n = order.size();
    QList<qsizetype> length(n, 1), previous(n, -1);
    qsizetype best = -1;
    for (qsizetype i = 0; i < n; ++i) {
        for (qsizetype j = 0; j < i; ++j) {
            if (order.at(j) < order.at(i) && length.at(j) + 1 >= length.at(i)) {
                length[i] = length.at(j) + 1;
                previous[i] = j;
            }
        }
        if (best < 0 || length.at(i) >= length.at(best))
            best = i;
    }
    QList<bool> kept(n, false);
    for (qsizetype i = best; i >= 0; i = previous.at(i))
        kept[i] = true;
    return kept;
}

QList<JsonChange> diffByPosition(const QJsonArray &was, const QJsonArray &now, const QString &path)
{
    QList<JsonChange> changes;
    for (qsizetype i = 0; i < std::max(was.size(), now.size()); ++i) {
        const QJsonValue a = i < was.size() ? was.at(i) : QJsonValue(QJsonValue::Undefined);
        const QJsonValue b = i < now.size() ? now.at(i) : QJsonValue(QJsonValue::Undefined);
        changes += diffJson(a, b, indexedPath(path, i));
    }
    return changes;
}

QList<JsonChange> diffByName(const QJsonArray &was, const QJsonArray &now,
                             const QHash<QString, qsizetype> &wasAt,
                             const QHash<QString, qsizetype> &nowAt, const QString &path)
{
    const auto isNew = [&](qsizetype i) { return !wasAt.contains(elementName(now.at(i))); };
    const auto isGone = [&](qsizetype i) { return !nowAt.contains(elementName(was.at(i))); };
    // A removed and an added element at one index are one element edited in place.
    const auto pairedInPlace = [&](qsizetype i) {
        return i < was.size() && i < now.size() && isGone(i) && isNew(i);
    };
    QList<JsonChange> changes;
    for (qsizetype i = 0; i < was.size(); ++i) {
        if (isGone(i) && !pairedInPlace(i))
            changes.append({indexedPath(path, i), was.at(i), QJsonValue(QJsonValue::Undefined)});
    }
    QList<qsizetype> matched; // positions in `now` of the elements both sides have
    for (qsizetype i = 0; i < now.size(); ++i) {
        if (!isNew(i))
            matched.append(i);
    }
    QList<qsizetype> oldOrder;
    for (qsizetype i : matched)
        oldOrder.append(wasAt.value(elementName(now.at(i))));
    const QList<bool> kept = keptInPlace(oldOrder);
    for (qsizetype i = 0, m = 0; i < now.size(); ++i) {
        const QString at = indexedPath(path, i);
        if (pairedInPlace(i)) {
            changes += diffJson(was.at(i), now.at(i), at);
        } else if (isNew(i)) {
            changes.append({at, QJsonValue(QJsonValue::Undefined), now.at(i)});
        } else {
            const qsizetype from = oldOrder.at(m);
            if (!kept.at(m))
                changes.append({at, was.at(from), now.at(i), from, i});
            changes += diffJson(was.at(from), now.at(i), at);
            ++m;
        }
    }
    return changes;
}

} // namespace

QList<JsonChange> diffJson(const QJsonValue &before, const QJsonValue &after, const QString &path)
{
    if (before == after)
        return {};
    QList<JsonChange> changes;
    if (before.isObject() && after.isObject()) {
        const QJsonObject was = before.toObject();
        const QJsonObject now = after.toObject();
        QStringList keys = was.keys() + now.keys();
        std::sort(keys.begin(), keys.end());
        keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
        for (const QString &key : keys)
            changes += diffJson(was.value(key), now.value(key), memberPath(path, key));
        return changes;
    }
    if (before.isArray() && after.isArray()) {
        const QJsonArray was = before.toArray();
        const QJsonArray now = after.toArray();
        const QHash<QString, qsizetype> wasAt = indexByName(was);
        const QHash<QString, qsizetype> nowAt = indexByName(now);
        if ((wasAt.isEmpty() && !was.isEmpty()) || (nowAt.isEmpty() && !now.isEmpty()))
            return diffByPosition(was, now, path);
        return diffByName(was, now, wasAt, nowAt, path);
    }
    changes.append({path, before, after});
    return changes;
}

QString jsonText(const QJsonValue &value)
{
    switch (value.type()) {
    case QJsonValue::Undefined: return QStringLiteral("(absent)");
    case QJsonValue::Object:
        return QString::fromUtf8(QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact));
    case QJsonValue::Array:
        return QString::fromUtf8(QJsonDocument(value.toArray()).toJson(QJsonDocument::Compact));
    default: break;
    }
    // A scalar: wrapped in an array so QJsonDocument spells it, then unwrapped.
    const QByteArray text = QJsonDocument(QJsonArray{value}).toJson(QJsonDocument::Compact);
    return QString::fromUtf8(text.mid(1, text.size() - 2));
}

QString describeChange(const JsonChange &change)
{
    if (change.isMove())
        return QStringLiteral("%1 \"%2\": moved from position %3 to %4")
            .arg(change.path, elementName(change.after))
            .arg(change.movedFrom + 1)
            .arg(change.movedTo + 1);
    if (change.before.isUndefined())
        return QStringLiteral("%1: added %2").arg(change.path, jsonText(change.after));
    if (change.after.isUndefined())
        return QStringLiteral("%1: removed %2").arg(change.path, jsonText(change.before));
    return QStringLiteral("%1: %2 → %3")
        .arg(change.path, jsonText(change.before), jsonText(change.after));
}

} // namespace tollgate::policy
