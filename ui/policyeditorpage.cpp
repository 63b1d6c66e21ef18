#include "policyeditorpage.h"

#include "matchdialog.h"
#include "policychoicedelegate.h"
#include "policyeditcommand.h"
#include "policysectionmodel.h"
#include "theme.h"
#include "thresholdsdialog.h"

#include "gateway/gatewaythread.h"
#include "gateway/policyedit.h"
#include "policy/policyfields.h"

#include <QAction>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QTabWidget>
#include <QTableView>
#include <QToolBar>
#include <QUndoStack>
#include <QVBoxLayout>

namespace tollgate::ui {

namespace {

using Shape = PolicySectionModel::Shape;
using Kind = PolicySectionModel::Kind;
using Column = PolicySectionModel::Column;

PolicySectionModel *makeModel(PolicyEditorPage::Section section, QObject *parent)
{
    using S = PolicyEditorPage;
    const auto tr = [](const char *text) { return PolicyEditorPage::tr(text); };
    switch (section) {
    case S::Routes:
        return new PolicySectionModel(
            QStringLiteral("routes"), Shape::List,
            {{QStringLiteral("name"), tr("Rule"), Kind::Text},
             {QStringLiteral("match"), tr("Match"), Kind::Form},
             {QStringLiteral("targets"), tr("Targets (in order)"), Kind::List},
             {QStringLiteral("max_tokens"), tr("max_tokens"), Kind::Auto},
             {QStringLiteral("description"), tr("Description"), Kind::Text}},
            parent);
    case S::Models:
        return new PolicySectionModel(
            QStringLiteral("models"), Shape::List,
            {{QStringLiteral("id"), tr("Model"), Kind::Text},
             {QStringLiteral("provider"), tr("Provider"), Kind::Text},
             {QStringLiteral("input"), tr("Input $/MTok")},
             {QStringLiteral("output"), tr("Output $/MTok")},
             {QStringLiteral("cache_write"), tr("Cache write")},
             {QStringLiteral("cache_read"), tr("Cache read")},
             {QStringLiteral("p95_latency_ms"), tr("p95 ms")},
             {QStringLiteral("aliases"), tr("Aliases"), Kind::List},
             {QStringLiteral("upstream_id"), tr("Upstream id"), Kind::Text}},
            parent);
    case S::Plans:
        return new PolicySectionModel(
            QStringLiteral("plans"), Shape::Keyed,
            {{QStringLiteral("requests_per_hour"), tr("Requests/hour")},
             {QStringLiteral("requests_per_minute"), tr("Requests/minute")},
             {QStringLiteral("input_tokens_per_minute"), tr("Input tokens/min")},
             {QStringLiteral("output_tokens_per_minute"), tr("Output tokens/min")},
             {QStringLiteral("max_concurrent_streams"), tr("Streams")},
             {QStringLiteral("max_tokens"), tr("max_tokens")}},
            parent);
    case S::PlanChoice:
        return new PolicySectionModel(
            QString(), Shape::Settings, {{QString(), tr("Plan"), Kind::Text}}, parent,
            {QStringLiteral("default_plan"), QStringLiteral("local_owner_plan")});
    case S::Budgets:
        return new PolicySectionModel(QStringLiteral("budgets"), Shape::List,
                                      {{QStringLiteral("name"), tr("Budget"), Kind::Text},
                                       {QStringLiteral("scope"), tr("Scope")},
                                       {QStringLiteral("window"), tr("Window"), Kind::Text},
                                       {QStringLiteral("alignment"), tr("Alignment"), Kind::Text},
                                       {QStringLiteral("limit_usd"), tr("Limit $")},
                                       {QStringLiteral("actions"), tr("Thresholds"), Kind::Form}},
                                      parent);
    case S::AlertRules:
        return new PolicySectionModel(QStringLiteral("alerts.rules"), Shape::Keyed,
                                      {{QStringLiteral("kind"), tr("Kind"), Kind::Text},
                                       {QStringLiteral("threshold"), tr("Threshold")},
                                       {QStringLiteral("quantile"), tr("Quantile")},
                                       {QStringLiteral("window_seconds"), tr("Window s")},
                                       {QStringLiteral("for_seconds"), tr("For s")},
                                       {QStringLiteral("severity"), tr("Severity"), Kind::Text},
                                       {QStringLiteral("enabled"), tr("On")}},
                                      parent);
    case S::Cache:
    case S::Retries:
    case S::Breakers: {
        const QString path = section == S::Cache     ? QStringLiteral("cache")
                             : section == S::Retries ? QStringLiteral("retries")
                                                     : QStringLiteral("breakers");
        return new PolicySectionModel(path, Shape::Settings, {{QString(), tr("Value")}}, parent);
    }
    case S::SectionCount: break;
    }
    return nullptr;
}

QString changeCount(qsizetype count)
{
    return count == 1 ? PolicyEditorPage::tr("1 change")
                      : PolicyEditorPage::tr("%1 changes").arg(count);
}

QString problemCount(qsizetype count)
{
    return count == 1 ? PolicyEditorPage::tr("1 problem")
                      : PolicyEditorPage::tr("%1 problems").arg(count);
}

} // namespace

PolicyEditorPage::PolicyEditorPage(gateway::GatewayThread &gateway, QWidget *parent)
    : QWidget(parent)
    , m_gateway(gateway)
    , m_undo(new QUndoStack(this))
    , m_tabs(new QTabWidget(this))
    , m_diff(new QPlainTextEdit(this))
    , m_status(new QLabel(this))
    , m_outcome(new QLabel(this))
{
    auto *intro = new QLabel(
        tr("The policy the gateway runs. Edits are checked as you make them; Apply puts them in "
           "force for the next request, without a restart. The listen address, providers, keys "
           "and data folder are the server's own and stay as they are."),
        this);
    intro->setWordWrap(true);

    auto *toolbar = new QToolBar(this);
    toolbar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    toolbar->addAction(tr("&Open…"), this, &PolicyEditorPage::openWithDialog);
    toolbar->addAction(tr("&Save…"), this, &PolicyEditorPage::saveWithDialog);
    toolbar->addSeparator();
    m_undoAction = m_undo->createUndoAction(this, tr("Undo"));
    m_undoAction->setShortcut(QKeySequence::Undo);
    m_redoAction = m_undo->createRedoAction(this, tr("Redo"));
    m_redoAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Z));
    for (QAction *action : {m_undoAction, m_redoAction}) {
        // The page's own history: the shortcuts act while it is shown, not on other pages.
        action->setShortcutContext(Qt::WidgetWithChildrenShortcut);
        addAction(action);
        toolbar->addAction(action);
    }
    m_revertAction = toolbar->addAction(tr("Re&vert"), this, &PolicyEditorPage::revert);
    m_revertAction->setToolTip(tr("Back to the running policy (undoable)"));
    toolbar->addSeparator();
    m_diffAction =
        toolbar->addAction(tr("&Diff"), this, [this] { m_tabs->setCurrentIndex(ChangesTab); });
    m_diffAction->setToolTip(tr("The changes against the running policy"));
    m_applyAction = toolbar->addAction(tr("&Apply"), this, [this] { apply(); });
    m_applyAction->setToolTip(tr("Put the edited policy in force now (Ctrl+Return)"));
    m_applyAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
    m_applyAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    addAction(m_applyAction);
    connect(m_undo, &QUndoStack::indexChanged, this, [this] {
        m_undoAction->setToolTip(
            tr("%1 (%2)").arg(m_undoAction->text(), m_undoAction->shortcut().toString()));
        m_redoAction->setToolTip(
            tr("%1 (%2)").arg(m_redoAction->text(), m_redoAction->shortcut().toString()));
    });

    m_status->setObjectName(QStringLiteral("policyStatus"));
    m_status->setWordWrap(true);
    m_outcome->setObjectName(QStringLiteral("outcome"));
    m_outcome->setWordWrap(true);
    m_outcome->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_diff->setReadOnly(true);
    m_diff->setObjectName(QStringLiteral("policyDiff"));

    buildTabs();
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(intro);
    layout->addWidget(toolbar);
    layout->addWidget(m_status);
    layout->addWidget(m_tabs, 1);
    layout->addWidget(m_outcome);
    refreshRunning();
}

void PolicyEditorPage::buildTabs()
{
    for (int s = 0; s < SectionCount; ++s)
        connectModel(makeModel(Section(s), this), Section(s));
    m_tabs->addTab(tabOf({sectionPanel(Routes, model(Routes),
                                       tr("Rules in order: the first whose match holds decides. "
                                          "Drag a row (or use Up and Down) to reorder. Targets are "
                                          "the chain, primary first; $requested is the model "
                                          "the caller asked for."),
                                       true, true)}),
                   tr("Routing"));
    m_tabs->addTab(tabOf({sectionPanel(Models, model(Models),
                                       tr("Models the gateway knows, with USD prices per million "
                                          "tokens; routing targets and costs look them up here."),
                                       true)}),
                   tr("Models && prices"));
    m_tabs->addTab(
        tabOf({sectionPanel(Plans, model(Plans),
                            tr("Rate limits per plan; an empty cell is no limit."), true),
               sectionPanel(PlanChoice, model(PlanChoice),
                            tr("Which plan identified callers without one get, and the local "
                               "owner's."),
                            false)}),
        tr("Plans && limits"));
    m_tabs->addTab(
        tabOf({sectionPanel(Budgets, model(Budgets),
                            tr("USD budgets per scope and window; thresholds alert, downgrade or "
                               "block at a percentage of the limit."),
                            true),
               sectionPanel(AlertRules, model(AlertRules),
                            tr("Alert rules the gateway evaluates live, with their thresholds."),
                            true)}),
        tr("Budgets && alerts"));
    m_tabs->addTab(tabOf({sectionPanel(Cache, model(Cache), tr("Response cache"), false),
                          sectionPanel(Retries, model(Retries), tr("Retries"), false),
                          sectionPanel(Breakers, model(Breakers), tr("Circuit breakers"), false)}),
                   tr("Cache && breakers"));
    m_tabs->addTab(m_diff, tr("Changes"));
}

QWidget *PolicyEditorPage::tabOf(const QList<QWidget *> &panels)
{
    auto *tab = new QWidget(this);
    auto *layout = new QVBoxLayout(tab);
    for (QWidget *panel : panels)
        layout->addWidget(panel, 1);
    return tab;
}

QWidget *PolicyEditorPage::sectionPanel(Section section, PolicySectionModel *model,
                                        const QString &intro, bool rows, bool ordered)
{
    auto *panel = new QWidget(this);
    auto *layout = new QVBoxLayout(panel);
    layout->setContentsMargins(0, 0, 0, 0);
    auto *label = new QLabel(intro, panel);
    label->setWordWrap(true);
    layout->addWidget(label);

    auto *view = new QTableView(panel);
    view->setModel(model);
    auto *delegate = new PolicyChoiceDelegate(view);
    view->setItemDelegate(delegate);
    const auto openFormOf = [this, section](const QModelIndex &index) {
        if (index.data(PolicySectionModel::FormRole).toBool())
            openForm(section, index);
    };
    connect(delegate, &PolicyChoiceDelegate::formRequested, this, openFormOf);
    connect(view, &QTableView::activated, this, openFormOf); // Enter
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setSelectionMode(QAbstractItemView::SingleSelection);
    view->horizontalHeader()->setStretchLastSection(true);
    view->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    view->verticalHeader()->setVisible(ordered);
    view->setWordWrap(false);
    connect(model, &QAbstractItemModel::modelReset, view, &QTableView::resizeColumnsToContents);
    if (ordered) {
        view->setDragEnabled(true);
        view->setAcceptDrops(true);
        view->setDropIndicatorShown(true);
        view->setDragDropMode(QAbstractItemView::DragDrop);
        view->setDefaultDropAction(Qt::MoveAction);
        view->setDragDropOverwriteMode(false);
    }
    layout->addWidget(view, 1);

    auto *problems = new QLabel(panel);
    problems->setObjectName(QStringLiteral("sectionProblems"));
    problems->setStyleSheet(QLatin1String(kProblemStyle));
    problems->setWordWrap(true);
    problems->setTextInteractionFlags(Qt::TextSelectableByMouse);
    problems->hide();
    layout->addWidget(problems);
    m_sections[section] = {model, view, problems};

    if (rows) {
        auto *buttons = new QHBoxLayout;
        auto *add = new QPushButton(tr("Add"), panel);
        auto *remove = new QPushButton(tr("Remove"), panel);
        connect(add, &QPushButton::clicked, this, [this, section] { addRow(section); });
        connect(remove, &QPushButton::clicked, this, [this, section, view] {
            if (view->currentIndex().isValid())
                removeRow(section, view->currentIndex().row());
        });
        buttons->addWidget(add);
        buttons->addWidget(remove);
        if (ordered) {
            auto *up = new QPushButton(tr("Move up"), panel);
            auto *down = new QPushButton(tr("Move down"), panel);
            connect(up, &QPushButton::clicked, this, [this, section, view] {
                const int row = view->currentIndex().row();
                if (row > 0)
                    moveRow(section, row, row - 1);
            });
            connect(down, &QPushButton::clicked, this, [this, section, view] {
                const int row = view->currentIndex().row();
                if (row >= 0 && row + 1 < view->model()->rowCount())
                    moveRow(section, row, row + 2);
            });
            buttons->addWidget(up);
            buttons->addWidget(down);
        }
        buttons->addStretch(1);
        layout->addLayout(buttons);
    }
    return panel;
}

void PolicyEditorPage::connectModel(PolicySectionModel *model, Section section)
{
    m_sections[section].model = model;
    model->setChoiceSource([this](const QString &path) {
        const gateway::GatewayContext *context = m_gateway.context();
        return context ? gateway::fieldChoices(m_document, *context->policy(), path)
                       : gateway::FieldChoices{};
    });
    // Queued: the document (and with it the model) changes after the view has finished the
    // edit or the drop that asked for it.
    connect(
        model, &PolicySectionModel::editRequested, this,
        [this](const QString &path, const QJsonValue &value) { editCell(path, value); },
        Qt::QueuedConnection);
    connect(model, &PolicySectionModel::renameRequested, this, &PolicyEditorPage::renameMember,
            Qt::QueuedConnection);
    connect(
        model, &PolicySectionModel::moveRequested, this,
        [this, section](int from, int to) { moveRow(section, from, to); }, Qt::QueuedConnection);
}

PolicySectionModel *PolicyEditorPage::model(Section section) const
{
    return m_sections[section].model;
}

QTableView *PolicyEditorPage::view(Section section) const
{
    return m_sections[section].view;
}

void PolicyEditorPage::push(const QString &text, const QJsonObject &next)
{
    if (next == m_document)
        return;
    m_undo->push(new PolicyEditCommand(
        text, m_document, next, [this](const QJsonObject &document) { setDocument(document); }));
}

Expected<bool> PolicyEditorPage::setValue(const QString &path, const QJsonValue &value)
{
    auto next = policy::withValueAtPath(m_document, path, value);
    if (!next || !next->isObject()) {
        const Error error = next ? Error(tr("the policy must be a JSON object")) : next.error();
        showOutcome(error.toString(), true);
        return error;
    }
    push(value.isUndefined() ? tr("Clear %1").arg(path) : tr("Set %1").arg(path), next->toObject());
    return true;
}

void PolicyEditorPage::renameMember(const QString &path, const QString &newKey)
{
    const qsizetype dot = path.lastIndexOf(QLatin1Char('.'));
    const QString parent = dot < 0 ? QString() : path.left(dot);
    const QString oldKey = path.mid(dot + 1);
    if (parent == model(Plans)->path()) {
        // Rules, budgets and the plan choices name plans: they follow, in the same undo step.
        auto renamed = gateway::withPlanRenamed(m_document, oldKey, newKey);
        if (!renamed) {
            showOutcome(tr("Not renamed: %1").arg(renamed.error().toString()), true);
            return;
        }
        push(tr("Rename plan %1 to %2").arg(oldKey, newKey), *renamed);
        warnOfKeysOnPlan(oldKey);
        return;
    }
    QJsonObject members = policy::valueAtPath(m_document, parent).toObject();
    if (newKey.isEmpty() || members.contains(newKey)) {
        showOutcome(newKey.isEmpty() ? tr("A name cannot be empty.")
                                     : tr("There is a %1 already.").arg(newKey),
                    true);
        return;
    }
    members.insert(newKey, members.take(oldKey));
    auto next = policy::withValueAtPath(m_document, parent, members);
    if (next)
        push(tr("Rename %1 to %2").arg(oldKey, newKey), next->toObject());
}

void PolicyEditorPage::warnOfKeysOnPlan(const QString &plan)
{
    const gateway::GatewayContext *context = m_gateway.context();
    if (!context)
        return;
    const auto running = context->policy(); // keeps the document alive while it is read
    const QList<policy::GatewayKey> &keys = running->gateway.gatewayKeys;
    const auto onPlan = std::count_if(
        keys.begin(), keys.end(), [&](const policy::GatewayKey &key) { return key.plan == plan; });
    // Keys are the server's own (not in the editor): callers with them would fall to the
    // default plan without a word.
    if (onPlan > 0)
        showOutcome(tr("%1 gateway key(s) still name plan %2; keys are the server's own: change "
                       "them in its policy file, or their callers get the default plan.")
                        .arg(onPlan)
                        .arg(plan),
                    true);
}

void PolicyEditorPage::editCell(const QString &path, const QJsonValue &value)
{
    // A model's id is what rules and budgets name it by: a new id renames it everywhere, in one
    // step. An id that is taken, or none, is set as typed so that the check can say so.
    static const QRegularExpression modelId(QStringLiteral("^models\\[\\d+\\]\\.id$"));
    const QString current = policy::valueAtPath(m_document, path).toString();
    if (modelId.match(path).hasMatch() && !current.isEmpty() && value.isString()) {
        auto renamed = gateway::withModelRenamed(m_document, current, value.toString());
        if (renamed) {
            push(tr("Rename model %1 to %2").arg(current, value.toString()), *renamed);
            return;
        }
    }
    setValue(path, value);
}

PolicyFormDialog *PolicyEditorPage::openForm(Section section, const QModelIndex &index)
{
    if (!index.data(PolicySectionModel::FormRole).toBool())
        return nullptr;
    const PolicySectionModel *table = model(section);
    const QString path = table->cellPath(index);
    const QString rowName = table->index(index.row(), 0).data().toString();
    const bool isMatch = section == Routes;
    QJsonValue current = policy::valueAtPath(m_document, path);
    // A budget without thresholds has the default ones: the form shows what is in force.
    if (!isMatch && current.isUndefined())
        current = limits::BudgetPolicy::actionsJson(limits::BudgetPolicy::defaultActions());
    const bool fits =
        isMatch ? current.isUndefined() || current.isObject() : ThresholdsDialog::canShow(current);
    if (!fits) {
        showOutcome(
            tr("%1 is not in a shape its form can show; edit its JSON in the cell (F2)").arg(path),
            true);
        return nullptr;
    }
    PolicyFormDialog *dialog = nullptr;
    if (isMatch)
        dialog = new MatchDialog(
            rowName, current.toObject(),
            [this, path](const QString &key) { return choiceTexts(policy::memberPath(path, key)); },
            this);
    else
        dialog = new ThresholdsDialog(
            rowName, current,
            choiceTexts(policy::memberPath(policy::indexedPath(path, 0), QStringLiteral("action"))),
            this);
    dialog->setChecker([this, path](const QJsonValue &value) { return problemsIf(path, value); });
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog, path, current] {
        const QJsonValue value = dialog->value();
        // No match shows as an empty one: OK on it changes nothing.
        const bool same = value == current || (current.isUndefined() && value == QJsonObject());
        if (!same)
            setValue(path, value);
    });
    dialog->open();
    return dialog;
}

QStringList PolicyEditorPage::choiceTexts(const QString &path) const
{
    const gateway::GatewayContext *context = m_gateway.context();
    if (!context)
        return {};
    QStringList texts;
    for (const QJsonValue &value :
         gateway::fieldChoices(m_document, *context->policy(), path).values)
        texts.append(value.toString());
    return texts;
}

QStringList PolicyEditorPage::problemsIf(const QString &path, const QJsonValue &value) const
{
    const gateway::GatewayContext *context = m_gateway.context();
    const auto next = policy::withValueAtPath(m_document, path, value);
    if (!context || !next)
        return {};
    QList<Error> problems;
    gateway::editedPolicy(next->toObject(), *context->policy(), &problems);
    static const QRegularExpression leadingIndex(QStringLiteral("^\\[(\\d+)\\]\\.?"));
    QStringList messages;
    for (const Error &problem : problems) {
        if (!policy::isWithinPath(problem.path, path))
            continue;
        // "routes[0].match.model[1]" as "model[1]"; "budgets[0].actions[1].action" as
        // "row 2 action", counting rows as the form shows them.
        QString where = problem.path.mid(path.size());
        if (where.startsWith(QLatin1Char('.')))
            where.remove(0, 1);
        if (const auto row = leadingIndex.match(where); row.hasMatch())
            where = tr("row %1 %2")
                        .arg(row.captured(1).toInt() + 1)
                        .arg(where.mid(row.capturedLength()))
                        .trimmed();
        messages.append(where.isEmpty() ? problem.message
                                        : QStringLiteral("%1: %2").arg(where, problem.message));
    }
    return messages;
}

QString PolicyEditorPage::uniqueName(Section section, const QString &base) const
{
    const PolicySectionModel *table = model(section);
    QStringList taken;
    for (int row = 0; row < table->rowCount(); ++row)
        taken.append(table->index(row, 0).data().toString());
    for (int n = 1;; ++n) {
        const QString name = QStringLiteral("%1-%2").arg(base).arg(n);
        if (!taken.contains(name))
            return name;
    }
}

QJsonValue PolicyEditorPage::newRow(Section section) const
{
    switch (section) {
    case Routes:
        return QJsonObject{{QStringLiteral("name"), uniqueName(section, QStringLiteral("rule"))},
                           {QStringLiteral("match"), QJsonObject()},
                           {QStringLiteral("targets"), QJsonArray{QStringLiteral("$requested")}}};
    case Models:
        return QJsonObject{{QStringLiteral("id"), uniqueName(section, QStringLiteral("model"))},
                           {QStringLiteral("provider"), QStringLiteral("anthropic")},
                           {QStringLiteral("input"), 1},
                           {QStringLiteral("output"), 5}};
    case Budgets:
        return QJsonObject{{QStringLiteral("name"), uniqueName(section, QStringLiteral("budget"))},
                           {QStringLiteral("window"), QStringLiteral("day")},
                           {QStringLiteral("limit_usd"), 50}};
    case Plans: return QJsonObject{{QStringLiteral("requests_per_hour"), 100}};
    case AlertRules:
        return QJsonObject{{QStringLiteral("kind"), QStringLiteral("error_rate")},
                           {QStringLiteral("threshold"), 0.05},
                           {QStringLiteral("window_seconds"), 300},
                           {QStringLiteral("for_seconds"), 300},
                           {QStringLiteral("severity"), QStringLiteral("warning")},
                           {QStringLiteral("enabled"), true}};
    default: return {};
    }
}

void PolicyEditorPage::addRow(Section section)
{
    PolicySectionModel *table = model(section);
    QString path;
    int row = 0;
    if (table->shape() == PolicySectionModel::Shape::List) {
        // Above the selected rule: a new rule at the end would come after the catch-all.
        const QModelIndex current = view(section)->currentIndex();
        row = current.isValid() ? current.row() : 0;
        QJsonArray rows = policy::valueAtPath(m_document, table->path()).toArray();
        rows.insert(row, newRow(section));
        auto next = policy::withValueAtPath(m_document, table->path(), rows);
        if (next)
            push(tr("Add a row to %1").arg(table->path()), next->toObject());
    } else {
        const QString key =
            uniqueName(section, section == Plans ? QStringLiteral("plan") : QStringLiteral("rule"));
        setValue(policy::memberPath(table->path(), key), newRow(section));
        row = table->rowOf(policy::memberPath(table->path(), key));
    }
    if (row >= 0)
        view(section)->selectRow(row);
}

void PolicyEditorPage::removeRow(Section section, int row)
{
    PolicySectionModel *table = model(section);
    if (row < 0 || row >= table->rowCount())
        return;
    setValue(table->rowPath(row), QJsonValue(QJsonValue::Undefined));
}

void PolicyEditorPage::moveRow(Section section, int from, int to)
{
    PolicySectionModel *table = model(section);
    QJsonArray rows = policy::valueAtPath(m_document, table->path()).toArray();
    if (table->shape() != PolicySectionModel::Shape::List || from < 0 || from >= rows.size())
        return;
    const int target = std::clamp(to > from ? to - 1 : to, 0, int(rows.size()) - 1);
    if (target == from)
        return;
    const QJsonValue moved = rows.takeAt(from);
    rows.insert(target, moved);
    auto next = policy::withValueAtPath(m_document, table->path(), rows);
    if (!next)
        return;
    push(tr("Move %1 from %2 to %3")
             .arg(moved.toObject().value(u"name").toString(table->path()))
             .arg(from + 1)
             .arg(target + 1),
         next->toObject());
    view(section)->selectRow(target);
}

void PolicyEditorPage::revert()
{
    push(tr("Revert to the running policy"), m_running);
}

void PolicyEditorPage::setDocument(const QJsonObject &document)
{
    m_document = document;
    const gateway::GatewayContext *context = m_gateway.context();
    m_problems.clear();
    if (context)
        gateway::editedPolicy(m_document, *context->policy(), &m_problems);
    for (const SectionView &section : m_sections) {
        section.model->setDocument(m_document);
        section.model->setProblems(m_problems);
    }
    showProblems();
    m_diff->setPlainText(diffText());
    updateWidgets();
}

void PolicyEditorPage::showProblems()
{
    static const QStringList tabTitles = {tr("Routing"), tr("Models && prices"),
                                          tr("Plans && limits"), tr("Budgets && alerts"),
                                          tr("Cache && breakers")};
    static const Tab tabOfSection[SectionCount] = {RoutingTab, ModelsTab,  PlansTab,
                                                   PlansTab,   BudgetsTab, BudgetsTab,
                                                   CacheTab,   CacheTab,   CacheTab};
    int perTab[ChangesTab] = {};
    for (int s = 0; s < SectionCount; ++s) {
        const QString text = problemText(Section(s));
        m_sections[s].problems->setText(text);
        m_sections[s].problems->setVisible(!text.isEmpty());
        perTab[tabOfSection[s]] += text.isEmpty() ? 0 : int(text.count(QLatin1Char('\n')) + 1);
    }
    for (int tab = 0; tab < ChangesTab; ++tab)
        m_tabs->setTabText(
            tab, perTab[tab] ? QStringLiteral("%1 (%2)").arg(tabTitles.at(tab)).arg(perTab[tab])
                             : tabTitles.at(tab));
    const qsizetype changed = changes().size();
    m_tabs->setTabText(ChangesTab, changed ? tr("Changes (%1)").arg(changed) : tr("Changes"));
}

QString PolicyEditorPage::problemText(Section section) const
{
    QStringList lines;
    for (const Error &problem : m_problems) {
        if (m_sections[section].model->owns(problem.path))
            lines.append(problem.toString());
    }
    return lines.join(QLatin1Char('\n'));
}

QList<policy::JsonChange> PolicyEditorPage::changes() const
{
    return policy::diffJson(m_running, m_document);
}

QString PolicyEditorPage::diffText() const
{
    const QList<policy::JsonChange> list = changes();
    if (list.isEmpty())
        return tr("No changes: this is the running policy.");
    QStringList lines{tr("%1 against the running policy:").arg(changeCount(list.size()))};
    for (const policy::JsonChange &change : list)
        lines.append(policy::describeChange(change));
    return lines.join(QLatin1Char('\n'));
}

QString PolicyEditorPage::statusText() const
{
    return m_status->text();
}

QString PolicyEditorPage::outcomeText() const
{
    return m_outcome->text();
}

void PolicyEditorPage::updateWidgets()
{
    const qsizetype changed = changes().size();
    QStringList status;
    status.append(changed ? tr("%1 not applied.").arg(changeCount(changed))
                          : tr("The running policy."));
    QStringList elsewhere; // problems no table shows
    for (const Error &problem : m_problems) {
        const bool shown =
            std::any_of(std::begin(m_sections), std::end(m_sections),
                        [&](const SectionView &s) { return s.model->owns(problem.path); });
        if (!shown)
            elsewhere.append(problem.toString());
    }
    if (!m_problems.isEmpty())
        status.append(
            tr("%1: Apply is off until they are fixed.").arg(problemCount(m_problems.size())));
    status += elsewhere;
    m_status->setText(status.join(QLatin1Char(' ')));
    m_status->setStyleSheet(m_problems.isEmpty() ? QString() : QLatin1String(kProblemStyle));
    m_applyAction->setEnabled(m_gateway.isRunning() && changed > 0 && m_problems.isEmpty());
    m_revertAction->setEnabled(changed > 0);
}

void PolicyEditorPage::showOutcome(const QString &text, bool problem)
{
    m_outcome->setText(text);
    m_outcome->setStyleSheet(problem ? QLatin1String(kProblemStyle) : QString());
}

Expected<bool> PolicyEditorPage::apply()
{
    const gateway::GatewayContext *context = m_gateway.context();
    if (!context)
        return Error(tr("The gateway is not running."));
    QList<Error> problems;
    auto next = gateway::editedPolicy(m_document, *context->policy(), &problems);
    QString error = next ? QString() : tr("%1: fix them first.").arg(problemCount(problems.size()));
    const qsizetype changed = changes().size();
    if (next && !m_gateway.applyPolicy(*next, &error))
        next = Error(error);
    if (!next) {
        showOutcome(tr("Not applied, the running policy stays: %1").arg(error), true);
        return Error(error);
    }
    // The running policy as the gateway now spells it: the edited document, defaults filled in.
    m_running = gateway::editablePolicy(*context->policy());
    m_undo->setClean();
    setDocument(m_running);
    showOutcome(tr("Applied %1: in force from the next request.").arg(changeCount(changed)), false);
    Q_EMIT applied();
    return true;
}

Expected<bool> PolicyEditorPage::saveTo(const QString &path)
{
    auto written = gateway::writeEditablePolicyFile(path, m_document);
    if (!written) {
        showOutcome(written.error().toString(), true);
        return written;
    }
    showOutcome(m_problems.isEmpty() ? tr("Saved %1.").arg(path)
                                     : tr("Saved %1, with %2: tollgated would refuse it as it is.")
                                           .arg(path, problemCount(m_problems.size())),
                !m_problems.isEmpty());
    return true;
}

Expected<bool> PolicyEditorPage::openFrom(const QString &path)
{
    QStringList skipped;
    auto read = gateway::readEditablePolicyFile(path, &skipped);
    if (!read) {
        showOutcome(tr("Not opened: %1").arg(read.error().toString()), true);
        return read.error();
    }
    push(tr("Open %1").arg(path), *read);
    QString text = tr("Opened %1; Apply puts it in force.").arg(path);
    if (!skipped.isEmpty())
        text += tr(" Left out, as the server's own: %1.").arg(skipped.join(QStringLiteral(", ")));
    showOutcome(text, false);
    return true;
}

void PolicyEditorPage::openWithDialog()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Open policy"), m_lastFolder,
                                                      tr("Policy files (*.json);;All files (*)"));
    if (path.isEmpty())
        return;
    m_lastFolder = QFileInfo(path).absolutePath();
    openFrom(path);
}

void PolicyEditorPage::saveWithDialog()
{
    QString path = QFileDialog::getSaveFileName(this, tr("Save policy"), m_lastFolder,
                                                tr("Policy files (*.json)"));
    if (path.isEmpty())
        return;
    if (QFileInfo(path).suffix().isEmpty())
        path += QStringLiteral(".json");
    m_lastFolder = QFileInfo(path).absolutePath();
    saveTo(path);
}

void PolicyEditorPage::refreshRunning()
{
    const gateway::GatewayContext *context = m_gateway.context();
    if (!context)
        return;
    const QJsonObject running = gateway::editablePolicy(*context->policy());
    const bool followed = m_document.isEmpty() || m_document == m_running;
    m_running = running;
    setDocument(followed ? running : m_document);
}

void PolicyEditorPage::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    refreshRunning();
}

} // namespace tollgate::ui
