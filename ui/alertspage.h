#pragma once

#include "alerts/alertevaluator.h"
#include "limits/spendledger.h"

#include <QHash>
#include <QWidget>

#include <functional>

class QListWidget;
class QTableWidget;
class QTimer;

namespace tollgate::alerts {
class AlertMonitor;
}

namespace tollgate::ui {

/// The alert rules and budgets as the gateway sees them now, and what changed recently. Reads
/// the monitor's states (the gateway evaluates them once a second) and the budgets' standing on
/// its own 1 s clock, shown or not, so the status line and the tray hear of a change while the
/// page is hidden. Never a modal popup.
class AlertsPage : public QWidget {
    Q_OBJECT
public:
    using Clock = std::function<qint64()>; ///< wall clock, ms since epoch
    static constexpr int kRefreshIntervalMs = 1000;
    static constexpr int kMaxEvents = 500;

    AlertsPage(const alerts::AlertMonitor &alerts, const limits::SpendLedger &budgets, Clock clock,
               QWidget *parent = nullptr);

    /// Reads the states again, updates the tables and reports the changes.
    void refresh();
    int firingCount() const { return m_firing; }
    /// What happened, newest first: one line per change.
    QStringList events() const;
    QTableWidget *rulesTable() const { return m_rules; }
    QTableWidget *budgetsTable() const { return m_budgets; }

Q_SIGNALS:
    /// A rule started or stopped firing, or a budget reached a threshold.
    void noticed(const QString &title, const QString &message, bool serious);
    void firingCountChanged(int firing);

private:
    void showRules(const QList<alerts::AlertState> &states);
    void showBudgets(const QList<limits::BudgetStatus> &budgets);
    void noteRuleChanges(const QList<alerts::AlertTransition> &changes);
    void noteBudgetChanges(const QList<limits::BudgetStatus> &budgets);
    void addEvent(qint64 atMs, const QString &text);

    const alerts::AlertMonitor &m_alerts;
    const limits::SpendLedger &m_ledger;
    Clock m_clock;
    QTableWidget *m_rules;
    QTableWidget *m_budgets;
    QListWidget *m_events;
    QTimer *m_timer;
    QList<alerts::AlertState> m_lastStates;
    QHash<QString, limits::BudgetAction> m_lastActions; // by budget name
    bool m_readOnce = false;
    int m_firing = 0;
};

} // namespace tollgate::ui
