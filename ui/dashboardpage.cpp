#include "dashboardpage.h"

#include "format.h"
#include "simulatedbanner.h"
#include "timechartview.h"

#include "metering/trafficcsv.h"

#include <QButtonGroup>
#include <QChart>
#include <QDateTime>
#include <QDateTimeAxis>
#include <QEvent>
#include <QFile>
#include <QFileDialog>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineSeries>
#include <QPushButton>
#include <QSaveFile>
#include <QScrollArea>
#include <QTimer>
#include <QToolButton>
#include <QToolTip>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

namespace tollgate::ui {

namespace {

using metering::TrafficSeries;
using Point = TrafficSeries::Point;

constexpr int kColumns = 2;
// The unit of the axes that show a ratio in percent, never above 100.
constexpr QLatin1String kPercent("%");

struct WindowChoice {
    TrafficSeries::Window window;
    const char *label;
    const char *timeFormat; // the time axis' labels
};
constexpr std::array<WindowChoice, TrafficSeries::kWindowCount> kWindowChoices{{
    {TrafficSeries::Window::FiveMinutes, "5 min", "HH:mm:ss"},
    {TrafficSeries::Window::OneHour, "1 h", "HH:mm"},
    {TrafficSeries::Window::OneDay, "24 h", "HH:mm"},
    {TrafficSeries::Window::SevenDays, "7 d", "ddd HH:mm"},
}};

// The middle of a bucket: where its value is drawn.
double middle(const Point &point)
{
    return double(point.startMs + point.endMs) / 2;
}

QString timeRange(qint64 fromMs, qint64 toMs, qint64 bucketMs)
{
    const QString format = bucketMs < 60000 ? QStringLiteral("HH:mm:ss") : QStringLiteral("HH:mm");
    const QDateTime from = QDateTime::fromMSecsSinceEpoch(fromMs);
    const QString day = from.date() == QDate::currentDate()
                            ? QString()
                            : from.toString(QStringLiteral("ddd d MMM "));
    return day + from.toString(format) + QStringLiteral("–") +
           QDateTime::fromMSecsSinceEpoch(toMs).toString(format);
}

} // namespace

DashboardPage::DashboardPage(const TrafficSeries &traffic, Clock clock, QWidget *parent)
    : QWidget(parent)
    , m_traffic(traffic)
    , m_clock(std::move(clock))
    , m_windows(new QButtonGroup(this))
    , m_summary(new QLabel(this))
    , m_simulatedBanner(new SimulatedBanner(this))
    , m_grid(new QWidget(this))
    , m_redraw(new QTimer(this))
    , m_nextChart(new QTimer(this))
    , m_niceNumbers(new QValueAxis(this))
{
    auto *grid = new QGridLayout(m_grid);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->setSpacing(6);
    addChart(Cost, tr("Cost"), {tr("per minute")}, tr("$/min"), {tr("cumulative")}, tr("$"));
    addChart(Latency, tr("Latency"), {tr("p50"), tr("p95"), tr("p99"), tr("first token p50")},
             tr("ms"));
    addChart(Errors, tr("Error rate"), {tr("errors")}, kPercent);
    QStringList models;
    for (int i = 0; i < kModelLines; ++i)
        models.append(QString());
    models.append(tr("other"));
    addChart(RequestsByModel, tr("Requests per second by model"), models, tr("req/s"));
    addChart(CacheHits, tr("Cache"), {tr("hits per second")}, tr("hits/s"), {tr("hit ratio")},
             kPercent);
    addChart(Tokens, tr("Tokens per second"), {tr("in"), tr("out")}, tr("tokens/s"));
    for (int chart = 0; chart < ChartCount; ++chart)
        grid->addWidget(m_charts[size_t(chart)].view, chart / kColumns, chart % kColumns);

    auto *scroll = new QScrollArea(this);
    scroll->setWidget(m_grid);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(buildToolbar());
    layout->addWidget(m_simulatedBanner);
    layout->addWidget(scroll, 1);

    m_redraw->setInterval(kRedrawIntervalMs);
    connect(m_redraw, &QTimer::timeout, this, &DashboardPage::redraw);
    m_nextChart->setSingleShot(true);
    m_nextChart->setInterval(kChartStepMs);
    connect(m_nextChart, &QTimer::timeout, this, &DashboardPage::plotNext);
    applyChartTheme();
    refresh();
}

QWidget *DashboardPage::buildToolbar()
{
    auto *bar = new QWidget(this);
    auto *layout = new QHBoxLayout(bar);
    layout->setContentsMargins(0, 0, 0, 0);
    for (const WindowChoice &choice : kWindowChoices) {
        auto *button = new QToolButton(bar);
        button->setText(tr(choice.label));
        button->setCheckable(true);
        button->setChecked(choice.window == m_window);
        button->setToolTip(tr("Show the last %1").arg(tr(choice.label)));
        m_windows->addButton(button, int(choice.window));
        layout->addWidget(button);
    }
    m_windows->setExclusive(true);
    connect(m_windows, &QButtonGroup::idClicked, this,
            [this](int window) { setWindow(Window(window)); });
    layout->addSpacing(12);
    layout->addWidget(m_summary, 1);
    auto *csv = new QPushButton(tr("Export CSV…"), bar);
    connect(csv, &QPushButton::clicked, this, [this] {
        chooseFileAndExport(tr("Export the charts' data"), QStringLiteral("tollgate-traffic.csv"),
                            tr("CSV files (*.csv)"), &DashboardPage::exportCsv);
    });
    auto *png = new QPushButton(tr("Export PNG…"), bar);
    connect(png, &QPushButton::clicked, this, [this] {
        chooseFileAndExport(tr("Export the charts as a picture"),
                            QStringLiteral("tollgate-charts.png"), tr("PNG images (*.png)"),
                            &DashboardPage::exportPng);
    });
    layout->addWidget(csv);
    layout->addWidget(png);
    return bar;
}

void DashboardPage::addChart(Chart which, const QString &title, const QStringList &leftSeries,
                             const QString &leftUnit, const QStringList &rightSeries,
                             const QString &rightUnit)
{
    ChartParts &parts = m_charts[size_t(which)];
    parts.chart = new QChart;
    parts.chart->setTitle(title);
    parts.chart->setAnimationOptions(QChart::NoAnimation); // a live chart must not lag
    parts.chart->legend()->setAlignment(Qt::AlignBottom);
    parts.chart->setMargins(QMargins(4, 4, 4, 4));
    parts.time = new QDateTimeAxis(parts.chart);
    parts.time->setTickCount(6);
    parts.chart->addAxis(parts.time, Qt::AlignBottom);
    const auto addValueAxis = [&parts](const QString &unit, Qt::Alignment side) {
        auto *axis = new QValueAxis(parts.chart);
        axis->setTitleText(unit);
        axis->setLabelFormat(QStringLiteral("%.4g"));
        if (unit == kPercent)
            parts.ratioAxes.append(axis);
        parts.chart->addAxis(axis, side);
        return axis;
    };
    parts.left = addValueAxis(leftUnit, Qt::AlignLeft);
    if (!rightSeries.isEmpty())
        parts.right = addValueAxis(rightUnit, Qt::AlignRight);
    const auto add = [&parts](const QString &name, QValueAxis *axis) {
        auto *line = new QLineSeries(parts.chart);
        line->setName(name);
        parts.chart->addSeries(line);
        line->attachAxis(parts.time);
        line->attachAxis(axis);
        parts.series.append(line);
    };
    for (const QString &name : leftSeries)
        add(name, parts.left);
    for (const QString &name : rightSeries)
        add(name, parts.right);
    parts.view = new TimeChartView(parts.chart, m_grid);
    parts.view->setMinimumHeight(220);
    parts.view->setObjectName(QStringLiteral("chart%1").arg(int(which)));
    connect(parts.view, &TimeChartView::hovered, this, &DashboardPage::showBucket);
    connect(parts.view, &TimeChartView::clicked, this, &DashboardPage::openBucket);
}

void DashboardPage::setWindow(Window window)
{
    m_window = window;
    if (QAbstractButton *button = m_windows->button(int(window)))
        button->setChecked(true);
    refresh();
}

void DashboardPage::refresh()
{
    read();
    m_nextToPlot = 0;
    finishRedraw();
}

void DashboardPage::redraw()
{
    // All six charts at once take about 10 ms of the GUI thread between their new points and
    // their paint (bench/RESULTS.md); a chart a step, each painted before the next, keeps every
    // frame short while the charts still move together, within a tenth of a second.
    read();
    m_nextToPlot = 0;
    plotNext();
}

void DashboardPage::plotNext()
{
    plot(Chart(m_nextToPlot++));
    if (m_nextToPlot < ChartCount)
        m_nextChart->start();
}

void DashboardPage::finishRedraw()
{
    m_nextChart->stop();
    while (m_nextToPlot < ChartCount)
        plot(Chart(m_nextToPlot++));
}

void DashboardPage::read()
{
    m_shownAtMs = m_clock();
    m_shown = m_traffic.points(m_window, m_shownAtMs);
    const Point &totals = m_shown.totals;
    m_summary->setText(tr("%1 requests · %2 · p95 %3 · %4 errors")
                           .arg(count(qint64(totals.requests)), usd(totals.costUsd),
                                milliseconds(totals.latencyP95Ms), percent(totals.errorRate())));
}

void DashboardPage::plot(Chart chart)
{
    ChartParts &parts = m_charts[size_t(chart)];
    switch (chart) {
    case Cost: return plot(parts, costLines());
    case Latency: return plot(parts, latencyLines());
    case Errors: return plot(parts, errorLines());
    case RequestsByModel: return plot(parts, requestsByModelLines());
    case CacheHits: return plot(parts, cacheLines());
    case Tokens: return plot(parts, tokenLines());
    case ChartCount: break;
    }
}

double DashboardPage::bucketSeconds(const Point &point) const
{
    const qint64 width = point.endMs - point.startMs;
    const qint64 elapsed = std::clamp<qint64>(m_shownAtMs - point.startMs, 1000, width);
    return double(elapsed) / 1000;
}

DashboardPage::Lines DashboardPage::costLines() const
{
    Lines lines(2); // per minute, cumulative
    double total = 0;
    for (const Point &point : m_shown.points) {
        total += point.costUsd;
        lines[0].append({middle(point), point.costUsd * 60 / bucketSeconds(point)});
        lines[1].append({middle(point), total});
    }
    return lines;
}

DashboardPage::Lines DashboardPage::latencyLines() const
{
    // A bucket without requests has no latency: no point rather than a false zero.
    Lines lines(4); // p50, p95, p99, first token p50
    for (const Point &point : m_shown.points) {
        const double x = middle(point);
        if (point.requests == 0)
            continue;
        lines[0].append({x, point.latencyP50Ms});
        lines[1].append({x, point.latencyP95Ms});
        lines[2].append({x, point.latencyP99Ms});
        if (!std::isnan(point.ttftP50Ms))
            lines[3].append({x, point.ttftP50Ms});
    }
    return lines;
}

DashboardPage::Lines DashboardPage::errorLines() const
{
    Lines lines(1);
    for (const Point &point : m_shown.points) {
        if (point.requests > 0)
            lines[0].append({middle(point), point.errorRate() * 100});
    }
    return lines;
}

DashboardPage::Lines DashboardPage::requestsByModelLines()
{
    // The window's busiest models get a line each; the bucket's other requests sum into one.
    QStringList named;
    for (const TrafficSeries::ModelCount &model : m_shown.totals.models) {
        if (named.size() == kModelLines)
            break;
        named.append(model.model);
    }
    Lines lines(kModelLines + 1);
    for (const Point &point : m_shown.points) {
        const double x = middle(point);
        const double seconds = bucketSeconds(point);
        quint64 other = point.otherModelRequests;
        std::array<quint64, kModelLines> requests{};
        for (const TrafficSeries::ModelCount &model : point.models) {
            const qsizetype index = named.indexOf(model.model);
            if (index >= 0)
                requests[size_t(index)] = model.requests;
            else
                other += model.requests;
        }
        for (int i = 0; i < named.size(); ++i)
            lines[size_t(i)].append({x, double(requests[size_t(i)]) / seconds});
        lines[kModelLines].append({x, double(other) / seconds});
    }
    const QList<QLineSeries *> &series = m_charts[RequestsByModel].series;
    for (int i = 0; i < kModelLines; ++i) {
        const bool used = i < named.size();
        series[i]->setVisible(used);
        series[i]->setName(used ? named[i] : QString());
    }
    // "other" only when some requests fall outside the named lines.
    const QList<QPointF> &other = lines[kModelLines];
    series[kModelLines]->setVisible(
        std::any_of(other.cbegin(), other.cend(), [](const QPointF &p) { return p.y() > 0; }));
    return lines;
}

DashboardPage::Lines DashboardPage::cacheLines() const
{
    Lines lines(2); // hits per second, hit ratio
    for (const Point &point : m_shown.points) {
        const double x = middle(point);
        lines[0].append({x, double(point.cacheHits) / bucketSeconds(point)});
        if (point.requests > 0)
            lines[1].append({x, point.cacheHitRate() * 100});
    }
    return lines;
}

DashboardPage::Lines DashboardPage::tokenLines() const
{
    Lines lines(2); // in, out
    for (const Point &point : m_shown.points) {
        const double x = middle(point);
        const double seconds = bucketSeconds(point);
        lines[0].append({x, double(point.inputTokens) / seconds});
        lines[1].append({x, double(point.outputTokens) / seconds});
    }
    return lines;
}

void DashboardPage::plot(ChartParts &parts, const Lines &lines)
{
    Q_ASSERT(lines.size() == size_t(parts.series.size()));
    // Qt Charts maps and strokes every line of a chart again at once on each change of an axis'
    // range, and the time axis moves on every redraw. So the lines are emptied first, the axes
    // set while there is nothing to lay out, and each line laid out once, on its final axes.
    for (QLineSeries *line : parts.series)
        line->clear();
    setTimeAxis(parts);
    for (QValueAxis *axis : {parts.left, parts.right}) {
        if (axis)
            setValueAxis(parts, axis, largest(parts, lines, axis));
    }
    for (qsizetype i = 0; i < parts.series.size(); ++i)
        parts.series[i]->replace(lines[size_t(i)]);
}

double DashboardPage::largest(const ChartParts &parts, const Lines &lines, QValueAxis *axis)
{
    double top = 0;
    for (qsizetype i = 0; i < parts.series.size(); ++i) {
        QLineSeries *line = parts.series[i];
        if (!line->isVisible() || !line->attachedAxes().contains(axis))
            continue;
        for (const QPointF &p : lines[size_t(i)])
            top = std::max(top, p.y());
    }
    return top;
}

void DashboardPage::setTimeAxis(ChartParts &parts) const
{
    if (!m_shown.points.isEmpty()) {
        parts.time->setRange(QDateTime::fromMSecsSinceEpoch(m_shown.points.first().startMs),
                             QDateTime::fromMSecsSinceEpoch(m_shown.points.last().endMs));
    }
    for (const WindowChoice &choice : kWindowChoices) {
        if (choice.window == m_window)
            parts.time->setFormat(QString::fromLatin1(choice.timeFormat));
    }
}

void DashboardPage::setValueAxis(const ChartParts &parts, QValueAxis *axis, double top)
{
    // Qt's nice numbers, worked out on an axis that no chart shows: a chart's axis lays its
    // labels out again on every change of range, and setRange() then applyNiceNumbers() on it
    // did that twice a second per axis while traffic passed, even when the nice range came out
    // the same (bench/RESULTS.md, GUI under load). Unchanged, it is left alone.
    m_niceNumbers->setTickCount(axis->tickCount());
    m_niceNumbers->setRange(0, top > 0 ? top * 1.1 : 1);
    m_niceNumbers->applyNiceNumbers();
    double min = m_niceNumbers->min();
    double max = m_niceNumbers->max();
    int ticks = m_niceNumbers->tickCount();
    if (parts.ratioAxes.contains(axis) && max > 100) {
        min = 0; // a ratio never passes 100 %
        max = 100;
        ticks = 6;
    }
    axis->setRange(min, max);
    axis->setTickCount(ticks);
}

void DashboardPage::applyChartTheme()
{
    // The charts follow the window's palette: dark when its background is.
    const bool dark = palette().color(QPalette::Window).lightness() < 128;
    const QChart::ChartTheme theme = dark ? QChart::ChartThemeDark : QChart::ChartThemeLight;
    for (ChartParts &parts : m_charts) {
        if (parts.chart && parts.chart->theme() != theme)
            parts.chart->setTheme(theme);
    }
}

int DashboardPage::bucketAt(qint64 atMs) const
{
    const QList<Point> &points = m_shown.points;
    if (points.isEmpty() || atMs < points.first().startMs || atMs >= points.last().endMs)
        return -1;
    return int((atMs - points.first().startMs) / m_shown.bucketMs);
}

QString DashboardPage::describeBucket(int bucket) const
{
    if (bucket < 0 || bucket >= m_shown.points.size())
        return {};
    const Point &point = m_shown.points[bucket];
    QStringList lines{timeRange(point.startMs, point.endMs, m_shown.bucketMs)};
    if (point.requests == 0) {
        lines.append(tr("no requests"));
        return lines.join(QLatin1Char('\n'));
    }
    lines.append(tr("%1 requests, %2 errors (%3)")
                     .arg(count(qint64(point.requests)), count(qint64(point.errors)),
                          percent(point.errorRate())));
    lines.append(tr("cost %1, saved %2 by the cache, %3 by routing")
                     .arg(usd(point.costUsd), usd(point.savedUsd), usd(point.routingSavedUsd)));
    lines.append(tr("latency p50 %1, p95 %2, p99 %3")
                     .arg(milliseconds(point.latencyP50Ms), milliseconds(point.latencyP95Ms),
                          milliseconds(point.latencyP99Ms)));
    lines.append(tr("first token p50 %1").arg(milliseconds(point.ttftP50Ms)));
    lines.append(tr("cache hits %1 (%2)")
                     .arg(count(qint64(point.cacheHits)), percent(point.cacheHitRate())));
    lines.append(
        tr("tokens in %1, out %2").arg(count(point.inputTokens), count(point.outputTokens)));
    for (const TrafficSeries::ModelCount &model : point.models)
        lines.append(QStringLiteral("  %1: %2").arg(model.model, count(qint64(model.requests))));
    if (point.otherModelRequests > 0)
        lines.append(tr("  other: %1").arg(count(qint64(point.otherModelRequests))));
    lines.append(tr("Click to see these requests"));
    return lines.join(QLatin1Char('\n'));
}

void DashboardPage::showBucket(qint64 atMs, const QPoint &globalPosition)
{
    QToolTip::showText(globalPosition, describeBucket(bucketAt(atMs)));
}

void DashboardPage::openBucket(qint64 atMs)
{
    const int bucket = bucketAt(atMs);
    if (bucket < 0)
        return;
    const Point &point = m_shown.points[bucket];
    Q_EMIT requestsOfMomentWanted(point.startMs, point.endMs);
}

QChart *DashboardPage::chart(Chart chart) const
{
    return m_charts[size_t(chart)].chart;
}

TimeChartView *DashboardPage::chartView(Chart chart) const
{
    return m_charts[size_t(chart)].view;
}

Expected<QString> DashboardPage::exportCsv(const QString &path)
{
    finishRedraw(); // the file holds what the charts show
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return Error(tr("cannot write %1: %2").arg(path, file.errorString()));
    file.write(metering::trafficCsv(m_shown));
    if (!file.commit())
        return Error(tr("cannot write %1: %2").arg(path, file.errorString()));
    return path;
}

Expected<QString> DashboardPage::exportPng(const QString &path)
{
    finishRedraw(); // no chart a step behind the others
    if (!m_grid->grab().save(path, "PNG"))
        return Error(tr("cannot write %1").arg(path));
    return path;
}

void DashboardPage::chooseFileAndExport(const QString &title, const QString &suggestedName,
                                        const QString &filter,
                                        Expected<QString> (DashboardPage::*save)(const QString &))
{
    const QString path = QFileDialog::getSaveFileName(this, title, suggestedName, filter);
    if (path.isEmpty())
        return;
    const auto written = (this->*save)(path);
    m_summary->setText(written ? tr("Saved %1").arg(path) : written.error().message);
}

void DashboardPage::setSimulated(bool simulated)
{
    m_simulatedBanner->setVisible(simulated);
}

void DashboardPage::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    refresh();
    m_redraw->start();
}

void DashboardPage::hideEvent(QHideEvent *event)
{
    QWidget::hideEvent(event);
    m_redraw->stop(); // nobody looks: no redraws
    m_nextChart->stop();
}

void DashboardPage::changeEvent(QEvent *event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::PaletteChange)
        applyChartTheme();
}

} // namespace tollgate::ui
