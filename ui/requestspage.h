#pragma once

#include "common/expected.h"
#include "metering/requestrecord.h"
#include "store/requestexport.h"

#include <QWidget>

#include <memory>
#include <optional>

class QAction;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QThread;
class QSplitter;
class QTableView;
class QToolButton;

namespace tollgate::ui {

class ConsoleSettings;
class RequestsModel;
class ResendDialog;

/// The request log: the whole SQLite log with the live tail on top, a filter bar (Ctrl+F),
/// columns the user picks (the header's context menu), and the selected request's details below.
class RequestsPage : public QWidget {
    Q_OBJECT
public:
    RequestsPage(RequestsModel &model, ConsoleSettings &settings, QWidget *parent = nullptr);
    ~RequestsPage() override;

    QTableView *table() const { return m_table; }
    QLineEdit *filter() const { return m_filter; }
    /// What is wrong with the filter bar's text; empty while it parses.
    QString filterProblem() const;
    /// Rows shown after filtering (those not counted yet excluded).
    int visibleRows() const;
    /// The count line, e.g. "12 345 of 1 000 000".
    QString countText() const;
    /// Shows only the requests that completed in [fromMs, toMs) (a chart's bucket), until the
    /// user clears it.
    void showMoment(qint64 fromMs, qint64 toMs);
    void clearMoment();
    QString momentText() const;
    /// Shows or hides a column, and remembers it.
    void setColumnShown(int column, bool shown);

    /// Where the gateway listens, for "Copy as curl".
    void setBaseUrl(const QString &baseUrl) { m_baseUrl = baseUrl; }
    /// The selected request's details as the pane shows them; empty without a selection.
    QString detailText() const;
    /// The curl command for the selected request (what "Copy as curl" copies).
    QString curlCommand() const;
    /// Selects the newest finished request (one that reached a provider when the newest rows have
    /// one), and waits up to `timeoutMs` for its captured
    /// exchange to show: for the screenshots, whose Requests page shows a detail pane filled in.
    /// False when the page has no finished request.
    bool selectNewestFinished(int timeoutMs);
    /// Opens a dialog that sends the selected request's captured exchange again (nullptr when
    /// nothing captured is selected).
    ResendDialog *resendSelected();
    /// Writes the rows shown to `path` off the GUI thread; exportFinished() tells how it went.
    void exportTo(const QString &path, store::requestexport::Format format);
    /// Writes the selected request's captured exchange as a HAR file; the path, or why not.
    Expected<QString> exportHar(const QString &path) const;
    /// The last export's outcome, as the page shows it.
    QString exportStatus() const;
    /// A request's details, grouped: timing, tokens, cost, routing, cache, error; or, while it
    /// runs, what is known so far.
    static QString describe(const metering::RequestRecord &record, bool running = false);

Q_SIGNALS:
    void exportFinished(const QString &path, qint64 rows, const QString &error);
    /// The selected request's captured exchange was read (or found missing) and shown.
    void exchangeShown(const QString &id, bool captured);

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    void applyFilter(const QString &text);
    void applyMoment();
    void updateCount();
    void showColumnMenu(const QPoint &at);
    /// Selects the request selected before when row `row` now shows another; whether it did.
    bool followSelected(int row);
    void updateDetail();
    /// Reads the selected request's captured exchange off the GUI thread, then shows it.
    void readExchange(const QString &id);
    void showExchange(const QString &id, const std::optional<store::CapturedExchange> &exchange,
                      const QString &problem);
    void chooseExport(store::requestexport::Format format);
    void chooseHarExport();

    RequestsModel &m_model;
    ConsoleSettings &m_settings;
    QLineEdit *m_filter;
    QLabel *m_filterProblem;
    QLabel *m_moment;
    QToolButton *m_clearMoment;
    QLabel *m_count;
    QTableView *m_table;
    QPlainTextEdit *m_detail;
    QAction *m_copyCurl;
    QAction *m_resend; // enabled once the selected request's exchange is read
    QLabel *m_exportStatus;
    std::optional<metering::RequestRecord> m_selected;
    std::optional<store::CapturedExchange> m_exchange; // the selected request's, when captured
    std::unique_ptr<QThread> m_exchangeReading;
    QString m_recordText; // the selected request's fields, before its exchange
    QString m_baseUrl = QStringLiteral("http://127.0.0.1:8080");
    QString m_filterText;
    qint64 m_fromMs = 0;
    qint64 m_toMs = 0;
};

} // namespace tollgate::ui
