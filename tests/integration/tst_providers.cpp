// Providers and models (docs/providers.md) through the real tollgated on real sockets against
// mock upstreams: regional failover across a provider's base URLs with a breaker per endpoint,
// an OpenAI-compatible provider serving a model of the policy's `models` section under its
// upstream id and price, key references from the environment and files, and the refusals a
// missing key or an unknown provider get.
#include "httptestclient.h"
#include "mockupstream.h"
#include "prometheustext.h"
#include "providerheaders.h"
#include "testchecks.h"
#include "tollgatedprocess.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QtTest/QtTest>

using namespace tollgate::testsupport;

namespace {

const QByteArray kHaiku = "claude-3-haiku-20240307";
const QByteArray kLocalKey = "sk-local-tollgate-pv-7d1e22c9";
const QByteArray kFileKey = "sk-ant-tollgate-pv-file-91aa03f2";

QByteArray anthropicBody(const QByteArray &model, const QByteArray &prompt)
{
    return R"({"model":")" + model + R"(","max_tokens":64,"messages":[{"role":"user","content":")" +
           prompt + R"("}]})";
}

QByteArray openAiBody(const QByteArray &model, const QByteArray &prompt)
{
    return R"({"model":")" + model + R"(","messages":[{"role":"user","content":")" + prompt +
           R"("}]})";
}

HttpTestRequest messages(const QByteArray &body)
{
    return HttpTestRequest::post("/v1/messages", body, ProviderHeaders::anthropic("sk-client"));
}

HttpTestRequest chat(const QByteArray &body)
{
    return HttpTestRequest::post("/v1/chat/completions", body,
                                 ProviderHeaders::openAi("sk-client"));
}

QByteArray modelOf(const JournalEntry &entry)
{
    return QJsonDocument::fromJson(entry.body).object().value(u"model").toString().toUtf8();
}

/// A loopback port with nothing listening: connecting to it is refused at once, like a region
/// that is down.
quint16 closedPort()
{
    QTcpServer server;
    server.listen(QHostAddress::LocalHost);
    return server.serverPort(); // closed when `server` goes
}

} // namespace

class TestProviders : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanup();

    void failsOverToTheNextRegion();
    void skipsARegionWhoseBreakerIsOpen();
    void servesAPolicyModelFromAnOpenAiCompatibleProvider();
    void readsKeysFromTheReferencesTheyName();
    void reloadMovesAProviderToNewEndpoints();
    void refusesToStartWhenAStatedKeyIsMissing();
    void checkConfigPrintsProvidersAndModelsWithoutKeys();
    void refusesModelsOfUnknownProviders();

private:
    MockUpstream m_east;
    MockUpstream m_local;
    TollgatedProcess m_gateway;
};

void TestProviders::initTestCase()
{
    QVERIFY2(m_east.listen(), qPrintable(m_east.errorString()));
    QVERIFY2(m_local.listen(), qPrintable(m_local.errorString()));
}

void TestProviders::cleanup()
{
    if (m_gateway.isRunning())
        QCOMPARE(m_gateway.stop(), 0);
    m_gateway.removeDataDir();
    m_east.clearJournal();
    m_local.clearJournal();
}

void TestProviders::failsOverToTheNextRegion()
{
    const QByteArray down = "http://127.0.0.1:" + QByteArray::number(closedPort());
    TollgatedProcess::Options options;
    options.policy = R"({"providers": {"anthropic": {"base_urls": [")" + down + R"(", ")" +
                     m_east.baseUrl().toString().toUtf8() + R"("]}},
                         "retries": {"max_attempts": 1}})";
    QVERIFY2(m_gateway.start(options), qPrintable(m_gateway.failureReport()));

    const HttpTestResponse response = m_gateway.send(messages(anthropicBody(kHaiku, "region")));
    QVERIFY2(response.status == 200, qPrintable(response.describe()));
    QCOMPARE(response.header("x-tollgate-model"), kHaiku);
    QCOMPARE(m_east.journal().size(), 1);
    QCOMPARE(modelOf(m_east.journal().first()), kHaiku);
    // The refused region counts as a retry of the request, so operators see failovers.
    QCOMPARE(PrometheusText::sample(m_gateway.scrapeMetrics(),
                                    "tollgate_upstream_retries_total{model=\"" + kHaiku + "\"}"),
             1.0);
}

void TestProviders::skipsARegionWhoseBreakerIsOpen()
{
    const QByteArray down = "http://127.0.0.1:" + QByteArray::number(closedPort());
    TollgatedProcess::Options options;
    options.policy = R"({"providers": {"anthropic": {"base_urls": [")" + down + R"(", ")" +
                     m_east.baseUrl().toString().toUtf8() + R"("]}},
                         "retries": {"max_attempts": 1},
                         "breakers": {"consecutive_failures": 2, "cooldown_ms": 600000}})";
    QVERIFY2(m_gateway.start(options), qPrintable(m_gateway.failureReport()));
    for (int i = 0; i < 4; ++i) {
        const HttpTestResponse response =
            m_gateway.send(messages(anthropicBody(kHaiku, "breaker " + QByteArray::number(i))));
        QVERIFY2(response.status == 200, qPrintable(response.describe()));
    }
    QCOMPARE(m_east.journal().size(), 4);
    const QByteArray metrics = m_gateway.scrapeMetrics();
    const auto breaker = [&](const QByteArray &baseUrl) {
        return PrometheusText::sample(metrics, "tollgate_breaker_state{target=\"anthropic " +
                                                   baseUrl + ' ' + kHaiku + "\"}");
    };
    // Two refused connections opened the down region's breaker; the later requests skipped it
    // without a retry.
    QCOMPARE(breaker(down), 2.0);
    QCOMPARE(breaker(m_east.baseUrl().toString().toUtf8()), 0.0);
    QCOMPARE(PrometheusText::sample(metrics,
                                    "tollgate_upstream_retries_total{model=\"" + kHaiku + "\"}"),
             2.0);
}

void TestProviders::servesAPolicyModelFromAnOpenAiCompatibleProvider()
{
    TollgatedProcess::Options options =
        TollgatedProcess::Options::forUpstreams(m_east.baseUrl(), m_east.baseUrl());
    options.policy = R"({
        "providers": {"local": {"kind": "openai-compatible", "base_url": ")" +
                     m_local.baseUrl().toString().toUtf8() + R"(/v1",
                                "key": {"env": "TOLLGATE_LOCAL_KEY"}}},
        "models": [{"id": "llama-local", "provider": "local", "upstream_id": "meta/llama-3.3-70b",
                    "aliases": ["llama"], "input": 1.0, "output": 2.0}]})";
    // The daemon inherits this process's environment (without provider key variables).
    qputenv("TOLLGATE_LOCAL_KEY", kLocalKey);
    const bool started = m_gateway.start(options);
    qunsetenv("TOLLGATE_LOCAL_KEY");
    QVERIFY2(started, qPrintable(m_gateway.failureReport()));

    const HttpTestResponse response = m_gateway.send(chat(openAiBody("llama", "hello local")));
    QVERIFY2(response.status == 200, qPrintable(response.describe()));
    QCOMPARE(m_local.journal().size(), 1);
    const JournalEntry sent = m_local.journal().first();
    // The provider is asked for its own name, with the key the policy points at.
    QCOMPARE(modelOf(sent), QByteArray("meta/llama-3.3-70b"));
    QCOMPARE(sent.header("authorization"), "Bearer " + kLocalKey);
    // The client and the log see the policy's id, priced with the policy's prices.
    QCOMPARE(response.header("x-tollgate-model"), QByteArray("llama-local"));
    const QJsonObject usage = response.json().value(u"usage").toObject();
    const double expected = (usage.value(u"prompt_tokens").toDouble() * 1.0 +
                             usage.value(u"completion_tokens").toDouble() * 2.0) /
                            1e6;
    QVERIFY(expected > 0);
    QCOMPARE(response.header("x-tollgate-cost-usd").toDouble(), expected);

    // Other OpenAI models still go to the default OpenAI provider, with the client's own key.
    const HttpTestResponse other = m_gateway.send(chat(openAiBody("gpt-4o-mini", "hi openai")));
    QVERIFY2(other.status == 200, qPrintable(other.describe()));
    QCOMPARE(m_local.journal().size(), 1);
    QCOMPARE(m_east.journal().size(), 1);
    QCOMPARE(m_east.journal().first().header("authorization"), QByteArray("Bearer sk-client"));
}

void TestProviders::readsKeysFromTheReferencesTheyName()
{
    QTemporaryDir secrets;
    QFile keyFile(secrets.filePath(QStringLiteral("anthropic-key")));
    QVERIFY(keyFile.open(QIODevice::WriteOnly));
    keyFile.write(kFileKey + "\n");
    keyFile.close();
    TollgatedProcess::Options options =
        TollgatedProcess::Options::forUpstreams(m_east.baseUrl(), m_local.baseUrl());
    options.policy = R"({"providers": {"anthropic": {"key": {"file": ")" +
                     keyFile.fileName().toUtf8() + R"("}}}})";
    QVERIFY2(m_gateway.start(options), qPrintable(m_gateway.failureReport()));
    const HttpTestResponse response = m_gateway.send(messages(anthropicBody(kHaiku, "file key")));
    QVERIFY2(response.status == 200, qPrintable(response.describe()));
    QCOMPARE(m_east.journal().first().header("x-api-key"), kFileKey);
    // Where the key came from is said at start; the key itself never.
    QVERIFY(m_gateway.output().contains(keyFile.fileName().toUtf8()));
    QVERIFY(!m_gateway.output().contains(kFileKey));
    QVERIFY(!m_gateway.dataBytes().contains(kFileKey));
}

void TestProviders::reloadMovesAProviderToNewEndpoints()
{
    const auto policyFor = [](const MockUpstream &upstream) {
        return R"({"providers": {"anthropic": {"base_urls": [")" +
               upstream.baseUrl().toString().toUtf8() + R"("]}}})";
    };
    TollgatedProcess::Options options;
    options.policy = policyFor(m_east);
    QVERIFY2(m_gateway.start(options), qPrintable(m_gateway.failureReport()));
    QCOMPARE(m_gateway.send(messages(anthropicBody(kHaiku, "before"))).status, 200);
    QVERIFY(m_gateway.reloadPolicy(policyFor(m_local)));
    QCOMPARE(m_gateway.send(messages(anthropicBody(kHaiku, "after"))).status, 200);
    QCOMPARE(m_east.journal().size(), 1);
    QCOMPARE(m_local.journal().size(), 1);

    // A reload whose stated key cannot be read is refused; the running providers stay.
    QVERIFY(m_gateway.replacePolicy(R"({"providers": {"anthropic": {"base_urls": [")" +
                                    m_east.baseUrl().toString().toUtf8() +
                                    R"("], "key": {"file": "/nonexistent/tollgate-key"}}}})"));
    QVERIFY(m_gateway.waitForOutput("policy not reloaded"));
    QCOMPARE(m_gateway.send(messages(anthropicBody(kHaiku, "still local"))).status, 200);
    QCOMPARE(m_local.journal().size(), 2);
}

void TestProviders::refusesToStartWhenAStatedKeyIsMissing()
{
    QTemporaryDir dir;
    QFile policy(dir.filePath(QStringLiteral("policy.json")));
    QVERIFY(policy.open(QIODevice::WriteOnly));
    policy.write(R"({"providers": {"openai": {"key": {"env": "TOLLGATE_UNSET_KEY"}}}})");
    policy.close();
    const TollgatedProcess::Exit exit = TollgatedProcess::runToExit(
        {QStringLiteral("--config"), policy.fileName(), QStringLiteral("--listen"),
         QStringLiteral("127.0.0.1:0"), QStringLiteral("--data-dir"), dir.path()});
    QVERIFY(exit.exited);
    QCOMPARE(exit.code, 2);
    QVERIFY2(exit.err.contains("providers.openai.key: neither TOLLGATE_UNSET_KEY nor "
                               "TOLLGATE_UNSET_KEY_FILE is set"),
             exit.err.constData());
}

void TestProviders::checkConfigPrintsProvidersAndModelsWithoutKeys()
{
    QTemporaryDir dir;
    QFile policy(dir.filePath(QStringLiteral("policy.json")));
    QVERIFY(policy.open(QIODevice::WriteOnly));
    policy.write(R"({"providers": {"anthropic": {"base_urls": ["https://us.example",
                                                              "https://eu.example"]},
                                   "vllm": {"kind": "openai-compatible",
                                            "base_url": "http://10.0.0.5:8000",
                                            "key": {"env": "VLLM_KEY"}}},
                     "models": [{"id": "llama", "provider": "vllm", "input": 0, "output": 0}]})");
    policy.close();
    QProcessEnvironment env = TollgatedProcess::environment("sk-ant-secret-in-env");
    env.insert(QStringLiteral("VLLM_KEY"), QStringLiteral("sk-vllm-secret"));
    const TollgatedProcess::Exit exit =
        TollgatedProcess::runToExit({QStringLiteral("check-config"), policy.fileName()}, env);
    QCOMPARE(exit.code, 0);
    const QJsonObject effective = QJsonDocument::fromJson(exit.out).object();
    const QJsonObject providers = effective.value(u"providers").toObject();
    QCOMPARE(providers.value(u"anthropic").toObject().value(u"base_urls").toArray().size(), 2);
    QCOMPARE(providers.value(u"vllm").toObject().value(u"kind").toString(),
             QStringLiteral("openai-compatible"));
    QCOMPARE(providers.value(u"vllm").toObject().value(u"key").toObject().value(u"env").toString(),
             QStringLiteral("VLLM_KEY"));
    bool foundLlama = false, foundHaiku = false;
    for (const QJsonValue &model : effective.value(u"models").toArray()) {
        foundLlama |= model.toObject().value(u"id").toString() == QLatin1String("llama");
        foundHaiku |= model.toObject().value(u"id").toString() == QLatin1String(kHaiku);
    }
    QVERIFY(foundLlama);
    QVERIFY(foundHaiku); // the built-in table is part of the effective policy
    QVERIFY(!exit.out.contains("secret"));
}

void TestProviders::refusesModelsOfUnknownProviders()
{
    const TollgatedProcess::Exit exit = TollgatedProcess::checkConfig(
        R"({"models": [{"id": "x", "provider": "nowhere", "input": 1, "output": 1}],
            "routes": [{"name": "r", "match": {}, "targets": ["x"]}]})");
    QCOMPARE(exit.code, 2);
    QVERIFY2(exit.err.contains("models[0].provider: unknown provider \"nowhere\""),
             exit.err.constData());
}

QTEST_GUILESS_MAIN(TestProviders)
#include "tst_providers.moc"
