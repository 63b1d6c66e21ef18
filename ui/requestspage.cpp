#include "requestspage.h"

#include "requestsmodel.h"

#include "metering/requestfilter.h"

#include <QAction>
#include <QDateTime>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QScrollBar>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QToolButton>
#include <QVBoxLayout>

namespace tollgate::ui {

/// The filter bar's filter (docs/filter.md), and optionally a span of completion times.
class RequestsFilterModel : public QSortFilterProxyModel {
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;

    void setFilter(const metering::RequestFilter &filter)
    {
        m_filter = filter;
        invalidateFilter();
    }

    void setCompletedBetween(qint64 fromMs, qint64 toMs)
    {
        m_fromMs = fromMs;
        m_toMs = toMs;
        invalidateFilter();
    }
    bool hasMoment() const { return m_toMs > m_fromMs; }

protected:
    bool filterAcceptsRow(int row, const QModelIndex &parent) const override
    {
        Q_UNUSED(parent);
        const auto &record = static_cast<const RequestsModel *>(sourceModel())->record(row);
        if (hasMoment()) {
            const qint64 completed = record.completedAtMs();
            if (completed < m_fromMs || completed >= m_toMs)
                return false;
        }
        return m_filter.matches(record);
    }

private:
    metering::RequestFilter m_filter;
    qint64 m_fromMs = 0;
    qint64 m_toMs = 0;
};

RequestsPage::RequestsPage(RequestsModel &model, QWidget *parent)
    : QWidget(parent)
    , m_model(model)
    , m_proxy(new RequestsFilterModel(this))
    , m_filter(new QLineEdit(this))
    , m_filterProblem(new QLabel(this))
    , m_moment(new QLabel(this))
    , m_clearMoment(new QToolButton(this))
    , m_count(new QLabel(this))
    , m_table(new QTableView(this))
{
    m_proxy->setSourceModel(&model);
    m_proxy->setSortRole(RequestsModel::RawRole);

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

    m_table->setModel(m_proxy);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(RequestsModel::Time, Qt::AscendingOrder);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setAlternatingRowColors(true);
    m_table->verticalHeader()->hide();
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 6);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    // Narrow numeric columns, room for the names: the whole row fits a 1100-pixel window.
    m_table->horizontalHeader()->setDefaultSectionSize(72);
    m_table->setColumnWidth(RequestsModel::Time, 100);
    m_table->setColumnWidth(RequestsModel::User, 90);
    m_table->setColumnWidth(RequestsModel::Model, 210);

    // A live tail: while the view is at the bottom, new rows keep it there.
    connect(&model, &QAbstractItemModel::rowsInserted, this, [this] {
        QScrollBar *bar = m_table->verticalScrollBar();
        const bool atBottom = bar->value() >= bar->maximum() - 2;
        updateCount();
        if (atBottom)
            m_table->scrollToBottom();
    });
    connect(&model, &QAbstractItemModel::rowsRemoved, this, &RequestsPage::updateCount);

    m_clearMoment->setText(tr("Show all times"));
    connect(m_clearMoment, &QToolButton::clicked, this, &RequestsPage::clearMoment);
    m_moment->hide();
    m_clearMoment->hide();

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
    return m_proxy->rowCount();
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
    m_proxy->setFilter(*filter);
    updateCount();
}

QString RequestsPage::filterProblem() const
{
    return m_filterProblem->isVisibleTo(this) ? m_filterProblem->text() : QString();
}

void RequestsPage::showMoment(qint64 fromMs, qint64 toMs)
{
    m_proxy->setCompletedBetween(fromMs, toMs);
    const QString format =
        toMs - fromMs < 60000 ? QStringLiteral("HH:mm:ss") : QStringLiteral("HH:mm");
    m_moment->setText(tr("Completed %1–%2")
                          .arg(QDateTime::fromMSecsSinceEpoch(fromMs).toString(format),
                               QDateTime::fromMSecsSinceEpoch(toMs).toString(format)));
    m_moment->show();
    m_clearMoment->show();
    updateCount();
    m_table->scrollToTop();
}

void RequestsPage::clearMoment()
{
    m_proxy->setCompletedBetween(0, 0);
    m_moment->hide();
    m_clearMoment->hide();
    updateCount();
}

QString RequestsPage::momentText() const
{
    return m_proxy->hasMoment() ? m_moment->text() : QString();
}

void RequestsPage::updateCount()
{
    const int total = m_model.rowCount();
    const int shown = m_proxy->rowCount();
    if (shown != total)
        m_count->setText(tr("%1 of %2").arg(shown).arg(total));
    else
        m_count->setText(total == 1 ? tr("1 request") : tr("%1 requests").arg(total));
}

} // namespace tollgate::ui
