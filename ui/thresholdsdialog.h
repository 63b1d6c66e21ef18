#pragma once

#include "policyformdialog.h"

class QTableWidget;

namespace tollgate::ui {

/// A budget's thresholds as a table: at what percentage of its limit which action applies. No
/// row is `[]`, a budget that only tracks spend. Left alone, the thresholds go back as they came.
class ThresholdsDialog : public PolicyFormDialog {
    Q_OBJECT
public:
    /// `actions` is the budget's `actions` value; `actionNames` what an action may be.
    ThresholdsDialog(const QString &budgetName, const QJsonValue &actions,
                     const QStringList &actionNames, QWidget *parent = nullptr);

    QJsonValue value() const override;
    QTableWidget *table() const { return m_table; }
    /// Adds a row, as the Add button does with 100 % and the last action offered.
    void addThreshold(double atPercent, const QString &action);
    void removeThreshold(int row);

private:
    void insertRow(double atPercent, const QString &action);
    void touch();

    QJsonValue m_original;
    QStringList m_actionNames;
    QTableWidget *m_table;
    bool m_touched = false;
};

} // namespace tollgate::ui
