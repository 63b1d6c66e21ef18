#include "providerspage.h"

#include "theme.h"

#include "gateway/gatewaythread.h"
#include "gateway/policykeeper.h"
#include "policy/gatewayconfig.h"

#include <QClipboard>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QThread>
#include <QTimer>
#include <QVBoxLayout>

namespace tollgate::ui {

namespace {

using Source = policy::KeyReference::Source;

QString capitalized(const QString &text)
{
    return text.left(1).toUpper() + text.mid(1);
}

QString kindLabel(policy::ProviderKind kind)
{
    switch (kind) {
    case policy::ProviderKind::Anthropic: return ProvidersPage::tr("Anthropic");
    case policy::ProviderKind::OpenAI: return ProvidersPage::tr("OpenAI");
    case policy::ProviderKind::OpenAICompatible: return ProvidersPage::tr("OpenAI-compatible");
    }
    return {};
}

/// Where the policy says the key is; never the key.
QString keyReference(const policy::KeyReference &key)
{
    switch (key.source) {
    case Source::Keychain: return ProvidersPage::tr("keychain: %1").arg(key.name);
    case Source::Environment: return ProvidersPage::tr("environment: %1").arg(key.name);
    case Source::File: return ProvidersPage::tr("file: %1").arg(key.name);
    case Source::None: break;
    }
    return ProvidersPage::tr("none");
}

} // namespace

ProvidersPage::ProvidersPage(gateway::GatewayThread &gateway, QWidget *parent)
    : QWidget(parent)
    , m_gateway(gateway)
    , m_notice(new QLabel(this))
    , m_fileNotice(new QLabel(this))
    , m_copyJson(new QPushButton(tr("&Copy as JSON"), this))
    , m_table(new QTableWidget(0, ColumnCount, this))
    , m_add(new QPushButton(tr("&Add…"), this))
    , m_edit(new QPushButton(tr("&Edit…"), this))
    , m_remove(new QPushButton(tr("&Remove"), this))
    , m_test(new QPushButton(tr("&Test connection"), this))
    , m_outcome(new QLabel(this))
    , m_checks(new QThread(this))
{
    qRegisterMetaType<gateway::ProviderCheckResult>();
    m_checks->setObjectName(QStringLiteral("provider-checks"));

    auto *intro = new QLabel(
        tr("Where the gateway sends requests, and the keys it sends with them. Keys live in the "
           "system keychain; the policy only names the entry. Changes apply at once."),
        this);
    intro->setWordWrap(true);
    m_notice->setObjectName(QStringLiteral("keychainNotice"));
    m_notice->setWordWrap(true);
    m_notice->setFrameShape(QFrame::StyledPanel);
    m_notice->setMargin(6);
    m_notice->hide();
    m_fileNotice->setObjectName(QStringLiteral("policyFileNotice"));
    m_fileNotice->setWordWrap(true);
    m_fileNotice->hide();
    m_copyJson->setToolTip(tr("The providers section of a policy file, keys only as references"));
    m_copyJson->hide();

    m_table->setHorizontalHeaderLabels(
        {tr("Name"), tr("API"), tr("Endpoints"), tr("Key from"), tr("Key")});
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setStretchLastSection(true);

    m_outcome->setObjectName(QStringLiteral("outcome"));
    m_outcome->setWordWrap(true);
    m_outcome->setTextInteractionFlags(Qt::TextSelectableByMouse);

    connect(m_add, &QPushButton::clicked, this, [this] { openDialog({}); });
    connect(m_edit, &QPushButton::clicked, this, [this] { openDialog(selectedProvider()); });
    connect(m_remove, &QPushButton::clicked, this, [this] {
        const QString name = selectedProvider();
        const auto removed = removeProvider(name);
        if (!removed)
            showOutcome(removed.error().message, true);
    });
    connect(m_test, &QPushButton::clicked, this, [this] { testConnection(selectedProvider()); });
    connect(m_copyJson, &QPushButton::clicked, this, [this] {
        QGuiApplication::clipboard()->setText(QString::fromUtf8(providersJson()));
        showOutcome(tr("Copied the providers section; it holds no key."), false);
    });
    connect(m_table, &QTableWidget::itemSelectionChanged, this, &ProvidersPage::updateWidgets);
    connect(m_table, &QTableWidget::cellDoubleClicked, this,
            [this](int row) { openDialog(m_table->item(row, Name)->text()); });

    auto *buttons = new QHBoxLayout;
    buttons->addWidget(m_add);
    buttons->addWidget(m_edit);
    buttons->addWidget(m_remove);
    buttons->addStretch(1);
    buttons->addWidget(m_test);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(intro);
    layout->addWidget(m_notice);
    auto *fileRow = new QHBoxLayout;
    fileRow->addWidget(m_fileNotice, 1);
    fileRow->addWidget(m_copyJson, 0, Qt::AlignTop);
    layout->addLayout(fileRow);
    layout->addWidget(m_table, 1);
    layout->addLayout(buttons);
    layout->addWidget(m_outcome);

    refresh();
    // Asking the keychain may take a moment (a D-Bus round trip, at worst the bound): not
    // while the window is being built.
    QTimer::singleShot(0, this, [this] {
        if (!m_probed)
            probeKeychain();
    });
}

void ProvidersPage::setPolicyFile(const QString &path, const gateway::StartUrls &urls)
{
    m_fileUrls = urls;
    m_fileNotice->setText(
        tr("Running from %1 (--config), which the console never writes: providers added or "
           "changed here last until it quits (their keys stay in the keychain). To keep them, "
           "copy this section into that file.")
            .arg(path));
    m_fileNotice->show();
    m_copyJson->show();
}

QString ProvidersPage::policyFileNotice() const
{
    return m_fileNotice->isHidden() ? QString() : m_fileNotice->text();
}

QByteArray ProvidersPage::providersJson() const
{
    const gateway::GatewayContext *context = m_gateway.context();
    if (!context)
        return {};
    const QJsonObject section{
        {QStringLiteral("providers"),
         gateway::providersToKeep(*context->policy(), m_fileUrls.toWrite(*context->policy()))}};
    return QJsonDocument(section).toJson(QJsonDocument::Indented);
}

ProvidersPage::~ProvidersPage()
{
    // A check still running is deleted with its thread (connected in testConnection()).
    m_checks->quit();
    m_checks->wait();
}

void ProvidersPage::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    refresh();
}

bool ProvidersPage::isBuiltIn(const QString &name)
{
    return name == QLatin1String("anthropic") || name == QLatin1String("openai");
}

void ProvidersPage::probeKeychain()
{
    m_probed = true;
    const auto available = m_keychain.probe();
    m_keychainProblem = available ? QString() : available.error().message;
    m_notice->setText(keychainNotice());
    m_notice->setVisible(!m_keychainProblem.isEmpty());
    refresh();
}

QString ProvidersPage::keychainNotice() const
{
    if (m_keychainProblem.isEmpty())
        return {};
    return tr("%1.\nProvider keys come from environment variables instead (ANTHROPIC_API_KEY, "
              "OPENAI_API_KEY, or the variable a provider names), read when a provider is saved "
              "or the console starts. Tollgate stores keys only in the system keychain, never in "
              "a file.")
        .arg(capitalized(m_keychainProblem));
}

void ProvidersPage::refresh()
{
    const QString selected = selectedProvider();
    m_table->setRowCount(0);
    const gateway::GatewayContext *context = m_gateway.context();
    if (context) {
        const auto policy = context->policy();
        const QList<policy::ProviderConfig> &providers = policy->gateway.providers;
        m_table->setRowCount(int(providers.size()));
        for (int row = 0; row < providers.size(); ++row) {
            const policy::ProviderConfig &provider = providers.at(row);
            QStringList urls;
            for (const QUrl &url : provider.baseUrls)
                urls.append(url.toString());
            QString status;
            if (!provider.apiKey.isEmpty())
                status = tr("set, from %1").arg(provider.keySource);
            else if (provider.key.source == Source::None)
                status = tr("none: clients' own keys pass through");
            else if (provider.key.source == Source::Keychain && !hasKeychain())
                status = tr("not set: no keychain, and %1 is not set; clients' own keys pass "
                            "through")
                             .arg(fallbackVariable(provider.name));
            else
                status = tr("not set: clients' own keys pass through");
            const QStringList cells = {provider.name, kindLabel(provider.kind),
                                       urls.join(QStringLiteral(", ")), keyReference(provider.key),
                                       status};
            for (int column = 0; column < ColumnCount; ++column)
                m_table->setItem(row, column, new QTableWidgetItem(cells.at(column)));
        }
    }
    if (const int row = rowOf(selected); row >= 0)
        m_table->selectRow(row);
    else if (m_table->rowCount() > 0)
        m_table->selectRow(0);
    updateWidgets();
}

int ProvidersPage::rowCount() const
{
    return m_table->rowCount();
}

QString ProvidersPage::cell(int row, Column column) const
{
    const QTableWidgetItem *item = m_table->item(row, column);
    return item ? item->text() : QString();
}

int ProvidersPage::rowOf(const QString &name) const
{
    for (int row = 0; row < m_table->rowCount(); ++row) {
        if (cell(row, Name) == name)
            return row;
    }
    return -1;
}

void ProvidersPage::selectProvider(const QString &name)
{
    if (const int row = rowOf(name); row >= 0)
        m_table->selectRow(row);
}

QString ProvidersPage::selectedProvider() const
{
    const QList<QTableWidgetItem *> items = m_table->selectedItems();
    return items.isEmpty() ? QString() : cell(items.first()->row(), Name);
}

QString ProvidersPage::outcomeText() const
{
    return m_outcome->text();
}

void ProvidersPage::showOutcome(const QString &text, bool problem)
{
    m_outcome->setText(text);
    m_outcome->setStyleSheet(problem ? QString::fromLatin1(kProblemStyle) : QString());
}

void ProvidersPage::updateWidgets()
{
    const QString selected = selectedProvider();
    const bool running = m_gateway.isRunning();
    m_add->setEnabled(running);
    m_edit->setEnabled(running && !selected.isEmpty());
    m_remove->setEnabled(running && !selected.isEmpty());
    m_remove->setText(isBuiltIn(selected) ? tr("&Reset") : tr("&Remove"));
    m_remove->setToolTip(isBuiltIn(selected)
                             ? tr("Back to the public endpoint and the key from %1; removes the "
                                  "keychain entry")
                                   .arg(fallbackVariable(selected))
                             : tr("Removes the provider and its keychain entry"));
    m_test->setEnabled(running && !selected.isEmpty() && m_testing.isEmpty());
}

void ProvidersPage::openDialog(const QString &editing)
{
    const gateway::GatewayContext *context = m_gateway.context();
    if (!context)
        return;
    const auto policy = context->policy();
    const policy::ProviderConfig *existing =
        editing.isEmpty() ? nullptr : policy::findProvider(policy->gateway.providers, editing);
    if (!editing.isEmpty() && !existing)
        return;
    QStringList names;
    for (const policy::ProviderConfig &provider : policy->gateway.providers)
        names.append(provider.name);
    auto *dialog = new ProviderDialog(existing, names, m_keychainProblem, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog, editing] {
        const auto saved = saveProvider(dialog->values(), editing);
        if (!saved)
            showOutcome(saved.error().message, true);
    });
    dialog->open();
}

Expected<bool> ProvidersPage::apply(gateway::PolicyDocument next)
{
    QString error;
    if (!m_gateway.applyPolicy(std::move(next), &error))
        return Error(tr("The gateway kept its policy: %1").arg(error));
    refresh();
    Q_EMIT policyApplied();
    return true;
}

Expected<bool> ProvidersPage::saveProvider(const ProviderDialog::Values &values,
                                           const QString &replacing)
{
    const gateway::GatewayContext *context = m_gateway.context();
    if (!context)
        return Error(tr("The gateway is not running."));
    gateway::PolicyDocument next = *context->policy();
    QList<policy::ProviderConfig> &providers = next.gateway.providers;
    const QString name = replacing.isEmpty() ? values.name : replacing;
    if (!policy::isProviderName(name))
        return Error(tr("A provider name uses a-z, 0-9, '.', '_' and '-'."));
    auto url = policy::parseBaseUrl(values.baseUrl);
    if (!url)
        return Error(tr("Base URL: %1").arg(url.error().message));
    auto existing = std::find_if(providers.begin(), providers.end(),
                                 [&](const policy::ProviderConfig &p) { return p.name == name; });
    if (replacing.isEmpty() && existing != providers.end())
        return Error(tr("There is a provider called %1 already.").arg(name));
    if (!replacing.isEmpty() && existing == providers.end())
        return Error(tr("There is no provider called %1.").arg(name));

    policy::ProviderConfig provider =
        existing != providers.end() ? *existing : policy::ProviderConfig{};
    const policy::ProviderConfig previous = provider;
    provider.name = name;
    provider.kind = values.kind;
    if (provider.baseUrls.isEmpty() || provider.baseUrls.first() != *url)
        provider.baseUrls = {*url};

    const QString entry = Keychain::entryFor(name);
    bool wroteKey = false;
    if (hasKeychain()) {
        if (!values.key.isEmpty()) {
            const auto written = m_keychain.write(entry, values.key);
            if (!written) {
                if (written.error().message.startsWith(Keychain::kUnavailable)) {
                    m_keychainProblem = written.error().message;
                    m_notice->setText(keychainNotice());
                    m_notice->show();
                }
                return Error(tr("The key was not stored, and nothing changed: %1")
                                 .arg(written.error().message));
            }
            wroteKey = true;
            provider.key = {Source::Keychain, entry, true};
            provider.apiKey = values.key;
            provider.keySource = QStringLiteral("keychain entry %1").arg(entry);
        } else if (replacing.isEmpty()) {
            provider.key = {Source::None, {}, true};
            provider.apiKey.clear();
            provider.keySource.clear();
        }
    } else {
        // No keychain: a key typed here would have to be stored somewhere else. It is not.
        if (!values.key.isEmpty())
            return Error(tr("No keychain: Tollgate does not store keys anywhere else. Put the key "
                            "in an environment variable and name it."));
        provider.key = values.variable.isEmpty()
                           ? policy::KeyReference{Source::None, {}, true}
                           : policy::KeyReference{Source::Environment, values.variable, true};
        QList<policy::ProviderConfig> one{provider};
        const QList<Error> problems = policy::resolveProviderKeys(one);
        if (!problems.isEmpty())
            return Error(tr("%1: set it before starting the console, or leave the variable "
                            "empty to pass clients' own keys through.")
                             .arg(problems.first().message));
        provider = one.first();
    }

    if (existing != providers.end())
        *existing = provider;
    else
        providers.append(provider);
    if (auto applied = apply(std::move(next)); !applied) {
        // The running policy is unchanged: so is the keychain.
        if (wroteKey) {
            const bool hadEntry =
                previous.key.source == Source::Keychain && previous.key.name == entry;
            if (hadEntry && !previous.apiKey.isEmpty())
                m_keychain.write(entry, previous.apiKey);
            else
                m_keychain.remove(entry);
        }
        return applied.error();
    }
    showOutcome(replacing.isEmpty() ? tr("Added %1.").arg(name) : tr("Saved %1.").arg(name), false);
    selectProvider(name);
    return true;
}

Expected<bool> ProvidersPage::removeProvider(const QString &name)
{
    const gateway::GatewayContext *context = m_gateway.context();
    if (!context)
        return Error(tr("The gateway is not running."));
    gateway::PolicyDocument next = *context->policy();
    QList<policy::ProviderConfig> &providers = next.gateway.providers;
    auto existing = std::find_if(providers.begin(), providers.end(),
                                 [&](const policy::ProviderConfig &p) { return p.name == name; });
    if (existing == providers.end())
        return Error(tr("There is no provider called %1.").arg(name));
    const policy::KeyReference key = existing->key;
    if (isBuiltIn(name)) {
        // The two reference providers always exist: back to their defaults.
        QList<policy::ProviderConfig> reset;
        for (const policy::ProviderConfig &provider : policy::defaultProviders()) {
            if (provider.name == name)
                reset.append(provider);
        }
        policy::resolveProviderKeys(reset); // implicit variables: unset is no problem
        *existing = reset.first();
    } else {
        for (const metering::ModelPrice &model : next.prices.models()) {
            if (model.provider == name)
                return Error(tr("The model %1 is served by %2: give it another provider in the "
                                "policy first.")
                                 .arg(model.id, name));
        }
        providers.erase(existing);
    }
    if (auto applied = apply(std::move(next)); !applied)
        return applied.error();

    QString done =
        isBuiltIn(name) ? tr("Reset %1 to its defaults.").arg(name) : tr("Removed %1.").arg(name);
    // Only the entry this page names after the provider: another may be shared.
    if (key.source == Source::Keychain && key.name == Keychain::entryFor(name)) {
        if (!hasKeychain())
            done += tr(" Its keychain entry %1 stays: no keychain available.").arg(key.name);
        else if (const auto removed = m_keychain.remove(key.name); !removed)
            done += QLatin1Char(' ') + capitalized(removed.error().message) + QLatin1Char('.');
        else
            done += tr(" Its key is gone from the keychain.");
    }
    showOutcome(done, false);
    return true;
}

void ProvidersPage::testConnection(const QString &name)
{
    const gateway::GatewayContext *context = m_gateway.context();
    if (!context || !m_testing.isEmpty())
        return;
    const auto policy = context->policy();
    const policy::ProviderConfig *provider = policy::findProvider(policy->gateway.providers, name);
    if (!provider)
        return;
    m_testing = name;
    showOutcome(tr("Testing %1…").arg(name), false);
    updateWidgets();
    if (!m_checks->isRunning())
        m_checks->start();
    auto *check = new gateway::ProviderCheck(*provider);
    check->moveToThread(m_checks);
    connect(m_checks, &QThread::finished, check, &QObject::deleteLater);
    connect(check, &gateway::ProviderCheck::finished, check, &QObject::deleteLater);
    connect(check, &gateway::ProviderCheck::finished, this,
            [this, name](const gateway::ProviderCheckResult &result) {
                m_testing.clear();
                const QString where = result.url.toString();
                showOutcome(result.ok ? tr("%1 answers: %2 (%3)").arg(name, result.summary(), where)
                                      : tr("%1 failed: %2 (%3)").arg(name, result.summary(), where),
                            !result.ok);
                updateWidgets();
                Q_EMIT connectionTested(name, result);
            });
    QMetaObject::invokeMethod(check, &gateway::ProviderCheck::start, Qt::QueuedConnection);
}

} // namespace tollgate::ui
