#include "requestspage.h"

#include "consolesettings.h"
#include "format.h"
#include "requestsmodel.h"
#include "statusdelegate.h"

#include "metering/requestfilter.h"

#include <QAction>
#include <QDateTime>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QScrollBar>
#include <QTableView>
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
    m_table->setColumnWidth(RequestsModel::Id, 160);
    m_table->setItemDelegateForColumn(RequestsModel::Status, new StatusDelegate(m_table));
    header->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(header, &QHeaderView::customContextMenuRequested, this, &RequestsPage::showColumnMenu);
    const QStringList hidden = m_settings.hiddenRequestColumns();
    for (int column = 0; column < RequestsModel::ColumnCount; ++column)
        m_table->setColumnHidden(column, hidden.contains(RequestsModel::columnKey(column)));

    // A live tail: new rows arrive on top; a view scrolled down keeps showing the same rows.
    connect(&model, &RequestsModel::rowsPrepended, this, [this](int rows) {
        QScrollBar *bar = m_table->verticalScrollBar();
        if (bar->value() > 0)
            bar->setValue(bar->value() + rows);
    });
    connect(&model, &RequestsModel::countsChanged, this, &RequestsPage::updateCount);

    m_clearMoment->setText(tr("Show all times"));
    connect(m_clearMoment, &QToolButton::clicked, this, &RequestsPage::clearMoment);
    m_moment->hide();
    m_clearMoment->hide();
    m_count->setObjectName(QStringLiteral("requestCount"));

    auto *bar = new QHBoxLayout;
    bar->addWidget(m_filter, 1);
    bar->addWidget(m_moment);
    bar->addWidget(m_clearMoment);
    bar->addWidget(m_count);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(bar);
    layout->addWidget(m_filterProblem);
    layout->addWidget(m_table, 1);
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

} // namespace tollgate::ui
