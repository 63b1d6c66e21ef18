// Which provider endpoint each member of a routed chain goes to (docs/providers.md), and the
// policy's `models` section on top of the built-in price table.
#include "gateway/upstreamtargets.h"
#include "policy/gatewayconfig.h"

#include <QJsonDocument>
#include <QTest>

using namespace tollgate;
using namespace tollgate::gateway;

namespace {

const QString kSonnet = QStringLiteral("claude-sonnet-4-20250514");
const QString kHaiku = QStringLiteral("claude-3-haiku-20240307");

QList<policy::ProviderConfig> providers(const QByteArray &section)
{
    auto config = policy::applyPolicy(R"({"providers": )" + section + "}");
    if (!config)
        qFatal("invalid providers: %s", qPrintable(config.error().toString()));
    return config->providers;
}

metering::PriceTable withModels(const QByteArray &models, QList<Error> *problems)
{
    return metering::PriceTable::builtin().withModels(QJsonDocument::fromJson(models).array(),
                                                      QStringLiteral("models"), problems);
}

QStringList describe(const QList<UpstreamTarget> &targets)
{
    QStringList out;
    for (const UpstreamTarget &target : targets)
        out.append(target.upstreamModel + QLatin1Char('@') + target.baseUrl.toString());
    return out;
}

} // namespace

class TestUpstreamTargets : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void expandsEachModelOverItsProvidersEndpoints();
    void sendsPolicyModelsToTheirProviderUnderTheirUpstreamId();
    void keepsModelsOfTheOtherApiOnTheClientsDefaultProvider();
    void keysBreakersByProviderEndpointAndModel();
    void policyModelsReplaceAndExtendTheBuiltInTable();
    void reportsModelProblemsWithPaths();
};

void TestUpstreamTargets::expandsEachModelOverItsProvidersEndpoints()
{
    const auto list = providers(R"({"anthropic": {"base_urls": ["http://us", "http://eu"]}})");
    const auto targets = upstreamTargets({kSonnet, kHaiku}, api::Flavor::Anthropic, list,
                                         metering::PriceTable::builtin());
    QCOMPARE(describe(targets), (QStringList{kSonnet + QStringLiteral("@http://us"),
                                             kSonnet + QStringLiteral("@http://eu"),
                                             kHaiku + QStringLiteral("@http://us"),
                                             kHaiku + QStringLiteral("@http://eu")}));
    QCOMPARE(targets.first().model, kSonnet);
    QCOMPARE(targets.first().provider->name, QStringLiteral("anthropic"));
}

void TestUpstreamTargets::sendsPolicyModelsToTheirProviderUnderTheirUpstreamId()
{
    const auto list = providers(
        R"({"vllm": {"kind": "openai-compatible", "base_urls": ["http://a:1", "http://b:2"]}})");
    QList<Error> problems;
    const auto prices = withModels(R"([{"id": "llama", "provider": "vllm",
        "upstream_id": "meta/llama-3", "aliases": ["ll"], "input": 0, "output": 0}])",
                                   &problems);
    QVERIFY(problems.isEmpty());
    const auto targets = upstreamTargets({QStringLiteral("llama"), QStringLiteral("gpt-4o-mini")},
                                         api::Flavor::OpenAI, list, prices);
    QCOMPARE(describe(targets),
             (QStringList{QStringLiteral("meta/llama-3@http://a:1"),
                          QStringLiteral("meta/llama-3@http://b:2"),
                          QStringLiteral("gpt-4o-mini@https://api.openai.com")}));
    QCOMPARE(targets.first().model, QStringLiteral("llama"));
    // An alias reaches the same provider under the same upstream id.
    QCOMPARE(upstreamTargets({QStringLiteral("ll")}, api::Flavor::OpenAI, list, prices)
                 .first()
                 .upstreamModel,
             QStringLiteral("meta/llama-3"));
}

void TestUpstreamTargets::keepsModelsOfTheOtherApiOnTheClientsDefaultProvider()
{
    const auto list = providers(R"({})");
    // An OpenAI client naming a Claude model: the gateway does not translate, so the request
    // goes to the OpenAI provider as asked, and that provider answers for itself.
    const auto targets =
        upstreamTargets({kHaiku}, api::Flavor::OpenAI, list, metering::PriceTable::builtin());
    QCOMPARE(targets.size(), 1);
    QCOMPARE(targets.first().provider->name, QStringLiteral("openai"));
    QCOMPARE(targets.first().upstreamModel, kHaiku);
    // Unknown models go to the default provider too.
    QCOMPARE(upstreamTargets({QStringLiteral("my-finetune")}, api::Flavor::Anthropic, list,
                             metering::PriceTable::builtin())
                 .first()
                 .provider->name,
             QStringLiteral("anthropic"));
}

void TestUpstreamTargets::keysBreakersByProviderEndpointAndModel()
{
    const auto list = providers(R"({"anthropic": {"base_urls": ["http://us", "http://eu"]}})");
    const auto targets =
        upstreamTargets({kHaiku}, api::Flavor::Anthropic, list, metering::PriceTable::builtin());
    QCOMPARE(targets.at(0).breakerKey, QStringLiteral("anthropic http://us ") + kHaiku);
    QCOMPARE(targets.at(1).breakerKey, QStringLiteral("anthropic http://eu ") + kHaiku);
}

void TestUpstreamTargets::policyModelsReplaceAndExtendTheBuiltInTable()
{
    QList<Error> problems;
    const auto prices = withModels(R"([
        {"id": "claude-3-haiku-20240307", "provider": "anthropic", "input": 0.2, "output": 1.0},
        {"id": "house-model", "provider": "anthropic", "aliases": ["claude-sonnet-4-0"],
         "input": 5, "output": 6}])",
                                   &problems);
    QVERIFY(problems.isEmpty());
    QCOMPARE(prices.models().size(), metering::PriceTable::builtin().models().size() + 1);
    QCOMPARE(prices.find(kHaiku)->inputPerMTok, 0.2);
    // The replaced entry keeps its built-in alias.
    QCOMPARE(prices.find(QStringLiteral("claude-haiku-3-20240307"))->inputPerMTok, 0.2);
    // The policy's alias wins over a built-in alias of the same name.
    QCOMPARE(prices.find(QStringLiteral("claude-sonnet-4-0"))->id, QStringLiteral("house-model"));
    QCOMPARE(prices.find(kSonnet)->inputPerMTok, 3.0);
}

void TestUpstreamTargets::reportsModelProblemsWithPaths()
{
    QList<Error> problems;
    withModels(R"([{"id": "a", "provider": "anthropic", "input": -1, "output": 1},
                   {"id": "b", "provider": "anthropic", "input": 1, "output": 1,
                    "upstream_id": ""},
                   {"id": "c", "provider": "anthropic", "input": 1, "output": 1, "aliases": ["a2"]},
                   {"id": "a2", "provider": "anthropic", "input": 1, "output": 1}])",
               &problems);
    QStringList paths;
    for (const Error &problem : problems)
        paths.append(problem.path);
    QCOMPARE(paths,
             (QStringList{QStringLiteral("models[0].input"),
                          QStringLiteral("models[1].upstream_id"), QStringLiteral("models[3]")}));
}

QTEST_GUILESS_MAIN(TestUpstreamTargets)
#include "tst_upstreamtargets.moc"
