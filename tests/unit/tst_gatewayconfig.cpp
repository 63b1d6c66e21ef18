#include "policy/gatewayconfig.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using namespace tollgate;
using namespace tollgate::policy;

namespace {

// A throwaway self-signed CA: the certificate only, its key was discarded.
const QByteArray kTestCaPem = "-----BEGIN CERTIFICATE-----\n"
                              "MIIBlzCCAT2gAwIBAgIUCJXaxR6AQACyvoARVzDlqccOVGQwCgYIKoZIzj0EAwIw\n"
                              "IDEeMBwGA1UEAwwVVG9sbGdhdGUgVW5pdCBUZXN0IENBMCAXDTI2MTEyODExMjM0\n"
                              "MVoYDzIxMjYxMTA0MTEyMzQxWjAgMR4wHAYDVQQDDBVUb2xsZ2F0ZSBVbml0IFRl\n"
                              "c3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASDVeSGDILF9HLdXgAm+tQX\n"
                              "y+GqChnICR6KgRrq634a0b340QQCaO6j+BKGG6HQqWK91oJ/lRPu2CkFcd//353R\n"
                              "o1MwUTAdBgNVHQ4EFgQUWxOEIE63MMsQAtQR54kjZgbALdwwHwYDVR0jBBgwFoAU\n"
                              "WxOEIE63MMsQAtQR54kjZgbALdwwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQD\n"
                              "AgNIADBFAiEAv+krj2DJmDdi3qaW3cx6KixPX4OcpiZWDv9u3IktGv4CIARss2FM\n"
                              "fK/bScvtFOJxl2joLbpNF8yE+rO/jkb8LGH7\n"
                              "-----END CERTIFICATE-----\n";

/// Writes `content` to `name` in `dir`; returns its path.
QString writeFile(const QTemporaryDir &dir, const QString &name, const QByteArray &content)
{
    QFile file(dir.filePath(name));
    if (file.open(QIODevice::WriteOnly))
        file.write(content);
    return file.fileName();
}

const ProviderConfig &provider(const GatewayConfig &config, const char *name)
{
    static const ProviderConfig none;
    const ProviderConfig *found = findProvider(config.providers, QLatin1String(name));
    return found ? *found : none;
}

QByteArray caFilePolicy(const QByteArray &value)
{
    return R"({"providers": {"anthropic": {"ca_file": )" + value + "}}}";
}

} // namespace

class TestGatewayConfig : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void defaultsMatchTheReference();
    void appliesEverySection();
    void reportsErrorsWithTheirPath_data();
    void reportsErrorsWithTheirPath();
    void parsesListenAddresses_data();
    void parsesListenAddresses();
    void dropsTrailingV1FromBaseUrls();
    void refusesNetworkListenWithoutKeys();
    void loadsExtraCaCertificatesFromCaFile();
    void reportsUnusableCaFiles_data();
    void reportsUnusableCaFiles();
    void addsProvidersWithSeveralEndpoints();
    void reportsProviderProblems_data();
    void reportsProviderProblems();
    void resolvesKeyReferences();
    void choosesTheDefaultProviderOfEachApi();
};

void TestGatewayConfig::defaultsMatchTheReference()
{
    const GatewayConfig config;
    QCOMPARE(config.listenAddress, QHostAddress(QHostAddress::LocalHost));
    QCOMPARE(config.listenPort, quint16(8080));
    QCOMPARE(config.defaultMaxTokens, 1024);
    QCOMPARE(config.providers.size(), 2);
    QCOMPARE(provider(config, "anthropic").baseUrls,
             QList<QUrl>{QUrl(QStringLiteral("https://api.anthropic.com"))});
    QCOMPARE(provider(config, "anthropic").kind, ProviderKind::Anthropic);
    QCOMPARE(provider(config, "anthropic").key.name, QStringLiteral("ANTHROPIC_API_KEY"));
    QCOMPARE(provider(config, "openai").baseUrls,
             QList<QUrl>{QUrl(QStringLiteral("https://api.openai.com"))});
    QCOMPARE(provider(config, "openai").key.name, QStringLiteral("OPENAI_API_KEY"));
    QVERIFY(provider(config, "anthropic").apiKey.isEmpty());
    QVERIFY(config.maxConnectionsPerHost > 6);
}

void TestGatewayConfig::appliesEverySection()
{
    const QByteArray hash(64, 'a');
    const QByteArray json = R"({
        "version": 1,
        "gateway": {"listen": "0.0.0.0:9000", "workers": 3, "max_body_bytes": 4096,
                    "default_max_tokens": 2048,
                    "keys": [{"name": "ci", "sha256": ")" +
                            hash + R"(", "user": "bot",
                              "plan": "pro"}]},
        "providers": {"openai": {"base_url": "http://127.0.0.1:1234/v1",
                                 "first_byte_timeout_ms": 500}},
        "log": {"retention_days": 7}
    })";
    auto config = applyPolicy(json);
    QVERIFY2(config.ok(), qPrintable(config ? QString() : config.error().toString()));
    QCOMPARE(config->listenAddress, QHostAddress(QHostAddress::AnyIPv4));
    QCOMPARE(config->listenPort, quint16(9000));
    QCOMPARE(config->workers, 3);
    QCOMPARE(config->limits.maxBodyBytes, qsizetype(4096));
    QCOMPARE(config->defaultMaxTokens, 2048);
    QCOMPARE(config->gatewayKeys.size(), 1);
    QCOMPARE(config->gatewayKeys[0].user, QStringLiteral("bot"));
    QCOMPARE(config->gatewayKeys[0].sha256Hex, hash);
    QCOMPARE(provider(*config, "openai").baseUrls,
             QList<QUrl>{QUrl(QStringLiteral("http://127.0.0.1:1234"))});
    QCOMPARE(provider(*config, "openai").timeouts.firstByteMs, 500);
    QCOMPARE(config->logRetentionDays, 7);
    // Untouched settings keep their defaults.
    QCOMPARE(provider(*config, "anthropic").baseUrls,
             QList<QUrl>{QUrl(QStringLiteral("https://api.anthropic.com"))});
}

void TestGatewayConfig::reportsErrorsWithTheirPath_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("path");
    QTest::newRow("unknown top-level") << QByteArray(R"({"gatway": {}})") << "gatway";
    QTest::newRow("unknown nested")
        << QByteArray(R"({"gateway": {"listen_on": "x"}})") << "gateway.listen_on";
    QTest::newRow("wrong type") << QByteArray(R"({"gateway": {"workers": "two"}})")
                                << "gateway.workers";
    QTest::newRow("negative") << QByteArray(R"({"gateway": {"max_body_bytes": -1}})")
                              << "gateway.max_body_bytes";
    QTest::newRow("bad listen") << QByteArray(R"({"gateway": {"listen": "nowhere"}})")
                                << "gateway.listen";
    QTest::newRow("bad url") << QByteArray(
                                    R"({"providers": {"anthropic": {"base_url": "ftp://x"}}})")
                             << "providers.anthropic.base_url";
    QTest::newRow("bad key hash")
        << QByteArray(
               R"({"gateway": {"keys": [{"name": "a", "sha256": "xyz", "user": "u", "plan": "free"}]}})")
        << "gateway.keys[0].sha256";
    QTest::newRow("version") << QByteArray(R"({"version": 2})") << "version";
    QTest::newRow("not json") << QByteArray("{") << "";
    QTest::newRow("not an object") << QByteArray("[]") << "";
}

void TestGatewayConfig::reportsErrorsWithTheirPath()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, path);
    auto config = applyPolicy(json);
    QVERIFY(!config.ok());
    QCOMPARE(config.error().path, path);
    QVERIFY(!config.error().message.isEmpty());
}

void TestGatewayConfig::parsesListenAddresses_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<QString>("host");
    QTest::addColumn<int>("port");
    QTest::newRow("v4") << "127.0.0.1:8080" << true << "127.0.0.1" << 8080;
    QTest::newRow("localhost") << "localhost:0" << true << "127.0.0.1" << 0;
    QTest::newRow("v6") << "[::1]:9" << true << "::1" << 9;
    QTest::newRow("no port") << "127.0.0.1" << false << "" << 0;
    QTest::newRow("big port") << "127.0.0.1:70000" << false << "" << 0;
    QTest::newRow("hostname") << "example.com:80" << false << "" << 0;
}

void TestGatewayConfig::parsesListenAddresses()
{
    QFETCH(QString, text);
    QFETCH(bool, valid);
    QFETCH(QString, host);
    QFETCH(int, port);
    auto parsed = parseListenAddress(text);
    QCOMPARE(parsed.ok(), valid);
    if (!valid)
        return;
    QCOMPARE(parsed->first, QHostAddress(host));
    QCOMPARE(int(parsed->second), port);
}

void TestGatewayConfig::dropsTrailingV1FromBaseUrls()
{
    QCOMPARE(*parseBaseUrl(QStringLiteral("https://api.openai.com/v1/")),
             QUrl(QStringLiteral("https://api.openai.com")));
    QCOMPARE(*parseBaseUrl(QStringLiteral("http://10.0.0.5:8000/proxy/v1")),
             QUrl(QStringLiteral("http://10.0.0.5:8000/proxy")));
    QVERIFY(!parseBaseUrl(QStringLiteral("api.openai.com")).ok());
}

void TestGatewayConfig::refusesNetworkListenWithoutKeys()
{
    GatewayConfig config;
    QVERIFY(servingProblem(config).isEmpty());
    config.listenAddress = QHostAddress(QHostAddress::AnyIPv4);
    QVERIFY(servingProblem(config).contains(QLatin1String("without gateway keys")));
    config.gatewayKeys.append({QStringLiteral("k"), QByteArray(64, 'a'), QStringLiteral("u"),
                               QStringLiteral("free"), QString(), false});
    QVERIFY(servingProblem(config).contains(QLatin1String("no provider key")));
    findProvider(config, QStringLiteral("anthropic"))->apiKey = "sk-provider";
    QVERIFY(servingProblem(config).isEmpty());
}

void TestGatewayConfig::loadsExtraCaCertificatesFromCaFile()
{
    QVERIFY(provider(GatewayConfig(), "anthropic").extraCaCertificates.isEmpty());
    QTemporaryDir dir;
    // A bundle: two certificates with text around them, as CA bundles often have.
    const QString path = writeFile(dir, QStringLiteral("bundle.pem"),
                                   "# corporate proxy\n" + kTestCaPem + "\n" + kTestCaPem);
    auto config = applyPolicy(caFilePolicy('"' + path.toUtf8() + '"'));
    QVERIFY2(config.ok(), qPrintable(config ? QString() : config.error().toString()));
    QCOMPARE(provider(*config, "anthropic").extraCaCertificates.size(), 2);
    QCOMPARE(provider(*config, "anthropic")
                 .extraCaCertificates.first()
                 .subjectInfo(QSslCertificate::CommonName),
             QStringList{QStringLiteral("Tollgate Unit Test CA")});
    QVERIFY(provider(*config, "openai").extraCaCertificates.isEmpty());
}

void TestGatewayConfig::reportsUnusableCaFiles_data()
{
    QTest::addColumn<QByteArray>("value");
    QTest::addColumn<QString>("message");
    QTest::newRow("missing file") << QByteArray("\"FOLDER/missing.pem\"")
                                  << QStringLiteral("cannot read");
    QTest::newRow("not PEM") << QByteArray("\"FOLDER/notes.txt\"")
                             << QStringLiteral("no PEM certificate");
    QTest::newRow("DER, not PEM") << QByteArray("\"FOLDER/ca.der\"")
                                  << QStringLiteral("no PEM certificate");
    QTest::newRow("empty path") << QByteArray("\"\"") << QStringLiteral("expected");
    QTest::newRow("not a string") << QByteArray("7") << QStringLiteral("expected");
}

void TestGatewayConfig::reportsUnusableCaFiles()
{
    QFETCH(QByteArray, value);
    QFETCH(QString, message);
    QTemporaryDir dir;
    writeFile(dir, QStringLiteral("notes.txt"), "not a certificate\n");
    const auto pem = QSslCertificate::fromData(kTestCaPem, QSsl::Pem);
    QCOMPARE(pem.size(), 1);
    writeFile(dir, QStringLiteral("ca.der"), pem.first().toDer());
    value.replace("FOLDER", dir.path().toUtf8());
    auto config = applyPolicy(caFilePolicy(value));
    QVERIFY(!config.ok());
    QCOMPARE(config.error().path, QStringLiteral("providers.anthropic.ca_file"));
    QVERIFY2(config.error().message.contains(message), qPrintable(config.error().message));
}

void TestGatewayConfig::addsProvidersWithSeveralEndpoints()
{
    auto config = applyPolicy(R"({"providers": {
        "anthropic": {"base_urls": ["https://us.example", "https://eu.example/v1"]},
        "local-vllm": {"kind": "openai-compatible", "base_url": "http://127.0.0.1:8000/v1",
                       "key": {"env": "VLLM_API_KEY"}},
        "ollama": {"kind": "openai-compatible", "base_url": "http://127.0.0.1:11434",
                   "key": "none"}}})");
    QVERIFY2(config.ok(), qPrintable(config ? QString() : config.error().toString()));
    QCOMPARE(config->providers.size(), 4);
    QCOMPARE(provider(*config, "anthropic").baseUrls,
             (QList<QUrl>{QUrl(QStringLiteral("https://us.example")),
                          QUrl(QStringLiteral("https://eu.example"))}));
    // Changing a default provider's endpoints keeps its key reference.
    QCOMPARE(provider(*config, "anthropic").key.name, QStringLiteral("ANTHROPIC_API_KEY"));
    const ProviderConfig &vllm = provider(*config, "local-vllm");
    QCOMPARE(vllm.kind, ProviderKind::OpenAICompatible);
    QCOMPARE(vllm.flavor(), api::Flavor::OpenAI);
    QCOMPARE(vllm.baseUrls, QList<QUrl>{QUrl(QStringLiteral("http://127.0.0.1:8000"))});
    QCOMPARE(vllm.key.source, KeyReference::Source::Environment);
    QCOMPARE(vllm.key.name, QStringLiteral("VLLM_API_KEY"));
    QVERIFY(vllm.key.stated);
    QCOMPARE(provider(*config, "ollama").key.source, KeyReference::Source::None);
}

void TestGatewayConfig::reportsProviderProblems_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("path");
    QTest::newRow("new provider without kind")
        << QByteArray(R"({"providers": {"x": {"base_url": "http://127.0.0.1:1"}}})")
        << "providers.x.kind";
    QTest::newRow("new provider without url")
        << QByteArray(R"({"providers": {"x": {"kind": "openai"}}})") << "providers.x.base_url";
    QTest::newRow("unknown kind") << QByteArray(
                                         R"({"providers": {"anthropic": {"kind": "bedrock"}}})")
                                  << "providers.anthropic.kind";
    QTest::newRow("bad second url")
        << QByteArray(R"({"providers": {"openai": {"base_urls": ["http://a", "nope"]}}})")
        << "providers.openai.base_urls[1]";
    QTest::newRow("empty url list") << QByteArray(R"({"providers": {"openai": {"base_urls": []}}})")
                                    << "providers.openai.base_urls";
    QTest::newRow("both url fields")
        << QByteArray(
               R"({"providers": {"openai": {"base_url": "http://a", "base_urls": ["http://b"]}}})")
        << "providers.openai.base_urls";
    QTest::newRow("key value in the policy")
        << QByteArray(R"({"providers": {"openai": {"key": "sk-live-123"}}})")
        << "providers.openai.key";
    QTest::newRow("unknown key source")
        << QByteArray(R"({"providers": {"openai": {"key": {"vault": "x"}}}})")
        << "providers.openai.key.vault";
    QTest::newRow("bad name") << QByteArray(R"({"providers": {"My Server": {}}})")
                              << "providers.My Server";
}

void TestGatewayConfig::reportsProviderProblems()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, path);
    QList<Error> problems;
    auto config = applyPolicy(json, {}, {}, &problems);
    QVERIFY(!config.ok());
    QStringList paths;
    for (const Error &problem : problems)
        paths.append(problem.path);
    QVERIFY2(paths.contains(path), qPrintable(paths.join(u' ')));
    // A key written into the policy by mistake is never echoed back.
    QVERIFY(!config.error().message.contains(QLatin1String("sk-live-123")));
}

void TestGatewayConfig::resolvesKeyReferences()
{
    QTemporaryDir dir;
    const QString keyFile = writeFile(dir, QStringLiteral("key"), "sk-from-file\n");
    qputenv("TOLLGATE_TEST_KEY", "sk-from-env");
    qputenv("TOLLGATE_TEST_SECRET_FILE", keyFile.toLocal8Bit());
    qunsetenv("TOLLGATE_TEST_UNSET");
    qunsetenv("TOLLGATE_TEST_UNSET_FILE");
    auto config = applyPolicy(R"({"providers": {
        "a": {"kind": "openai-compatible", "base_url": "http://127.0.0.1:1",
              "key": {"env": "TOLLGATE_TEST_KEY"}},
        "b": {"kind": "openai-compatible", "base_url": "http://127.0.0.1:2",
              "key": {"env": "TOLLGATE_TEST_SECRET"}},
        "c": {"kind": "anthropic", "base_url": "http://127.0.0.1:3",
              "key": {"file": ")" +
                              keyFile.toUtf8() + R"("}}}})");
    QVERIFY2(config.ok(), qPrintable(config ? QString() : config.error().toString()));
    QVERIFY(resolveProviderKeys(config->providers).isEmpty());
    QCOMPARE(provider(*config, "a").apiKey, QByteArray("sk-from-env"));
    QCOMPARE(provider(*config, "b").apiKey, QByteArray("sk-from-file")); // via *_FILE
    QCOMPARE(provider(*config, "c").apiKey, QByteArray("sk-from-file"));
    QVERIFY(!describeProvider(provider(*config, "a")).contains(QLatin1String("sk-")));

    // A stated reference that yields nothing is a problem; the implicit defaults may be unset.
    auto missing = applyPolicy(R"({"providers": {"openai": {"key": {"env": "TOLLGATE_TEST_UNSET"}},
        "k": {"kind": "anthropic", "base_url": "http://127.0.0.1:4", "key": {"keychain": "k"}}}})");
    QVERIFY(missing.ok());
    qunsetenv("ANTHROPIC_API_KEY");
    qunsetenv("ANTHROPIC_API_KEY_FILE");
    const QList<Error> problems = resolveProviderKeys(missing->providers);
    QCOMPARE(problems.size(), 2);
    QCOMPARE(problems.at(0).path, QStringLiteral("providers.openai.key"));
    QVERIFY(problems.at(0).message.contains(QLatin1String("TOLLGATE_TEST_UNSET")));
    QCOMPARE(problems.at(1).path, QStringLiteral("providers.k.key"));
    QVERIFY(problems.at(1).message.contains(QLatin1String("console")));
    // The console reads the keychain.
    const QList<Error> withKeychain =
        resolveProviderKeys(missing->providers, [](const QString &entry) -> Expected<QByteArray> {
            return entry == QLatin1String("k") ? QByteArray("sk-keychain") : QByteArray();
        });
    QCOMPARE(withKeychain.size(), 1);
    QCOMPARE(provider(*missing, "k").apiKey, QByteArray("sk-keychain"));
}

void TestGatewayConfig::choosesTheDefaultProviderOfEachApi()
{
    auto config = applyPolicy(R"({"providers": {
        "vllm": {"kind": "openai-compatible", "base_url": "http://127.0.0.1:1"}}})");
    QVERIFY(config.ok());
    QCOMPARE(defaultProviderFor(config->providers, api::Flavor::Anthropic)->name,
             QStringLiteral("anthropic"));
    QCOMPARE(defaultProviderFor(config->providers, api::Flavor::OpenAI)->name,
             QStringLiteral("openai"));
    // Without a provider named after the API, the first one that speaks it.
    QList<ProviderConfig> onlyLocal = {*findProvider(config->providers, QStringLiteral("vllm"))};
    QCOMPARE(defaultProviderFor(onlyLocal, api::Flavor::OpenAI)->name, QStringLiteral("vllm"));
    QCOMPARE(defaultProviderFor(onlyLocal, api::Flavor::Anthropic), nullptr);
}

QTEST_GUILESS_MAIN(TestGatewayConfig)
#include "tst_gatewayconfig.moc"
