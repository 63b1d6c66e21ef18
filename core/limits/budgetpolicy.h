#pragma once

#include "common/expected.h"
#include "policy/requestfeatures.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

namespace tollgate::limits {

/// Whose spend a budget counts.
enum class BudgetScopeKind { Global, Plan, Team, User, Key, Model };
/// The length of a budget's window.
enum class BudgetWindow { Hour, Day, Month };
/// Calendar windows start at UTC boundaries (the top of the hour, midnight, the 1st of the
/// month); rolling windows are the last hour, 24 hours or 30 days.
enum class BudgetAlignment { Calendar, Rolling };
/// What a budget does once a threshold is reached; ordered by strength, so the larger wins.
enum class BudgetAction { None, Alert, Downgrade, Block };

/// The names the policy document uses ("team", "day", "rolling", "downgrade"; "none").
QString budgetScopeKindName(BudgetScopeKind kind);
QString budgetWindowName(BudgetWindow window);
QString budgetAlignmentName(BudgetAlignment alignment);
QString budgetActionName(BudgetAction action);
/// The names a policy may use for each, in order.
QStringList budgetScopeKindNames();
QStringList budgetWindowNames();
QStringList budgetAlignmentNames();
QStringList budgetActionNames();

/// One entry of a budget's `actions`: `action` applies once spend reaches `atPercent` of the
/// limit.
struct BudgetThreshold {
    double atPercent = 100;
    BudgetAction action = BudgetAction::Block;

    double amountUsd(double limitUsd) const { return limitUsd * atPercent / 100.0; }
    bool operator==(const BudgetThreshold &other) const
    {
        return atPercent == other.atPercent && action == other.action;
    }
};

/// Which requests a budget counts and applies to.
struct BudgetScope {
    BudgetScopeKind kind = BudgetScopeKind::Global;
    /// Compared exactly (case-sensitive) with the principal's plan, team, user or key name, or
    /// with the model; for a model a trailing `*` matches every model starting with the rest.
    /// Empty for the global scope.
    QString value;

    /// Whether a request of `principal` for `model` falls under this scope. A principal without
    /// a team (user, key) is under no team (user, key) scope.
    bool matches(const policy::Principal &principal, const QString &model) const;
};

/// One budget: a USD limit over a window for one scope, with actions at thresholds.
struct Budget {
    QString name; ///< unique; names the budget in messages, metrics and the spend store
    BudgetScope scope;
    BudgetWindow window = BudgetWindow::Day;
    BudgetAlignment alignment = BudgetAlignment::Calendar;
    double limitUsd = 0;
    /// Ascending by atPercent (then by action strength). May be empty: spend is then only
    /// tracked and shown.
    QList<BudgetThreshold> actions;
};

/// The `budgets` section of the policy document: USD budgets per scope and window with alert,
/// downgrade and block thresholds. Immutable once built, so worker threads share it freely.
///
/// The reference has no budgets. DESIGN.md's AIBudgetExceeded ($50 of cost in an hour) is an
/// alert rule over ai_cost_total_usd, evaluated by Prometheus and the console; it never changes
/// how a request is served, so it is not a budget here.
class BudgetPolicy {
public:
    /// No budgets (the reference).
    BudgetPolicy() = default;

    /// Reads `budgets` from the whole policy document and ignores its other sections. Without
    /// `budgets` there are none. The error is the first of validate()'s problems.
    static Expected<BudgetPolicy> fromJson(const QJsonObject &document);
    /// Every problem of the budgets in `document`, each with its JSON path, e.g.
    /// `budgets[0].limit_usd: expected a positive amount in USD`. Empty when valid.
    static QList<Error> validate(const QJsonObject &document);
    /// The reference: no budgets.
    static BudgetPolicy reference();
    /// The actions of a budget that gives none: alert at 50 % and 80 %, block at 100 %.
    static QList<BudgetThreshold> defaultActions();
    /// `actions` as a budget's `actions` member spells them.
    static QJsonArray actionsJson(const QList<BudgetThreshold> &actions);

    const QList<Budget> &budgets() const { return m_budgets; }
    /// The budget called `name`, or nullptr.
    const Budget *budget(const QString &name) const;
    bool isEmpty() const { return m_budgets.isEmpty(); }

    /// The effective settings, defaults filled in, in the format fromJson() reads:
    /// `{"budgets": [...]}`.
    QJsonObject toJson() const;

private:
    /// Builds what `document` describes and appends every problem to `problems`.
    static BudgetPolicy parse(const QJsonObject &document, QList<Error> *problems);

    QList<Budget> m_budgets; // policy order
};

} // namespace tollgate::limits
