#include "requestspage.h"

#include "requestsmodel.h"

#include <QAction>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QScrollBar>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>

namespace tollgate::ui {

RequestsPage::RequestsPage(RequestsModel &model, QWidget *parent)
    : QWidget(parent)
    , m_model(model)
    , m_proxy(new QSortFilterProxyModel(this))
    , m_filter(new QLineEdit(this))
    , m_count(new QLabel(this))
    , m_table(new QTableView(this))
{
    m_proxy->setSourceModel(&model);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    m_proxy->setFilterKeyColumn(-1); // any column
    m_proxy->setSortRole(RequestsModel::RawRole);

    m_filter->setPlaceholderText(tr("Filter: text in any column"));
    m_filter->setClearButtonEnabled(true);
    connect(m_filter, &QLineEdit::textChanged, this, [this](const QString &text) {
        m_proxy->setFilterFixedString(text);
        updateCount();
    });
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

    auto *bar = new QHBoxLayout;
    bar->addWidget(m_filter, 1);
    bar->addWidget(m_count);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(bar);
    layout->addWidget(m_table, 1);
    updateCount();
}

int RequestsPage::visibleRows() const
{
    return m_proxy->rowCount();
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
