#include "thresholdsdialog.h"

#include <QApplication>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonObject>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace tollgate::ui {

namespace {

enum Column { AtPercent, Action };

} // namespace

ThresholdsDialog::ThresholdsDialog(const QString &budgetName, const QJsonValue &actions,
                                   const QStringList &actionNames, QWidget *parent)
    : PolicyFormDialog(parent)
    , m_original(actions)
    , m_actionNames(actionNames)
    , m_table(new QTableWidget(0, 2, this))
    , m_remove(new QPushButton(tr("Remove"), this))
{
    setWindowTitle(tr("Thresholds of budget %1").arg(budgetName));
    auto *intro = new QLabel(tr("Each row acts once spend reaches its percentage of the limit: "
                                "alert notifies, downgrade sends the budget's requests to cheaper "
                                "models, block refuses them. With no row the budget only tracks "
                                "spend."),
                             this);
    intro->setWordWrap(true);
    m_table->setHorizontalHeaderLabels({tr("At % of the limit"), tr("Action")});
    m_table->horizontalHeader()->setSectionResizeMode(AtPercent, QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->verticalHeader()->hide();
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    for (const QJsonValue &entry : actions.toArray()) {
        const QJsonObject threshold = entry.toObject();
        insertRow(threshold.value(u"at_percent").toDouble(), threshold.value(u"action").toString());
    }

    auto *add = new QPushButton(tr("Add"), this);
    connect(add, &QPushButton::clicked, this, [this] {
        addThreshold(100, m_actionNames.isEmpty() ? QString() : m_actionNames.last());
    });
    connect(m_remove, &QPushButton::clicked, this,
            [this] { removeThreshold(m_table->currentRow()); });
    // The rows are editors: clicking into one does not make its row current by itself.
    connect(qApp, &QApplication::focusChanged, this,
            [this](QWidget *, QWidget *now) { followFocus(now); });
    connect(m_table, &QTableWidget::currentCellChanged, this, &ThresholdsDialog::updateWidgets);
    auto *buttons = new QHBoxLayout;
    buttons->addWidget(add);
    buttons->addWidget(m_remove);
    buttons->addStretch(1);

    auto *form = new QVBoxLayout;
    form->addWidget(intro);
    form->addWidget(m_table, 1);
    form->addLayout(buttons);
    setForm(form);
    updateWidgets();
}

bool ThresholdsDialog::canShow(const QJsonValue &actions)
{
    if (!actions.isArray())
        return false;
    const QJsonArray list = actions.toArray();
    return std::all_of(list.begin(), list.end(), [](const QJsonValue &entry) {
        const QJsonObject threshold = entry.toObject();
        const QJsonValue percent = threshold.value(u"at_percent");
        const double hundredths = percent.toDouble() * 100;
        return entry.isObject() && threshold.size() == 2 && percent.isDouble() &&
               percent.toDouble() >= 0 && percent.toDouble() <= 1000 &&
               hundredths == std::round(hundredths) && threshold.value(u"action").isString();
    });
}

void ThresholdsDialog::followFocus(QWidget *focused)
{
    for (int row = 0; focused && row < m_table->rowCount(); ++row) {
        for (int column = 0; column < m_table->columnCount(); ++column) {
            QWidget *editor = m_table->cellWidget(row, column);
            if (editor && (editor == focused || editor->isAncestorOf(focused)))
                m_table->setCurrentCell(row, column);
        }
    }
}

void ThresholdsDialog::updateWidgets()
{
    m_remove->setEnabled(m_table->currentRow() >= 0);
}

void ThresholdsDialog::insertRow(double atPercent, const QString &action)
{
    const int row = m_table->rowCount();
    m_table->insertRow(row);
    auto *percent = new QDoubleSpinBox(m_table);
    percent->setRange(0, 1000);
    percent->setDecimals(2);
    percent->setSuffix(QStringLiteral(" %"));
    percent->setValue(atPercent);
    connect(percent, &QDoubleSpinBox::valueChanged, this, &ThresholdsDialog::touch);
    m_table->setCellWidget(row, AtPercent, percent);

    auto *choice = new QComboBox(m_table);
    // An action outside the set (a typo in a file) stays offered, so it shows as it is.
    if (!m_actionNames.contains(action))
        choice->addItem(action);
    choice->addItems(m_actionNames);
    choice->setCurrentText(action);
    connect(choice, &QComboBox::currentTextChanged, this, &ThresholdsDialog::touch);
    m_table->setCellWidget(row, Action, choice);
}

void ThresholdsDialog::addThreshold(double atPercent, const QString &action)
{
    insertRow(atPercent, action);
    m_table->setCurrentCell(m_table->rowCount() - 1, AtPercent);
    touch();
}

void ThresholdsDialog::removeThreshold(int row)
{
    if (row < 0 || row >= m_table->rowCount())
        return;
    m_table->removeRow(row);
    updateWidgets();
    touch();
}

void ThresholdsDialog::touch()
{
    m_touched = true;
    formChanged();
}

QJsonValue ThresholdsDialog::value() const
{
    if (!m_touched)
        return m_original;
    QJsonArray actions;
    for (int row = 0; row < m_table->rowCount(); ++row) {
        const auto *percent = static_cast<QDoubleSpinBox *>(m_table->cellWidget(row, AtPercent));
        const auto *choice = static_cast<QComboBox *>(m_table->cellWidget(row, Action));
        actions.append(QJsonObject{{QStringLiteral("at_percent"), percent->value()},
                                   {QStringLiteral("action"), choice->currentText()}});
    }
    return actions;
}

} // namespace tollgate::ui
