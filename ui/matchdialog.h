#pragma once

#include "policyformdialog.h"

#include <QJsonObject>

#include <functional>
#include <memory>
#include <vector>

namespace tollgate::ui {

/// A routing rule's match as a form, a row for each condition the core knows
/// (routing::matchConditions()): check boxes for a set of names, patterns as a comma-separated
/// list with the names the policy knows a click away, a number from 0 to 1, a table of names
/// (headers, metadata fields) to patterns. A condition left alone goes back exactly as it came. One
/// the form cannot show as it is (a pattern holding a comma, a value of another kind) is
/// read-only, and members the core does not know are kept; the form lists both.
class MatchDialog : public PolicyFormDialog {
    Q_OBJECT
public:
    /// What a pattern condition offers, by its key ("model": the models and auto).
    using Suggestions = std::function<QStringList(const QString &key)>;

    MatchDialog(const QString &ruleName, const QJsonObject &match, const Suggestions &suggest,
                QWidget *parent = nullptr);
    ~MatchDialog() override;

    QJsonValue value() const override;
    /// The widget that edits the condition `key`; inside it, a QCheckBox per name (a set), a
    /// QLineEdit (patterns), a QCheckBox that turns a QDoubleSpinBox on (a number), or a
    /// QTableWidget with Add and Remove buttons (names to patterns).
    QWidget *editorOf(const QString &key) const;

    class Field;

private:
    std::vector<std::unique_ptr<Field>> m_fields;
    QJsonObject m_unknown; ///< members no condition owns, kept as they are
};

} // namespace tollgate::ui
