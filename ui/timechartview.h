#pragma once

#include <QChartView>

namespace tollgate::ui {

/// A chart over wall-clock time that reports where the pointer is in time, so the page can say
/// what happened then (hover) and open the requests of that moment (click).
class TimeChartView : public QChartView {
    Q_OBJECT
public:
    explicit TimeChartView(QChart *chart, QWidget *parent = nullptr);

    /// The time under a point of the view, ms since epoch; -1 outside the plot area.
    qint64 timeAt(const QPoint &position) const;

Q_SIGNALS:
    void hovered(qint64 atMs, const QPoint &globalPosition);
    void clicked(qint64 atMs);

protected:
    void mouseMoveEvent(QMouseEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
};

} // namespace tollgate::ui
