#pragma once

#include <QLatin1String>
#include <QString>
#include <QStringList>

#include <cstddef>

namespace tollgate::policy {

/// One spelling of an enum value in the policy document. Each section keeps a table of these:
/// the one place that maps values to names, for parsing and for toJson alike.
template <typename Enum> struct EnumName {
    Enum value;
    const char *name;
};

template <typename Enum, std::size_t N>
QString enumName(const EnumName<Enum> (&table)[N], Enum value)
{
    for (const auto &entry : table) {
        if (entry.value == value)
            return QLatin1String(entry.name);
    }
    return {};
}

/// Every name of a table, in its order: what an editor offers.
template <typename Enum, std::size_t N> QStringList enumNames(const EnumName<Enum> (&table)[N])
{
    QStringList names;
    for (const auto &entry : table)
        names.append(QLatin1String(entry.name));
    return names;
}

/// "a, b, c": the names a problem message offers.
template <typename Enum, std::size_t N> QString enumChoices(const EnumName<Enum> (&table)[N])
{
    return enumNames(table).join(QStringLiteral(", "));
}

/// The JSON path of `key` inside the object at `path` ("" is the document itself).
inline QString memberPath(const QString &path, const QString &key)
{
    return path.isEmpty() ? key : path + QLatin1Char('.') + key;
}

/// The JSON path of element `index` of the array at `path`.
inline QString indexedPath(const QString &path, qsizetype index)
{
    return path + QLatin1Char('[') + QString::number(index) + QLatin1Char(']');
}

} // namespace tollgate::policy
