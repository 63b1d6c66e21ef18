#pragma once

#include "common/expected.h"

#include <QJsonValue>
#include <QList>
#include <QString>

namespace tollgate::policy {

/// One step of a JSON path as the policy's problems spell it: a member name or an array index.
struct JsonPathStep {
    QString key;
    qsizetype index = -1; ///< >= 0: an array element; otherwise the member `key`
    bool isIndex() const { return index >= 0; }
};

/// Splits "routes[2].match.model" into its steps; "" is the document itself (no steps).
Expected<QList<JsonPathStep>> parseJsonPath(const QString &path);

/// The value at `path` inside `root`; undefined when the path does not lead anywhere.
QJsonValue valueAtPath(const QJsonValue &root, const QString &path);

/// `root` with the value at `path` replaced (or added); an undefined `value` removes it. An index
/// may be one past the end (appends); a missing member on the way becomes an object.
Expected<QJsonValue> withValueAtPath(const QJsonValue &root, const QString &path,
                                     const QJsonValue &value);

/// Whether `path` is `ancestor` or lies inside it ("routes[1].name" is inside "routes[1]" and
/// "routes", not inside "route").
bool isWithinPath(const QString &path, const QString &ancestor);

/// One difference between two JSON documents; an undefined side means the value is absent there.
/// A moved element of a named list has both sides (the element before and after) and the two
/// positions, 0-based; `path` is then where it is now.
struct JsonChange {
    QString path;
    QJsonValue before;
    QJsonValue after;
    qsizetype movedFrom = -1;
    qsizetype movedTo = -1;
    bool isMove() const { return movedFrom >= 0; }
};

/// The name an element of a list goes by: its "name" member, else its "id"; empty when it has
/// neither (a target, a threshold).
QString elementName(const QJsonValue &element);

/// Every leaf-most difference from `before` to `after`: objects compare member by member. Lists
/// whose elements all have distinct names (rules, models, budgets) compare element by name: an
/// element is added, removed, moved (only those that changed place relative to the rest, so
/// moving one rule is one move) or changed field by field at its new index. A removed and an
/// added element at the same index compare field by field (a renamed rule shows as its name
/// changing); other lists compare by position.
QList<JsonChange> diffJson(const QJsonValue &before, const QJsonValue &after,
                           const QString &path = {});

/// Compact JSON text for a value ("(absent)" for undefined): how a diff and an editor cell show it.
QString jsonText(const QJsonValue &value);

/// "path: before → after", "path: added value", "path: removed value" or
/// "path "name": moved from position 3 to 1" (positions counted from 1, as the tables show them).
QString describeChange(const JsonChange &change);

} // namespace tollgate::policy
