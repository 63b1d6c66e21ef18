#pragma once

#include "metering/requestrecord.h"

#include <QAbstractTableModel>

#include <deque>

namespace tollgate::ui {

/// The request log's rows: the newest finished requests, appended in batches and capped (the
/// oldest rows leave first). Display text under DisplayRole, the raw value under RawRole for
/// sorting, filtering and copy.
class RequestsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        Time,
        User,
        Model,
        Status,
        LatencyMs,
        TtftMs,
        InputTokens,
        OutputTokens,
        CostUsd,
        Cache,
        Route,
        ColumnCount
    };
    static constexpr int RawRole = Qt::UserRole + 1;
    static constexpr int kDefaultMaxRows = 100000;

    explicit RequestsModel(QObject *parent = nullptr);

    void setMaxRows(int maxRows);
    /// Appends a batch (oldest first); one insert, and one removal when over the cap.
    void append(const QList<metering::RequestRecord> &records);
    const metering::RequestRecord &record(int row) const { return m_rows.at(size_t(row)); }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    QVariant raw(const metering::RequestRecord &record, int column) const;
    QString text(const metering::RequestRecord &record, int column) const;

    std::deque<metering::RequestRecord> m_rows;
    int m_maxRows = kDefaultMaxRows;
};

} // namespace tollgate::ui
