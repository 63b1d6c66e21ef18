// The console's window against a running embedded gateway and the mock upstream, offscreen.

#include "alertspage.h"
#include "connectpage.h"
#include "consolepolicy.h"
#include "dashboardpage.h"
#include "feedpoller.h"
#include "mainwindow.h"
#include "overviewpage.h"
#include "requestsmodel.h"
#include "requestspage.h"
#include "timechartview.h"

#include "gateway/gatewaythread.h"
#include "httptestclient.h"
#include "mockupstream.h"
#include "policy/gatewayconfig.h"

#include <QApplication>
#include <QChart>
#include <QFile>
#include <QImage>
#include <QLineEdit>
#include <QLineSeries>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QValueAxis>

using namespace tollgate;
using testsupport::HttpTestClient;

namespace {

QList<QLineSeries *> seriesOf(const ui::DashboardPage &page, ui::DashboardPage::Chart chart)
{
    QList<QLineSeries *> lines;
    for (QAbstractSeries *series : page.chart(chart)->series())
        lines.append(qobject_cast<QLineSeries *>(series));
    return lines;
}

/// What happens to the Dashboard's charts, in order: "plot 2" when chart 2 gets new points,
/// "paint 2" when its view is painted.
class ChartEvents : public QObject {
public:
    explicit ChartEvents(const ui::DashboardPage &page)
    {
        for (int chart = 0; chart < ui::DashboardPage::ChartCount; ++chart) {
            const auto which = ui::DashboardPage::Chart(chart);
            connect(seriesOf(page, which).first(), &QXYSeries::pointsReplaced, this,
                    [this, chart] { events.append(QStringLiteral("plot %1").arg(chart)); });
            QWidget *viewport = page.chartView(which)->viewport();
            viewport->installEventFilter(this);
            m_viewports.append(viewport);
        }
    }
    QStringList events;

protected:
    bool eventFilter(QObject *watched, QEvent *event) override
    {
        const qsizetype chart = m_viewports.indexOf(watched);
        if (event->type() == QEvent::Paint && chart >= 0)
            events.append(QStringLiteral("paint %1").arg(chart));
        return false;
    }

private:
    QList<QObject *> m_viewports;
};

} // namespace

class TestConsole : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void requestsThroughTheProxyAppearInTheLog();
    void theFilterNarrowsTheLog();
    void connectSnippetsNameTheLiveAddress();
    void theStatusLineShowsStateAndTotals();
    void overviewCardsCountTheTraffic();
    void monthSpendAddsTheLogsEarlierDays();
    void simulatedDataIsLabelled();
    void cardsSurviveARestart();
    void dashboardChartsTheTraffic();
    void dashboardWindowsSwitch();
    void theLiveRedrawPaintsAChartAFrame();
    void clickingAChartOpensThoseRequests();
    void dashboardExportsCsvAndPng();
    void alertsFireAndResolve();
    void budgetThresholdsAreAnnounced();
    void routingSavingsAreCounted();
    void stopAndStartKeepTheAddressAndTheData();
    void pageAndThemePersist();
    void menuShortcutsSwitchPages();
    void everyPageRenders();

private:
    void applyPolicy(const QByteArray &json);
    testsupport::HttpTestResponse ask(const QByteArray &user, const QByteArray &model);

    QTemporaryDir m_dataDir;
    gateway::PolicyDocument m_policy; // the mock upstream for both providers
    testsupport::MockUpstream m_mock;
    std::unique_ptr<gateway::GatewayThread> m_gateway;
    std::unique_ptr<ui::MainWindow> m_window;
};

void TestConsole::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true); // settings under ~/.qttest, not the user's
    QSettings(QStringLiteral("tollgate"), QStringLiteral("console")).clear();
    QVERIFY(m_dataDir.isValid());
    m_mock.setThreads(1); // serves while this thread waits on the gateway
    QVERIFY2(m_mock.listen(), qPrintable(m_mock.errorString()));
    auto started = testsupport::consolePolicy(m_mock.baseUrl(), m_dataDir.path());
    QVERIFY2(started, qPrintable(started ? QString() : started.error().message));
    gateway::PolicyDocument policy = *started;
    m_policy = policy;
    m_gateway = std::make_unique<gateway::GatewayThread>(policy);
    QString error;
    QVERIFY2(m_gateway->start(&error), qPrintable(error));
    m_window = std::make_unique<ui::MainWindow>(*m_gateway);
    m_window->feed().setIntervalMs(20);
    m_window->show();
}

void TestConsole::cleanupTestCase()
{
    m_window.reset();
    m_gateway.reset();
}

testsupport::HttpTestResponse TestConsole::ask(const QByteArray &user, const QByteArray &model)
{
    const QByteArray body = R"({"model":")" + model +
                            R"(","max_tokens":32,"messages":[{"role":"user","content":"hi )" +
                            user + R"("}]})";
    return HttpTestClient::send(m_gateway->port(), "POST", "/v1/messages",
                                {{"content-type", "application/json"},
                                 {"anthropic-version", "2023-06-01"},
                                 {"x-api-key", "sk-ant-console-test"},
                                 {"x-tollgate-user", user}},
                                body);
}

void TestConsole::requestsThroughTheProxyAppearInTheLog()
{
    QCOMPARE(ask("alice", "claude-3-haiku-20240307").status, 200);
    QCOMPARE(ask("bob", "claude-3-haiku-20240307").status, 200);
    QCOMPARE(ask("carol", "claude-3-5-sonnet-20241022").status, 200);
    ui::RequestsModel &model = m_window->requestsModel();
    QTRY_COMPARE(model.rowCount(), 3);
    // Newest first.
    QCOMPARE(model.index(2, ui::RequestsModel::User).data().toString(), QStringLiteral("alice"));
    QCOMPARE(model.index(0, ui::RequestsModel::User).data().toString(), QStringLiteral("carol"));
    QCOMPARE(model.index(2, ui::RequestsModel::Status).data(ui::RequestsModel::RawRole).toInt(),
             200);
    QVERIFY(model.index(0, ui::RequestsModel::Model)
                .data()
                .toString()
                .startsWith(QStringLiteral("claude-3-5-sonnet")));
    // Metered: the mock reports usage, the price table prices it.
    QVERIFY(
        model.index(2, ui::RequestsModel::InputTokens).data(ui::RequestsModel::RawRole).toInt() >
        0);
    QVERIFY(model.index(2, ui::RequestsModel::CostUsd).data(ui::RequestsModel::RawRole).toDouble() >
            0);
    QCOMPARE(model.index(2, ui::RequestsModel::Cache).data().toString(), QStringLiteral("miss"));
}

void TestConsole::theFilterNarrowsTheLog()
{
    ui::RequestsPage &page = m_window->requestsPage();
    QTRY_COMPARE(page.visibleRows(), 3);
    QTest::keyClicks(page.filter(), QStringLiteral("BOB"));
    QTRY_COMPARE(page.visibleRows(), 1);
    page.filter()->setText(QStringLiteral("sonnet"));
    QTRY_COMPARE(page.visibleRows(), 1);
    // The filter language: fields, globs, negation.
    page.filter()->setText(QStringLiteral("model=claude-3-haiku* not(user=alice)"));
    QTRY_COMPARE(page.visibleRows(), 1);
    page.filter()->setText(QStringLiteral("status>=500 or cost>1"));
    QTRY_COMPARE(page.visibleRows(), 0);
    page.filter()->setText(QStringLiteral("status=2xx cache=miss"));
    QTRY_COMPARE(page.visibleRows(), 3);
    QVERIFY(page.filterProblem().isEmpty());
    // A mistake is named, and the last good filter stays in force meanwhile.
    page.filter()->setText(QStringLiteral("user=bob mdl=x"));
    QVERIFY2(page.filterProblem().contains(QStringLiteral("unknown field \"mdl\"")),
             qPrintable(page.filterProblem()));
    QTRY_COMPARE(page.visibleRows(), 3);
    page.filter()->clear();
    QVERIFY(page.filterProblem().isEmpty());
    QTRY_COMPARE(page.visibleRows(), 3);
}

void TestConsole::connectSnippetsNameTheLiveAddress()
{
    const QString snippets = m_window->connectPage().snippets();
    const QString url = QStringLiteral("http://127.0.0.1:%1").arg(m_gateway->port());
    QVERIFY2(snippets.contains(QStringLiteral("ANTHROPIC_BASE_URL=") + url), qPrintable(snippets));
    QVERIFY(snippets.contains(QStringLiteral("OPENAI_BASE_URL=") + url + QStringLiteral("/v1")));
}

void TestConsole::theStatusLineShowsStateAndTotals()
{
    const QString url = QStringLiteral("127.0.0.1:%1").arg(m_gateway->port());
    QTRY_VERIFY2(m_window->statusText().contains(url), qPrintable(m_window->statusText()));
    QVERIFY(m_window->statusText().contains(QStringLiteral("Running")));
    QTRY_VERIFY2(m_window->statusText().contains(QStringLiteral("3 requests")),
                 qPrintable(m_window->statusText()));
}

void TestConsole::overviewCardsCountTheTraffic()
{
    using Card = ui::OverviewPage::Card;
    m_window->showPage(ui::MainWindow::Overview);
    const ui::OverviewPage &overview = m_window->overviewPage();
    QTRY_COMPARE(overview.cardValue(Card::RequestsToday), QStringLiteral("3"));
    QVERIFY2(overview.cardValue(Card::SpendToday).startsWith(u'$') &&
                 overview.cardValue(Card::SpendToday) != QStringLiteral("$0.00"),
             qPrintable(overview.cardValue(Card::SpendToday)));
    QCOMPARE(overview.cardValue(Card::ErrorRateHour), QStringLiteral("0.0 %"));
    QVERIFY(overview.cardValue(Card::LatencyP95Hour).endsWith(QStringLiteral("ms")) ||
            overview.cardValue(Card::LatencyP95Hour).endsWith(QStringLiteral(" s")));
    QCOMPARE(overview.cardValue(Card::CacheHitRatio), QStringLiteral("0.0 %"));
    QVERIFY2(overview.cardDetail(Card::GatewayOverhead).contains(QStringLiteral("latest 3")),
             qPrintable(overview.cardDetail(Card::GatewayOverhead)));
    // The month so far: the log holds nothing before today, so it is today's spend.
    QTRY_COMPARE(overview.cardValue(Card::SpendMonth), overview.cardValue(Card::SpendToday));
    QCOMPARE(overview.cardValue(Card::BudgetRemaining), QStringLiteral("No budget"));

    // The same question again is a cache hit: the ratio and the saved dollars move.
    QCOMPARE(ask("alice", "claude-3-haiku-20240307").status, 200);
    QTRY_COMPARE(overview.cardValue(Card::RequestsToday), QStringLiteral("4"));
    QCOMPARE(overview.cardValue(Card::CacheHitRatio), QStringLiteral("25.0 %"));
    QVERIFY2(overview.cardValue(Card::SavedByCache) != QStringLiteral("$0.00"),
             qPrintable(overview.cardValue(Card::SavedByCache)));
}

void TestConsole::monthSpendAddsTheLogsEarlierDays()
{
    using Card = ui::OverviewPage::Card;
    gateway::GatewayContext *context = m_gateway->context();
    ui::OverviewPage overview(context->traffic, context->spendLedger,
                              [] { return QDateTime::currentMSecsSinceEpoch(); });
    qint64 askedFrom = 0;
    qint64 askedTo = 0;
    overview.setSpendReader([&](qint64 fromMs, qint64 toMs) -> Expected<double> {
        askedFrom = fromMs;
        askedTo = toMs;
        return 1.5;
    });
    const double today =
        context->traffic
            .totals(QDateTime(QDate::currentDate(), QTime(0, 0)).toMSecsSinceEpoch(),
                    QDateTime::currentMSecsSinceEpoch())
            .costUsd;
    QTRY_COMPARE(overview.cardValue(Card::SpendMonth),
                 QStringLiteral("$%1").arg(1.5 + today, 0, 'f', 4));
    const QDate date = QDate::currentDate();
    QCOMPARE(askedFrom,
             QDateTime(QDate(date.year(), date.month(), 1), QTime(0, 0)).toMSecsSinceEpoch());
    QCOMPARE(askedTo, QDateTime(date, QTime(0, 0)).toMSecsSinceEpoch());

    // A log that cannot be read says so, and the card falls back to today.
    overview.setSpendReader([](qint64, qint64) -> Expected<double> { return Error("disk gone"); });
    QTRY_VERIFY(overview.cardDetail(Card::SpendMonth).contains(QStringLiteral("disk gone")));
}

void TestConsole::simulatedDataIsLabelled()
{
    QVERIFY(!m_window->statusText().contains(QStringLiteral("simulated")));
    m_window->setSimulated(true);
    QVERIFY(m_window->statusText().contains(QStringLiteral("simulated provider")));
    QVERIFY(m_window->overviewPage()
                .findChild<QWidget *>(QStringLiteral("simulatedBanner"))
                ->isVisibleTo(&m_window->overviewPage()));
    m_window->setSimulated(false);
    QVERIFY(!m_window->statusText().contains(QStringLiteral("simulated")));
}

void TestConsole::cardsSurviveARestart()
{
    using Card = ui::OverviewPage::Card;
    QTemporaryDir dataDir;
    QVERIFY(dataDir.isValid());
    gateway::PolicyDocument policy = m_policy;
    policy.gateway.dataDir = dataDir.path();
    policy.gateway.listenPort = 0;
    {
        gateway::GatewayThread first(policy);
        QString error;
        QVERIFY2(first.start(&error), qPrintable(error));
        const QByteArray body =
            R"({"model":"claude-3-haiku-20240307","max_tokens":8,"messages":[{"role":"user","content":"restart"}]})";
        for (int i = 0; i < 2; ++i) {
            QCOMPARE(HttpTestClient::send(first.port(), "POST", "/v1/messages",
                                          {{"content-type", "application/json"},
                                           {"anthropic-version", "2023-06-01"},
                                           {"x-tollgate-cache", "no-store"}},
                                          body)
                         .status,
                     200);
        }
        first.stop();
    }
    // A new console on the same data folder shows them, from the request log.
    gateway::GatewayThread second(policy);
    QString error;
    QVERIFY2(second.start(&error), qPrintable(error));
    {
        ui::MainWindow window(second);
        window.feed().setIntervalMs(20);
        QTRY_COMPARE(window.overviewPage().cardValue(Card::RequestsToday), QStringLiteral("2"));
        QVERIFY(window.overviewPage().cardValue(Card::SpendToday) != QStringLiteral("$0.00"));
    }
    second.stop();
}

void TestConsole::dashboardChartsTheTraffic()
{
    using Chart = ui::DashboardPage::Chart;
    ui::DashboardPage &page = m_window->dashboardPage();
    m_window->showPage(ui::MainWindow::Dashboard);
    page.setWindow(ui::DashboardPage::Window::FiveMinutes);
    const quint64 before = page.shown().totals.requests;
    const double costBefore = page.shown().totals.costUsd;
    for (const char *user : {"dana", "erin", "finn"})
        QCOMPARE(ask(user, "claude-sonnet-4-5-20250929").status, 200);
    QTRY_COMPARE((page.refresh(), page.shown().totals.requests), before + 3);
    // The log has every request the charts count (all of them are younger than five minutes).
    QTRY_COMPARE(quint64(m_window->requestsModel().rowCount()), page.shown().totals.requests);

    // Cumulative cost ends at the window's total, which grew by what the three cost.
    const QList<QLineSeries *> cost = seriesOf(page, Chart::Cost);
    QVERIFY(page.shown().totals.costUsd > costBefore);
    QCOMPARE(cost[1]->points().size(), page.shown().points.size());
    QVERIFY(qFuzzyCompare(cost[1]->points().last().y(), page.shown().totals.costUsd));
    // Latency: a point for each bucket that had requests, none for the silent ones.
    qsizetype busy = 0;
    for (const auto &point : page.shown().points)
        busy += point.requests > 0;
    QCOMPARE(seriesOf(page, Chart::Latency)[0]->points().size(), busy);
    // The model has a line of its own, named after it.
    bool named = false;
    for (QLineSeries *line : seriesOf(page, Chart::RequestsByModel))
        named = named || (line->isVisible() && line->name().startsWith("claude-sonnet-4-5"));
    QVERIFY(named);
    // Hovering the moment of the last request tells what happened then.
    QTRY_VERIFY(m_window->requestsModel().record(0));
    const metering::RequestRecord last = *m_window->requestsModel().record(0);
    const QString hover = page.describeBucket(page.bucketAt(last.completedAtMs()));
    QVERIFY2(hover.contains(QStringLiteral("claude-sonnet-4-5")), qPrintable(hover));
    QVERIFY2(hover.contains(QStringLiteral("requests")), qPrintable(hover));

    // A redraw that leaves a value axis' nice range as it was leaves the axis alone: each change
    // of range lays its labels out again, which was most of a redraw's cost under traffic.
    const QList<QAbstractAxis *> vertical = page.chart(Chart::Latency)->axes(Qt::Vertical);
    QVERIFY(!vertical.isEmpty());
    auto *latencyAxis = qobject_cast<QValueAxis *>(vertical.first());
    QVERIFY(latencyAxis && latencyAxis->max() > 0);
    QSignalSpy ranges(latencyAxis, &QValueAxis::rangeChanged);
    page.refresh();
    QCOMPARE(ranges.count(), 0);
}

void TestConsole::dashboardWindowsSwitch()
{
    using Window = ui::DashboardPage::Window;
    ui::DashboardPage &page = m_window->dashboardPage();
    const quint64 requests = page.shown().totals.requests;
    for (Window window :
         {Window::OneHour, Window::OneDay, Window::SevenDays, Window::FiveMinutes}) {
        page.setWindow(window);
        const auto resolution = metering::TrafficSeries::resolution(window);
        QCOMPARE(page.shown().bucketMs, resolution.bucketMs);
        QCOMPARE(page.shown().points.size(), resolution.buckets);
        // Every window holds the whole test's traffic: it is younger than five minutes.
        QVERIFY(page.shown().totals.requests >= requests);
    }
}

void TestConsole::theLiveRedrawPaintsAChartAFrame()
{
    ui::DashboardPage &page = m_window->dashboardPage();
    m_window->showPage(ui::MainWindow::Dashboard); // its timer runs while it is shown
    ChartEvents charts(page);
    // One timed redraw, from its first chart to its last and that one's paint.
    const auto redraw = [&charts] {
        const qsizetype first = charts.events.indexOf(QStringLiteral("plot 0"));
        return first < 0 ? QStringList() : charts.events.mid(first);
    };
    const auto last = QStringLiteral("plot %1").arg(ui::DashboardPage::ChartCount - 1);
    QTRY_VERIFY_WITH_TIMEOUT(redraw().contains(last), 5000);
    QTest::qWait(100);

    // Every chart gets its points in turn, and a chart on screen is painted before the next one
    // gets its own (unless the machine stalls a whole step), so no frame carries all six.
    const QStringList events = redraw();
    int paintedInTurn = 0;
    for (int chart = 0; chart < ui::DashboardPage::ChartCount; ++chart) {
        const qsizetype plotted = events.indexOf(QStringLiteral("plot %1").arg(chart));
        QVERIFY2(plotted >= 0, qPrintable(events.join(", ")));
        const qsizetype paint = events.indexOf(QStringLiteral("paint %1").arg(chart), plotted);
        const qsizetype next = events.indexOf(QStringLiteral("plot %1").arg(chart + 1), plotted);
        paintedInTurn += paint > plotted && (next < 0 || paint < next);
    }
    QVERIFY2(paintedInTurn >= 2, qPrintable(events.join(", ")));
}

void TestConsole::clickingAChartOpensThoseRequests()
{
    using Chart = ui::DashboardPage::Chart;
    ui::DashboardPage &page = m_window->dashboardPage();
    m_window->showPage(ui::MainWindow::Dashboard);
    page.refresh();
    QTRY_COMPARE(quint64(m_window->requestsModel().rowCount()), page.shown().totals.requests);
    // The busiest bucket, clicked where the latency chart draws it.
    int bucket = 0;
    for (int i = 0; i < page.shown().points.size(); ++i) {
        if (page.shown().points[i].requests > page.shown().points[bucket].requests)
            bucket = i;
    }
    const auto point = page.shown().points[bucket];
    QVERIFY(point.requests > 0);
    QChart *chart = page.chart(Chart::Latency);
    const QPointF inChart = chart->mapToPosition(
        QPointF(double(point.startMs + point.endMs) / 2, 0), seriesOf(page, Chart::Latency)[0]);
    ui::TimeChartView *view = page.chartView(Chart::Latency);
    const QPoint inView = view->mapFromScene(chart->mapToScene(inChart)) - QPoint(0, 3);
    QCOMPARE(page.bucketAt(view->timeAt(inView)), bucket);
    QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, inView);

    QCOMPARE(m_window->currentPage(), ui::MainWindow::Requests);
    ui::RequestsPage &requests = m_window->requestsPage();
    QVERIFY(requests.momentText().startsWith(QStringLiteral("Completed")));
    QTRY_COMPARE(requests.visibleRows(), int(point.requests));
    requests.clearMoment();
    QTRY_COMPARE(quint64(requests.visibleRows()), page.shown().totals.requests);
}

void TestConsole::dashboardExportsCsvAndPng()
{
    ui::DashboardPage &page = m_window->dashboardPage();
    m_window->showPage(ui::MainWindow::Dashboard);
    page.refresh();
    const QString csvPath = m_dataDir.filePath(QStringLiteral("traffic.csv"));
    QVERIFY(page.exportCsv(csvPath));
    QFile csv(csvPath);
    QVERIFY(csv.open(QIODevice::ReadOnly));
    const QList<QByteArray> lines = csv.readAll().split('\n');
    QCOMPARE(lines.size() - 2, page.shown().points.size()); // a header, a final line break
    quint64 requests = 0;
    for (const QByteArray &line : lines.mid(1, lines.size() - 2))
        requests += line.split(',').value(2).toULongLong();
    QCOMPARE(requests, page.shown().totals.requests);

    const QString pngPath = m_dataDir.filePath(QStringLiteral("charts.png"));
    QVERIFY(page.exportPng(pngPath));
    const QImage image(pngPath);
    QVERIFY(image.width() > 400 && image.height() > 400);
    QVERIFY(!page.exportCsv(m_dataDir.filePath(QStringLiteral("missing/folder/x.csv"))));
}

void TestConsole::applyPolicy(const QByteArray &json)
{
    auto policy = gateway::loadPolicy(json, metering::PriceTable::builtin(), m_policy);
    QVERIFY2(policy, qPrintable(policy ? QString() : policy.error().toString()));
    QString error;
    QVERIFY2(m_gateway->applyPolicy(*policy, &error), qPrintable(error));
}

void TestConsole::alertsFireAndResolve()
{
    ui::AlertsPage &page = m_window->alertsPage();
    QSignalSpy noticed(&page, &ui::AlertsPage::noticed);
    QCOMPARE(page.firingCount(), 0);
    applyPolicy(R"({"alerts":{"rules":{"ConsoleErrors":{"kind":"error_rate","threshold":0.01,)"
                R"("window_seconds":60,"for_seconds":0,"severity":"critical"}}}})");
    const auto failed = HttpTestClient::send(
        m_gateway->port(), "POST", "/v1/messages",
        {{"content-type", "application/json"},
         {"anthropic-version", "2023-06-01"},
         {"x-api-key", "sk-ant-console-test"},
         {"x-mock-scenario", "error=500"}},
        R"({"model":"claude-3-haiku-20240307","max_tokens":8,"messages":[{"role":"user","content":"fail"}]})");
    QCOMPARE(failed.status, 500);

    // The gateway evaluates once a second; the page reads what it found.
    QTRY_COMPARE_WITH_TIMEOUT((page.refresh(), page.firingCount()), 1, 5000);
    const QTableWidget *rules = page.rulesTable();
    int row = 0;
    while (row < rules->rowCount() &&
           rules->item(row, 1)->text() != QStringLiteral("ConsoleErrors"))
        ++row;
    QVERIFY(row < rules->rowCount());
    QCOMPARE(rules->item(row, 0)->text(), QStringLiteral("● firing"));
    QVERIFY2(rules->item(row, 3)->text().startsWith(QStringLiteral("error rate ")),
             qPrintable(rules->item(row, 3)->text()));
    QVERIFY2(m_window->statusText().contains(QStringLiteral("1 alert firing")),
             qPrintable(m_window->statusText()));
    QVERIFY(page.events().first().contains(QStringLiteral("alert ConsoleErrors firing")));
    QCOMPARE(noticed.size(), 1);
    QCOMPARE(noticed.first().at(0).toString(), QStringLiteral("Alert ConsoleErrors firing"));
    QCOMPARE(noticed.first().at(2).toBool(), true);

    // Turned off with the policy it came with: resolved, said once.
    applyPolicy("{}");
    page.refresh();
    QCOMPARE(page.firingCount(), 0);
    QVERIFY(!m_window->statusText().contains(QStringLiteral("firing")));
    QVERIFY2(page.events().first().contains(QStringLiteral("resolved: the rule was turned off")),
             qPrintable(page.events().first()));
    QCOMPARE(noticed.size(), 2);
    page.refresh();
    QCOMPARE(noticed.size(), 2);
}

void TestConsole::budgetThresholdsAreAnnounced()
{
    ui::AlertsPage &page = m_window->alertsPage();
    QSignalSpy noticed(&page, &ui::AlertsPage::noticed);
    applyPolicy(R"({"budgets":[{"name":"console-daily","window":"day","limit_usd":0.0000001,)"
                R"("actions":[{"at_percent":50,"action":"alert"}]}]})");
    page.refresh();
    const QTableWidget *budgets = page.budgetsTable();
    QCOMPARE(budgets->rowCount(), 1);
    QCOMPARE(budgets->item(0, 0)->text(), QStringLiteral("console-daily"));
    QCOMPARE(budgets->item(0, 6)->text(), QStringLiteral("none"));

    QCOMPARE(ask("gina", "claude-sonnet-4-5-20250929").status, 200); // priced: charged
    QTRY_COMPARE((page.refresh(), budgets->item(0, 6)->text()), QStringLiteral("alert"));
    QCOMPARE(noticed.size(), 1);
    QVERIFY2(noticed.first().at(1).toString().startsWith(QStringLiteral("budget console-daily")),
             qPrintable(noticed.first().at(1).toString()));
    QVERIFY(page.events().first().contains(QStringLiteral("budget console-daily")));
    page.refresh();
    QCOMPARE(noticed.size(), 1); // said once
    // The Overview's budget card: nothing left, what happens until the reset.
    ui::OverviewPage &overview = m_window->overviewPage();
    overview.refresh();
    using Card = ui::OverviewPage::Card;
    QCOMPARE(overview.cardValue(Card::BudgetRemaining), QStringLiteral("$0.00"));
    QVERIFY2(overview.cardDetail(Card::BudgetRemaining).contains(QStringLiteral("console-daily")),
             qPrintable(overview.cardDetail(Card::BudgetRemaining)));
    QVERIFY2(
        overview.cardDetail(Card::BudgetRemaining).contains(QStringLiteral("spent: alert until")),
        qPrintable(overview.cardDetail(Card::BudgetRemaining)));
    applyPolicy("{}");
}

void TestConsole::routingSavingsAreCounted()
{
    using Card = ui::OverviewPage::Card;
    ui::OverviewPage &overview = m_window->overviewPage();
    overview.refresh();
    QCOMPARE(overview.cardValue(Card::SavedByRouting), QStringLiteral("$0.00"));
    // Sonnet asked for, Haiku sent: the difference at Sonnet's prices is saved.
    applyPolicy(R"({"routes":[{"name":"cheaper","match":{"model":"claude-sonnet-4-5*"},)"
                R"("targets":["claude-haiku-4-5-20251001"]}]})");
    QCOMPARE(ask("hank", "claude-sonnet-4-5-20250929").status, 200);
    applyPolicy("{}");
    QTRY_VERIFY((overview.refresh(), overview.cardValue(Card::SavedByRouting) != "$0.00"));
    ui::RequestsModel &model = m_window->requestsModel();
    // Newest first: the top row, once the tail has it.
    QTRY_VERIFY(model.record(0) && model.record(0)->user == QStringLiteral("hank"));
    const metering::RequestRecord routed = *model.record(0);
    QCOMPARE(routed.route, QStringLiteral("cheaper"));
    QVERIFY(routed.usedModel.startsWith(QStringLiteral("claude-haiku-4-5")));
    const metering::PriceTable prices = metering::PriceTable::builtin();
    const double expected =
        *prices.cost(QStringLiteral("claude-sonnet-4-5-20250929"), routed.usage) -
        *prices.cost(routed.usedModel, routed.usage);
    QVERIFY(expected > 0);
    QCOMPARE(routed.routingSavedUsd, expected);
}

void TestConsole::stopAndStartKeepTheAddressAndTheData()
{
    const quint16 port = m_gateway->port();
    const int rows = m_window->requestsModel().rowCount();
    m_window->setServing(false);
    QVERIFY(!m_gateway->isServing());
    QVERIFY2(m_window->statusText().contains(QStringLiteral("Stopped")),
             qPrintable(m_window->statusText()));
    // Nobody listens: the connection is refused, not answered.
    QCOMPARE(ask("ivy", "claude-3-haiku-20240307").status, 0);

    m_window->setServing(true);
    QVERIFY(m_gateway->isServing());
    QCOMPARE(m_gateway->port(), port);
    QVERIFY2(m_window->statusText().contains(QStringLiteral("Running")),
             qPrintable(m_window->statusText()));
    QCOMPARE(ask("ivy", "claude-3-haiku-20240307").status, 200);
    // The log kept what it had and goes on.
    QTRY_COMPARE(m_window->requestsModel().rowCount(), rows + 1);
}

void TestConsole::pageAndThemePersist()
{
    using Theme = ui::ConsoleSettings::Theme;
    QCOMPARE(m_window->settings().theme(), Theme::System);
    m_window->showPage(ui::MainWindow::Connect);
    m_window->setTheme(Theme::Dark);
    QVERIFY2(QApplication::palette().color(QPalette::Window).lightness() < 100,
             "the dark palette is in force");
    QTRY_VERIFY(m_window->palette().color(QPalette::Base).lightness() < 100);
    // The charts follow the palette.
    QTRY_COMPARE(m_window->dashboardPage().chart(ui::DashboardPage::Cost)->theme(),
                 QChart::ChartThemeDark);
    m_window->settings().sync();
    {
        // A new window (as after a restart) opens where the last one was, in the same theme.
        ui::MainWindow again(*m_gateway);
        QCOMPARE(again.currentPage(), ui::MainWindow::Connect);
        QCOMPARE(again.settings().theme(), Theme::Dark);
    }
    m_window->setTheme(Theme::Light);
    QVERIFY(QApplication::palette().color(QPalette::Window).lightness() > 150);
    QTRY_COMPARE(m_window->dashboardPage().chart(ui::DashboardPage::Cost)->theme(),
                 QChart::ChartThemeLight);
    m_window->showPage(ui::MainWindow::Overview);
}

void TestConsole::menuShortcutsSwitchPages()
{
    for (int page = ui::MainWindow::PageCount - 1; page >= 0; --page) {
        QTest::keyClick(m_window.get(), Qt::Key(Qt::Key_1 + page), Qt::ControlModifier);
        QCOMPARE(m_window->currentPage(), ui::MainWindow::Page(page));
    }
}

void TestConsole::everyPageRenders()
{
    for (int page = 0; page < ui::MainWindow::PageCount; ++page) {
        m_window->showPage(ui::MainWindow::Page(page));
        const QImage image = m_window->grab().toImage();
        QVERIFY(!image.isNull());
        QVERIFY(image.width() >= 800 && image.height() >= 500);
    }
}

QTEST_MAIN(TestConsole)
#include "tst_console.moc"
