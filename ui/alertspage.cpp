#include "alertspage.h"

#include "format.h"

#include "alerts/alertmonitor.h"
#include "limits/spendledger.h"

#include <QDateTime>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

namespace tollgate::ui {

namespace {

using alerts::AlertStatus;

const QColor kFiring(0xc6, 0x28, 0x28);
const QColor kPending(0xb2, 0x6a, 0x00);
const QColor kQuiet(0x2e, 0x7d, 0x32);

QTableWidget *makeTable(const QStringList &headers, QWidget *parent)
{
    auto *table = new QTableWidget(0, int(headers.size()), parent);
    table->setHorizontalHeaderLabels(headers);
    table->verticalHeader()->hide();
    table->horizontalHeader()->setStretchLastSection(true);
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->setSelectionBehavior(QAbstractItemView::SelectRows);
    table->setAlternatingRowColors(true);
    return table;
}

void setCell(QTableWidget *table, int row, int column, const QString &text,
             const QColor &colour = {})
{
    auto *item = new QTableWidgetItem(text);
    if (colour.isValid())
        item->setForeground(colour);
    table->setItem(row, column, item);
}

QString clockTime(qint64 ms)
{
    if (ms <= 0)
        return QStringLiteral("—");
    const QDateTime at = QDateTime::fromMSecsSinceEpoch(ms);
    return at.date() == QDate::currentDate() ? at.toString(QStringLiteral("HH:mm:ss"))
                                             : at.toString(QStringLiteral("ddd d MMM HH:mm"));
}

QString scopeText(const limits::BudgetScope &scope)
{
    const QString kind = limits::budgetScopeKindName(scope.kind);
    return scope.value.isEmpty() ? kind : kind + QLatin1Char(' ') + scope.value;
}

QLabel *heading(const QString &text, QWidget *parent)
{
    auto *label = new QLabel(text, parent);
    QFont bold = label->font();
    bold.setBold(true);
    label->setFont(bold);
    return label;
}

} // namespace

AlertsPage::AlertsPage(const alerts::AlertMonitor &alerts, const limits::SpendLedger &budgets,
                       Clock clock, QWidget *parent)
    : QWidget(parent)
    , m_alerts(alerts)
    , m_ledger(budgets)
    , m_clock(std::move(clock))
    , m_rules(makeTable({tr("Status"), tr("Rule"), tr("Severity"), tr("Now"), tr("Since")}, this))
    , m_budgets(makeTable({tr("Budget"), tr("Scope"), tr("Window"), tr("Spent"), tr("Limit"),
                           tr("Used"), tr("Reached"), tr("Resets")},
                          this))
    , m_events(new QListWidget(this))
    , m_timer(new QTimer(this))
{
    m_rules->setColumnWidth(0, 90);
    m_rules->setColumnWidth(1, 170);
    m_rules->setColumnWidth(3, 380);
    m_events->setObjectName(QStringLiteral("alertEvents"));
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(heading(tr("Alert rules"), this));
    layout->addWidget(m_rules, 2);
    layout->addWidget(heading(tr("Budgets"), this));
    layout->addWidget(m_budgets, 2);
    layout->addWidget(heading(tr("Recent changes"), this));
    layout->addWidget(m_events, 1);

    m_timer->setInterval(kRefreshIntervalMs);
    connect(m_timer, &QTimer::timeout, this, &AlertsPage::refresh);
    m_timer->start();
    refresh();
}

void AlertsPage::refresh()
{
    const qint64 now = m_clock();
    const QList<alerts::AlertState> states = m_alerts.states();
    const QList<limits::BudgetStatus> budgets = m_ledger.status(now);
    showRules(states);
    showBudgets(budgets);
    // What was already so when the console started is shown, not announced.
    if (m_readOnce) {
        noteRuleChanges(alerts::changesBetween(m_lastStates, states));
        noteBudgetChanges(budgets);
    }
    m_lastStates = states;
    m_lastActions.clear();
    for (const limits::BudgetStatus &budget : budgets)
        m_lastActions.insert(budget.name, budget.action);
    m_readOnce = true;

    int firing = 0;
    for (const alerts::AlertState &state : states)
        firing += state.status == AlertStatus::Firing;
    if (firing != m_firing) {
        m_firing = firing;
        Q_EMIT firingCountChanged(firing);
    }
}

void AlertsPage::showRules(const QList<alerts::AlertState> &states)
{
    m_rules->setRowCount(int(states.size()));
    for (int row = 0; row < states.size(); ++row) {
        const alerts::AlertState &state = states[row];
        const QColor colour = state.status == AlertStatus::Firing    ? kFiring
                              : state.status == AlertStatus::Pending ? kPending
                                                                     : kQuiet;
        setCell(m_rules, row, 0, QStringLiteral("● ") + alerts::alertStatusName(state.status),
                colour);
        setCell(m_rules, row, 1, state.rule.name);
        setCell(m_rules, row, 2, alerts::alertSeverityName(state.rule.severity));
        setCell(m_rules, row, 3, alerts::describeState(state));
        const qint64 since =
            state.status == AlertStatus::Firing ? state.firingSinceMs : state.activeSinceMs;
        setCell(m_rules, row, 4, clockTime(since));
    }
}

void AlertsPage::showBudgets(const QList<limits::BudgetStatus> &budgets)
{
    m_budgets->setRowCount(int(budgets.size()));
    for (int row = 0; row < budgets.size(); ++row) {
        const limits::BudgetStatus &budget = budgets[row];
        const QColor colour = budget.action == limits::BudgetAction::None    ? QColor()
                              : budget.action == limits::BudgetAction::Alert ? kPending
                                                                             : kFiring;
        setCell(m_budgets, row, 0, budget.name);
        setCell(m_budgets, row, 1, scopeText(budget.scope));
        setCell(m_budgets, row, 2,
                limits::budgetWindowName(budget.window) + QLatin1Char(' ') +
                    limits::budgetAlignmentName(budget.alignment));
        setCell(m_budgets, row, 3, usd(budget.spentUsd));
        setCell(m_budgets, row, 4, usd(budget.limitUsd));
        setCell(m_budgets, row, 5, percent(budget.percent / 100), colour);
        setCell(m_budgets, row, 6, limits::budgetActionName(budget.action), colour);
        setCell(m_budgets, row, 7, clockTime(budget.resetsAtMs));
    }
}

void AlertsPage::noteRuleChanges(const QList<alerts::AlertTransition> &changes)
{
    for (const alerts::AlertTransition &change : changes) {
        const QString line = alerts::describeTransition(change);
        addEvent(change.atMs, line);
        if (change.to == AlertStatus::Firing)
            Q_EMIT noticed(tr("Alert %1 firing").arg(change.rule.name), line, true);
        else if (change.from == AlertStatus::Firing)
            Q_EMIT noticed(tr("Alert %1 resolved").arg(change.rule.name), line, false);
    }
}

void AlertsPage::noteBudgetChanges(const QList<limits::BudgetStatus> &budgets)
{
    for (const limits::BudgetStatus &budget : budgets) {
        const limits::BudgetAction before =
            m_lastActions.value(budget.name, limits::BudgetAction::None);
        if (budget.action <= before)
            continue; // a new window starting again below its thresholds is no news
        const QString line =
            tr("budget %1 (%2) at %3 of %4: %5")
                .arg(budget.name, scopeText(budget.scope), percent(budget.percent / 100),
                     usd(budget.limitUsd), limits::budgetActionName(budget.action));
        addEvent(m_clock(), line);
        Q_EMIT noticed(tr("Budget %1").arg(budget.name), line,
                       budget.action != limits::BudgetAction::Alert);
    }
}

void AlertsPage::addEvent(qint64 atMs, const QString &text)
{
    m_events->insertItem(0, clockTime(atMs) + QStringLiteral("  ") + text);
    while (m_events->count() > kMaxEvents)
        delete m_events->takeItem(m_events->count() - 1);
}

QStringList AlertsPage::events() const
{
    QStringList lines;
    for (int row = 0; row < m_events->count(); ++row)
        lines.append(m_events->item(row)->text());
    return lines;
}

} // namespace tollgate::ui
