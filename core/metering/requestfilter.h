#pragma once

#include "common/expected.h"
#include "metering/requestrecord.h"

#include <QString>
#include <QStringList>
#include <QVariantList>

#include <memory>

namespace tollgate::metering {

/// The filter language of the request log, charts and alerts
/// (`status>=500 model=claude-* not(user=bob) latency>2s`), compiled once and then evaluated on
/// records in memory or handed to SQLite as a WHERE clause; both give the same answer.
/// docs/filter.md describes the language.
class RequestFilter {
public:
    /// The filter as a condition on the request log's `requests` table. `where` names its values
    /// as numbered parameters ?1..?n (n = values.size()), so a caller binds them in order and
    /// numbers parameters of its own from n + 1.
    struct Sql {
        QString where;       ///< "1" for a filter that matches everything
        QVariantList values; ///< each a QString, a double or a qlonglong
    };

    RequestFilter(); ///< matches every request
    /// Compiles `text`; empty or blank text matches every request. A mistake gives an Error whose
    /// message names it and its 1-based character position, e.g. `unknown field "mdl" at 1; ...`.
    static Expected<RequestFilter> parse(const QString &text);

    /// Pure; safe to call from several threads on the same filter.
    bool matches(const RequestRecord &record) const;
    Sql toSql() const;
    QString text() const { return m_text; }
    bool matchesAll() const { return m_root == nullptr; }

    /// The field names a filter may use, as error messages list them.
    static QStringList fieldNames();

    struct Node; // the compiled expression, shared by copies of a filter

private:
    QString m_text;
    std::shared_ptr<const Node> m_root; // null: matches everything
};

} // namespace tollgate::metering
