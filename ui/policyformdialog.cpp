#include "policyformdialog.h"

#include "theme.h"

#include "policy/jsonpath.h"

#include <QDialogButtonBox>
#include <QFontDatabase>
#include <QLabel>
#include <QVBoxLayout>

namespace tollgate::ui {

PolicyFormDialog::PolicyFormDialog(QWidget *parent)
    : QDialog(parent)
    , m_problems(new QLabel(this))
    , m_json(new QLabel(this))
{
    m_problems->setObjectName(QStringLiteral("formProblems"));
    m_problems->setStyleSheet(QLatin1String(kProblemStyle));
    m_problems->setWordWrap(true);
    m_problems->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_json->setObjectName(QStringLiteral("formJson"));
    m_json->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_json->setWordWrap(true);
    m_json->setTextInteractionFlags(Qt::TextSelectableByMouse);
}

void PolicyFormDialog::setForm(QLayout *form)
{
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form, 1);
    layout->addWidget(m_problems);
    layout->addWidget(new QLabel(tr("As JSON:"), this));
    layout->addWidget(m_json);
    layout->addWidget(buttons);
    formChanged();
    // Wide enough for a row of check boxes and a few patterns without wrapping the JSON early.
    resize(qMax(sizeHint().width(), 600), sizeHint().height());
}

void PolicyFormDialog::setChecker(Checker checker)
{
    m_checker = std::move(checker);
    formChanged();
}

void PolicyFormDialog::formChanged()
{
    const QJsonValue current = value();
    m_json->setText(current.isUndefined() ? tr("(none)") : policy::jsonText(current));
    const QStringList problems = m_checker ? m_checker(current) : QStringList();
    m_problems->setText(problems.join(QLatin1Char('\n')));
    m_problems->setVisible(!problems.isEmpty());
}

QString PolicyFormDialog::problemText() const
{
    return m_problems->text();
}

QString PolicyFormDialog::jsonText() const
{
    return m_json->text();
}

} // namespace tollgate::ui
