#include "policyeditcommand.h"

namespace tollgate::ui {

PolicyEditCommand::PolicyEditCommand(const QString &text, QJsonObject before, QJsonObject after,
                                     Setter set)
    : QUndoCommand(text)
    , m_before(std::move(before))
    , m_after(std::move(after))
    , m_set(std::move(set))
{
}

void PolicyEditCommand::undo()
{
    m_set(m_before);
}

void PolicyEditCommand::redo()
{
    m_set(m_after);
}

} // namespace tollgate::ui
