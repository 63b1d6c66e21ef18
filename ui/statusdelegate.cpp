#include "statusdelegate.h"

#include "requestsmodel.h"

#include <QPainter>
#include <QtMath>

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
        RequestCellDelegate::paint(painter, option, index);
        return;
    }
    // The row's background and selection first, then the pill over it.
    QStyleOptionViewItem cell = option;
    initStyleOption(&cell, index);
    drawPanel(painter, cell);

    const QStaticText &text = laidOut(cell.text, cell.font);
    const int width = qCeil(text.size().width()) + 12;
    const int height = std::min(cell.rect.height() - 2, cell.fontMetrics.height() + 2);
    const QRect pill(cell.rect.left() + 4, cell.rect.center().y() - height / 2 + 1,
                     std::min(width, cell.rect.width() - 8), height);
    painter->save();
    painter->setRenderHint(QPainter::Antialiasing);
    painter->setPen(Qt::NoPen);
    painter->setBrush(colour(statusClass.toInt()));
    painter->drawRoundedRect(pill, height / 2.0, height / 2.0);
    painter->setClipRect(pill);
    painter->setFont(cell.font);
    painter->setPen(Qt::white);
    const QSizeF size = text.size();
    painter->drawStaticText(QPointF(pill.left() + (pill.width() - size.width()) / 2,
                                    pill.top() + (pill.height() - size.height()) / 2),
                            text);
    painter->restore();
}

} // namespace tollgate::ui
