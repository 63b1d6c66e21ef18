#include "requestsmodel.h"

#include <QBrush>
#include <QColor>
#include <QDateTime>

#include <algorithm>

namespace tollgate::ui {

namespace {

QString milliseconds(double ms)
{
    if (ms < 0)
        return QStringLiteral("–");
    return ms < 10 ? QString::number(ms, 'f', 1) : QString::number(qRound64(ms));
}

} // namespace

RequestsModel::RequestsModel(QObject *parent)
    : QAbstractTableModel(parent)
{
}

void RequestsModel::setMaxRows(int maxRows)
{
    m_maxRows = std::max(1, maxRows);
    const int excess = int(m_rows.size()) - m_maxRows;
    if (excess <= 0)
        return;
    beginRemoveRows({}, 0, excess - 1);
    m_rows.erase(m_rows.begin(), m_rows.begin() + excess);
    endRemoveRows();
}

void RequestsModel::append(const QList<metering::RequestRecord> &records)
{
    if (records.isEmpty())
        return;
    // Only the newest m_maxRows of a huge batch could stay anyway.
    const qsizetype skip = std::max<qsizetype>(0, records.size() - m_maxRows);
    const int incoming = int(records.size() - skip);
    const int excess = int(m_rows.size()) + incoming - m_maxRows;
    if (excess > 0) {
        beginRemoveRows({}, 0, excess - 1);
        m_rows.erase(m_rows.begin(), m_rows.begin() + excess);
        endRemoveRows();
    }
    const int first = int(m_rows.size());
    beginInsertRows({}, first, first + incoming - 1);
    m_rows.insert(m_rows.end(), records.begin() + skip, records.end());
    endInsertRows();
}

int RequestsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int RequestsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant RequestsModel::raw(const metering::RequestRecord &r, int column) const
{
    switch (column) {
    case Time: return r.startedAtMs;
    case User: return r.user;
    case Model: return r.usedModel.isEmpty() ? r.requestedModel : r.usedModel;
    case Status: return r.status;
    case LatencyMs: return r.latencyMs;
    case TtftMs: return r.ttftMs;
    case InputTokens: return qlonglong(r.usage.inputTokens);
    case OutputTokens: return qlonglong(r.usage.outputTokens);
    case CostUsd: return r.costUsd;
    case Cache: return r.cacheStatus;
    case Route: return r.route;
    default: return {};
    }
}

QString RequestsModel::text(const metering::RequestRecord &r, int column) const
{
    switch (column) {
    case Time:
        return QDateTime::fromMSecsSinceEpoch(r.startedAtMs)
            .toString(QStringLiteral("HH:mm:ss.zzz"));
    case User: return r.user.isEmpty() ? QStringLiteral("(local)") : r.user;
    case Model:
        // "asked → served" when routing or a fallback changed the model.
        if (!r.usedModel.isEmpty() && r.usedModel != r.requestedModel)
            return r.requestedModel + QStringLiteral(" → ") + r.usedModel;
        return r.requestedModel;
    case Status: return r.status == 0 ? QStringLiteral("–") : QString::number(r.status);
    case LatencyMs: return milliseconds(r.latencyMs);
    case TtftMs: return milliseconds(r.ttftMs);
    case InputTokens: return QString::number(r.usage.inputTokens);
    case OutputTokens: return QString::number(r.usage.outputTokens);
    case CostUsd: return QStringLiteral("$") + QString::number(r.costUsd, 'f', 5);
    case Cache: return r.cacheStatus;
    case Route: return r.route;
    default: return {};
    }
}

QVariant RequestsModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const metering::RequestRecord &r = m_rows.at(size_t(index.row()));
    switch (role) {
    case Qt::DisplayRole: return text(r, index.column());
    case RawRole: return raw(r, index.column());
    case Qt::ToolTipRole: return r.error.isEmpty() ? QVariant() : QVariant(r.error);
    case Qt::TextAlignmentRole:
        if (index.column() >= LatencyMs && index.column() <= CostUsd)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case Qt::ForegroundRole:
        if (index.column() == Status && r.failed())
            return QBrush(QColor(0xc6, 0x28, 0x28));
        return {};
    default: return {};
    }
}

QVariant RequestsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Time: return tr("Time");
    case User: return tr("User");
    case Model: return tr("Model");
    case Status: return tr("Status");
    case LatencyMs: return tr("Latency ms");
    case TtftMs: return tr("TTFT ms");
    case InputTokens: return tr("In");
    case OutputTokens: return tr("Out");
    case CostUsd: return tr("Cost");
    case Cache: return tr("Cache");
    case Route: return tr("Route");
    default: return {};
    }
}

} // namespace tollgate::ui
