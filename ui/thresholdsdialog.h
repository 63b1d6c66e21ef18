#pragma once

#include "policyformdialog.h"

class QPushButton;
class QTableWidget;

namespace tollgate::ui {

/// A budget's thresholds as a table: at what percentage of its limit which action applies. No
/// row is `[]`, a budget that only tracks spend. Left alone, the thresholds go back as they came.
/// Remove acts on the row being edited.
class ThresholdsDialog : public PolicyFormDialog {
    Q_OBJECT
public:
    /// `actions` is the budget's `actions` value; `actionNames` what an action may be.
    ThresholdsDialog(const QString &budgetName, const QJsonValue &actions,
                     const QStringList &actionNames, QWidget *parent = nullptr);

    /// Whether the form shows `actions` as they are: a list of {at_percent, action} with a
    /// percentage of at most two decimals from 0 to 1000 and an action as text. Anything else
    /// would change once a row is touched, so the page offers the cell's JSON instead.
    static bool canShow(const QJsonValue &actions);

    QJsonValue value() const override;
    QTableWidget *table() const { return m_table; }
    /// Adds a row, as the Add button does with 100 % and the last action offered.
    void addThreshold(double atPercent, const QString &action);
    void removeThreshold(int row);

private:
    void insertRow(double atPercent, const QString &action);
    void touch();
    /// Makes the row whose editor has the focus the current one, so Remove acts on it.
    void followFocus(QWidget *focused);
    void updateWidgets();

    QJsonValue m_original;
    QStringList m_actionNames;
    QTableWidget *m_table;
    QPushButton *m_remove;
    bool m_touched = false;
};

} // namespace tollgate::ui
