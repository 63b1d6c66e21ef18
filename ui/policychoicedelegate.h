#pragma once

#include <QStyledItemDelegate>

namespace tollgate::ui {

/// Edits a policy cell whose values are a fixed set as a combo box of them (one that takes other
/// text too where the field allows it: a chain of targets, a scope by team or user) and a switch
/// as a check box; other cells as text. What the set is comes from the model's choice roles.
/// A structure (FormRole) opens its form on a double-click; F2 still edits its JSON in the cell.
class PolicyChoiceDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;

    QWidget *createEditor(QWidget *parent, const QStyleOptionViewItem &option,
                          const QModelIndex &index) const override;
    void setEditorData(QWidget *editor, const QModelIndex &index) const override;
    void setModelData(QWidget *editor, QAbstractItemModel *model,
                      const QModelIndex &index) const override;

Q_SIGNALS:
    /// A Form cell was double-clicked: it is edited in a form, not in the cell.
    void formRequested(const QModelIndex &index);

protected:
    bool editorEvent(QEvent *event, QAbstractItemModel *model, const QStyleOptionViewItem &option,
                     const QModelIndex &index) override;
};

} // namespace tollgate::ui
