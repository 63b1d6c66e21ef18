#pragma once

#include <QFont>
#include <QHash>
#include <QStaticText>
#include <QStyledItemDelegate>

namespace tollgate::ui {

/// Draws a request log cell: the row's background, selection and focus frame as the style does,
/// and the cell's text, elided at the right, from text laid out once per distinct string.
///
/// The live tail brings new rows to the top on every feed tick, so each repaint shows new cells;
/// the style's own text drawing lays every cell out three times (size, elision, paint), shaping
/// it with HarfBuzz each time, which made the repaint the costliest work of the console at
/// 5,000 req/s. Most cells repeat a string seen before (a model, a user, a status, a token count),
/// so a cache of laid-out strings leaves the shaping to the few that are new.
class RequestCellDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    /// Distinct strings kept laid out, twice over (the current generation and the one before).
    static constexpr int kLaidOutStrings = 2048;

    using QStyledItemDelegate::QStyledItemDelegate;

    void paint(QPainter *painter, const QStyleOptionViewItem &option,
               const QModelIndex &index) const override;

    /// Strings laid out so far (tests check the cache is used and bounded).
    int laidOutCount() const { return int(m_current.size() + m_previous.size()); }
    /// Times a string had to be laid out afresh.
    quint64 layoutCount() const { return m_layouts; }

protected:
    /// The cell's background, selection and focus frame, as QStyle draws an item view item.
    static void drawPanel(QPainter *painter, const QStyleOptionViewItem &cell);
    /// The pen of the cell's text, as QStyle picks it for the cell's state.
    static QColor textColour(const QStyleOptionViewItem &cell);
    /// `text` laid out in `font`; valid until the next call.
    const QStaticText &laidOut(const QString &text, const QFont &font) const;

private:
    mutable QHash<QString, QStaticText> m_current;
    mutable QHash<QString, QStaticText> m_previous;
    mutable QFont m_font;
    mutable quint64 m_layouts = 0;
};

} // namespace tollgate::ui
