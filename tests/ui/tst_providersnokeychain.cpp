// The console's Providers page when no keychain answers: with no Secret Service on the session
// bus (ctest points DBUS_SESSION_BUS_ADDRESS nowhere), or, with TOLLGATE_TEST_SILENT_KEYCHAIN=1,
// a bus that accepts the connection and never says a word. The page must say so within the
// bound, keep working, take keys from environment variables, and store a key nowhere else.

#include "consolepolicy.h"
#include "keychain.h"
#include "mainwindow.h"
#include "providerdialog.h"
#include "providerspage.h"

#include "gateway/gatewaythread.h"
#include "httptestclient.h"
#include "mockupstream.h"
#include "policy/gatewayconfig.h"

#include <QDialogButtonBox>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QLabel>
#include <QLineEdit>
#include <QLocalServer>
#include <QPushButton>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

using namespace tollgate;
using testsupport::HttpTestClient;

namespace {

/// The reason of a failed Expected, for QVERIFY2 (which formats its message also on success).
template <typename T> QByteArray why(const Expected<T> &expected)
{
    return expected ? QByteArray() : expected.error().toString().toUtf8();
}

} // namespace

namespace {

const QByteArray kEnvironmentKey = "sk-ant-from-environment-5e1f7a3c";
const QByteArray kTypedKey = "sk-ant-typed-without-keychain-9b2d6e4f";

} // namespace

class TestProvidersWithoutKeychain : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void thePageSaysThereIsNoKeychainWithinTheBound();
    void startUpFallsBackToEnvironmentVariables();
    void theDialogAsksForAVariableInsteadOfAKey();
    void aTypedKeyIsStoredNowhere();
    void anUnsetVariableIsRefused();

private:
    ui::ProvidersPage &page() const { return m_window->providersPage(); }

    bool m_silent = false;
    QTemporaryDir m_dataDir;
    QTemporaryDir m_busDir;
    QLocalServer m_silentBus; ///< listens and never answers
    testsupport::MockUpstream m_mock;
    std::unique_ptr<gateway::GatewayThread> m_gateway;
    std::unique_ptr<ui::MainWindow> m_window;
};

void TestProvidersWithoutKeychain::initTestCase()
{
    m_silent = qEnvironmentVariableIntValue("TOLLGATE_TEST_SILENT_KEYCHAIN") == 1;
    if (m_silent) {
        QVERIFY(m_busDir.isValid());
        const QString socket = m_busDir.filePath(QStringLiteral("bus"));
        QVERIFY2(m_silentBus.listen(socket), qPrintable(m_silentBus.errorString()));
        qputenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=" + socket.toLocal8Bit());
    } else {
        QVERIFY2(qgetenv("DBUS_SESSION_BUS_ADDRESS").contains("nonexistent"),
                 "ctest points the session bus nowhere for this test");
    }
    qunsetenv("ANTHROPIC_API_KEY");
    qunsetenv("OPENAI_API_KEY");
    QStandardPaths::setTestModeEnabled(true);
    QSettings(QStringLiteral("tollgate"), QStringLiteral("console")).clear();
    QVERIFY(m_dataDir.isValid());
    m_mock.setThreads(1);
    QVERIFY2(m_mock.listen(), qPrintable(m_mock.errorString()));
    auto started = testsupport::consolePolicy(m_mock.baseUrl(), m_dataDir.path());
    QVERIFY2(started, qPrintable(started ? QString() : started.error().message));
    gateway::PolicyDocument policy = *started;
    m_gateway = std::make_unique<gateway::GatewayThread>(policy);
    QString error;
    QVERIFY2(m_gateway->start(&error), qPrintable(error));
    m_window = std::make_unique<ui::MainWindow>(*m_gateway);
    m_window->show();
    m_window->showPage(ui::MainWindow::Providers);
}

void TestProvidersWithoutKeychain::cleanupTestCase()
{
    m_window.reset();
    m_gateway.reset();
}

void TestProvidersWithoutKeychain::thePageSaysThereIsNoKeychainWithinTheBound()
{
    QElapsedTimer clock;
    clock.start();
    page().probeKeychain();
    const qint64 elapsed = clock.elapsed();
    QVERIFY2(elapsed < ui::Keychain::kDefaultTimeoutMs + 1500,
             qPrintable(QStringLiteral("%1 ms").arg(elapsed)));
    QVERIFY(!page().hasKeychain());
    QVERIFY2(page().keychainProblem().startsWith(ui::Keychain::kUnavailable),
             qPrintable(page().keychainProblem()));
    if (m_silent)
        QVERIFY2(page().keychainProblem().contains(u"did not answer"),
                 qPrintable(page().keychainProblem()));
    const auto *notice = page().findChild<QLabel *>(QStringLiteral("keychainNotice"));
    QVERIFY(notice->isVisibleTo(&page()));
    QVERIFY(notice->text().startsWith(u"No keychain available"));
    QVERIFY(notice->text().contains(u"ANTHROPIC_API_KEY"));
    QVERIFY(notice->text().contains(u"never in a file"));

    // Later calls do not wait again.
    clock.restart();
    ui::Keychain keychain;
    QVERIFY(!keychain.read(QStringLiteral("provider/anthropic")));
    QVERIFY(clock.elapsed() < ui::Keychain::kDefaultTimeoutMs + 1500);
}

void TestProvidersWithoutKeychain::startUpFallsBackToEnvironmentVariables()
{
    qputenv("ANTHROPIC_API_KEY", kEnvironmentKey);
    auto document = gateway::loadPolicy(
        R"({"providers":{"anthropic":{"key":{"keychain":"provider/anthropic"}},
                         "compat":{"kind":"openai-compatible","base_url":"http://127.0.0.1:9",
                                   "key":{"keychain":"provider/compat"}}}})",
        metering::PriceTable::builtin());
    QVERIFY2(document, why(document));
    ui::Keychain keychain;
    QString keychainProblem;
    QElapsedTimer clock;
    clock.start();
    const QList<Error> problems =
        ui::resolveConsoleKeys(document->gateway.providers, keychain, &keychainProblem);
    QVERIFY(clock.elapsed() < ui::Keychain::kDefaultTimeoutMs + 1500);
    qunsetenv("ANTHROPIC_API_KEY");
    QVERIFY2(problems.isEmpty(), qPrintable(problems.value(0).toString()));
    QVERIFY(keychainProblem.startsWith(ui::Keychain::kUnavailable));
    const auto *anthropic =
        policy::findProvider(document->gateway.providers, QStringLiteral("anthropic"));
    QCOMPARE(anthropic->apiKey, kEnvironmentKey);
    QCOMPARE(anthropic->keySource, QStringLiteral("ANTHROPIC_API_KEY (no keychain)"));
    const auto *compat =
        policy::findProvider(document->gateway.providers, QStringLiteral("compat"));
    QVERIFY(compat->apiKey.isEmpty()); // COMPAT_API_KEY unset: clients' keys pass through
    QCOMPARE(ui::fallbackVariable(QStringLiteral("local-vllm.eu")),
             QStringLiteral("LOCAL_VLLM_EU_API_KEY"));
}

void TestProvidersWithoutKeychain::theDialogAsksForAVariableInsteadOfAKey()
{
    qputenv("TOLLGATE_TEST_ANTHROPIC", kEnvironmentKey);
    page().selectProvider(QStringLiteral("anthropic"));
    page().editButton()->click();
    ui::ProviderDialog *dialog = nullptr;
    QTRY_VERIFY((dialog = page().findChild<ui::ProviderDialog *>()) && dialog->isVisible());
    QVERIFY(!dialog->keyEdit()->isVisibleTo(dialog));
    QVERIFY(!dialog->keyEdit()->isEnabled());
    QVERIFY(dialog->variableEdit()->isVisibleTo(dialog));
    QCOMPARE(dialog->variableEdit()->text(), QStringLiteral("ANTHROPIC_API_KEY"));
    dialog->variableEdit()->setText(QStringLiteral("not a variable"));
    QVERIFY(!dialog->buttons()->button(QDialogButtonBox::Ok)->isEnabled());
    dialog->variableEdit()->setText(QStringLiteral("TOLLGATE_TEST_ANTHROPIC"));
    QVERIFY2(dialog->hint().isEmpty(), qPrintable(dialog->hint()));
    dialog->buttons()->button(QDialogButtonBox::Ok)->click();

    const int row = page().rowOf(QStringLiteral("anthropic"));
    QTRY_COMPARE(page().cell(row, ui::ProvidersPage::KeyFrom),
                 QStringLiteral("environment: TOLLGATE_TEST_ANTHROPIC"));
    QCOMPARE(page().cell(row, ui::ProvidersPage::KeyStatus),
             QStringLiteral("set, from TOLLGATE_TEST_ANTHROPIC"));

    // Live, with the variable's key.
    m_mock.clearJournal();
    const auto response = HttpTestClient::send(
        m_gateway->port(), "POST", "/v1/messages",
        {{"content-type", "application/json"},
         {"anthropic-version", "2023-06-01"},
         {"x-api-key", "sk-client"}},
        R"({"model":"claude-3-haiku-20240307","max_tokens":8,"messages":[{"role":"user","content":"env"}]})");
    QVERIFY2(response.status == 200, qPrintable(response.describe()));
    QCOMPARE(m_mock.journal().size(), 1);
    QCOMPARE(m_mock.journal().first().header("x-api-key"), kEnvironmentKey);
}

void TestProvidersWithoutKeychain::aTypedKeyIsStoredNowhere()
{
    ui::ProviderDialog::Values values;
    values.kind = policy::ProviderKind::OpenAICompatible;
    values.name = QStringLiteral("typed");
    values.baseUrl = m_mock.baseUrl().toString();
    values.key = kTypedKey;
    const auto saved = page().saveProvider(values);
    QVERIFY(!saved);
    QVERIFY2(saved.error().message.contains(u"does not store keys anywhere else"),
             qPrintable(saved.error().message));
    QCOMPARE(page().rowOf(QStringLiteral("typed")), -1);

    m_window->settings().sync();
    const QString settingsFile =
        QSettings(QStringLiteral("tollgate"), QStringLiteral("console")).fileName();
    for (const QString &folder : {m_dataDir.path(), QFileInfo(settingsFile).path()}) {
        QDirIterator files(folder, QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
        while (files.hasNext()) {
            QFile file(files.next());
            QVERIFY(file.open(QIODevice::ReadOnly));
            QVERIFY2(!file.readAll().contains(kTypedKey), qPrintable(file.fileName()));
        }
    }
}

void TestProvidersWithoutKeychain::anUnsetVariableIsRefused()
{
    ui::ProviderDialog::Values values;
    values.kind = policy::ProviderKind::OpenAICompatible;
    values.name = QStringLiteral("unset");
    values.baseUrl = m_mock.baseUrl().toString();
    values.variable = QStringLiteral("TOLLGATE_TEST_UNSET_VARIABLE");
    const auto saved = page().saveProvider(values);
    QVERIFY(!saved);
    QVERIFY2(saved.error().message.contains(u"TOLLGATE_TEST_UNSET_VARIABLE"),
             qPrintable(saved.error().message));
    QCOMPARE(page().rowOf(QStringLiteral("unset")), -1);
    // Without a variable the provider has no key of its own: clients' keys pass through.
    values.variable.clear();
    const auto keyless = page().saveProvider(values);
    QVERIFY2(keyless, why(keyless));
    const int row = page().rowOf(QStringLiteral("unset"));
    QCOMPARE(page().cell(row, ui::ProvidersPage::KeyFrom), QStringLiteral("none"));
    QVERIFY(page().cell(row, ui::ProvidersPage::KeyStatus).startsWith(u"none"));
}

QTEST_MAIN(TestProvidersWithoutKeychain)
#include "tst_providersnokeychain.moc"
