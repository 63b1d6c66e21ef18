#pragma once

#include "common/expected.h"
#include "gateway/policyedit.h"

#include <QAbstractTableModel>
#include <QJsonObject>
#include <QJsonValue>
#include <QMap>
#include <QStringList>

#include <functional>

namespace tollgate::ui {

/// One section of the edited policy document as a table: the elements of a list (routes,
/// models, budgets), the members of an object of objects (plans, alert rules) with their name in
/// the first column, or the settings of one object (cache, breakers) as name/value rows. It never
/// changes the document itself: an edit, a rename or a drag asks the page (editRequested, ...),
/// which makes it an undoable command and hands the new document back with setDocument().
class PolicySectionModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum class Shape { List, Keyed, Settings };
    /// How a cell's text becomes JSON: Auto reads JSON (a number, true, {...}) and otherwise
    /// keeps the text; a cell that holds a string stays a string. Form is a structure the page
    /// also edits in a form of its own (FormRole); its text is always read as JSON first.
    enum class Kind { Auto, Text, List, Form };
    struct Column {
        QString field;
        QString title;
        Kind kind = Kind::Auto;
    };
    /// A cell's fixed choices, for its editor: the texts offered (QStringList), whether other
    /// text goes too, and whether it is a switch.
    /// FormRole: whether the cell is a Form cell.
    enum Role { ChoicesRole = Qt::UserRole + 1, OpenChoiceRole, BooleanRole, FormRole };
    using ChoiceSource = std::function<gateway::FieldChoices(const QString &path)>;

    /// `path` is the section's place in the document ("routes", "alerts.rules"). Keyed and
    /// Settings tables show the member's name in column 0; `keys` limits a Settings table to
    /// those members (for settings at the top of the document).
    PolicySectionModel(const QString &path, Shape shape, QList<Column> columns,
                       QObject *parent = nullptr, QStringList keys = {});

    void setDocument(const QJsonObject &document);
    /// Where the choices of a cell (by its path) come from; without one every cell is text.
    void setChoiceSource(ChoiceSource source) { m_choices = std::move(source); }
    /// Marks the cells the problems are about; a problem inside a row but in no column marks
    /// the row's first cell.
    void setProblems(const QList<Error> &problems);
    /// Whether the problem at `path` is this table's to show.
    bool owns(const QString &path) const;

    QString path() const { return m_path; }
    Shape shape() const { return m_shape; }
    /// The path of a row ("routes[2]", "plans.pro", "cache.ttl_seconds") and of a cell.
    QString rowPath(int row) const;
    QString cellPath(const QModelIndex &index) const;
    /// The row whose path is `path` or holds it; -1 when none.
    int rowOf(const QString &path) const;
    QString keyOf(int row) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex &index) const override;
    bool setData(const QModelIndex &index, const QVariant &value, int role = Qt::EditRole) override;

    Qt::DropActions supportedDropActions() const override;
    QStringList mimeTypes() const override;
    QMimeData *mimeData(const QModelIndexList &indexes) const override;
    bool dropMimeData(const QMimeData *data, Qt::DropAction action, int row, int column,
                      const QModelIndex &parent) override;

    /// The JSON a cell's text stands for; undefined (remove the field) for empty text.
    static QJsonValue valueFromText(const QString &text, Kind kind, const QJsonValue &current);
    /// The text a cell shows for a value.
    static QString textOf(const QJsonValue &value, Kind kind);

Q_SIGNALS:
    void editRequested(const QString &path, const QJsonValue &value);
    void renameRequested(const QString &path, const QString &newKey);
    /// Move row `from` so that it lands before row `to` (rowCount(): to the end).
    void moveRequested(int from, int to);

private:
    bool hasKeyColumn() const { return m_shape != Shape::List; }
    /// The column description of a table column; nullptr for the name column.
    const Column *columnAt(int column) const;
    QStringList rowKeys(const QJsonObject &document) const;
    QString messagesAt(int row, int column) const;
    QVariant choiceData(const QModelIndex &index, int role) const;

    QString m_path;
    Shape m_shape;
    QList<Column> m_columns;
    QStringList m_onlyKeys;
    QJsonObject m_document;
    QJsonValue m_section;
    QStringList m_keys; ///< Keyed and Settings: the member of each row
    QMap<QPair<int, int>, QStringList> m_problems;
    ChoiceSource m_choices;
};

} // namespace tollgate::ui
