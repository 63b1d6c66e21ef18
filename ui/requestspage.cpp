#include "requestspage.h"

#include "consolesettings.h"
#include "format.h"
#include "requestcelldelegate.h"
#include "requestsmodel.h"
#include "resenddialog.h"
#include "statusdelegate.h"

#include "metering/requestfilter.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QDateTime>
#include <QEventLoop>
#include <QFileDialog>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QPlainTextEdit>
#include <QSaveFile>
#include <QScrollBar>
#include <QSplitter>
#include <QTableView>
#include <QThread>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

namespace tollgate::ui {

RequestsPage::RequestsPage(RequestsModel &model, ConsoleSettings &settings, QWidget *parent)
    : QWidget(parent)
    , m_model(model)
    , m_settings(settings)
    , m_filter(new QLineEdit(this))
    , m_filterProblem(new QLabel(this))
    , m_moment(new QLabel(this))
    , m_clearMoment(new QToolButton(this))
    , m_count(new QLabel(this))
    , m_table(new QTableView(this))
    , m_detail(new QPlainTextEdit(this))
    , m_copyCurl(new QAction(tr("Copy as curl"), this))
    , m_resend(new QAction(tr("Resend…"), this))
    , m_exportStatus(new QLabel(this))
{
    m_filter->setPlaceholderText(
        tr("Filter: text, or status>=500 model=claude-* cost>0.05 latency>2s not(user=bob)"));
    m_filter->setToolTip(
        tr("Fields: %1. Terms next to each other must all hold; or, not(…) "
           "and parentheses combine them.")
            .arg(metering::RequestFilter::fieldNames().join(QStringLiteral(", "))));
    m_filter->setClearButtonEnabled(true);
    m_filterProblem->setObjectName(QStringLiteral("filterProblem"));
    m_filterProblem->setStyleSheet(QStringLiteral("color: #c62828;"));
    m_filterProblem->setWordWrap(true);
    m_filterProblem->hide();
    connect(m_filter, &QLineEdit::textChanged, this, &RequestsPage::applyFilter);
    auto *find = new QAction(tr("Filter requests"), this);
    find->setShortcut(QKeySequence::Find);
    connect(find, &QAction::triggered, m_filter, [this] {
        m_filter->setFocus();
        m_filter->selectAll();
    });
    addAction(find);

    // Newest first, in the log's order: a column sort would have to read the whole log.
    m_table->setModel(&model);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setAlternatingRowColors(true);
    m_table->verticalHeader()->hide();
    // Fixed row heights: the view never asks a million rows for their size.
    m_table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 6);
    QHeaderView *header = m_table->horizontalHeader();
    header->setStretchLastSection(true);
    header->setSectionResizeMode(QHeaderView::Interactive);
    // Narrow numeric columns, room for the names: the whole row fits a 1100-pixel window.
    header->setDefaultSectionSize(72);
    m_table->setColumnWidth(RequestsModel::Time, 100);
    m_table->setColumnWidth(RequestsModel::User, 90);
    m_table->setColumnWidth(RequestsModel::Model, 210);
    m_table->setColumnWidth(RequestsModel::LatencyMs, 84);
    m_table->setColumnWidth(RequestsModel::Id, 160);
    m_table->setItemDelegate(new RequestCellDelegate(m_table));
    m_table->setItemDelegateForColumn(RequestsModel::Status, new StatusDelegate(m_table));
    header->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(header, &QHeaderView::customContextMenuRequested, this, &RequestsPage::showColumnMenu);
    const QStringList hidden = m_settings.hiddenRequestColumns();
    for (int column = 0; column < RequestsModel::ColumnCount; ++column)
        m_table->setColumnHidden(column, hidden.contains(RequestsModel::columnKey(column)));

    // A live tail: new rows arrive on top; a view scrolled down keeps showing the same rows.
    connect(&model, &RequestsModel::rowsPrepended, this, [this](int rows) {
        // Laid out now rather than on the view's queued geometry update, the new rows are
        // painted in the same repaint as the status line (one repaint a tick, not two), and the
        // scroll bar's range has room for the move below.
        if (isVisible())
            m_table->doItemsLayout();
        QScrollBar *bar = m_table->verticalScrollBar();
        if (bar->value() > 0 && rows != 0)
            bar->setValue(bar->value() + rows);
    });
    connect(&model, &RequestsModel::countsChanged, this, &RequestsPage::updateCount);
    m_table->viewport()->installEventFilter(this); // tells the model the rows on screen

    m_clearMoment->setText(tr("Show all times"));
    connect(m_clearMoment, &QToolButton::clicked, this, &RequestsPage::clearMoment);
    m_moment->hide();
    m_clearMoment->hide();
    m_count->setObjectName(QStringLiteral("requestCount"));

    // Exports write what the table shows, a page at a time, off the GUI thread.
    auto *exportButton = new QToolButton(this);
    exportButton->setText(tr("Export"));
    exportButton->setPopupMode(QToolButton::InstantPopup);
    auto *exportMenu = new QMenu(exportButton);
    exportMenu->addAction(tr("JSON Lines (.jsonl)…"), this,
                          [this] { chooseExport(store::requestexport::Format::Jsonl); });
    exportMenu->addAction(tr("CSV (.csv)…"), this,
                          [this] { chooseExport(store::requestexport::Format::Csv); });
    exportMenu->addAction(tr("HAR, with the captured exchanges (.har)…"), this,
                          [this] { chooseExport(store::requestexport::Format::Har); });
    exportMenu->addSeparator();
    exportMenu->addAction(tr("Selected request as HAR (.har)…"), this,
                          &RequestsPage::chooseHarExport);
    exportButton->setMenu(exportMenu);
    connect(&model, &RequestsModel::exportFinished, this,
            [this](const QString &path, qint64 rows, const QString &error) {
                m_exportStatus->setText(
                    error.isEmpty() ? tr("Exported %1 requests to %2").arg(count(rows)).arg(path)
                                    : tr("Export to %1 failed: %2").arg(path, error));
                m_exportStatus->setStyleSheet(error.isEmpty() ? QString()
                                                              : QStringLiteral("color: #c62828;"));
                m_exportStatus->show();
                Q_EMIT exportFinished(path, rows, error);
            });
    m_exportStatus->setObjectName(QStringLiteral("exportStatus"));
    m_exportStatus->setWordWrap(true);
    m_exportStatus->hide();

    m_detail->setReadOnly(true);
    m_detail->setObjectName(QStringLiteral("requestDetail"));
    m_detail->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_detail->setPlaceholderText(tr("Select a request to see its details."));
    // The request's actions: buttons above its details, the table's context menu (which shows
    // their shortcuts), and Ctrl+R anywhere on the page.
    m_copyCurl->setEnabled(false);
    m_copyCurl->setToolTip(tr("A curl command that sends this request again through the gateway "
                              "(as captured, or a template), the key from your environment"));
    connect(m_copyCurl, &QAction::triggered, this,
            [this] { QApplication::clipboard()->setText(curlCommand()); });
    m_resend->setEnabled(false);
    m_resend->setToolTip(tr("Send the captured request again through the gateway, its body "
                            "editable"));
    m_resend->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    m_resend->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    connect(m_resend, &QAction::triggered, this, &RequestsPage::resendSelected);
    addAction(m_resend);
    m_table->setContextMenuPolicy(Qt::ActionsContextMenu);
    m_table->addActions({m_copyCurl, m_resend});
    connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &RequestsPage::updateDetail);
    // A selected row still being read fills in when its page arrives.
    connect(&model, &QAbstractItemModel::dataChanged, this, [this] {
        const int row = m_table->selectionModel()->currentIndex().row();
        if (followSelected(row))
            return;
        if (!m_selected || m_model.isRunning(row))
            updateDetail();
    });
    connect(&model, &QAbstractItemModel::modelReset, this, &RequestsPage::updateDetail);

    auto *detailPane = new QWidget(this);
    auto *detailButtons = new QHBoxLayout;
    for (QAction *action : {m_copyCurl, m_resend}) {
        auto *button = new QToolButton(this);
        button->setDefaultAction(action);
        detailButtons->addWidget(button);
    }
    detailButtons->addStretch(1);
    auto *detailLayout = new QVBoxLayout(detailPane);
    detailLayout->setContentsMargins(0, 0, 0, 0);
    detailLayout->addLayout(detailButtons);
    detailLayout->addWidget(m_detail, 1);
    auto *splitter = new QSplitter(Qt::Vertical, this);
    splitter->addWidget(m_table);
    splitter->addWidget(detailPane);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 1);
    splitter->setChildrenCollapsible(false);

    auto *bar = new QHBoxLayout;
    bar->addWidget(m_filter, 1);
    bar->addWidget(m_moment);
    bar->addWidget(m_clearMoment);
    bar->addWidget(m_count);
    bar->addWidget(exportButton);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(bar);
    layout->addWidget(m_filterProblem);
    layout->addWidget(m_exportStatus);
    layout->addWidget(splitter, 1);
    updateCount();
}

int RequestsPage::visibleRows() const
{
    return m_model.rowCount();
}

void RequestsPage::applyFilter(const QString &text)
{
    // While the text does not parse, the last good filter stays and the problem shows.
    const auto filter = metering::RequestFilter::parse(text);
    m_filterProblem->setVisible(!filter);
    if (!filter) {
        m_filterProblem->setText(filter.error().message);
        return;
    }
    m_filterText = filter->text();
    applyMoment();
}

void RequestsPage::applyMoment()
{
    m_model.setFilter(*metering::RequestFilter::parse(m_filterText), m_fromMs, m_toMs);
    m_table->scrollToTop();
    updateCount();
}

QString RequestsPage::filterProblem() const
{
    return m_filterProblem->isVisibleTo(this) ? m_filterProblem->text() : QString();
}

void RequestsPage::showMoment(qint64 fromMs, qint64 toMs)
{
    m_fromMs = fromMs;
    m_toMs = toMs;
    const QString format =
        toMs - fromMs < 60000 ? QStringLiteral("HH:mm:ss") : QStringLiteral("HH:mm");
    m_moment->setText(tr("Completed %1–%2")
                          .arg(QDateTime::fromMSecsSinceEpoch(fromMs).toString(format),
                               QDateTime::fromMSecsSinceEpoch(toMs).toString(format)));
    m_moment->show();
    m_clearMoment->show();
    applyMoment();
}

void RequestsPage::clearMoment()
{
    m_fromMs = 0;
    m_toMs = 0;
    m_moment->hide();
    m_clearMoment->hide();
    applyMoment();
}

QString RequestsPage::momentText() const
{
    return m_toMs > m_fromMs ? m_moment->text() : QString();
}

QString RequestsPage::countText() const
{
    return m_count->text();
}

void RequestsPage::updateCount()
{
    const qint64 shown = m_model.matchingCount();
    const qint64 total = m_model.totalCount();
    if (shown < 0 || total < 0)
        m_count->setText(tr("counting…"));
    else if (shown != total)
        m_count->setText(tr("%1 of %2").arg(count(shown), count(total)));
    else
        m_count->setText(total == 1 ? tr("1 request") : tr("%1 requests").arg(count(total)));
}

void RequestsPage::setColumnShown(int column, bool shown)
{
    m_table->setColumnHidden(column, !shown);
    QStringList hidden;
    for (int c = 0; c < RequestsModel::ColumnCount; ++c) {
        if (m_table->isColumnHidden(c))
            hidden.append(RequestsModel::columnKey(c));
    }
    m_settings.setHiddenRequestColumns(hidden);
}

void RequestsPage::showColumnMenu(const QPoint &at)
{
    QMenu menu(this);
    int shown = 0;
    for (int column = 0; column < RequestsModel::ColumnCount; ++column)
        shown += !m_table->isColumnHidden(column);
    for (int column = 0; column < RequestsModel::ColumnCount; ++column) {
        QAction *action = menu.addAction(RequestsModel::columnName(column));
        action->setCheckable(true);
        action->setChecked(!m_table->isColumnHidden(column));
        // The last column shown stays: a table without columns cannot be right-clicked again.
        action->setEnabled(m_table->isColumnHidden(column) || shown > 1);
        connect(action, &QAction::toggled, this,
                [this, column](bool checked) { setColumnShown(column, checked); });
    }
    menu.exec(m_table->horizontalHeader()->mapToGlobal(at));
}

RequestsPage::~RequestsPage()
{
    if (m_exchangeReading)
        m_exchangeReading->wait();
}

bool RequestsPage::eventFilter(QObject *watched, QEvent *event)
{
    if (watched == m_table->viewport() && event->type() == QEvent::Paint) {
        const int last = m_table->rowAt(m_table->viewport()->height() - 1);
        m_model.setRowsOnScreen(m_table->rowAt(0), last >= 0 ? last : m_model.rowCount() - 1);
    }
    return QWidget::eventFilter(watched, event);
}

bool RequestsPage::followSelected(int row)
{
    // The rows on top change in place: the one selected may now show another request (a running
    // one finished under another, say). The selection follows its request.
    const metering::RequestRecord *shown = m_model.record(row);
    if (!m_selected || !shown || shown->id == m_selected->id)
        return false;
    const int moved = m_model.loadedRowOf(m_selected->id);
    if (moved < 0)
        return false;
    m_table->selectionModel()->setCurrentIndex(
        m_model.index(moved, m_table->selectionModel()->currentIndex().column()),
        QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    return true;
}

void RequestsPage::updateDetail()
{
    const QModelIndex current = m_table->selectionModel()->currentIndex();
    const metering::RequestRecord *record =
        current.isValid() ? m_model.record(current.row()) : nullptr;
    const bool running = current.isValid() && m_model.isRunning(current.row());
    const bool same = record && m_selected && m_selected->id == record->id;
    m_selected = record ? std::optional(*record) : std::nullopt;
    m_recordText = m_selected ? describe(*m_selected, running) : QString();
    m_copyCurl->setEnabled(m_selected.has_value());
    if (same && m_exchange) {
        showExchange(m_selected->id, m_exchange, QString());
        return;
    }
    m_exchange.reset();
    m_resend->setEnabled(false);
    m_detail->setPlainText(m_recordText);
    if (m_selected && !running)
        readExchange(m_selected->id);
}

void RequestsPage::readExchange(const QString &id)
{
    const std::optional<store::RequestLogReader> &log = m_model.log();
    if (!log)
        return;
    if (m_exchangeReading)
        m_exchangeReading->wait(); // one primary-key read: never long
    m_exchangeReading.reset(QThread::create([this, reader = *log, id] {
        const auto found = reader.exchange(id);
        const std::optional<store::CapturedExchange> exchange =
            found ? *found : std::optional<store::CapturedExchange>();
        const QString problem = found ? QString() : found.error().message;
        QMetaObject::invokeMethod(
            this, [this, id, exchange, problem] { showExchange(id, exchange, problem); });
    }));
    m_exchangeReading->start();
}

void RequestsPage::showExchange(const QString &id,
                                const std::optional<store::CapturedExchange> &exchange,
                                const QString &problem)
{
    if (!m_selected || m_selected->id != id)
        return; // the selection moved on meanwhile
    m_exchange = exchange;
    m_resend->setEnabled(exchange.has_value());
    QString text = m_recordText + QStringLiteral("\n\n");
    if (exchange)
        text += store::requestexport::exchangeText(*exchange);
    else if (!problem.isEmpty())
        text += tr("Request and response: %1").arg(problem);
    else
        text += tr("Request and response: not captured (capture was off, or the log's cap "
                   "let them go).");
    const int scroll = m_detail->verticalScrollBar()->value();
    m_detail->setPlainText(text);
    m_detail->verticalScrollBar()->setValue(scroll);
    Q_EMIT exchangeShown(id, exchange.has_value());
}

QString RequestsPage::detailText() const
{
    return m_detail->toPlainText();
}

QString RequestsPage::curlCommand() const
{
    if (!m_selected)
        return {};
    if (m_exchange)
        return store::requestexport::curlCommand(*m_selected, *m_exchange, m_baseUrl);
    return store::requestexport::curlCommand(*m_selected, m_baseUrl);
}

bool RequestsPage::selectNewestFinished(int timeoutMs)
{
    // Among the newest rows (those already read), one that reached a provider shows the most.
    int row = -1;
    const int rows = std::min(m_model.rowCount(), 500);
    for (int candidate = 0; candidate < rows; ++candidate) {
        const metering::RequestRecord *record = m_model.record(candidate);
        if (!record || m_model.isRunning(candidate))
            continue;
        if (row < 0)
            row = candidate;
        if (record->queueMs >= 0) {
            row = candidate;
            break;
        }
    }
    if (row < 0)
        return false;
    QEventLoop wait;
    QTimer::singleShot(timeoutMs, &wait, &QEventLoop::quit);
    connect(this, &RequestsPage::exchangeShown, &wait, &QEventLoop::quit);
    m_table->selectRow(row);
    if (m_exchangeReading && m_exchangeReading->isRunning())
        wait.exec();
    return true;
}

ResendDialog *RequestsPage::resendSelected()
{
    if (!m_selected || !m_exchange)
        return nullptr;
    auto *dialog = new ResendDialog(*m_selected, *m_exchange, m_baseUrl, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    // The resent request is found by its id, wherever the log's order puts it.
    connect(dialog, &ResendDialog::showRequest, this,
            [this](const QString &id) { m_filter->setText(QStringLiteral("id=") + id); });
    dialog->show();
    return dialog;
}

void RequestsPage::exportTo(const QString &path, store::requestexport::Format format)
{
    m_exportStatus->setText(tr("Exporting to %1…").arg(path));
    m_exportStatus->setStyleSheet(QString());
    m_exportStatus->show();
    m_model.exportRows(path, format, m_baseUrl);
}

Expected<QString> RequestsPage::exportHar(const QString &path) const
{
    if (!m_selected)
        return Error(tr("select a request first"));
    if (!m_exchange)
        return Error(tr("request %1 was not captured").arg(m_selected->id));
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return Error(tr("cannot write %1: %2").arg(path, file.errorString()));
    file.write(store::requestexport::harDocument(*m_selected, *m_exchange, m_baseUrl));
    if (!file.commit())
        return Error(tr("cannot write %1: %2").arg(path, file.errorString()));
    return path;
}

void RequestsPage::chooseHarExport()
{
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export the request as HAR"),
        QStringLiteral("%1.har").arg(m_selected ? m_selected->id : QStringLiteral("request")),
        tr("HAR (*.har)"));
    if (path.isEmpty())
        return;
    const auto written = exportHar(path);
    m_exportStatus->setText(written ? tr("Exported the request to %1").arg(path)
                                    : tr("HAR export failed: %1").arg(written.error().message));
    m_exportStatus->setStyleSheet(written ? QString() : QStringLiteral("color: #c62828;"));
    m_exportStatus->show();
}

QString RequestsPage::exportStatus() const
{
    return m_exportStatus->isVisibleTo(this) ? m_exportStatus->text() : QString();
}

void RequestsPage::chooseExport(store::requestexport::Format format)
{
    using Format = store::requestexport::Format;
    const QString suffix = format == Format::Csv   ? QStringLiteral("csv")
                           : format == Format::Har ? QStringLiteral("har")
                                                   : QStringLiteral("jsonl");
    const QString kind = format == Format::Csv   ? tr("CSV")
                         : format == Format::Har ? tr("HAR")
                                                 : tr("JSON Lines");
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export requests"), QStringLiteral("requests.") + suffix,
        QStringLiteral("%1 (*.%2)").arg(kind, suffix));
    if (!path.isEmpty())
        exportTo(path, format);
}

QString RequestsPage::describe(const metering::RequestRecord &r, bool running)
{
    if (running) {
        return tr("Request %1 is running: %2 so far (%3 %4, %5, user %6).\n"
                  "Its status, timing, tokens and cost arrive when it finishes.")
            .arg(r.id, milliseconds(r.latencyMs), r.flavor, r.endpoint,
                 r.usedModel.isEmpty() || r.usedModel == r.requestedModel
                     ? r.requestedModel
                     : QStringLiteral("%1 → %2").arg(r.requestedModel, r.usedModel),
                 r.user.isEmpty() ? tr("(local)") : r.user);
    }
    const auto ms = [](double value) { return value < 0 ? tr("none") : milliseconds(value); };
    QStringList lines;
    const auto group = [&lines](const QString &title) {
        if (!lines.isEmpty())
            lines << QString();
        lines << title;
    };
    const auto field = [&lines](const QString &name, const QString &value) {
        lines << QStringLiteral("  %1 %2").arg(name + QLatin1Char(':'), -14).arg(value);
    };
    group(tr("Request %1").arg(r.id));
    field(tr("started"), QDateTime::fromMSecsSinceEpoch(r.startedAtMs)
                             .toString(QStringLiteral("yyyy-MM-dd HH:mm:ss.zzz")));
    field(tr("endpoint"), QStringLiteral("%1 %2%3").arg(r.flavor, r.endpoint,
                                                        r.stream ? tr(" (streamed)") : QString()));
    field(tr("user"), r.user.isEmpty() ? tr("(local)") : r.user);
    field(tr("status"),
          r.status == 0 ? tr("none (the client left first)") : QString::number(r.status));
    group(tr("Timing"));
    field(tr("queue"), ms(r.queueMs));
    field(tr("connect"), r.connectMs == 0 ? tr("0 ms (pooled connection)") : ms(r.connectMs));
    field(tr("first token"), ms(r.ttftMs));
    field(tr("latency"), ms(r.latencyMs));
    field(tr("upstream"), ms(r.upstreamMs));
    field(tr("overhead"), ms(r.overheadMs));
    group(tr("Tokens"));
    field(tr("input"), count(r.usage.inputTokens));
    field(tr("output"), count(r.usage.outputTokens));
    field(tr("cache write"), count(r.usage.cacheWriteTokens));
    field(tr("cache read"), count(r.usage.cacheReadTokens));
    group(tr("Cost"));
    field(tr("cost"),
          r.priced ? usd(r.costUsd) : tr("%1 (model not in the price table)").arg(usd(r.costUsd)));
    if (r.savedUsd > 0)
        field(tr("saved"), usd(r.savedUsd));
    group(tr("Routing"));
    field(tr("model"), r.usedModel.isEmpty() || r.usedModel == r.requestedModel
                           ? r.requestedModel
                           : QStringLiteral("%1 → %2").arg(r.requestedModel, r.usedModel));
    field(tr("rule"), r.route.isEmpty() ? tr("none") : r.route);
    field(tr("plan"), r.plan.isEmpty() ? tr("none") : r.plan);
    field(tr("retries"), QString::number(r.retries));
    group(tr("Cache"));
    field(tr("outcome"), r.cacheStatus);
    if (!r.error.isEmpty()) {
        group(tr("Error"));
        lines << QStringLiteral("  ") + r.error;
    }
    lines << QString()
          << tr("Headers, bodies and stream events are not logged: the log keeps what was "
                "measured.");
    return lines.join(QLatin1Char('\n'));
}

} // namespace tollgate::ui
