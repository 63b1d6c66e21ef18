#include "mainwindow.h"

#include "alertspage.h"
#include "connectpage.h"
#include "consolesettings.h"
#include "dashboardpage.h"
#include "feedpoller.h"
#include "overviewpage.h"
#include "policyeditorpage.h"
#include "providerspage.h"
#include "requestsmodel.h"
#include "requestspage.h"
#include "theme.h"

#include "gateway/gatewaythread.h"
#include "gateway/policykeeper.h"
#include "gateway/traffichistory.h"

#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QMenuBar>
#include <QStackedWidget>
#include <QStatusBar>
#include <QSystemTrayIcon>
#include <QTableView>
#include <QThread>

namespace tollgate::ui {

namespace {

// Enough rows for a working session on screen; the whole history is in the SQLite log.
constexpr int kFeedCapacity = 50000;
// Of each request and response body, what the log keeps for the request detail: whole for
// nearly every call, bounded for the odd huge prompt or long stream.
constexpr qint64 kCaptureBodyBytes = 256 * 1024;

QString baseUrl(const gateway::GatewayThread &gateway)
{
    if (!gateway.isRunning())
        return {};
    QString host = gateway.address().toString();
    if (gateway.address().protocol() == QAbstractSocket::IPv6Protocol)
        host = QLatin1Char('[') + host + QLatin1Char(']');
    return QStringLiteral("http://%1:%2").arg(host).arg(gateway.port());
}

/// `path` with the home folder as "~", as people read it.
QString homeRelative(const QString &path)
{
    const QString home = QDir::homePath() + QLatin1Char('/');
    return path.startsWith(home) ? QStringLiteral("~/") + path.mid(home.size()) : path;
}

} // namespace

MainWindow::MainWindow(gateway::GatewayThread &gateway, QWidget *parent)
    : QMainWindow(parent)
    , m_gateway(gateway)
    , m_settings(new ConsoleSettings(this))
    , m_pageList(new QListWidget(this))
    , m_pages(new QStackedWidget(this))
    , m_state(new QLabel(this))
    , m_totals(new QLabel(this))
    , m_alertState(new QLabel(this))
    , m_serving(new QAction(this))
    , m_policyState(new QLabel(this))
{
    setWindowTitle(QStringLiteral("Tollgate"));
    applyTheme(m_settings->theme());
    gateway::GatewayContext *context = gateway.context();
    Q_ASSERT(context);
    context->requestFeed.setCapacity(kFeedCapacity);
    context->captureBodyLimit.store(kCaptureBodyBytes);
    // The week's history comes from the request log on a thread of its own.
    m_historyLoader.reset(QThread::create([context] {
        const auto loaded = gateway::watchTraffic(*context);
        if (!loaded)
            qWarning("tollgate: traffic history: %s", qPrintable(loaded.error().message));
    }));
    m_historyLoader->start();
    m_feed = new FeedPoller(context->requestFeed, &context->running, this);
    const auto wallClock = [] { return QDateTime::currentMSecsSinceEpoch(); };
    m_overviewPage = new OverviewPage(context->traffic, context->spendLedger, wallClock, this);
    if (store::RequestLog *log = context->log) {
        m_overviewPage->setSpendReader([log](qint64 fromMs, qint64 toMs) -> Expected<double> {
            const auto spend = log->spendBetween(fromMs, toMs);
            if (!spend)
                return spend.error();
            return spend->costUsd;
        });
    }
    m_dashboardPage = new DashboardPage(context->traffic, wallClock, this);
    m_requestsModel = new RequestsModel(
        context->log ? std::optional(context->log->reader()) : std::nullopt, this);
    m_requestsPage = new RequestsPage(*m_requestsModel, *m_settings, this);
    m_alertsPage = new AlertsPage(context->alerts, context->spendLedger, wallClock, this);
    m_connectPage = new ConnectPage(this);
    m_providersPage = new ProvidersPage(gateway, this);
    m_policyEditorPage = new PolicyEditorPage(gateway, this);

    addPage(Overview, tr("Overview"), m_overviewPage);
    addPage(Dashboard, tr("Dashboard"), m_dashboardPage);
    addPage(Requests, tr("Requests"), m_requestsPage);
    addPage(Alerts, tr("Alerts"), m_alertsPage);
    addPage(PolicyEditor, tr("Policy"), m_policyEditorPage);
    addPage(Providers, tr("Providers"), m_providersPage);
    addPage(Connect, tr("Connect"), m_connectPage);
    m_pageList->setFixedWidth(160);
    connect(m_pageList, &QListWidget::currentRowChanged, this, [this](int row) {
        m_pages->setCurrentIndex(row);
        m_settings->setPage(row);
        if (row == Overview)
            m_overviewPage->refresh();
    });

    auto *central = new QWidget(this);
    auto *layout = new QHBoxLayout(central);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_pageList);
    layout->addWidget(m_pages, 1);
    setCentralWidget(central);

    statusBar()->addWidget(m_state);
    statusBar()->addPermanentWidget(m_policyState);
    statusBar()->addPermanentWidget(m_alertState);
    statusBar()->addPermanentWidget(m_totals);
    connect(m_alertState, &QLabel::linkActivated, this, [this] { showPage(Alerts); });
    connect(m_alertsPage, &AlertsPage::firingCountChanged, this, &MainWindow::showFiring);
    connect(m_alertsPage, &AlertsPage::noticed, this, &MainWindow::notify);
    showFiring(m_alertsPage->firingCount());
    buildMenus();

    connect(m_feed, &FeedPoller::polled, this, [this](const FeedPoller::Poll &poll) {
        m_overviewPage->addRecords(poll.finished);
        for (const metering::RequestRecord &r : poll.finished) {
            ++m_requests;
            m_errors += r.failed();
            m_spentUsd += r.costUsd;
        }
    });
    m_feed->setKeeper([this](FeedPoller::Poll &&poll) {
        m_requestsModel->update(std::move(poll.finished), poll.running ? &*poll.running : nullptr,
                                poll.nowMs);
    });
    connect(m_feed, &FeedPoller::ticked, this, &MainWindow::updateStatus);
    connect(m_feed, &FeedPoller::ticked, this, [this] {
        if (m_pages->currentWidget() == m_overviewPage)
            m_overviewPage->refresh();
    });
    connect(m_providersPage, &ProvidersPage::policyApplied, this, &MainWindow::keepRunningPolicy);
    connect(m_policyEditorPage, &PolicyEditorPage::applied, this, &MainWindow::keepRunningPolicy);
    connect(m_dashboardPage, &DashboardPage::requestsOfMomentWanted, this,
            [this](qint64 fromMs, qint64 toMs) {
                showPage(Requests);
                m_requestsPage->showMoment(fromMs, toMs);
            });
    m_connectPage->setBaseUrl(baseUrl(gateway));
    m_requestsPage->setBaseUrl(baseUrl(gateway));
    const int savedPage = m_settings->page();
    showPage(savedPage >= 0 && savedPage < PageCount ? Page(savedPage) : Overview);
    updateStatus();
    if (!restoreGeometry(m_settings->windowGeometry()))
        resize(1100, 700);
    buildTray();
}

MainWindow::~MainWindow()
{
    m_historyLoader->wait();
}

bool MainWindow::keepsRunningInTray() const
{
    return m_tray && m_tray->isVisible();
}

void MainWindow::buildTray()
{
    if (!QSystemTrayIcon::isSystemTrayAvailable())
        return;
    m_tray = new QSystemTrayIcon(
        windowIcon().isNull() ? style()->standardIcon(QStyle::SP_DriveNetIcon) : windowIcon(),
        this);
    m_tray->setToolTip(tr("Tollgate gateway"));
    auto *menu = new QMenu(this);
    menu->addAction(tr("Open Tollgate"), this, [this] {
        showNormal();
        raise();
        activateWindow();
    });
    menu->addAction(m_serving);
    menu->addSeparator();
    menu->addAction(tr("Quit (stops the gateway)"), qApp, &QApplication::quit);
    m_tray->setContextMenu(menu);
    connect(m_tray, &QSystemTrayIcon::activated, this,
            [this](QSystemTrayIcon::ActivationReason reason) {
                if (reason == QSystemTrayIcon::Trigger)
                    isVisible() ? hide() : showNormal();
            });
    m_tray->show();
    // Closing the window hides it; the gateway keeps serving until Quit.
    QApplication::setQuitOnLastWindowClosed(false);
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    m_settings->setWindowGeometry(saveGeometry());
    m_settings->sync();
    if (!keepsRunningInTray()) {
        event->accept();
        return;
    }
    hide();
    event->ignore();
    if (!m_toldAboutTray) {
        m_tray->showMessage(tr("Tollgate is still running"),
                            tr("The gateway keeps serving %1. Quit from the tray icon's menu.")
                                .arg(baseUrl(m_gateway)));
        m_toldAboutTray = true;
    }
}

void MainWindow::moveEvent(QMoveEvent *event)
{
    QMainWindow::moveEvent(event);
    m_settings->setWindowGeometry(saveGeometry());
}

void MainWindow::resizeEvent(QResizeEvent *event)
{
    QMainWindow::resizeEvent(event);
    m_settings->setWindowGeometry(saveGeometry());
}

void MainWindow::addPage(Page page, const QString &title, QWidget *widget)
{
    Q_ASSERT(m_pages->count() == page);
    m_pages->addWidget(widget);
    m_pageList->addItem(title);
}

void MainWindow::buildMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    m_serving->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S));
    connect(m_serving, &QAction::triggered, this, [this] { setServing(!m_gateway.isServing()); });
    file->addAction(m_serving);
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), qApp, &QApplication::quit);
    quit->setShortcut(QKeySequence::Quit);
    QMenu *view = menuBar()->addMenu(tr("&View"));
    for (int page = 0; page < PageCount; ++page) {
        QAction *action = view->addAction(m_pageList->item(page)->text(), this,
                                          [this, page] { showPage(Page(page)); });
        action->setShortcut(QKeySequence(Qt::CTRL | Qt::Key(Qt::Key_1 + page)));
    }
    view->addSeparator();
    QMenu *themes = view->addMenu(tr("&Theme"));
    auto *group = new QActionGroup(this);
    using Theme = ConsoleSettings::Theme;
    for (const auto &[theme, name] :
         {std::pair{Theme::System, tr("&System")}, std::pair{Theme::Light, tr("&Light")},
          std::pair{Theme::Dark, tr("&Dark")}}) {
        QAction *action = themes->addAction(name, this, [this, theme = theme] { setTheme(theme); });
        action->setCheckable(true);
        action->setChecked(m_settings->theme() == theme);
        action->setData(int(theme));
        group->addAction(action);
    }
}

void MainWindow::showPage(Page page)
{
    m_pageList->setCurrentRow(page);
}

MainWindow::Page MainWindow::currentPage() const
{
    return Page(m_pages->currentIndex());
}

Expected<QStringList> MainWindow::saveScreenshots(const QString &folder)
{
    if (!QDir().mkpath(folder))
        return Error(tr("cannot create %1").arg(folder));
    const Page shown = currentPage();
    QStringList files;
    for (int page = 0; page < PageCount; ++page) {
        showPage(Page(page));
        if (page == Overview)
            m_overviewPage->refresh();
        if (page == Requests && !m_requestsPage->table()->selectionModel()->hasSelection())
            m_requestsPage->selectNewestFinished(2000); // a detail pane worth seeing
        QCoreApplication::processEvents();              // lay the page out before it is grabbed
        const QString name = m_pageList->item(page)->text().toLower();
        const QString path = QDir(folder).filePath(
            QStringLiteral("%1-%2.png").arg(page + 1, 2, 10, QLatin1Char('0')).arg(name));
        if (!grab().save(path))
            return Error(tr("cannot write %1").arg(path));
        files.append(path);
    }
    showPage(shown);
    return files;
}

void MainWindow::setTheme(ConsoleSettings::Theme theme)
{
    m_settings->setTheme(theme);
    applyTheme(theme);
}

void MainWindow::setSimulated(bool simulated)
{
    m_simulated = simulated;
    m_overviewPage->setSimulated(simulated);
    m_dashboardPage->setSimulated(simulated);
    updateStatus();
}

void MainWindow::keepPolicy(gateway::PolicyKeeper *keeper)
{
    m_keeper = keeper;
    m_policyPlace = tr("Policy kept in %1").arg(homeRelative(keeper->path()));
    connect(keeper, &gateway::PolicyKeeper::issueChanged, this, &MainWindow::showPolicyIssue);
    showPolicyIssue(keeper->issue());
}

void MainWindow::showPolicyFile(const QString &path, const gateway::StartUrls &urls)
{
    m_policyPlace = tr("Policy from %1 (--config, not written)")
                        .arg(homeRelative(QFileInfo(path).absoluteFilePath()));
    showPolicyIssue({});
    m_policyState->setToolTip(tr("The console never writes this file: what you apply lasts until "
                                 "it quits. Save on the Policy page writes it to a file."));
    m_providersPage->setPolicyFile(homeRelative(QFileInfo(path).absoluteFilePath()), urls);
}

void MainWindow::keepRunningPolicy()
{
    if (const gateway::GatewayContext *context = m_gateway.context(); context && m_keeper)
        m_keeper->keep(*context->policy());
}

void MainWindow::showPolicyIssue(const QString &issue)
{
    if (issue.isEmpty()) {
        m_policyState->setText(m_policyPlace);
        m_policyState->setStyleSheet({});
        m_policyState->setToolTip({});
        return;
    }
    // The status line has room for the start of one line; the whole story is in the tooltip.
    constexpr int kShown = 100;
    QString headline = issue.section(QLatin1Char('\n'), 0, 0);
    if (headline.size() > kShown)
        headline = headline.left(kShown - 1) + QStringLiteral("…");
    m_policyState->setText(QStringLiteral("⚠ ") + headline);
    m_policyState->setStyleSheet(QStringLiteral("color: #c62828;"));
    m_policyState->setToolTip(m_policyPlace + QLatin1Char('\n') + issue);
}

QString MainWindow::statusText() const
{
    QString text = m_state->text() + QStringLiteral("  ") + m_totals->text();
    if (!m_policyState->text().isEmpty())
        text += QStringLiteral("  ") + m_policyState->text();
    if (!m_alertState->text().isEmpty())
        text += QStringLiteral("  ") + m_alertState->text();
    return text;
}

void MainWindow::showFiring(int firing)
{
    if (firing == 0) {
        m_alertState->clear();
        return;
    }
    const QString text =
        firing == 1 ? tr("⚠ 1 alert firing") : tr("⚠ %1 alerts firing").arg(firing);
    m_alertState->setText(
        QStringLiteral("<a href=\"alerts\" style=\"color:#c62828\">%1</a>").arg(text));
}

void MainWindow::notify(const QString &title, const QString &message, bool serious)
{
    // A notification, never a modal dialog: the status line and the Alerts page keep the rest.
    if (m_tray && m_tray->isVisible())
        m_tray->showMessage(title, message,
                            serious ? QSystemTrayIcon::Warning : QSystemTrayIcon::Information);
}

void MainWindow::setServing(bool serving)
{
    QString error;
    if (!m_gateway.setServing(serving, &error))
        notify(tr("Tollgate could not start"), error, true);
    if (!error.isEmpty())
        statusBar()->showMessage(error, 10000);
    updateStatus();
}

void MainWindow::updateStatus()
{
    const QString url = baseUrl(m_gateway);
    const bool serving = m_gateway.isServing();
    m_serving->setText(serving ? tr("&Stop the gateway") : tr("&Start the gateway"));
    if (m_tray)
        m_tray->setToolTip(serving ? tr("Tollgate: serving %1").arg(url) : tr("Tollgate: stopped"));
    QString state = url.isEmpty() ? tr("● Stopped")
                    : serving     ? tr("● Running  %1").arg(url)
                                  : tr("● Stopped  (serves %1 when started)").arg(url);
    if (m_simulated)
        state += tr("  (simulated provider)");
    m_state->setText(state);
    const QString requests = m_requests == 1 ? tr("1 request") : tr("%1 requests").arg(m_requests);
    const QString errors = m_errors == 1 ? tr("1 error") : tr("%1 errors").arg(m_errors);
    m_totals->setText(
        tr("%1, %2, $%3 this session").arg(requests, errors).arg(m_spentUsd, 0, 'f', 4));
}

} // namespace tollgate::ui
