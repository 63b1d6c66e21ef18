#include "limits/budgetpolicy.h"

#include "policy/policyfields.h"
#include <QJsonArray>
#include <QJsonValue>
#include <QRegularExpression>
#include <QSet>

#include <algorithm>
#include <cmath>

namespace tollgate::limits {

namespace {

using policy::enumChoices;
using policy::EnumName;
using policy::enumName;
using policy::indexedPath;
using policy::memberPath;

const QString kBudgetsKey = QStringLiteral("budgets");

// Budgets of more than a trillion dollars are typos, and keeping amounts well inside a double's
// exact range keeps sums of small charges meaningful.
constexpr double kMaxLimitUsd = 1e12;
// Thresholds above 100 % are soft overruns ("alert again at 150 %"); ten times the limit is
// more than any real policy wants.
constexpr double kMaxPercent = 1000;
constexpr int kMaxScopeValueLength = 256;

constexpr EnumName<BudgetScopeKind> kScopeKinds[] = {
    {BudgetScopeKind::Global, "global"}, {BudgetScopeKind::Plan, "plan"},
    {BudgetScopeKind::Team, "team"},     {BudgetScopeKind::User, "user"},
    {BudgetScopeKind::Key, "key"},       {BudgetScopeKind::Model, "model"}};
constexpr EnumName<BudgetWindow> kWindows[] = {
    {BudgetWindow::Hour, "hour"}, {BudgetWindow::Day, "day"}, {BudgetWindow::Month, "month"}};
constexpr EnumName<BudgetAlignment> kAlignments[] = {{BudgetAlignment::Calendar, "calendar"},
                                                     {BudgetAlignment::Rolling, "rolling"}};
// "none" is not an action a policy can name; it is what a check answers when nothing applies.
constexpr EnumName<BudgetAction> kActions[] = {{BudgetAction::Alert, "alert"},
                                               {BudgetAction::Downgrade, "downgrade"},
                                               {BudgetAction::Block, "block"}};

// Walks the JSON once and keeps going after a problem, so one pass reports all of them.
class Parser {
public:
    QList<Budget> parseBudgets(const QJsonValue &value, const QString &path)
    {
        QList<Budget> budgets;
        if (!value.isArray()) {
            fail(path, QStringLiteral("expected an array of budgets"));
            return budgets;
        }
        const QJsonArray array = value.toArray();
        QSet<QString> names;
        for (qsizetype i = 0; i < array.size(); ++i) {
            const QString budgetPath = indexedPath(path, i);
            Budget budget = parseBudget(array.at(i), budgetPath);
            if (!budget.name.isEmpty()) {
                // The name is the budget's identity in the spend store: two budgets sharing one
                // would add up each other's spend.
                if (names.contains(budget.name))
                    fail(memberPath(budgetPath, QStringLiteral("name")),
                         QStringLiteral("duplicate budget name \"%1\"").arg(budget.name));
                names.insert(budget.name);
            }
            budgets.append(std::move(budget));
        }
        return budgets;
    }

    QList<Error> takeErrors() { return std::move(m_errors); }

private:
    void fail(const QString &path, const QString &message)
    {
        m_errors.append(Error(message, path));
    }

    // Unknown keys are errors: a misspelt "limit_usd" must not leave a budget without a limit.
    bool checkKeys(const QJsonObject &object, const QString &path, const QStringList &known)
    {
        bool clean = true;
        for (auto it = object.begin(); it != object.end(); ++it) {
            if (!known.contains(it.key())) {
                fail(memberPath(path, it.key()), QStringLiteral("unknown setting"));
                clean = false;
            }
        }
        return clean;
    }

    template <typename Enum, size_t N>
    bool parseEnum(const QJsonValue &value, const QString &path, const EnumName<Enum> (&table)[N],
                   Enum *result)
    {
        if (value.isString()) {
            const QString text = value.toString();
            for (const auto &entry : table) {
                if (text == QLatin1String(entry.name)) {
                    *result = entry.value;
                    return true;
                }
            }
        }
        fail(path, QStringLiteral("expected one of %1").arg(enumChoices(table)));
        return false;
    }

    Budget parseBudget(const QJsonValue &value, const QString &path)
    {
        Budget budget;
        if (!value.isObject()) {
            fail(path, QStringLiteral("expected an object"));
            return budget;
        }
        const QJsonObject object = value.toObject();
        checkKeys(object, path,
                  {QStringLiteral("name"), QStringLiteral("scope"), QStringLiteral("window"),
                   QStringLiteral("alignment"), QStringLiteral("limit_usd"),
                   QStringLiteral("actions")});

        const QString namePath = memberPath(path, QStringLiteral("name"));
        const QJsonValue name = object.value(QStringLiteral("name"));
        // Budget names travel in metric labels, block messages and spend-store rows.
        static const QRegularExpression validName(
            QStringLiteral("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"));
        if (name.isUndefined())
            fail(namePath, QStringLiteral("required"));
        else if (!name.isString() || !validName.match(name.toString()).hasMatch())
            fail(namePath, QStringLiteral("expected a budget name of up to 64 letters, digits, "
                                          "'_', '.' or '-', starting with a letter or digit"));
        else
            budget.name = name.toString();

        const QJsonValue scope = object.value(QStringLiteral("scope"));
        if (!scope.isUndefined())
            budget.scope = parseScope(scope, memberPath(path, QStringLiteral("scope")));

        const QString windowPath = memberPath(path, QStringLiteral("window"));
        const QJsonValue window = object.value(QStringLiteral("window"));
        if (window.isUndefined())
            fail(windowPath, QStringLiteral("required"));
        else
            parseEnum(window, windowPath, kWindows, &budget.window);

        const QJsonValue alignment = object.value(QStringLiteral("alignment"));
        if (!alignment.isUndefined())
            parseEnum(alignment, memberPath(path, QStringLiteral("alignment")), kAlignments,
                      &budget.alignment);

        const QString limitPath = memberPath(path, QStringLiteral("limit_usd"));
        const QJsonValue limit = object.value(QStringLiteral("limit_usd"));
        if (limit.isUndefined()) {
            fail(limitPath, QStringLiteral("required"));
        } else if (!limit.isDouble() || !std::isfinite(limit.toDouble()) || limit.toDouble() <= 0) {
            fail(limitPath, QStringLiteral("expected a positive amount in USD"));
        } else if (limit.toDouble() > kMaxLimitUsd) {
            fail(limitPath, QStringLiteral("expected at most %1").arg(kMaxLimitUsd, 0, 'f', 0));
        } else {
            budget.limitUsd = limit.toDouble();
        }

        const QJsonValue actions = object.value(QStringLiteral("actions"));
        if (actions.isUndefined())
            budget.actions = BudgetPolicy::defaultActions();
        else
            budget.actions = parseActions(actions, memberPath(path, QStringLiteral("actions")));
        return budget;
    }

    BudgetScope parseScope(const QJsonValue &value, const QString &path)
    {
        BudgetScope scope;
        if (!value.isObject()) {
            fail(path, QStringLiteral("expected an object"));
            return scope;
        }
        const QJsonObject object = value.toObject();
        checkKeys(object, path, {QStringLiteral("kind"), QStringLiteral("value")});

        const QString kindPath = memberPath(path, QStringLiteral("kind"));
        const QJsonValue kind = object.value(QStringLiteral("kind"));
        bool kindKnown = false;
        if (kind.isUndefined())
            fail(kindPath, QStringLiteral("required"));
        else
            kindKnown = parseEnum(kind, kindPath, kScopeKinds, &scope.kind);

        const QString valuePath = memberPath(path, QStringLiteral("value"));
        const QJsonValue scopeValue = object.value(QStringLiteral("value"));
        if (!kindKnown)
            return scope; // whether a value belongs here depends on the kind
        if (scope.kind == BudgetScopeKind::Global) {
            if (!scopeValue.isUndefined())
                fail(valuePath, QStringLiteral("a global budget takes no value"));
            return scope;
        }
        if (scopeValue.isUndefined()) {
            fail(valuePath,
                 QStringLiteral("required for a %1 budget").arg(budgetScopeKindName(scope.kind)));
            return scope;
        }
        const QString text = scopeValue.toString();
        if (!scopeValue.isString() || text.isEmpty() || text.size() > kMaxScopeValueLength) {
            fail(valuePath, QStringLiteral("expected a non-empty string of at most %1 characters")
                                .arg(kMaxScopeValueLength));
            return scope;
        }
        const qsizetype star = text.indexOf(QLatin1Char('*'));
        if (star >= 0 &&
            (scope.kind != BudgetScopeKind::Model || star != text.size() - 1 || text.size() == 1)) {
            fail(valuePath,
                 scope.kind == BudgetScopeKind::Model
                     ? QStringLiteral("'*' may only end a model prefix, as in \"claude-sonnet-*\"; "
                                      "use the global scope for every model")
                     : QStringLiteral("expected an exact %1 name; only model scopes take a "
                                      "trailing '*'")
                           .arg(budgetScopeKindName(scope.kind)));
            return scope;
        }
        scope.value = text;
        return scope;
    }

    QList<BudgetThreshold> parseActions(const QJsonValue &value, const QString &path)
    {
        QList<BudgetThreshold> thresholds;
        if (!value.isArray()) {
            fail(path, QStringLiteral("expected an array of actions"));
            return thresholds;
        }
        const QJsonArray array = value.toArray();
        for (qsizetype i = 0; i < array.size(); ++i) {
            const QString entryPath = indexedPath(path, i);
            if (!array.at(i).isObject()) {
                fail(entryPath, QStringLiteral("expected an object"));
                continue;
            }
            const QJsonObject object = array.at(i).toObject();
            checkKeys(object, entryPath, {QStringLiteral("at_percent"), QStringLiteral("action")});
            BudgetThreshold threshold;
            bool valid = true;

            const QString percentPath = memberPath(entryPath, QStringLiteral("at_percent"));
            const QJsonValue percent = object.value(QStringLiteral("at_percent"));
            if (percent.isUndefined()) {
                fail(percentPath, QStringLiteral("required"));
                valid = false;
            } else if (!percent.isDouble() || !std::isfinite(percent.toDouble()) ||
                       percent.toDouble() <= 0 || percent.toDouble() > kMaxPercent) {
                fail(percentPath, QStringLiteral("expected a number greater than 0 and at most %1")
                                      .arg(kMaxPercent));
                valid = false;
            } else {
                threshold.atPercent = percent.toDouble();
            }

            const QString actionPath = memberPath(entryPath, QStringLiteral("action"));
            const QJsonValue action = object.value(QStringLiteral("action"));
            if (action.isUndefined()) {
                fail(actionPath, QStringLiteral("required"));
                valid = false;
            } else {
                valid = parseEnum(action, actionPath, kActions, &threshold.action) && valid;
            }

            if (!valid)
                continue;
            if (thresholds.contains(threshold)) {
                fail(entryPath, QStringLiteral("duplicate action: %1 at %2 % is already listed")
                                    .arg(budgetActionName(threshold.action))
                                    .arg(threshold.atPercent));
                continue;
            }
            thresholds.append(threshold);
        }
        std::sort(thresholds.begin(), thresholds.end(),
                  [](const BudgetThreshold &a, const BudgetThreshold &b) {
                      return a.atPercent != b.atPercent ? a.atPercent < b.atPercent
                                                        : a.action < b.action;
                  });
        return thresholds;
    }

    QList<Error> m_errors;
};

bool matchesValue(const QString &pattern, const QString &value)
{
    return !value.isEmpty() && value == pattern;
}

} // namespace

QString budgetScopeKindName(BudgetScopeKind kind)
{
    return enumName(kScopeKinds, kind);
}

QStringList budgetScopeKindNames()
{
    return policy::enumNames(kScopeKinds);
}

QStringList budgetWindowNames()
{
    return policy::enumNames(kWindows);
}

QStringList budgetAlignmentNames()
{
    return policy::enumNames(kAlignments);
}

QStringList budgetActionNames()
{
    return policy::enumNames(kActions);
}

QString budgetWindowName(BudgetWindow window)
{
    return enumName(kWindows, window);
}

QString budgetAlignmentName(BudgetAlignment alignment)
{
    return enumName(kAlignments, alignment);
}

QString budgetActionName(BudgetAction action)
{
    return action == BudgetAction::None ? QStringLiteral("none") : enumName(kActions, action);
}

bool BudgetScope::matches(const policy::Principal &principal, const QString &model) const
{
    switch (kind) {
    case BudgetScopeKind::Global: return true;
    case BudgetScopeKind::Plan: return matchesValue(value, principal.plan);
    case BudgetScopeKind::Team: return matchesValue(value, principal.team);
    case BudgetScopeKind::User: return matchesValue(value, principal.user);
    case BudgetScopeKind::Key: return matchesValue(value, principal.keyName);
    case BudgetScopeKind::Model:
        if (value.endsWith(QLatin1Char('*')))
            return model.startsWith(QStringView(value).chopped(1));
        return matchesValue(value, model);
    }
    return false;
}

BudgetPolicy BudgetPolicy::reference()
{
    return BudgetPolicy();
}

QList<BudgetThreshold> BudgetPolicy::defaultActions()
{
    return {{50, BudgetAction::Alert}, {80, BudgetAction::Alert}, {100, BudgetAction::Block}};
}

BudgetPolicy BudgetPolicy::parse(const QJsonObject &document, QList<Error> *problems)
{
    BudgetPolicy policy;
    const QJsonValue budgets = document.value(kBudgetsKey);
    if (budgets.isUndefined())
        return policy;
    Parser parser;
    policy.m_budgets = parser.parseBudgets(budgets, kBudgetsKey);
    *problems += parser.takeErrors();
    return policy;
}

QList<Error> BudgetPolicy::validate(const QJsonObject &document)
{
    QList<Error> problems;
    parse(document, &problems);
    return problems;
}

Expected<BudgetPolicy> BudgetPolicy::fromJson(const QJsonObject &document)
{
    QList<Error> problems;
    BudgetPolicy policy = parse(document, &problems);
    if (!problems.isEmpty())
        return problems.constFirst();
    return policy;
}

const Budget *BudgetPolicy::budget(const QString &name) const
{
    for (const Budget &budget : m_budgets) {
        if (budget.name == name)
            return &budget;
    }
    return nullptr;
}

QJsonArray BudgetPolicy::actionsJson(const QList<BudgetThreshold> &actions)
{
    QJsonArray result;
    for (const BudgetThreshold &threshold : actions)
        result.append(QJsonObject{{QStringLiteral("at_percent"), threshold.atPercent},
                                  {QStringLiteral("action"), budgetActionName(threshold.action)}});
    return result;
}

QJsonObject BudgetPolicy::toJson() const
{
    QJsonArray budgets;
    for (const Budget &budget : m_budgets) {
        QJsonObject scope{{QStringLiteral("kind"), budgetScopeKindName(budget.scope.kind)}};
        if (budget.scope.kind != BudgetScopeKind::Global)
            scope.insert(QStringLiteral("value"), budget.scope.value);
        const QJsonArray actions = actionsJson(budget.actions);
        budgets.append(
            QJsonObject{{QStringLiteral("name"), budget.name},
                        {QStringLiteral("scope"), scope},
                        {QStringLiteral("window"), budgetWindowName(budget.window)},
                        {QStringLiteral("alignment"), budgetAlignmentName(budget.alignment)},
                        {QStringLiteral("limit_usd"), budget.limitUsd},
                        {QStringLiteral("actions"), actions}});
    }
    return QJsonObject{{kBudgetsKey, budgets}};
}

} // namespace tollgate::limits
