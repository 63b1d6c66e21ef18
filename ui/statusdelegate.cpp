#include "statusdelegate.h"

#include "requestsmodel.h"

#include <QPainter>

namespace tollgate::ui {

QColor StatusDelegate::colour(int statusClass)
{
    // Mid tones with white text: legible on the light and the dark palette alike.
    switch (RequestsModel::StatusClass(statusClass)) {
    case RequestsModel::StatusClass::Success: return QColor(0x2e, 0x7d, 0x32);
    case RequestsModel::StatusClass::CacheHit: return QColor(0x15, 0x65, 0xc0);
    case RequestsModel::StatusClass::ClientError: return QColor(0xb2, 0x6a, 0x00);
    case RequestsModel::StatusClass::Failure: return QColor(0xc6, 0x28, 0x28);
    case RequestsModel::StatusClass::Running: return QColor(0x75, 0x75, 0x75);
    case RequestsModel::StatusClass::None: break;
    }
    return {};
}

void StatusDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option,
                           const QModelIndex &index) const
{
    const QVariant statusClass = index.data(RequestsModel::StatusClassRole);
    if (!statusClass.isValid()) {
        QStyledItemDelegate::paint(painter, option, index);
        return;
    }
    // The row's background and selection first, then the pill over it.
    QStyleOptionViewItem background = option;
    initStyleOption(&background, index);
    background.text.clear();
    QStyle *style = option.widget ? option.widget->style() : nullptr;
    if (style)
        style->drawControl(QStyle::CE_ItemViewItem, &background, painter, option.widget);

    const QString text = index.data(Qt::DisplayRole).toString();
    const QFontMetrics metrics(option.font);
    const int width = metrics.horizontalAdvance(text) + 12;
    const int height = std::min(option.rect.height() - 2, metrics.height() + 2);
    const QRect pill(option.rect.left() + 4, option.rect.center().y() - height / 2 + 1,
                     std::min(width, option.rect.width() - 8), height);
    painter->save();
    painter->setRenderHint(QPainter::Antialiasing);
    painter->setPen(Qt::NoPen);
    painter->setBrush(colour(statusClass.toInt()));
    painter->drawRoundedRect(pill, height / 2.0, height / 2.0);
    painter->setPen(Qt::white);
    painter->drawText(pill, Qt::AlignCenter, text);
    painter->restore();
}

} // namespace tollgate::ui
