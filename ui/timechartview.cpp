#include "timechartview.h"

#include <QMouseEvent>
#include <QToolTip>

#include <cmath>

namespace tollgate::ui {

TimeChartView::TimeChartView(QChart *chart, QWidget *parent)
    : QChartView(chart, parent)
{
    setRenderHint(QPainter::Antialiasing);
    setMouseTracking(true);
    setCursor(Qt::CrossCursor);
}

qint64 TimeChartView::timeAt(const QPoint &position) const
{
    const QPointF scene = mapToScene(position);
    if (!chart()->plotArea().contains(chart()->mapFromScene(scene)))
        return -1;
    if (chart()->series().isEmpty())
        return -1;
    // Every series of a time chart shares the time axis, so the first one maps for all.
    const QPointF value =
        chart()->mapToValue(chart()->mapFromScene(scene), chart()->series().first());
    return std::isfinite(value.x()) ? qint64(std::llround(value.x())) : -1;
}

void TimeChartView::mouseMoveEvent(QMouseEvent *event)
{
    QChartView::mouseMoveEvent(event);
    const qint64 at = timeAt(event->position().toPoint());
    if (at < 0) {
        QToolTip::hideText();
        return;
    }
    Q_EMIT hovered(at, event->globalPosition().toPoint());
}

void TimeChartView::mousePressEvent(QMouseEvent *event)
{
    QChartView::mousePressEvent(event);
    if (event->button() != Qt::LeftButton)
        return;
    const qint64 at = timeAt(event->position().toPoint());
    if (at >= 0)
        Q_EMIT clicked(at);
}

} // namespace tollgate::ui
