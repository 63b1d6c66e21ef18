#pragma once

#include "common/expected.h"
#include "policy/jsonpath.h"

#include <QJsonObject>
#include <QWidget>

class QAction;
class QLabel;
class QPlainTextEdit;
class QTabWidget;
class QTableView;
class QUndoStack;

namespace tollgate::gateway {
class GatewayThread;
}

namespace tollgate::ui {

class PolicyFormDialog;
class PolicySectionModel;

/// The running policy's editable sections (routing rules, models and prices, plans, budgets,
/// alert rules, cache, retries and breakers) as tables over one JSON document. Every edit is an
/// undoable command; the core checks the whole document after each one and its problems show
/// by their cells and under their tables. "Changes" lists the difference from the running
/// policy, and Apply puts the document in force for the next request, without a restart; the
/// server's own settings (listen address, providers and keys, data folder) are not the
/// editor's and stay. Open and Save read and write policy files.
class PolicyEditorPage : public QWidget {
    Q_OBJECT
public:
    enum Section {
        Routes,
        Models,
        Plans,
        PlanChoice,
        Budgets,
        AlertRules,
        Cache,
        Retries,
        Breakers,
        SectionCount
    };
    enum Tab { RoutingTab, ModelsTab, PlansTab, BudgetsTab, CacheTab, ChangesTab };

    explicit PolicyEditorPage(gateway::GatewayThread &gateway, QWidget *parent = nullptr);

    QJsonObject document() const { return m_document; }
    QJsonObject running() const { return m_running; }
    QUndoStack *undoStack() const { return m_undo; }
    QAction *undoAction() const { return m_undoAction; }
    QAction *redoAction() const { return m_redoAction; }
    QAction *applyAction() const { return m_applyAction; }
    QTabWidget *tabs() const { return m_tabs; }
    PolicySectionModel *model(Section section) const;
    QTableView *view(Section section) const;

    /// Edits, each one a command on the undo stack (what the tables do too).
    Expected<bool> setValue(const QString &path, const QJsonValue &value);
    /// Adds a row above the selected one (lists) or a new named member (plans, alert rules).
    void addRow(Section section);
    void removeRow(Section section, int row);
    /// Moves row `from` so that it lands before row `to` (rowCount(): to the end).
    void moveRow(Section section, int from, int to);
    /// Opens the form of a structured cell (a rule's match, a budget's thresholds), which shows
    /// its problems as it changes; OK makes its value one undoable edit. nullptr, with the reason
    /// in the outcome, for a cell without a form or a value the form cannot show.
    PolicyFormDialog *openForm(Section section, const QModelIndex &index);
    /// Back to the running policy (undoable).
    void revert();

    /// The core's problems with the document, each with its path.
    QList<Error> problems() const { return m_problems; }
    /// The message under a section's table: its problems, one per line; empty when none.
    QString problemText(Section section) const;
    /// The difference from the running policy, and as the Changes tab shows it.
    QList<policy::JsonChange> changes() const;
    QString diffText() const;
    QString statusText() const;
    QString outcomeText() const;

    /// Puts the document in force; refused while it has problems.
    Expected<bool> apply();
    /// Writes the document as a policy file; reads one in as an undoable edit (server sections
    /// in the file are left out, and the outcome says so).
    Expected<bool> saveTo(const QString &path);
    Expected<bool> openFrom(const QString &path);

    /// Rereads the running policy (it may have changed on another page); a document without
    /// changes follows it.
    void refreshRunning();

Q_SIGNALS:
    /// The edited document is in force.
    void applied();

protected:
    void showEvent(QShowEvent *event) override;

private:
    struct SectionView {
        PolicySectionModel *model = nullptr;
        QTableView *view = nullptr;
        QLabel *problems = nullptr;
    };

    void buildTabs();
    QWidget *sectionPanel(Section section, PolicySectionModel *model, const QString &intro,
                          bool rows, bool ordered = false);
    QWidget *tabOf(const QList<QWidget *> &panels);
    void connectModel(PolicySectionModel *model, Section section);
    void push(const QString &text, const QJsonObject &next);
    void setDocument(const QJsonObject &document);
    void renameMember(const QString &path, const QString &newKey);
    /// Says so when gateway keys (which the editor does not change) name `plan`.
    void warnOfKeysOnPlan(const QString &plan);
    /// A cell's edit: a new model id renames the model (and what names it), the rest is set.
    void editCell(const QString &path, const QJsonValue &value);
    QJsonValue newRow(Section section) const;
    /// The texts fieldChoices offers for the value at `path`.
    QStringList choiceTexts(const QString &path) const;
    /// The problems the document would have at `path` (or inside it) with `value` there, each
    /// as "where inside: what".
    QStringList problemsIf(const QString &path, const QJsonValue &value) const;
    QString uniqueName(Section section, const QString &base) const;
    void showProblems();
    void updateWidgets();
    void showOutcome(const QString &text, bool problem);
    void openWithDialog();
    void saveWithDialog();

    gateway::GatewayThread &m_gateway;
    QJsonObject m_running;
    QJsonObject m_document;
    QList<Error> m_problems;
    QUndoStack *m_undo;
    QAction *m_undoAction;
    QAction *m_redoAction;
    QAction *m_applyAction;
    QAction *m_revertAction;
    QAction *m_diffAction;
    QTabWidget *m_tabs;
    QPlainTextEdit *m_diff;
    QLabel *m_status;
    QLabel *m_outcome;
    SectionView m_sections[SectionCount];
    QString m_lastFolder;
};

} // namespace tollgate::ui
