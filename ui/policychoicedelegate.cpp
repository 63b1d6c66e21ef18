#include "policychoicedelegate.h"

#include "policysectionmodel.h"

#include <QCheckBox>
#include <QComboBox>

namespace tollgate::ui {

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

void PolicyChoiceDelegate::setEditorData(QWidget *editor, const QModelIndex &index) const
{
    const QString current = index.data(Qt::EditRole).toString();
    if (auto *box = qobject_cast<QCheckBox *>(editor))
        box->setChecked(current == QLatin1String("true"));
    else if (auto *combo = qobject_cast<QComboBox *>(editor))
        combo->setCurrentText(current);
    else
        QStyledItemDelegate::setEditorData(editor, index);
}

void PolicyChoiceDelegate::setModelData(QWidget *editor, QAbstractItemModel *model,
                                        const QModelIndex &index) const
{
    if (auto *box = qobject_cast<QCheckBox *>(editor))
        model->setData(index, box->isChecked() ? QStringLiteral("true") : QStringLiteral("false"));
    else if (auto *combo = qobject_cast<QComboBox *>(editor))
        model->setData(index, combo->currentText());
    else
        QStyledItemDelegate::setModelData(editor, model, index);
}

} // namespace tollgate::ui
