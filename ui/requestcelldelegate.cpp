#include "requestcelldelegate.h"

#include <QApplication>
#include <QPainter>

namespace tollgate::ui {

namespace {

QStyle *styleOf(const QStyleOptionViewItem &cell)
{
    return cell.widget ? cell.widget->style() : QApplication::style();
}

QPalette::ColorGroup colourGroup(const QStyleOptionViewItem &cell)
{
    if (!(cell.state & QStyle::State_Enabled))
        return QPalette::Disabled;
    return cell.state & QStyle::State_Active ? QPalette::Normal : QPalette::Inactive;
}

// Where text of `size` goes in `rect` under the cell's alignment.
QPointF placed(const QSizeF &size, const QRect &rect, const QStyleOptionViewItem &cell)
{
    const Qt::Alignment align = QStyle::visualAlignment(cell.direction, cell.displayAlignment);
    qreal x = rect.left();
    if (align & Qt::AlignRight)
        x = rect.left() + rect.width() - size.width();
    else if (align & Qt::AlignHCenter)
        x = rect.left() + (rect.width() - size.width()) / 2;
    qreal y = rect.top() + (rect.height() - size.height()) / 2;
    if (align & Qt::AlignTop)
        y = rect.top();
    else if (align & Qt::AlignBottom)
        y = rect.top() + rect.height() - size.height();
    return {x, y};
}

} // namespace

void RequestCellDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option,
                                const QModelIndex &index) const
{
    QStyleOptionViewItem cell = option;
    initStyleOption(&cell, index);
    // Text of more than one line (a user name with a line break) is laid out by the style, as
    // before: the cache holds single lines.
    if (cell.text.contains(QChar::LineSeparator) || !cell.icon.isNull() ||
        (cell.features & QStyleOptionViewItem::HasCheckIndicator)) {
        QStyledItemDelegate::paint(painter, option, index);
        return;
    }
    drawPanel(painter, cell);
    if (cell.text.isEmpty())
        return;
    // The style's margin, so the text sits where the style would put it.
    const int margin =
        styleOf(cell)->pixelMetric(QStyle::PM_FocusFrameHMargin, nullptr, cell.widget) + 1;
    const QRect textRect = cell.rect.adjusted(margin, 0, -margin, 0);
    const QStaticText *text = &laidOut(cell.text, cell.font);
    if (text->size().width() > textRect.width()) {
        text =
            &laidOut(cell.fontMetrics.elidedText(cell.text, cell.textElideMode, textRect.width()),
                     cell.font);
    }
    painter->save();
    painter->setClipRect(cell.rect);
    painter->setFont(cell.font);
    painter->setPen(textColour(cell));
    painter->drawStaticText(placed(text->size(), textRect, cell), *text);
    painter->restore();
}

void RequestCellDelegate::drawPanel(QPainter *painter, const QStyleOptionViewItem &cell)
{
    QStyle *style = styleOf(cell);
    style->drawPrimitive(QStyle::PE_PanelItemViewItem, &cell, painter, cell.widget);
    if (!(cell.state & QStyle::State_HasFocus))
        return;
    QStyleOptionFocusRect focus;
    focus.QStyleOption::operator=(cell);
    focus.rect = style->subElementRect(QStyle::SE_ItemViewItemFocusRect, &cell, cell.widget);
    focus.state |= QStyle::State_KeyboardFocusChange | QStyle::State_Item;
    focus.backgroundColor = cell.palette.color(
        colourGroup(cell),
        cell.state & QStyle::State_Selected ? QPalette::Highlight : QPalette::Window);
    style->drawPrimitive(QStyle::PE_FrameFocusRect, &focus, painter, cell.widget);
}

QColor RequestCellDelegate::textColour(const QStyleOptionViewItem &cell)
{
    return cell.palette.color(colourGroup(cell), cell.state & QStyle::State_Selected
                                                     ? QPalette::HighlightedText
                                                     : QPalette::Text);
}

const QStaticText &RequestCellDelegate::laidOut(const QString &text, const QFont &font) const
{
    if (font != m_font) {
        // Text laid out in another font would be laid out again on every draw.
        m_current.clear();
        m_previous.clear();
        m_font = font;
    }
    const auto found = m_current.constFind(text);
    if (found != m_current.constEnd())
        return *found;
    // Two generations: the strings of the last few thousand stay laid out, and the cache is never
    // emptied all at once (a repaint after that would lay out every cell again).
    if (m_current.size() >= kLaidOutStrings) {
        m_previous = std::move(m_current);
        m_current.clear();
    }
    const auto earlier = m_previous.constFind(text);
    if (earlier != m_previous.constEnd())
        return *m_current.insert(text, *earlier);
    QStaticText laid(text);
    laid.setTextFormat(Qt::PlainText);
    laid.prepare(QTransform(), font);
    ++m_layouts;
    return *m_current.insert(text, laid);
}

} // namespace tollgate::ui
