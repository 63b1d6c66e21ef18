#pragma once

#include "common/expected.h"
#include "consolesettings.h"
#include "gateway/policykeeper.h"

#include <QMainWindow>

#include <memory>

class QAction;
class QLabel;
class QSystemTrayIcon;
class QThread;
class QListWidget;
class QStackedWidget;

namespace tollgate::gateway {
class GatewayThread;
class PolicyKeeper;
} // namespace tollgate::gateway

namespace tollgate::ui {

class AlertsPage;
class ConnectPage;
class DashboardPage;
class FeedPoller;
class OverviewPage;
class PolicyEditorPage;
class ProvidersPage;
class RequestsModel;
class RequestsPage;

/// The console's window: a page list on the left, the page on the right, and a status line that
/// always shows the proxy's state and address.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    enum Page {
        Overview,
        Dashboard,
        Requests,
        Alerts,
        PolicyEditor,
        Providers,
        Connect,
        PageCount
    };

    explicit MainWindow(gateway::GatewayThread &gateway, QWidget *parent = nullptr);
    ~MainWindow() override;

    void showPage(Page page);
    /// Labels the figures as simulated when the built-in simulator answers for the providers.
    void setSimulated(bool simulated);
    Page currentPage() const;
    /// Switches the palette and remembers the choice.
    void setTheme(ConsoleSettings::Theme theme);

    FeedPoller &feed() const { return *m_feed; }
    OverviewPage &overviewPage() const { return *m_overviewPage; }
    DashboardPage &dashboardPage() const { return *m_dashboardPage; }
    RequestsModel &requestsModel() const { return *m_requestsModel; }
    RequestsPage &requestsPage() const { return *m_requestsPage; }
    AlertsPage &alertsPage() const { return *m_alertsPage; }
    ConnectPage &connectPage() const { return *m_connectPage; }
    ProvidersPage &providersPage() const { return *m_providersPage; }
    PolicyEditorPage &policyEditorPage() const { return *m_policyEditorPage; }
    QString statusText() const;
    ConsoleSettings &settings() const { return *m_settings; }
    /// Stops or starts serving (the console and its data stay); says why when it cannot.
    void setServing(bool serving);
    /// Keeps every policy applied on the Policy and Providers pages with `keeper`, and says in the
    /// status line where the policy is kept and what went wrong with it.
    void keepPolicy(gateway::PolicyKeeper *keeper);
    /// Says in the status line that the policy in force is `path` (--config), which the console
    /// never writes: changes last until it quits unless saved from the Policy page. `urls` are
    /// the file's base URLs and the start's, for the providers the Providers page copies.
    void showPolicyFile(const QString &path, const gateway::StartUrls &urls);
    /// Whether closing the window leaves the gateway running in the tray.
    bool keepsRunningInTray() const;

    /// Saves a PNG of every page into `folder` (NN-page.png); returns the files written, or
    /// the problem.
    Expected<QStringList> saveScreenshots(const QString &folder);

protected:
    void closeEvent(QCloseEvent *event) override;
    void moveEvent(QMoveEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;

private:
    void buildTray();
    void addPage(Page page, const QString &title, QWidget *widget);
    void buildMenus();
    void updateStatus();
    void showFiring(int firing);
    void notify(const QString &title, const QString &message, bool serious);
    void keepRunningPolicy();
    void showPolicyIssue(const QString &issue);

    gateway::GatewayThread &m_gateway;
    ConsoleSettings *m_settings;
    QSystemTrayIcon *m_tray = nullptr; // none where the desktop has no tray
    FeedPoller *m_feed;
    RequestsModel *m_requestsModel;
    QListWidget *m_pageList;
    QStackedWidget *m_pages;
    OverviewPage *m_overviewPage;
    DashboardPage *m_dashboardPage;
    RequestsPage *m_requestsPage;
    AlertsPage *m_alertsPage;
    ConnectPage *m_connectPage;
    ProvidersPage *m_providersPage;
    PolicyEditorPage *m_policyEditorPage;
    QLabel *m_state;
    QLabel *m_totals;
    QLabel *m_alertState; // how many rules fire; a link to the Alerts page
    QAction *m_serving;   // Stop / Start the gateway, in the File menu and the tray's
    quint64 m_requests = 0;
    quint64 m_errors = 0;
    double m_spentUsd = 0;
    bool m_simulated = false;
    bool m_toldAboutTray = false;
    std::unique_ptr<QThread> m_historyLoader;
    /// Which file holds the policy in force, and what went wrong with it.
    QLabel *m_policyState;
    QString m_policyPlace;
    /// Writes each policy applied; none with --config.
    gateway::PolicyKeeper *m_keeper = nullptr;
};

} // namespace tollgate::ui
