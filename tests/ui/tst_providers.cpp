// The console's Providers page against a real Secret Service (gnome-keyring in a private D-Bus
// session: ctest runs this through tests/support/with-keyring.sh), a running embedded gateway
// and the mock upstream, offscreen.

#include "consolepolicy.h"
#include "keychain.h"
#include "mainwindow.h"
#include "providerdialog.h"
#include "providerspage.h"

#include "gateway/gatewaythread.h"
#include "httptestclient.h"
#include "mockupstream.h"
#include "policy/gatewayconfig.h"
#include "requestlogreader.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QLineEdit>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTcpServer>
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

// Keys that exist nowhere else, so finding one in a file can only mean a leak.
const QByteArray kAnthropicKey = "sk-ant-keychain-test-7f3a9c1e5b2d48e6";
const QByteArray kCompatKey = "sk-compat-keychain-test-0c4e8a2f6d1b93a7";
const QByteArray kClientKey = "sk-client-own-key";

QStringList g_messages; // everything the program logged

void recordMessage(QtMsgType, const QMessageLogContext &, const QString &message)
{
    g_messages.append(message);
    std::fprintf(stderr, "%s\n", qPrintable(message));
}

/// The secret stored under `entry`, as the desktop's own tools see it; empty when none.
QByteArray secretToolLookup(const QString &entry)
{
    QProcess tool;
    tool.start(QStringLiteral("secret-tool"),
               {QStringLiteral("lookup"), QStringLiteral("user"), entry, QStringLiteral("server"),
                QStringLiteral("tollgate")});
    if (!tool.waitForFinished(10000) || tool.exitCode() != 0)
        return {};
    return tool.readAllStandardOutput().trimmed();
}

} // namespace

class TestProviders : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void theKeychainAnswers();
    void thePageListsTheRunningProviders();
    void aKeyTypedForAProviderGoesToTheKeychainAndUpstream();
    void theDialogValidatesWhatItSaves();
    void addingAProviderStoresItsKey();
    void aPolicyNamingAKeychainEntryResolvesAtStart();
    void testConnectionReachesTheProviderWithItsKey();
    void testConnectionToAClosedPortSaysWhy();
    void keysReachNoFileAndNoLog();
    void removingAProviderDeletesItsEntry();

private:
    ui::ProvidersPage &page() const { return m_window->providersPage(); }
    ui::ProviderDialog *openDialog(QPushButton *button);
    gateway::ProviderCheckResult test(const QString &provider);
    testsupport::HttpTestResponse ask(const QByteArray &prompt);

    QString m_home;
    QString m_dataDir;
    testsupport::MockUpstream m_mock;
    std::unique_ptr<gateway::GatewayThread> m_gateway;
    std::unique_ptr<ui::MainWindow> m_window;
    int m_requests = 0;
};

void TestProviders::initTestCase()
{
    m_home = qEnvironmentVariable("TOLLGATE_TEST_HOME");
    QVERIFY2(!m_home.isEmpty() && QDir::homePath() == m_home,
             "run through tests/support/with-keyring.sh (ctest does): it brings a Secret "
             "Service and a HOME of its own");
    qInstallMessageHandler(recordMessage);
    qunsetenv("ANTHROPIC_API_KEY");
    qunsetenv("OPENAI_API_KEY");
    QStandardPaths::setTestModeEnabled(true); // settings under ~/.qttest, still in our HOME
    QSettings(QStringLiteral("tollgate"), QStringLiteral("console")).clear();
    m_dataDir = QDir(m_home).filePath(QStringLiteral("data"));
    QVERIFY(QDir().mkpath(m_dataDir));

    m_mock.setThreads(1); // serves while this thread waits on the gateway
    QVERIFY2(m_mock.listen(), qPrintable(m_mock.errorString()));
    auto started = testsupport::consolePolicy(m_mock.baseUrl(), m_dataDir);
    QVERIFY2(started, qPrintable(started ? QString() : started.error().message));
    gateway::PolicyDocument policy = *started;
    QVERIFY(policy::resolveProviderKeys(policy.gateway.providers).isEmpty());
    m_gateway = std::make_unique<gateway::GatewayThread>(policy);
    QString error;
    QVERIFY2(m_gateway->start(&error), qPrintable(error));
    m_window = std::make_unique<ui::MainWindow>(*m_gateway);
    m_window->show();
}

void TestProviders::cleanupTestCase()
{
    m_window.reset();
    m_gateway.reset();
    qInstallMessageHandler(nullptr);
}

ui::ProviderDialog *TestProviders::openDialog(QPushButton *button)
{
    button->click();
    ui::ProviderDialog *dialog = nullptr;
    const bool shown = QTest::qWaitFor([&] {
        const auto dialogs = page().findChildren<ui::ProviderDialog *>();
        dialog = dialogs.isEmpty() ? nullptr : dialogs.last();
        return dialog && dialog->isVisible();
    });
    return shown ? dialog : nullptr;
}

gateway::ProviderCheckResult TestProviders::test(const QString &provider)
{
    QSignalSpy tested(&page(), &ui::ProvidersPage::connectionTested);
    page().selectProvider(provider);
    page().testButton()->click();
    if (!tested.wait(30000))
        return {};
    return tested.first().at(1).value<gateway::ProviderCheckResult>();
}

testsupport::HttpTestResponse TestProviders::ask(const QByteArray &prompt)
{
    ++m_requests;
    const QByteArray body =
        R"({"model":"claude-3-haiku-20240307","max_tokens":16,"messages":[{"role":"user","content":")" +
        prompt + R"("}]})";
    return HttpTestClient::send(m_gateway->port(), "POST", "/v1/messages",
                                {{"content-type", "application/json"},
                                 {"anthropic-version", "2023-06-01"},
                                 {"x-api-key", kClientKey}},
                                body);
}

void TestProviders::theKeychainAnswers()
{
    QElapsedTimer clock;
    clock.start();
    page().probeKeychain();
    QVERIFY2(page().hasKeychain(), qPrintable(page().keychainProblem()));
    QVERIFY(clock.elapsed() < ui::Keychain::kDefaultTimeoutMs);
    QVERIFY(!page().findChild<QWidget *>(QStringLiteral("keychainNotice"))->isVisibleTo(&page()));
}

void TestProviders::thePageListsTheRunningProviders()
{
    QTest::keyClick(m_window.get(), Qt::Key(Qt::Key_1 + ui::MainWindow::Providers),
                    Qt::ControlModifier);
    QCOMPARE(m_window->currentPage(), ui::MainWindow::Providers);
    QCOMPARE(page().rowCount(), 2);
    const int anthropic = page().rowOf(QStringLiteral("anthropic"));
    QVERIFY(anthropic >= 0);
    QCOMPARE(page().cell(anthropic, ui::ProvidersPage::Kind), QStringLiteral("Anthropic"));
    QCOMPARE(page().cell(anthropic, ui::ProvidersPage::Endpoints), m_mock.baseUrl().toString());
    QCOMPARE(page().cell(anthropic, ui::ProvidersPage::KeyFrom),
             QStringLiteral("environment: ANTHROPIC_API_KEY"));
    QVERIFY(page().cell(anthropic, ui::ProvidersPage::KeyStatus).startsWith(u"not set"));
}

void TestProviders::aKeyTypedForAProviderGoesToTheKeychainAndUpstream()
{
    page().selectProvider(QStringLiteral("anthropic"));
    ui::ProviderDialog *dialog = openDialog(page().editButton());
    QVERIFY(dialog);
    QVERIFY(dialog->nameEdit()->isReadOnly());
    QCOMPARE(dialog->keyEdit()->echoMode(), QLineEdit::Password);
    QVERIFY(dialog->keyEdit()->isVisibleTo(dialog));
    QVERIFY(!dialog->variableEdit()->isVisibleTo(dialog));
    QTest::keyClicks(dialog->keyEdit(), QString::fromLatin1(kAnthropicKey));
    QVERIFY2(dialog->hint().isEmpty(), qPrintable(dialog->hint()));
    dialog->buttons()->button(QDialogButtonBox::Ok)->click();

    const int row = page().rowOf(QStringLiteral("anthropic"));
    QTRY_COMPARE(page().cell(row, ui::ProvidersPage::KeyFrom),
                 QStringLiteral("keychain: provider/anthropic"));
    QCOMPARE(page().cell(row, ui::ProvidersPage::KeyStatus),
             QStringLiteral("set, from keychain entry provider/anthropic"));
    QVERIFY2(page().outcomeText().contains(u"Saved anthropic"), qPrintable(page().outcomeText()));

    // In the Secret Service, as the desktop's tools and QtKeychain read it.
    QCOMPARE(secretToolLookup(QStringLiteral("provider/anthropic")), kAnthropicKey);
    ui::Keychain keychain;
    const auto read = keychain.read(QStringLiteral("provider/anthropic"));
    QVERIFY2(read, why(read));
    QCOMPARE(*read, kAnthropicKey);

    // Live: the next request goes upstream with that key instead of the client's.
    m_mock.clearJournal();
    const auto response = ask("first");
    QVERIFY2(response.status == 200, qPrintable(response.describe()));
    const auto journal = m_mock.journal();
    QCOMPARE(journal.size(), 1);
    QCOMPARE(journal.first().header("x-api-key"), kAnthropicKey);

    // The page shows where the key is, never the key.
    for (int r = 0; r < page().rowCount(); ++r) {
        for (int c = 0; c < ui::ProvidersPage::ColumnCount; ++c)
            QVERIFY(!page().cell(r, ui::ProvidersPage::Column(c)).contains(kAnthropicKey));
    }
}

void TestProviders::theDialogValidatesWhatItSaves()
{
    ui::ProviderDialog *dialog = openDialog(page().addButton());
    QVERIFY(dialog);
    QPushButton *ok = dialog->buttons()->button(QDialogButtonBox::Ok);
    QVERIFY(!ok->isEnabled()); // no name yet
    dialog->nameEdit()->setText(QStringLiteral("Bad Name"));
    QVERIFY(!ok->isEnabled());
    QVERIFY(dialog->hint().contains(u"a-z"));
    dialog->nameEdit()->setText(QStringLiteral("anthropic"));
    QVERIFY(dialog->hint().contains(u"already"));
    dialog->nameEdit()->setText(QStringLiteral("fine"));
    dialog->baseUrlEdit()->setText(QStringLiteral("ftp://example.com"));
    QVERIFY(!ok->isEnabled());
    QVERIFY(dialog->hint().startsWith(u"Base URL"));
    // The URL follows the API while the user has not typed one.
    dialog->baseUrlEdit()->setText(QStringLiteral("https://api.anthropic.com"));
    dialog->kindBox()->setCurrentIndex(
        dialog->kindBox()->findData(int(policy::ProviderKind::OpenAI)));
    QCOMPARE(dialog->baseUrlEdit()->text(), QStringLiteral("https://api.openai.com"));
    QVERIFY(ok->isEnabled());
    dialog->reject();
    QCOMPARE(page().rowCount(), 2);
}

void TestProviders::addingAProviderStoresItsKey()
{
    ui::ProviderDialog *dialog = openDialog(page().addButton());
    QVERIFY(dialog);
    dialog->kindBox()->setCurrentIndex(
        dialog->kindBox()->findData(int(policy::ProviderKind::OpenAICompatible)));
    QTest::keyClicks(dialog->nameEdit(), QStringLiteral("compat"));
    dialog->baseUrlEdit()->setText(m_mock.baseUrl().toString() + QStringLiteral("/v1"));
    QTest::keyClicks(dialog->keyEdit(), QString::fromLatin1(kCompatKey));
    QVERIFY2(dialog->hint().isEmpty(), qPrintable(dialog->hint()));
    dialog->buttons()->button(QDialogButtonBox::Ok)->click();

    QTRY_COMPARE(page().rowCount(), 3);
    const int row = page().rowOf(QStringLiteral("compat"));
    QVERIFY(row >= 0);
    QCOMPARE(page().cell(row, ui::ProvidersPage::Kind), QStringLiteral("OpenAI-compatible"));
    QCOMPARE(page().cell(row, ui::ProvidersPage::Endpoints), m_mock.baseUrl().toString());
    QCOMPARE(page().cell(row, ui::ProvidersPage::KeyFrom),
             QStringLiteral("keychain: provider/compat"));
    QCOMPARE(secretToolLookup(QStringLiteral("provider/compat")), kCompatKey);
    // The running policy names the entry; its document form never holds the key.
    const auto policy = m_gateway->context()->policy();
    const QByteArray document =
        QJsonDocument(gateway::effectivePolicy(*policy)).toJson(QJsonDocument::Compact);
    QVERIFY(document.contains(R"("compat":{)"));
    QVERIFY(document.contains(R"({"keychain":"provider/compat"})"));
    QVERIFY(!document.contains(kCompatKey) && !document.contains(kAnthropicKey));
}

void TestProviders::aPolicyNamingAKeychainEntryResolvesAtStart()
{
    // What the console's main does with a policy file.
    auto document = gateway::loadPolicy(
        R"({"providers":{"anthropic":{"key":{"keychain":"provider/anthropic"}},
                         "gone":{"kind":"openai-compatible","base_url":"http://127.0.0.1:9",
                                 "key":{"keychain":"provider/gone"}}}})",
        metering::PriceTable::builtin());
    QVERIFY2(document, why(document));
    ui::Keychain keychain;
    QString keychainProblem;
    const QList<Error> problems =
        ui::resolveConsoleKeys(document->gateway.providers, keychain, &keychainProblem);
    QVERIFY2(keychainProblem.isEmpty(), qPrintable(keychainProblem));
    const auto *anthropic =
        policy::findProvider(document->gateway.providers, QStringLiteral("anthropic"));
    QCOMPARE(anthropic->apiKey, kAnthropicKey);
    QCOMPARE(anthropic->keySource, QStringLiteral("keychain entry provider/anthropic"));
    // A missing entry stops the start, and says which.
    QCOMPARE(problems.size(), 1);
    QCOMPARE(problems.first().path, QStringLiteral("providers.gone.key"));
    QVERIFY2(problems.first().message.contains(u"provider/gone"),
             qPrintable(problems.first().message));
}

void TestProviders::testConnectionReachesTheProviderWithItsKey()
{
    m_mock.clearJournal();
    const gateway::ProviderCheckResult compat = test(QStringLiteral("compat"));
    QVERIFY2(compat.ok, qPrintable(compat.summary()));
    QCOMPARE(compat.status, 200);
    QVERIFY(compat.latencyMs > 0);
    QVERIFY2(page().outcomeText().contains(u"compat answers: HTTP 200"),
             qPrintable(page().outcomeText()));
    auto journal = m_mock.journal();
    QCOMPARE(journal.size(), 1);
    QCOMPARE(journal.first().method, QByteArray("GET"));
    QCOMPARE(journal.first().path, QByteArray("/v1/models"));
    QCOMPARE(journal.first().header("authorization"), "Bearer " + kCompatKey);

    m_mock.clearJournal();
    const gateway::ProviderCheckResult anthropic = test(QStringLiteral("anthropic"));
    QVERIFY2(anthropic.ok, qPrintable(anthropic.summary()));
    journal = m_mock.journal();
    QCOMPARE(journal.size(), 1);
    QCOMPARE(journal.first().header("x-api-key"), kAnthropicKey);
    QVERIFY(!journal.first().header("anthropic-version").isEmpty());
    QVERIFY(page().testButton()->isEnabled());
}

void TestProviders::testConnectionToAClosedPortSaysWhy()
{
    QTcpServer closed;
    QVERIFY(closed.listen(QHostAddress::LocalHost));
    const quint16 port = closed.serverPort();
    closed.close();
    ui::ProviderDialog::Values values;
    values.kind = policy::ProviderKind::Anthropic;
    values.name = QStringLiteral("nowhere");
    values.baseUrl = QStringLiteral("http://127.0.0.1:%1").arg(port);
    const auto saved = page().saveProvider(values);
    QVERIFY2(saved, why(saved));
    QVERIFY(page()
                .cell(page().rowOf(QStringLiteral("nowhere")), ui::ProvidersPage::KeyStatus)
                .startsWith(u"none"));

    QElapsedTimer clock;
    clock.start();
    const gateway::ProviderCheckResult result = test(QStringLiteral("nowhere"));
    QVERIFY(clock.elapsed() < gateway::ProviderCheck::kMaxWaitMs);
    QVERIFY(!result.ok);
    QCOMPARE(result.status, 0);
    QVERIFY2(!result.message.isEmpty(), "says why");
    const QString outcome = page().outcomeText();
    QVERIFY2(outcome.startsWith(u"nowhere failed:") &&
                 outcome.contains(QStringLiteral("127.0.0.1:%1").arg(port)),
             qPrintable(outcome));
    QVERIFY2(outcome.contains(u"refused", Qt::CaseInsensitive) ||
                 outcome.contains(u"connect", Qt::CaseInsensitive),
             qPrintable(outcome));
    QVERIFY(page().removeProvider(QStringLiteral("nowhere")));
}

void TestProviders::keysReachNoFileAndNoLog()
{
    // Let the request log write its rows, and the settings their file.
    const QString logPath = QDir(m_dataDir).filePath(QStringLiteral("requests.sqlite"));
    const auto logged = [&] {
        QHash<QString, QVariantMap> rows;
        QString error;
        return testsupport::readRequestLog(logPath, &rows, &error) && rows.size() >= m_requests;
    };
    QTRY_VERIFY_WITH_TIMEOUT(logged(), 10000);
    m_window->settings().sync();
    const QString settingsFile =
        QSettings(QStringLiteral("tollgate"), QStringLiteral("console")).fileName();
    QVERIFY2(QFile::exists(settingsFile), qPrintable(settingsFile));

    QStringList folders = {m_home, m_dataDir, QFileInfo(settingsFile).path()};
    for (auto location : {QStandardPaths::AppDataLocation, QStandardPaths::AppConfigLocation,
                          QStandardPaths::GenericDataLocation, QStandardPaths::CacheLocation})
        folders += QStandardPaths::standardLocations(location);
    int scanned = 0;
    bool sawSettings = false, sawLog = false;
    for (const QString &folder : folders) {
        QDirIterator files(folder, QDir::Files | QDir::Hidden | QDir::System,
                           QDirIterator::Subdirectories);
        while (files.hasNext()) {
            const QString path = files.next();
            QFile file(path);
            if (!file.open(QIODevice::ReadOnly))
                continue;
            const QByteArray bytes = file.readAll();
            ++scanned;
            sawSettings |= path == settingsFile;
            sawLog |= path == logPath;
            for (const QByteArray &key : {kAnthropicKey, kCompatKey}) {
                QVERIFY2(!bytes.contains(key), qPrintable(path + QStringLiteral(" holds a key")));
                QVERIFY2(!bytes.contains(key.toBase64()),
                         qPrintable(path + QStringLiteral(" holds a key in base64")));
            }
        }
    }
    QVERIFY(sawSettings && sawLog && scanned > 2);
    // ... while the keychain does have them.
    QCOMPARE(secretToolLookup(QStringLiteral("provider/compat")), kCompatKey);
    for (const QString &message : std::as_const(g_messages)) {
        QVERIFY2(!message.contains(QString::fromLatin1(kAnthropicKey)) &&
                     !message.contains(QString::fromLatin1(kCompatKey)),
                 "a key was logged");
    }
}

void TestProviders::removingAProviderDeletesItsEntry()
{
    page().selectProvider(QStringLiteral("compat"));
    QCOMPARE(page().removeButton()->text(), QStringLiteral("&Remove"));
    page().removeButton()->click();
    QTRY_COMPARE(page().rowCount(), 2);
    QCOMPARE(page().rowOf(QStringLiteral("compat")), -1);
    QVERIFY2(page().outcomeText().contains(u"gone from the keychain"),
             qPrintable(page().outcomeText()));
    QVERIFY(secretToolLookup(QStringLiteral("provider/compat")).isEmpty());
    ui::Keychain keychain;
    const auto read = keychain.read(QStringLiteral("provider/compat"));
    QVERIFY(!read);
    QVERIFY2(read.error().message.contains(u"no such entry"), qPrintable(read.error().message));

    // The built-in provider goes back to its defaults: key from the environment (unset here),
    // so the client's own key passes through on the next request.
    page().selectProvider(QStringLiteral("anthropic"));
    QCOMPARE(page().removeButton()->text(), QStringLiteral("&Reset"));
    page().removeButton()->click();
    const int row = page().rowOf(QStringLiteral("anthropic"));
    QTRY_COMPARE(page().cell(row, ui::ProvidersPage::KeyFrom),
                 QStringLiteral("environment: ANTHROPIC_API_KEY"));
    QCOMPARE(page().cell(row, ui::ProvidersPage::Endpoints),
             QStringLiteral("https://api.anthropic.com"));
    QVERIFY(secretToolLookup(QStringLiteral("provider/anthropic")).isEmpty());
}

QTEST_MAIN(TestProviders)
#include "tst_providers.moc"
