#pragma once

#include "common/expected.h"

#include <QMainWindow>

#include <memory>

class QLabel;
class QThread;
class QListWidget;
class QStackedWidget;

namespace tollgate::gateway {
class GatewayThread;
}

namespace tollgate::ui {

class ConnectPage;
class FeedPoller;
class OverviewPage;
class RequestsModel;
class RequestsPage;

/// The console's window: a page list on the left, the page on the right, and a status line that
/// always shows the proxy's state and address.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    enum Page { Overview, Requests, Connect, PageCount };

    explicit MainWindow(gateway::GatewayThread &gateway, QWidget *parent = nullptr);
    ~MainWindow() override;

    void showPage(Page page);
    /// Labels the figures as simulated when the built-in simulator answers for the providers.
    void setSimulated(bool simulated);
    Page currentPage() const;

    FeedPoller &feed() const { return *m_feed; }
    OverviewPage &overviewPage() const { return *m_overviewPage; }
    RequestsModel &requestsModel() const { return *m_requestsModel; }
    RequestsPage &requestsPage() const { return *m_requestsPage; }
    ConnectPage &connectPage() const { return *m_connectPage; }
    QString statusText() const;
    /// Saves a PNG of every page into `folder` (NN-page.png); returns the files written, or
    /// the problem.
    Expected<QStringList> saveScreenshots(const QString &folder);

private:
    void addPage(Page page, const QString &title, QWidget *widget);
    void buildMenus();
    void updateStatus();

    gateway::GatewayThread &m_gateway;
    FeedPoller *m_feed;
    RequestsModel *m_requestsModel;
    QListWidget *m_pageList;
    QStackedWidget *m_pages;
    OverviewPage *m_overviewPage;
    RequestsPage *m_requestsPage;
    ConnectPage *m_connectPage;
    QLabel *m_state;
    QLabel *m_totals;
    quint64 m_requests = 0;
    quint64 m_errors = 0;
    double m_spentUsd = 0;
    bool m_simulated = false;
    std::unique_ptr<QThread> m_historyLoader;
};

} // namespace tollgate::ui
