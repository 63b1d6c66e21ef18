#pragma once

#include <QWidget>

class QLabel;
class QLineEdit;
class QSortFilterProxyModel;
class QTableView;

namespace tollgate::ui {

class RequestsModel;

/// The request log: a table of the latest requests with a filter bar (Ctrl+F).
class RequestsPage : public QWidget {
    Q_OBJECT
public:
    explicit RequestsPage(RequestsModel &model, QWidget *parent = nullptr);

    QTableView *table() const { return m_table; }
    QLineEdit *filter() const { return m_filter; }
    /// Rows shown after filtering.
    int visibleRows() const;

private:
    void updateCount();

    RequestsModel &m_model;
    QSortFilterProxyModel *m_proxy;
    QLineEdit *m_filter;
    QLabel *m_count;
    QTableView *m_table;
};

} // namespace tollgate::ui
