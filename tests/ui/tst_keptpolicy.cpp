// The console keeps its working policy in its data folder: what was applied on the Policy and
// Providers pages is in force after a restart, keys stay in the keychain, the command line and
// the simulator are never written into the file, a broken file is set aside, and a --config file
// is never written. Each console starts as app/tollgate/main.cpp starts it, against a real Secret
// Service (ctest runs this through tests/support/with-keyring.sh), the mock upstream and a real
// embedded gateway, offscreen.

#include "consolestart.h"
#include "gatewayoptions.h"
#include "keychain.h"
#include "mainwindow.h"
#include "policyeditorpage.h"
#include "providerspage.h"
#include "simulatedproviders.h"

#include "gateway/gatewaythread.h"
#include "gateway/policykeeper.h"
#include "httptestclient.h"
#include "mockupstream.h"

#include <QClipboard>
#include <QDirIterator>
#include <QGuiApplication>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTest>

using namespace tollgate;
using testsupport::HttpTestClient;

namespace {

// A key that exists nowhere else, so finding it in a file can only mean a leak.
const QByteArray kCompatKey = "sk-compat-kept-policy-test-5e1b7d9a3c2f4086";
const QByteArray kHaiku = "claude-3-haiku-20240307";
const QByteArray kSonnet = "claude-sonnet-4-20250514";

template <typename T> QByteArray why(const Expected<T> &expected)
{
    return expected ? QByteArray() : expected.error().toString().toUtf8();
}

QByteArray readAll(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

bool writeFile(const QString &path, const QByteArray &content)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly) && file.write(content) == content.size();
}

QJsonObject readJson(const QString &path)
{
    return QJsonDocument::fromJson(readAll(path)).object();
}

/// A console started as its main() starts it.
struct Console {
    QCommandLineParser args;
    app::ConsoleStart start;
    std::unique_ptr<gateway::GatewayThread> gateway;
    std::unique_ptr<ui::MainWindow> window;
    QString problem;

    bool run(const QStringList &arguments)
    {
        app::addGatewayOptions(args);
        app::SimulatedProviders::addOptions(args, app::SimulatedProviders::Mode::Auto);
        if (!args.parse(QStringList{QStringLiteral("tollgate")} + arguments))
            return fail(args.errorText());
        if (const QString trouble = start.prepare(args); !trouble.isEmpty())
            return fail(trouble);
        gateway = std::make_unique<gateway::GatewayThread>(start.document());
        if (QString error; !gateway->start(&error))
            return fail(error);
        window = std::make_unique<ui::MainWindow>(*gateway);
        start.attach(*window);
        window->show();
        return true;
    }

    bool fail(const QString &text)
    {
        problem = text;
        return false;
    }

    gateway::PolicyKeeper *keeper() const { return start.keeper(); }
    ui::ProvidersPage &providers() const { return window->providersPage(); }
    ui::PolicyEditorPage &policyPage() const { return window->policyEditorPage(); }
    std::shared_ptr<const gateway::PolicyDocument> policy() const
    {
        return gateway->context()->policy();
    }
    void waitForWrites() const
    {
        if (keeper())
            keeper()->waitForWrites();
    }
};

} // namespace

class TestKeptPolicy : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void aProviderAddedOnThePageIsThereAfterARestart();
    void anAppliedEditIsInForceAfterARestart();
    void onlyARepricedModelIsKeptTheRestFollowTheBuiltInTable();
    void theCommandLineIsNeverWrittenIntoTheFile();
    void theSimulatorIsNeverKept();
    void aBuiltInProviderKeepsItsKeyFromTheEnvironment();
    void aBrokenFileIsSetAsideAndTheConsoleStartsOnTheDefaults();
    void aConfigFileIsInForceAndNeverWritten();
    void underAConfigFileProvidersAreCopiedAsJsonForIt();
    void aKeptKeyThatNoLongerResolvesDoesNotStopTheConsole();

private:
    /// Starts a console over this test's data folder with `extra` options; the mock upstream
    /// serves both built-in providers unless `extra` chooses otherwise.
    bool start(const QStringList &extra = {}, bool atTheMock = true);
    void stop() { m_console.reset(); }
    QString keptPath() const
    {
        return QDir(m_dataDir).filePath(QStringLiteral("console-policy.json"));
    }
    QByteArray servedModel(const QByteArray &model);
    /// An OpenAI-compatible provider "compat" at the mock, with kCompatKey, as the dialog gives it.
    ui::ProviderDialog::Values compatProvider() const
    {
        ui::ProviderDialog::Values values;
        values.kind = policy::ProviderKind::OpenAICompatible;
        values.name = QStringLiteral("compat");
        values.baseUrl = m_mock.baseUrl().toString() + QStringLiteral("/v1");
        values.key = kCompatKey;
        return values;
    }

    QString m_home;
    QString m_dataDir;
    testsupport::MockUpstream m_mock;
    std::unique_ptr<Console> m_console;
    int m_asked = 0;
};

void TestKeptPolicy::initTestCase()
{
    m_home = qEnvironmentVariable("TOLLGATE_TEST_HOME");
    QVERIFY2(!m_home.isEmpty() && QDir::homePath() == m_home,
             "run through tests/support/with-keyring.sh (ctest does): it brings a Secret "
             "Service and a HOME of its own");
    qunsetenv("ANTHROPIC_API_KEY");
    qunsetenv("OPENAI_API_KEY");
    QStandardPaths::setTestModeEnabled(true);
    QSettings(QStringLiteral("tollgate"), QStringLiteral("console")).clear();
    m_mock.setThreads(1); // serves while this thread waits on the gateway
    QVERIFY2(m_mock.listen(), qPrintable(m_mock.errorString()));
}

void TestKeptPolicy::init()
{
    // A data folder of its own for each test: each starts as a first start.
    m_dataDir = QDir(m_home).filePath(QStringLiteral("data-%1").arg(QTest::currentTestFunction()));
    QVERIFY(QDir().mkpath(m_dataDir));
}

void TestKeptPolicy::cleanup()
{
    stop();
}

bool TestKeptPolicy::start(const QStringList &extra, bool atTheMock)
{
    stop();
    QStringList arguments = {QStringLiteral("--data-dir"), m_dataDir,
                             QStringLiteral("--listen"),   QStringLiteral("127.0.0.1:0"),
                             QStringLiteral("--workers"),  QStringLiteral("1")};
    if (atTheMock) {
        const QString mock = m_mock.baseUrl().toString();
        arguments += {QStringLiteral("--anthropic-base-url"), mock,
                      QStringLiteral("--openai-base-url"),    mock,
                      QStringLiteral("--simulator"),          QStringLiteral("off")};
    }
    m_console = std::make_unique<Console>();
    if (m_console->run(arguments + extra))
        return true;
    qWarning("the console did not start: %s", qPrintable(m_console->problem));
    return false;
}

QByteArray TestKeptPolicy::servedModel(const QByteArray &model)
{
    // A question of its own each time: never a cache hit.
    const QByteArray body = R"({"model":")" + model +
                            R"(","max_tokens":16,"messages":[{"role":"user","content":"kept )" +
                            QByteArray::number(++m_asked) + R"("}]})";
    m_mock.clearJournal();
    const auto response = HttpTestClient::send(m_console->gateway->port(), "POST", "/v1/messages",
                                               {{"content-type", "application/json"},
                                                {"anthropic-version", "2023-06-01"},
                                                {"x-api-key", "sk-ant-kept-test"}},
                                               body);
    const auto journal = m_mock.journal();
    if (response.status != 200 || journal.size() != 1)
        return "status " + QByteArray::number(response.status) + ": " + response.body;
    return QJsonDocument::fromJson(journal.first().body)
        .object()
        .value(u"model")
        .toString()
        .toLatin1();
}

void TestKeptPolicy::aProviderAddedOnThePageIsThereAfterARestart()
{
    QVERIFY(start());
    QVERIFY(m_console->providers().hasKeychain());
    const auto saved = m_console->providers().saveProvider(compatProvider());
    QVERIFY2(saved, why(saved));
    m_console->waitForWrites();
    const QByteArray kept = readAll(keptPath());
    const QJsonObject compatEntry =
        readJson(keptPath()).value(u"providers").toObject().value(u"compat").toObject();
    QCOMPARE(compatEntry.value(u"key").toObject().value(u"keychain").toString(),
             QStringLiteral("provider/compat"));
    QVERIFY(!kept.contains(kCompatKey));

    // The next console finds it, with its key from the keychain.
    QVERIFY(start());
    const int row = m_console->providers().rowOf(QStringLiteral("compat"));
    QVERIFY(row >= 0);
    QCOMPARE(m_console->providers().cell(row, ui::ProvidersPage::KeyStatus),
             QStringLiteral("set, from keychain entry provider/compat"));
    const policy::ProviderConfig *compat =
        policy::findProvider(m_console->policy()->gateway.providers, QStringLiteral("compat"));
    QVERIFY(compat);
    QCOMPARE(compat->apiKey, kCompatKey);
    QCOMPARE(compat->baseUrls, QList<QUrl>{m_mock.baseUrl()});
    // ... and sends it upstream.
    m_mock.clearJournal();
    QSignalSpy tested(&m_console->providers(), &ui::ProvidersPage::connectionTested);
    m_console->providers().testConnection(QStringLiteral("compat"));
    QVERIFY(tested.wait(30000));
    const auto journal = m_mock.journal();
    QCOMPARE(journal.size(), 1);
    QCOMPARE(journal.first().header("authorization"), "Bearer " + kCompatKey);

    // Nothing in the data folder (the kept policy, the log, the cache) holds the key.
    m_console->waitForWrites();
    stop();
    int scanned = 0;
    for (QDirIterator files(m_dataDir, QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
         files.hasNext();) {
        const QString path = files.next();
        const QByteArray bytes = readAll(path);
        ++scanned;
        QVERIFY2(!bytes.contains(kCompatKey) && !bytes.contains(kCompatKey.toBase64()),
                 qPrintable(path + QStringLiteral(" holds the key")));
    }
    QVERIFY(scanned >= 2);

    // Removing it is kept too, and so is its entry's removal from the keychain.
    QVERIFY(start());
    QVERIFY(m_console->providers().removeProvider(QStringLiteral("compat")));
    m_console->waitForWrites();
    QVERIFY(!readJson(keptPath()).value(u"providers").toObject().contains(u"compat"));
    QVERIFY(start());
    QCOMPARE(m_console->providers().rowOf(QStringLiteral("compat")), -1);
}

void TestKeptPolicy::anAppliedEditIsInForceAfterARestart()
{
    QVERIFY(start());
    QCOMPARE(servedModel(kHaiku), kHaiku);
    // The first rule now catches requests for haiku and sends them to sonnet.
    const auto edited = m_console->policyPage().setValue(
        QStringLiteral("routes[0].match"),
        QJsonObject{{QStringLiteral("api"), QStringLiteral("anthropic")},
                    {QStringLiteral("model"), QString::fromLatin1(kHaiku)}});
    QVERIFY2(edited, why(edited));
    const auto applied = m_console->policyPage().apply();
    QVERIFY2(applied, why(applied));
    QCOMPARE(servedModel(kHaiku), kSonnet);
    m_console->waitForWrites();
    QVERIFY(m_console->window->statusText().contains(u"Policy kept in"));
    QVERIFY2(m_console->keeper()->issue().isEmpty(), qPrintable(m_console->keeper()->issue()));

    QVERIFY(start());
    QCOMPARE(servedModel(kHaiku), kSonnet);
    // The editor starts from it: nothing to apply.
    QVERIFY(m_console->policyPage().changes().isEmpty());
}

void TestKeptPolicy::onlyARepricedModelIsKeptTheRestFollowTheBuiltInTable()
{
    QVERIFY(start());
    const QList<metering::ModelPrice> &models = m_console->policy()->prices.models();
    const auto haiku = std::find_if(models.begin(), models.end(), [](const auto &model) {
        return model.id == QString::fromLatin1(kHaiku);
    });
    QVERIFY(haiku != models.end());
    const double repriced = haiku->inputPerMTok + 0.125;
    const auto edited = m_console->policyPage().setValue(
        QStringLiteral("models[%1].input").arg(haiku - models.begin()), repriced);
    QVERIFY2(edited, why(edited));
    const auto applied = m_console->policyPage().apply();
    QVERIFY2(applied, why(applied));
    m_console->waitForWrites();

    const QJsonArray kept = readJson(keptPath()).value(u"models").toArray();
    QCOMPARE(kept.size(), 1);
    QCOMPARE(kept.first().toObject().value(u"id").toString(), QString::fromLatin1(kHaiku));
    QCOMPARE(kept.first().toObject().value(u"input").toDouble(), repriced);

    QVERIFY(start());
    const metering::PriceTable builtIn = metering::PriceTable::builtin();
    QCOMPARE(m_console->policy()->prices.find(QString::fromLatin1(kHaiku))->inputPerMTok, repriced);
    QCOMPARE(m_console->policy()->prices.find(QString::fromLatin1(kSonnet))->inputPerMTok,
             builtIn.find(QString::fromLatin1(kSonnet))->inputPerMTok);
    QCOMPARE(m_console->policy()->prices.models().size(), builtIn.models().size());
    QVERIFY(m_console->policyPage().changes().isEmpty());
}

void TestKeptPolicy::theCommandLineIsNeverWrittenIntoTheFile()
{
    // Sections the console does not edit stay as the file has them.
    QVERIFY(
        writeFile(keptPath(), R"({"log": {"retention_days": 7}, "cache": {"ttl_seconds": 60}})"));
    QVERIFY(start());
    QCOMPARE(m_console->policy()->gateway.logRetentionDays, 7);
    QVERIFY(m_console->policyPage().setValue(QStringLiteral("cache.ttl_seconds"), 90));
    QVERIFY(m_console->policyPage().apply());
    m_console->waitForWrites();

    const QJsonObject kept = readJson(keptPath());
    QCOMPARE(kept.value(u"cache").toObject().value(u"ttl_seconds").toInt(), 90);
    QCOMPARE(kept.value(u"log").toObject().value(u"retention_days").toInt(), 7);
    // --listen, --workers, --data-dir and the base URLs were this run's, not the policy's.
    QVERIFY(!kept.contains(u"gateway"));
    QVERIFY(!kept.contains(u"providers"));
    QVERIFY(!readAll(keptPath()).contains(m_mock.baseUrl().authority().toUtf8()));
    QVERIFY(!readAll(keptPath()).contains(m_dataDir.toUtf8()));

    // So a start without them means what it meant before: the public endpoints.
    QVERIFY(start({}, false));
    QVERIFY(m_console->start.simulated().isActive()); // no key anywhere: auto
    stop();
    QVERIFY(start({QStringLiteral("--simulator"), QStringLiteral("off")}, false));
    const auto providers = m_console->policy()->gateway.providers;
    QCOMPARE(policy::findProvider(providers, QStringLiteral("anthropic"))->baseUrls.first(),
             QUrl(QStringLiteral("https://api.anthropic.com")));
    QCOMPARE(m_console->policy()->cache.toJson().value(u"ttl_seconds").toInt(), 90);
}

void TestKeptPolicy::theSimulatorIsNeverKept()
{
    for (int run = 0; run < 2; ++run) {
        QVERIFY(start({}, false)); // no key: the simulator answers for every provider
        QVERIFY(m_console->start.simulated().isActive());
        QCOMPARE(m_console->policy()->gateway.providers.size(), 2);
        // An edit on the Providers page that leaves the endpoint as it is.
        ui::ProviderDialog::Values values;
        values.kind = policy::ProviderKind::Anthropic;
        values.name = QStringLiteral("anthropic");
        values.baseUrl = policy::findProvider(m_console->policy()->gateway.providers, values.name)
                             ->baseUrls.first()
                             .toString();
        QVERIFY(values.baseUrl.startsWith(u"http://127.0.0.1:"));
        const auto saved = m_console->providers().saveProvider(values, values.name);
        QVERIFY2(saved, why(saved));
        m_console->waitForWrites();
        const QByteArray kept = readAll(keptPath());
        QVERIFY2(!kept.contains("127.0.0.1"), kept.constData());
        QVERIFY2(!kept.contains(u8"\"providers\""), kept.constData());
    }
}

void TestKeptPolicy::aBuiltInProviderKeepsItsKeyFromTheEnvironment()
{
    QVERIFY(start());
    ui::ProviderDialog::Values values;
    values.kind = policy::ProviderKind::OpenAI;
    values.name = QStringLiteral("openai");
    values.baseUrl = QStringLiteral("http://127.0.0.1:9");
    const auto saved = m_console->providers().saveProvider(values, values.name);
    QVERIFY2(saved, why(saved));
    m_console->waitForWrites();
    const QJsonObject openai =
        readJson(keptPath()).value(u"providers").toObject().value(u"openai").toObject();
    QCOMPARE(openai.value(u"base_urls").toArray().first().toString(),
             QStringLiteral("http://127.0.0.1:9"));
    // Written out, OPENAI_API_KEY would become required: unset, it would stop the next start.
    QVERIFY(!openai.contains(u"key"));
    QVERIFY(start());
    QVERIFY2(m_console->keeper()->issue().isEmpty(), qPrintable(m_console->keeper()->issue()));
}

void TestKeptPolicy::aBrokenFileIsSetAsideAndTheConsoleStartsOnTheDefaults()
{
    const QByteArray broken = R"({"routes": [{"name": "x", "targets": ["no-such-model"]}]})";
    QVERIFY(writeFile(keptPath(), broken));
    QVERIFY(start());
    // On the defaults, and the status line says why.
    QCOMPARE(servedModel(kHaiku), kHaiku);
    const QString status = m_console->window->statusText();
    QVERIFY2(status.contains(u"broken") && status.contains(u"defaults"), qPrintable(status));
    const QStringList aside =
        QDir(m_dataDir).entryList({QStringLiteral("console-policy.json.broken-*")}, QDir::Files);
    QCOMPARE(aside.size(), 1);
    QCOMPARE(readAll(QDir(m_dataDir).filePath(aside.first())), broken);
    QVERIFY(!QFile::exists(keptPath()));

    // The next Apply keeps a new file beside it.
    QVERIFY(m_console->policyPage().setValue(QStringLiteral("cache.ttl_seconds"), 90));
    QVERIFY(m_console->policyPage().apply());
    m_console->waitForWrites();
    QCOMPARE(readJson(keptPath()).value(u"cache").toObject().value(u"ttl_seconds").toInt(), 90);
    QCOMPARE(readAll(QDir(m_dataDir).filePath(aside.first())), broken);
}

void TestKeptPolicy::aConfigFileIsInForceAndNeverWritten()
{
    const QString config = QDir(m_dataDir).filePath(QStringLiteral("team.json"));
    const QByteArray team = R"({"cache": {"ttl_seconds": 30}})";
    QVERIFY(writeFile(config, team));
    QVERIFY(writeFile(keptPath(), R"({"cache": {"ttl_seconds": 60}})"));
    QVERIFY(start({QStringLiteral("--config"), config}));
    QVERIFY(!m_console->keeper());
    QCOMPARE(m_console->policy()->cache.toJson().value(u"ttl_seconds").toInt(), 30);
    QVERIFY2(m_console->window->statusText().contains(u"Policy from") &&
                 m_console->window->statusText().contains(u"team.json"),
             qPrintable(m_console->window->statusText()));
    QVERIFY(m_console->policyPage().setValue(QStringLiteral("cache.ttl_seconds"), 90));
    QVERIFY(m_console->policyPage().apply());
    QCOMPARE(m_console->policy()->cache.toJson().value(u"ttl_seconds").toInt(), 90);
    stop();
    QCOMPARE(readAll(config), team);
    QCOMPARE(readJson(keptPath()).value(u"cache").toObject().value(u"ttl_seconds").toInt(), 60);
}

void TestKeptPolicy::underAConfigFileProvidersAreCopiedAsJsonForIt()
{
    QVERIFY(start());
    QVERIFY(m_console->providers().policyFileNotice().isEmpty()); // the kept policy keeps them

    const QString config = QDir(m_dataDir).filePath(QStringLiteral("team.json"));
    QVERIFY(writeFile(config, R"({"cache": {"ttl_seconds": 30}})"));
    QVERIFY(start({QStringLiteral("--config"), config}));
    const QString notice = m_console->providers().policyFileNotice();
    QVERIFY2(notice.contains(u"team.json") && notice.contains(u"until it quits"),
             qPrintable(notice));
    const auto saved = m_console->providers().saveProvider(compatProvider());
    QVERIFY2(saved, why(saved));

    // The button copies the providers section: the key as its keychain entry, never the key.
    m_console->providers().copyJsonButton()->click();
    const QByteArray copied = QGuiApplication::clipboard()->text().toUtf8();
    QCOMPARE(copied, m_console->providers().providersJson());
    QVERIFY(!copied.contains(kCompatKey));
    const QJsonObject providers =
        QJsonDocument::fromJson(copied).object().value(u"providers").toObject();
    // The built-in ones are at the mock only because of --anthropic-base-url: left out.
    QVERIFY2(!providers.contains(u"anthropic") && !providers.contains(u"openai"),
             copied.constData());
    QCOMPARE(providers.value(u"compat")
                 .toObject()
                 .value(u"key")
                 .toObject()
                 .value(u"keychain")
                 .toString(),
             QStringLiteral("provider/compat"));

    // Put into the file, it brings the provider back at the next start, key and all.
    QJsonObject file = readJson(config);
    file.insert(QStringLiteral("providers"), providers);
    QVERIFY(writeFile(config, QJsonDocument(file).toJson()));
    QVERIFY(start({QStringLiteral("--config"), config}));
    const policy::ProviderConfig *compat =
        policy::findProvider(m_console->policy()->gateway.providers, QStringLiteral("compat"));
    QVERIFY(compat);
    QCOMPARE(compat->apiKey, kCompatKey);
    QVERIFY(m_console->providers().removeProvider(QStringLiteral("compat"))); // its keychain entry
}

void TestKeptPolicy::aKeptKeyThatNoLongerResolvesDoesNotStopTheConsole()
{
    qunsetenv("TOLLGATE_KEPT_TEST_KEY");
    const QByteArray policy = R"({"providers": {"local": {"kind": "openai-compatible",
        "base_url": "http://127.0.0.1:9", "key": {"env": "TOLLGATE_KEPT_TEST_KEY"}}}})";
    QVERIFY(writeFile(keptPath(), policy));
    QVERIFY(start());
    const QString status = m_console->window->statusText();
    QVERIFY2(status.contains(u"TOLLGATE_KEPT_TEST_KEY"), qPrintable(status));
    QVERIFY2(m_console->keeper()->issue().contains(u"that provider has no key of its own"),
             qPrintable(m_console->keeper()->issue()));
    const policy::ProviderConfig *local =
        policy::findProvider(m_console->policy()->gateway.providers, QStringLiteral("local"));
    QVERIFY(local && local->apiKey.isEmpty());
    QCOMPARE(readAll(keptPath()), policy);

    // The same file given with --config is the user's: it stops the start, as tollgated's would.
    const QString config = QDir(m_dataDir).filePath(QStringLiteral("local.json"));
    QVERIFY(writeFile(config, policy));
    QVERIFY(!start({QStringLiteral("--config"), config}));
    QVERIFY2(m_console->problem.contains(u"TOLLGATE_KEPT_TEST_KEY"),
             qPrintable(m_console->problem));
}

QTEST_MAIN(TestKeptPolicy)
#include "tst_keptpolicy.moc"
