#pragma once

#include "requestcelldelegate.h"

namespace tollgate::ui {

/// Draws the request log's status as a coloured pill: green 2xx, amber 4xx, red 5xx and failures,
/// blue for a cache hit, grey while running; the colour comes from the model's StatusClassRole.
class StatusDelegate : public RequestCellDelegate {
    Q_OBJECT
public:
    using RequestCellDelegate::RequestCellDelegate;

    void paint(QPainter *painter, const QStyleOptionViewItem &option,
               const QModelIndex &index) const override;
    /// The pill colour of a status class (RequestsModel::StatusClass).
    static QColor colour(int statusClass);
};

} // namespace tollgate::ui
