#include "policysectionmodel.h"

#include "policy/jsonpath.h"
#include "policy/policyfields.h"

#include <QBrush>
#include <QColor>
#include <QJsonArray>
#include <QJsonDocument>
#include <QMimeData>

namespace tollgate::ui {

namespace {

const QString kRowMime = QStringLiteral("application/x-tollgate-policy-row");

bool isStringList(const QJsonValue &value)
{
    if (!value.isArray())
        return false;
    const QJsonArray array = value.toArray();
    return std::all_of(array.begin(), array.end(),
                       [](const QJsonValue &v) { return v.isString(); });
}

} // namespace

PolicySectionModel::PolicySectionModel(const QString &path, Shape shape, QList<Column> columns,
                                       QObject *parent, QStringList keys)
    : QAbstractTableModel(parent)
    , m_path(path)
    , m_shape(shape)
    , m_columns(std::move(columns))
    , m_onlyKeys(std::move(keys))
{
}

QStringList PolicySectionModel::rowKeys(const QJsonObject &document) const
{
    if (m_shape == Shape::List)
        return {};
    if (!m_onlyKeys.isEmpty())
        return m_onlyKeys;
    return policy::valueAtPath(document, m_path).toObject().keys();
}

void PolicySectionModel::setDocument(const QJsonObject &document)
{
    const QJsonValue section = policy::valueAtPath(document, m_path);
    const QStringList keys = rowKeys(document);
    const bool sameRows = m_shape == Shape::List
                              ? section.toArray().size() == m_section.toArray().size()
                              : keys == m_keys;
    // An edit in place keeps the view's selection and scroll; rows that come or go reset it.
    if (sameRows) {
        m_document = document;
        m_section = section;
        if (rowCount() > 0)
            Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1));
        return;
    }
    beginResetModel();
    m_document = document;
    m_section = section;
    m_keys = keys;
    m_problems.clear();
    endResetModel();
}

bool PolicySectionModel::owns(const QString &path) const
{
    if (m_onlyKeys.isEmpty())
        return policy::isWithinPath(path, m_path);
    return std::any_of(m_onlyKeys.begin(), m_onlyKeys.end(), [&](const QString &key) {
        return policy::isWithinPath(path, policy::memberPath(m_path, key));
    });
}

void PolicySectionModel::setProblems(const QList<Error> &problems)
{
    m_problems.clear();
    for (const Error &problem : problems) {
        if (!owns(problem.path))
            continue;
        const int row = rowOf(problem.path);
        if (row < 0)
            continue;
        int column = 0;
        for (int c = 0; c < columnCount(); ++c) {
            const QString cell = cellPath(index(row, c));
            if (cell != rowPath(row) && policy::isWithinPath(problem.path, cell))
                column = c;
        }
        m_problems[{row, column}].append(problem.message);
    }
    if (rowCount() > 0)
        Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1));
}

QString PolicySectionModel::rowPath(int row) const
{
    if (m_shape == Shape::List)
        return policy::indexedPath(m_path, row);
    return policy::memberPath(m_path, m_keys.value(row));
}

QString PolicySectionModel::cellPath(const QModelIndex &index) const
{
    const Column *column = columnAt(index.column());
    if (!column || column->field.isEmpty())
        return rowPath(index.row());
    return policy::memberPath(rowPath(index.row()), column->field);
}

int PolicySectionModel::rowOf(const QString &path) const
{
    for (int row = 0; row < rowCount(); ++row) {
        if (policy::isWithinPath(path, rowPath(row)))
            return row;
    }
    return -1;
}

QString PolicySectionModel::keyOf(int row) const
{
    return m_keys.value(row);
}

const PolicySectionModel::Column *PolicySectionModel::columnAt(int column) const
{
    const int at = hasKeyColumn() ? column - 1 : column;
    return at >= 0 && at < m_columns.size() ? &m_columns.at(at) : nullptr;
}

int PolicySectionModel::rowCount(const QModelIndex &parent) const
{
    if (parent.isValid())
        return 0;
    return m_shape == Shape::List ? int(m_section.toArray().size()) : int(m_keys.size());
}

int PolicySectionModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_columns.size()) + (hasKeyColumn() ? 1 : 0);
}

QString PolicySectionModel::messagesAt(int row, int column) const
{
    return m_problems.value({row, column}).join(QLatin1Char('\n'));
}

QVariant PolicySectionModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid())
        return {};
    const Column *column = columnAt(index.column());
    const QString problem = messagesAt(index.row(), index.column());
    switch (role) {
    case Qt::DisplayRole:
    case Qt::EditRole:
        if (!column)
            return keyOf(index.row());
        return textOf(policy::valueAtPath(m_document, cellPath(index)), column->kind);
    case Qt::ToolTipRole:
        if (!problem.isEmpty())
            return problem;
        if (column && column->kind == Kind::Form)
            return tr("Double-click or press Enter to edit in a form; F2 edits the JSON");
        return {};
    case FormRole: return column && column->kind == Kind::Form;
    case Qt::BackgroundRole:
        return problem.isEmpty() ? QVariant() : QVariant(QBrush(QColor(217, 83, 79, 70)));
    case ChoicesRole:
    case OpenChoiceRole:
    case BooleanRole: return choiceData(index, role);
    default: return {};
    }
}

QVariant PolicySectionModel::choiceData(const QModelIndex &index, int role) const
{
    const Column *column = columnAt(index.column());
    if (!column || !m_choices)
        return {};
    const gateway::FieldChoices choices = m_choices(cellPath(index));
    if (role == BooleanRole)
        return choices.boolean;
    if (role == OpenChoiceRole)
        return choices.open;
    QStringList texts;
    for (const QJsonValue &value : choices.values)
        texts.append(textOf(value, column->kind));
    return texts;
}

QVariant PolicySectionModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (role != Qt::DisplayRole)
        return {};
    if (orientation == Qt::Vertical)
        return section + 1;
    const Column *column = columnAt(section);
    if (column)
        return column->title;
    return m_shape == Shape::Settings ? tr("Setting") : tr("Name");
}

Qt::ItemFlags PolicySectionModel::flags(const QModelIndex &index) const
{
    Qt::ItemFlags flags = QAbstractTableModel::flags(index);
    if (m_shape == Shape::List)
        flags |=
            index.isValid() ? Qt::ItemIsDragEnabled | Qt::ItemIsDropEnabled : Qt::ItemIsDropEnabled;
    const bool fixedName = !columnAt(index.column()) && m_shape == Shape::Settings;
    if (index.isValid() && !fixedName)
        flags |= Qt::ItemIsEditable;
    return flags;
}

bool PolicySectionModel::setData(const QModelIndex &index, const QVariant &value, int role)
{
    if (!index.isValid() || role != Qt::EditRole || !(flags(index) & Qt::ItemIsEditable))
        return false;
    const QString text = value.toString();
    const Column *column = columnAt(index.column());
    if (!column) {
        if (text.trimmed() != keyOf(index.row()))
            Q_EMIT renameRequested(rowPath(index.row()), text.trimmed());
        return true;
    }
    const QString path = cellPath(index);
    const QJsonValue current = policy::valueAtPath(m_document, path);
    const QJsonValue next = valueFromText(text, column->kind, current);
    if (next != current)
        Q_EMIT editRequested(path, next);
    return true;
}

QJsonValue PolicySectionModel::valueFromText(const QString &text, Kind kind,
                                             const QJsonValue &current)
{
    const QString trimmed = text.trimmed();
    if (trimmed.isEmpty())
        return QJsonValue(QJsonValue::Undefined);
    if (kind == Kind::Text || (kind == Kind::Auto && current.isString()))
        return trimmed;
    if (kind == Kind::List) {
        QJsonArray items;
        for (const QString &item : trimmed.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            if (!item.trimmed().isEmpty())
                items.append(item.trimmed());
        }
        return items;
    }
    // A scalar, an object or a list as JSON; anything else is kept as typed, and validation
    // says what the field expects.
    const QJsonDocument parsed =
        QJsonDocument::fromJson((QLatin1Char('[') + trimmed + QLatin1Char(']')).toUtf8());
    if (parsed.isArray() && parsed.array().size() == 1)
        return parsed.array().first();
    return trimmed;
}

QString PolicySectionModel::textOf(const QJsonValue &value, Kind kind)
{
    if (value.isUndefined())
        return {};
    if (value.isString())
        return value.toString();
    if (kind == Kind::List && isStringList(value)) {
        QStringList items;
        for (const QJsonValue &item : value.toArray())
            items.append(item.toString());
        return items.join(QStringLiteral(", "));
    }
    return policy::jsonText(value);
}

Qt::DropActions PolicySectionModel::supportedDropActions() const
{
    return m_shape == Shape::List ? Qt::MoveAction : Qt::IgnoreAction;
}

QStringList PolicySectionModel::mimeTypes() const
{
    return {kRowMime};
}

QMimeData *PolicySectionModel::mimeData(const QModelIndexList &indexes) const
{
    if (indexes.isEmpty())
        return nullptr;
    auto *data = new QMimeData;
    data->setData(kRowMime, QByteArray::number(indexes.first().row()));
    return data;
}

bool PolicySectionModel::dropMimeData(const QMimeData *data, Qt::DropAction action, int row,
                                      int column, const QModelIndex &parent)
{
    Q_UNUSED(column);
    if (m_shape != Shape::List || action != Qt::MoveAction || !data->hasFormat(kRowMime))
        return false;
    bool ok = false;
    const int from = data->data(kRowMime).toInt(&ok);
    if (!ok || from < 0 || from >= rowCount())
        return false;
    const int to = row >= 0 ? row : parent.isValid() ? parent.row() : rowCount();
    Q_EMIT moveRequested(from, to);
    // The page moves the row through the document; the view must not remove anything itself.
    return false;
}

} // namespace tollgate::ui
