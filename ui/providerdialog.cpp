#include "providerdialog.h"

#include "keychain.h"

#include "policy/gatewayconfig.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QVBoxLayout>

namespace tollgate::ui {

using policy::ProviderKind;

ProviderDialog::ProviderDialog(const policy::ProviderConfig *existing, QStringList takenNames,
                               QString keychainProblem, QWidget *parent)
    : QDialog(parent)
    , m_adding(existing == nullptr)
    , m_hasKeychain(keychainProblem.isEmpty())
    , m_takenNames(std::move(takenNames))
    , m_kind(new QComboBox(this))
    , m_name(new QLineEdit(this))
    , m_baseUrl(new QLineEdit(this))
    , m_key(new QLineEdit(this))
    , m_variable(new QLineEdit(this))
    , m_hint(new QLabel(this))
    , m_buttons(new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this))
{
    setObjectName(QStringLiteral("providerDialog"));
    setWindowTitle(m_adding ? tr("Add provider") : tr("Edit provider %1").arg(existing->name));
    m_kind->addItem(tr("Anthropic"), int(ProviderKind::Anthropic));
    m_kind->addItem(tr("OpenAI"), int(ProviderKind::OpenAI));
    m_kind->addItem(tr("OpenAI-compatible"), int(ProviderKind::OpenAICompatible));
    m_key->setEchoMode(QLineEdit::Password);
    m_name->setPlaceholderText(tr("e.g. anthropic-eu, local-vllm"));

    if (existing) {
        m_kind->setCurrentIndex(m_kind->findData(int(existing->kind)));
        m_name->setText(existing->name);
        m_name->setReadOnly(true);
        if (!existing->baseUrls.isEmpty())
            m_baseUrl->setText(existing->baseUrls.first().toString());
        m_key->setPlaceholderText(tr("leave empty to keep the current key"));
        const bool fromVariable = existing->key.source == policy::KeyReference::Source::Environment;
        m_suggestedVariable = fromVariable ? existing->key.name : fallbackVariable(existing->name);
    } else {
        m_baseUrl->setText(defaultUrl(ProviderKind::Anthropic));
        m_key->setPlaceholderText(tr("the provider's API key (empty: clients' own keys pass)"));
    }
    m_variable->setText(m_suggestedVariable);

    connect(m_kind, &QComboBox::currentIndexChanged, this, [this] {
        // A URL the user did not type follows the kind.
        const QString url = m_baseUrl->text().trimmed();
        for (ProviderKind kind :
             {ProviderKind::Anthropic, ProviderKind::OpenAI, ProviderKind::OpenAICompatible}) {
            if (url.isEmpty() || url == defaultUrl(kind)) {
                m_baseUrl->setText(defaultUrl(ProviderKind(m_kind->currentData().toInt())));
                break;
            }
        }
        updateWidgets();
    });
    connect(m_name, &QLineEdit::textChanged, this, [this] {
        if (m_variable->text() == m_suggestedVariable) {
            m_suggestedVariable = fallbackVariable(m_name->text().trimmed());
            m_variable->setText(m_suggestedVariable);
        }
        updateWidgets();
    });
    connect(m_baseUrl, &QLineEdit::textChanged, this, &ProviderDialog::updateWidgets);
    connect(m_variable, &QLineEdit::textChanged, this, &ProviderDialog::updateWidgets);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto *form = new QFormLayout;
    form->addRow(tr("&API:"), m_kind);
    form->addRow(tr("&Name:"), m_name);
    form->addRow(tr("&Base URL:"), m_baseUrl);
    form->addRow(tr("API &key:"), m_key);
    form->addRow(tr("Key &variable:"), m_variable);
    auto *keyNote = new QLabel(this);
    keyNote->setWordWrap(true);
    if (m_hasKeychain) {
        keyNote->setText(tr("The key is stored in the system keychain only; the policy names "
                            "the keychain entry, never the key."));
        form->labelForField(m_variable)->hide();
        m_variable->hide();
    } else {
        keyNote->setText(tr("%1. Tollgate stores keys only in the system keychain, so it takes "
                            "this provider's key from the environment variable below: set it "
                            "before starting the console.")
                             .arg(keychainProblem.left(1).toUpper() + keychainProblem.mid(1)));
        form->labelForField(m_key)->hide();
        m_key->hide();
        m_key->setEnabled(false);
    }
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(keyNote);
    m_hint->setObjectName(QStringLiteral("hint"));
    m_hint->setWordWrap(true);
    layout->addWidget(m_hint);
    layout->addWidget(m_buttons);
    updateWidgets();
}

QString ProviderDialog::defaultUrl(ProviderKind kind)
{
    switch (kind) {
    case ProviderKind::Anthropic: return QStringLiteral("https://api.anthropic.com");
    case ProviderKind::OpenAI: return QStringLiteral("https://api.openai.com");
    case ProviderKind::OpenAICompatible: return QStringLiteral("http://127.0.0.1:8000/v1");
    }
    return {};
}

ProviderDialog::Values ProviderDialog::values() const
{
    Values values;
    values.kind = ProviderKind(m_kind->currentData().toInt());
    values.name = m_name->text().trimmed();
    values.baseUrl = m_baseUrl->text().trimmed();
    if (m_hasKeychain)
        values.key = m_key->text().trimmed().toUtf8();
    else
        values.variable = m_variable->text().trimmed();
    return values;
}

QString ProviderDialog::hint() const
{
    return m_hint->text();
}

void ProviderDialog::updateWidgets()
{
    const Values v = values();
    QString hint;
    static const QRegularExpression variableName(QStringLiteral("^[A-Za-z_][A-Za-z0-9_]*$"));
    if (v.name.isEmpty())
        hint = tr("Give the provider a name.");
    else if (!policy::isProviderName(v.name))
        hint = tr("A name uses a-z, 0-9, '.', '_' and '-'.");
    else if (m_adding && m_takenNames.contains(v.name))
        hint = tr("There is a provider called %1 already: edit it instead.").arg(v.name);
    else if (auto url = policy::parseBaseUrl(v.baseUrl); !url)
        hint = tr("Base URL: %1").arg(url.error().message);
    else if (!m_hasKeychain && !v.variable.isEmpty() && !variableName.match(v.variable).hasMatch())
        hint = tr("Name the environment variable that holds the key (or leave it empty to pass "
                  "clients' own keys through).");
    m_hint->setText(hint);
    m_hint->setVisible(!hint.isEmpty());
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(hint.isEmpty());
}

} // namespace tollgate::ui
