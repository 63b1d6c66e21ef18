#pragma once

#include <QJsonObject>
#include <QUndoCommand>

#include <functional>

namespace tollgate::ui {

/// One edit of the policy document in the editor's undo history. It keeps the document before
/// and after (JSON values share their data, so a copy is cheap) rather than replaying the
/// operation: undoing a cell edit, a reorder or a whole opened file is the same act.
class PolicyEditCommand : public QUndoCommand {
public:
    using Setter = std::function<void(const QJsonObject &)>;

    PolicyEditCommand(const QString &text, QJsonObject before, QJsonObject after, Setter set);

    void undo() override;
    void redo() override;

private:
    QJsonObject m_before;
    QJsonObject m_after;
    Setter m_set;
};

} // namespace tollgate::ui
