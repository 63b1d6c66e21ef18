#pragma once

#include "common/expected.h"
#include "metering/trafficseries.h"

#include <QList>
#include <QPointF>
#include <QWidget>

#include <array>
#include <functional>
#include <vector>

class QButtonGroup;
class QChart;
class QDateTimeAxis;
class QLabel;
class QLineSeries;
class QTimer;
class QValueAxis;

namespace tollgate::ui {

class SimulatedBanner;
class TimeChartView;

/// The charts: cost, latency, errors, requests by model, cache hits and tokens over the last
/// 5 minutes, hour, day or week. Each redraw reads one window of the traffic series (a copy of
/// at most a few hundred buckets), once a second while the page is shown, however many requests
/// pass, and plots the charts one a frame. Hovering a chart tells what happened in that bucket;
/// clicking it asks for its requests.
class DashboardPage : public QWidget {
    Q_OBJECT
public:
    using Clock = std::function<qint64()>; ///< wall clock, ms since epoch
    using Window = metering::TrafficSeries::Window;

    enum Chart { Cost, Latency, Errors, RequestsByModel, CacheHits, Tokens, ChartCount };
    /// The models drawn by name in the requests chart; the rest are summed as "other".
    static constexpr int kModelLines = 5;
    static constexpr int kRedrawIntervalMs = 1000;
    /// While traffic passes the charts are redrawn one after the other, this far apart: each is
    /// painted in a frame of its own.
    static constexpr int kChartStepMs = 16;

    DashboardPage(const metering::TrafficSeries &traffic, Clock clock, QWidget *parent = nullptr);

    void setWindow(Window window);
    Window window() const { return m_window; }
    /// Reads the window again and redraws every chart at once.
    void refresh();
    void setSimulated(bool simulated);

    QChart *chart(Chart chart) const;
    TimeChartView *chartView(Chart chart) const;
    /// What was drawn last: the window's buckets and totals.
    const metering::TrafficSeries::WindowPoints &shown() const { return m_shown; }
    /// The bucket holding `atMs` among those drawn; -1 when none does.
    int bucketAt(qint64 atMs) const;
    /// What hovering the bucket shows.
    QString describeBucket(int bucket) const;
    /// The drawn window as CSV, or a PNG of the charts; the path written, or the problem.
    Expected<QString> exportCsv(const QString &path);
    Expected<QString> exportPng(const QString &path);

Q_SIGNALS:
    /// A click on a chart: the requests that completed in [fromMs, toMs).
    void requestsOfMomentWanted(qint64 fromMs, qint64 toMs);

protected:
    void showEvent(QShowEvent *event) override;
    void hideEvent(QHideEvent *event) override;
    void changeEvent(QEvent *event) override;

private:
    struct ChartParts {
        QChart *chart = nullptr;
        TimeChartView *view = nullptr;
        QDateTimeAxis *time = nullptr;
        QValueAxis *left = nullptr;
        QValueAxis *right = nullptr; // for the charts with a second unit
        QList<QLineSeries *> series;
        QList<QValueAxis *> ratioAxes; // in percent
    };

    QWidget *buildToolbar();
    void addChart(Chart chart, const QString &title, const QStringList &leftSeries,
                  const QString &leftUnit, const QStringList &rightSeries = {},
                  const QString &rightUnit = {});
    /// The points of each line of a chart, in the order the chart's series were added.
    using Lines = std::vector<QList<QPointF>>;
    /// The live redraw: reads the window, then plots the charts a step apart.
    void redraw();
    void plotNext();
    /// Plots at once the charts the live redraw has not reached yet.
    void finishRedraw();
    /// Reads the window (m_shown) and shows its totals.
    void read();
    void plot(Chart chart);
    Lines costLines() const;
    Lines latencyLines() const;
    Lines errorLines() const;
    Lines requestsByModelLines(); // also names and shows the models' series
    Lines cacheLines() const;
    Lines tokenLines() const;
    void plot(ChartParts &parts, const Lines &lines);
    static double largest(const ChartParts &parts, const Lines &lines, QValueAxis *axis);
    void setTimeAxis(ChartParts &parts) const;
    void setValueAxis(const ChartParts &parts, QValueAxis *axis, double top);
    void applyChartTheme();
    void showBucket(qint64 atMs, const QPoint &globalPosition);
    void openBucket(qint64 atMs);
    void chooseFileAndExport(const QString &title, const QString &suggestedName,
                             const QString &filter,
                             Expected<QString> (DashboardPage::*save)(const QString &));
    /// Seconds a bucket's rates are divided by: its width, or the part of the live bucket
    /// already elapsed.
    double bucketSeconds(const metering::TrafficSeries::Point &point) const;

    const metering::TrafficSeries &m_traffic;
    Clock m_clock;
    Window m_window = Window::FiveMinutes;
    metering::TrafficSeries::WindowPoints m_shown;
    qint64 m_shownAtMs = 0;
    std::array<ChartParts, ChartCount> m_charts;
    QButtonGroup *m_windows;
    QLabel *m_summary;
    SimulatedBanner *m_simulatedBanner;
    QWidget *m_grid;
    QTimer *m_redraw;
    QTimer *m_nextChart;
    int m_nextToPlot = ChartCount;
    QValueAxis *m_niceNumbers; ///< in no chart: works out the value axes' nice ranges
};

} // namespace tollgate::ui
