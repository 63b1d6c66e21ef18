#include "matchdialog.h"

#include "routing/routingpolicy.h"

#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QPushButton>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>

namespace tollgate::ui {

namespace {

using Condition = routing::MatchCondition;

constexpr const char *kNameProperty = "tollgateName";

/// The names a condition's value holds: a string, or the strings of a list.
QStringList namesIn(const QJsonValue &value)
{
    if (value.isString())
        return {value.toString()};
    QStringList names;
    for (const QJsonValue &entry : value.toArray()) {
        if (entry.isString())
            names.append(entry.toString());
    }
    return names;
}

/// How the policy spells names: none is no condition, one is a string, more are a list.
QJsonValue oneOrList(const QStringList &names)
{
    if (names.isEmpty())
        return QJsonValue::Undefined;
    if (names.size() == 1)
        return names.first();
    return QJsonArray::fromStringList(names);
}

/// "a, b" back to its names: a pattern holds no comma.
QStringList splitList(const QString &text)
{
    QStringList names;
    for (const QString &part : text.split(QLatin1Char(','))) {
        if (!part.trimmed().isEmpty())
            names.append(part.trimmed());
    }
    return names;
}

/// Whether `value` is a name list the form shows as "a, b" and reads back the same: a name or a
/// non-empty list of names, none holding a comma.
bool isPlainList(const QJsonValue &value)
{
    const QJsonArray list = value.isArray() ? value.toArray() : QJsonArray{value};
    return !list.isEmpty() && std::all_of(list.begin(), list.end(), [](const QJsonValue &entry) {
        return entry.isString() && !entry.toString().contains(QLatin1Char(','));
    });
}

/// Whether the form can show `value` of a condition of `form` without changing it once touched.
bool fitsTheForm(Condition::Form form, const QJsonValue &value)
{
    if (value.isUndefined())
        return true;
    switch (form) {
    case Condition::Form::Choices:
    case Condition::Form::Patterns: return isPlainList(value);
    case Condition::Form::Fraction:
        return value.isDouble() && value.toDouble() >= 0 && value.toDouble() <= 1;
    case Condition::Form::NamedPatterns: {
        const QJsonObject named = value.toObject();
        return value.isObject() && !named.isEmpty() &&
               std::all_of(named.begin(), named.end(),
                           [](const QJsonValue &patterns) { return isPlainList(patterns); });
    }
    }
    return false;
}

} // namespace

/// One condition's row. A field the user never changed gives back its value as it came.
class MatchDialog::Field {
public:
    Field(Condition condition, QJsonValue original, QWidget *parent)
        : m_condition(std::move(condition))
        , m_original(std::move(original))
        , m_widget(new QWidget(parent))
    {
        m_widget->setObjectName(m_condition.key);
        m_widget->setToolTip(m_condition.description);
    }
    virtual ~Field() = default;

    const Condition &condition() const { return m_condition; }
    QWidget *widget() const { return m_widget; }
    QJsonValue value() const { return m_touched ? shown() : m_original; }
    /// Called by the widgets on every change the user makes.
    void touch(const std::function<void()> &changed)
    {
        m_touched = true;
        changed();
    }

protected:
    /// The value the widgets show; undefined when the condition is off.
    virtual QJsonValue shown() const = 0;
    QJsonValue original() const { return m_original; }

private:
    Condition m_condition;
    QJsonValue m_original;
    QWidget *m_widget;
    bool m_touched = false;
};

namespace {

/// A set of names: a check box each, plus one for each name outside the set that the value
/// holds, so that it shows (and the check can say what is wrong with it).
class ChoicesField : public MatchDialog::Field {
public:
    ChoicesField(const Condition &condition, const QJsonValue &original, QWidget *parent,
                 const std::function<void()> &changed)
        : Field(condition, original, parent)
    {
        auto *row = new QHBoxLayout(widget());
        row->setContentsMargins(0, 0, 0, 0);
        const QStringList held = namesIn(original);
        QStringList names = condition.choices;
        for (const QString &name : held) {
            if (!names.contains(name))
                names.append(name);
        }
        for (const QString &name : names) {
            auto *box = new QCheckBox(name, widget());
            box->setProperty(kNameProperty, name); // the text may gain an accelerator's &
            box->setChecked(held.contains(name));
            QObject::connect(box, &QCheckBox::toggled, widget(),
                             [this, changed] { touch(changed); });
            row->addWidget(box);
            m_boxes.append(box);
        }
        row->addStretch(1);
    }

protected:
    QJsonValue shown() const override
    {
        QStringList names;
        for (const QCheckBox *box : m_boxes) {
            if (box->isChecked())
                names.append(box->property(kNameProperty).toString());
        }
        return oneOrList(names);
    }

private:
    QList<QCheckBox *> m_boxes;
};

/// Name patterns as "a, b", with the names the policy knows offered from a menu.
class PatternsField : public MatchDialog::Field {
public:
    PatternsField(const Condition &condition, const QJsonValue &original, QWidget *parent,
                  const QStringList &suggestions, const std::function<void()> &changed)
        : Field(condition, original, parent)
        , m_edit(new QLineEdit(namesIn(original).join(QStringLiteral(", ")), widget()))
    {
        auto *row = new QHBoxLayout(widget());
        row->setContentsMargins(0, 0, 0, 0);
        m_edit->setPlaceholderText(QObject::tr("any; names or patterns (a*), separated by commas"));
        QObject::connect(m_edit, &QLineEdit::textEdited, widget(),
                         [this, changed] { touch(changed); });
        row->addWidget(m_edit, 1);
        if (suggestions.isEmpty())
            return;
        auto *pick = new QToolButton(widget());
        pick->setText(QObject::tr("Add"));
        pick->setToolTip(QObject::tr("Add a name the policy knows"));
        pick->setPopupMode(QToolButton::InstantPopup);
        auto *menu = new QMenu(pick);
        for (const QString &name : suggestions) {
            menu->addAction(name, widget(), [this, name, changed] {
                QStringList names = splitList(m_edit->text());
                if (!names.contains(name))
                    names.append(name);
                m_edit->setText(names.join(QStringLiteral(", ")));
                touch(changed);
            });
        }
        pick->setMenu(menu);
        row->addWidget(pick);
    }

protected:
    QJsonValue shown() const override { return oneOrList(splitList(m_edit->text())); }

private:
    QLineEdit *m_edit;
};

/// A number from 0 to 1, on only while its box is checked.
class FractionField : public MatchDialog::Field {
public:
    FractionField(const Condition &condition, const QJsonValue &original, QWidget *parent,
                  const std::function<void()> &changed)
        : Field(condition, original, parent)
        , m_on(new QCheckBox(widget()))
        , m_number(new QDoubleSpinBox(widget()))
    {
        auto *row = new QHBoxLayout(widget());
        row->setContentsMargins(0, 0, 0, 0);
        m_number->setRange(0, 1);
        m_number->setDecimals(3);
        m_number->setSingleStep(0.05);
        m_on->setChecked(original.isDouble());
        m_number->setValue(original.isDouble() ? original.toDouble() : 0.5);
        m_number->setEnabled(m_on->isChecked());
        QObject::connect(m_on, &QCheckBox::toggled, widget(), [this, changed](bool on) {
            m_number->setEnabled(on);
            touch(changed);
        });
        QObject::connect(m_number, &QDoubleSpinBox::valueChanged, widget(),
                         [this, changed] { touch(changed); });
        row->addWidget(m_on);
        row->addWidget(m_number);
        row->addStretch(1);
    }

protected:
    QJsonValue shown() const override
    {
        return m_on->isChecked() ? QJsonValue(m_number->value()) : QJsonValue::Undefined;
    }

private:
    QCheckBox *m_on;
    QDoubleSpinBox *m_number;
};

/// Names (headers, metadata fields) to patterns, a row each.
class NamedPatternsField : public MatchDialog::Field {
public:
    NamedPatternsField(const Condition &condition, const QJsonValue &original, QWidget *parent,
                       const std::function<void()> &changed)
        : Field(condition, original, parent)
        , m_table(new QTableWidget(0, 2, widget()))
    {
        m_table->setHorizontalHeaderLabels({QObject::tr("Name"), QObject::tr("Patterns")});
        m_table->horizontalHeader()->setStretchLastSection(true);
        m_table->verticalHeader()->hide();
        m_table->setMaximumHeight(m_table->verticalHeader()->defaultSectionSize() * 4);
        const QJsonObject named = original.toObject();
        for (auto it = named.begin(); it != named.end(); ++it)
            addRow(it.key(), namesIn(it.value()).join(QStringLiteral(", ")));
        QObject::connect(m_table, &QTableWidget::itemChanged, widget(),
                         [this, changed] { touch(changed); });

        auto *add = new QPushButton(QObject::tr("Add"), widget());
        auto *remove = new QPushButton(QObject::tr("Remove"), widget());
        QObject::connect(add, &QPushButton::clicked, widget(), [this] {
            addRow({}, {});
            m_table->setCurrentCell(m_table->rowCount() - 1, 0);
            m_table->editItem(m_table->currentItem());
        });
        QObject::connect(remove, &QPushButton::clicked, widget(), [this, changed] {
            if (m_table->currentRow() < 0)
                return;
            m_table->removeRow(m_table->currentRow());
            touch(changed);
        });
        auto *buttons = new QVBoxLayout;
        buttons->addWidget(add);
        buttons->addWidget(remove);
        buttons->addStretch(1);
        auto *row = new QHBoxLayout(widget());
        row->setContentsMargins(0, 0, 0, 0);
        row->addWidget(m_table, 1);
        row->addLayout(buttons);
    }

protected:
    QJsonValue shown() const override
    {
        QJsonObject named;
        for (int row = 0; row < m_table->rowCount(); ++row) {
            const QString name = m_table->item(row, 0)->text().trimmed();
            const QJsonValue patterns = oneOrList(splitList(m_table->item(row, 1)->text()));
            if (!name.isEmpty())
                named.insert(name, patterns.isUndefined() ? QJsonValue(QString()) : patterns);
        }
        return named.isEmpty() ? QJsonValue::Undefined : QJsonValue(named);
    }

private:
    void addRow(const QString &name, const QString &patterns)
    {
        const QSignalBlocker quiet(m_table); // filling in is not an edit
        const int row = m_table->rowCount();
        m_table->insertRow(row);
        m_table->setItem(row, 0, new QTableWidgetItem(name));
        m_table->setItem(row, 1, new QTableWidgetItem(patterns));
    }

    QTableWidget *m_table;
};

} // namespace

MatchDialog::MatchDialog(const QString &ruleName, const QJsonObject &match,
                         const Suggestions &suggest, QWidget *parent)
    : PolicyFormDialog(parent)
    , m_unknown(match)
{
    setWindowTitle(tr("Match of rule %1").arg(ruleName));
    auto *intro = new QLabel(tr("The rule applies when every condition set here holds; with none "
                                "set it always does. A list holds when any of its entries does; "
                                "patterns may use * and ?."),
                             this);
    intro->setWordWrap(true);
    auto *form = new QFormLayout;
    form->addRow(intro);
    const auto changed = [this] { formChanged(); };
    QStringList keptAsWritten;
    for (const Condition &condition : routing::matchConditions()) {
        const QJsonValue original = m_unknown.take(condition.key);
        std::unique_ptr<Field> field;
        switch (condition.form) {
        case Condition::Form::Choices:
            field = std::make_unique<ChoicesField>(condition, original, this, changed);
            break;
        case Condition::Form::Patterns:
            field = std::make_unique<PatternsField>(
                condition, original, this, suggest ? suggest(condition.key) : QStringList(),
                changed);
            break;
        case Condition::Form::Fraction:
            field = std::make_unique<FractionField>(condition, original, this, changed);
            break;
        case Condition::Form::NamedPatterns:
            field = std::make_unique<NamedPatternsField>(condition, original, this, changed);
            break;
        }
        if (!fitsTheForm(condition.form, original)) {
            // Shown as far as it goes, but read-only: written back from the widgets it would
            // change (a pattern with a comma would split).
            field->widget()->setEnabled(false);
            keptAsWritten.append(condition.key);
        }
        form->addRow(condition.label, field->widget());
        m_fields.push_back(std::move(field));
    }
    keptAsWritten += m_unknown.keys();
    if (!keptAsWritten.isEmpty()) {
        auto *kept = new QLabel(tr("Kept as written, since the form cannot show them as they are "
                                   "(edit the match's JSON in its cell with F2): %1")
                                    .arg(keptAsWritten.join(QStringLiteral(", "))),
                                this);
        kept->setObjectName(QStringLiteral("keptAsWritten"));
        kept->setWordWrap(true);
        form->addRow(kept);
    }
    setForm(form);
}

MatchDialog::~MatchDialog() = default;

QJsonValue MatchDialog::value() const
{
    QJsonObject match = m_unknown;
    for (const auto &field : m_fields) {
        const QJsonValue value = field->value();
        if (!value.isUndefined())
            match.insert(field->condition().key, value);
    }
    return match;
}

QWidget *MatchDialog::editorOf(const QString &key) const
{
    for (const auto &field : m_fields) {
        if (field->condition().key == key)
            return field->widget();
    }
    return nullptr;
}

} // namespace tollgate::ui
