#pragma once

#include <QWidget>

class QLabel;
class QLineEdit;
class QTableView;
class QToolButton;

namespace tollgate::ui {

class RequestsModel;
class RequestsFilterModel;

/// The request log: a table of the latest requests with a filter bar (Ctrl+F).
class RequestsPage : public QWidget {
    Q_OBJECT
public:
    explicit RequestsPage(RequestsModel &model, QWidget *parent = nullptr);

    QTableView *table() const { return m_table; }
    QLineEdit *filter() const { return m_filter; }
    /// What is wrong with the filter bar's text; empty while it parses.
    QString filterProblem() const;
    /// Rows shown after filtering.
    int visibleRows() const;
    /// Shows only the requests that completed in [fromMs, toMs) (a chart's bucket), until the
    /// user clears it.
    void showMoment(qint64 fromMs, qint64 toMs);
    void clearMoment();
    QString momentText() const;

private:
    void applyFilter(const QString &text);
    void updateCount();

    RequestsModel &m_model;
    RequestsFilterModel *m_proxy;
    QLineEdit *m_filter;
    QLabel *m_filterProblem;
    QLabel *m_moment;
    QToolButton *m_clearMoment;
    QLabel *m_count;
    QTableView *m_table;
};

} // namespace tollgate::ui
