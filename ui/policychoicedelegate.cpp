#include "policychoicedelegate.h"

#include "policysectionmodel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QEvent>

namespace tollgate::ui {

namespace {

// The check state a switch's editor opened with.
constexpr const char *kShownState = "tollgateShownState";

} // namespace

QWidget *PolicyChoiceDelegate::createEditor(QWidget *parent, const QStyleOptionViewItem &option,
                                            const QModelIndex &index) const
{
    if (index.data(PolicySectionModel::BooleanRole).toBool()) {
        auto *box = new QCheckBox(parent);
        // Covers the cell's own "true"/"false", which would show through beside the box.
        box->setAutoFillBackground(true);
        return box;
    }
    const QStringList choices = index.data(PolicySectionModel::ChoicesRole).toStringList();
    if (choices.isEmpty())
        return QStyledItemDelegate::createEditor(parent, option, index);
    auto *combo = new QComboBox(parent);
    combo->setEditable(index.data(PolicySectionModel::OpenChoiceRole).toBool());
    combo->setInsertPolicy(QComboBox::NoInsert);
    // A value outside the set (a typo in a file) stays offered, so opening the editor does not
    // change it.
    const QString current = index.data(Qt::EditRole).toString();
    if (!current.isEmpty() && !choices.contains(current))
        combo->addItem(current);
    combo->addItems(choices);
    return combo;
}

bool PolicyChoiceDelegate::editorEvent(QEvent *event, QAbstractItemModel *model,
                                       const QStyleOptionViewItem &option, const QModelIndex &index)
{
    if (event->type() == QEvent::MouseButtonDblClick &&
        index.data(PolicySectionModel::FormRole).toBool()) {
        Q_EMIT formRequested(index);
        return true; // no editor in the cell
    }
    return QStyledItemDelegate::editorEvent(event, model, option, index);
}

void PolicyChoiceDelegate::setEditorData(QWidget *editor, const QModelIndex &index) const
{
    const QString current = index.data(Qt::EditRole).toString();
    if (auto *box = qobject_cast<QCheckBox *>(editor)) {
        // An absent switch means its default, which this delegate does not know: it shows half
        // checked until clicked, and leaving it so writes nothing.
        box->setTristate(current.isEmpty());
        box->setCheckState(current.isEmpty()                  ? Qt::PartiallyChecked
                           : current == QLatin1String("true") ? Qt::Checked
                                                              : Qt::Unchecked);
        box->setProperty(kShownState, int(box->checkState()));
    } else if (auto *combo = qobject_cast<QComboBox *>(editor))
        combo->setCurrentText(current);
    else
        QStyledItemDelegate::setEditorData(editor, index);
}

void PolicyChoiceDelegate::setModelData(QWidget *editor, QAbstractItemModel *model,
                                        const QModelIndex &index) const
{
    if (auto *box = qobject_cast<QCheckBox *>(editor)) {
        // Only a change the user made is an edit.
        const Qt::CheckState state = box->checkState();
        if (state == Qt::PartiallyChecked || int(state) == box->property(kShownState).toInt())
            return;
        model->setData(index,
                       state == Qt::Checked ? QStringLiteral("true") : QStringLiteral("false"));
    } else if (auto *combo = qobject_cast<QComboBox *>(editor))
        model->setData(index, combo->currentText());
    else
        QStyledItemDelegate::setModelData(editor, model, index);
}

} // namespace tollgate::ui
