#include "metering/pricetable.h"

#include <QFile>
#include <QTest>

using tollgate::api::Usage;
using tollgate::metering::ModelPrice;
using tollgate::metering::PriceTable;

namespace {

Usage usage(qint64 input, qint64 output, qint64 cacheWrite = 0, qint64 cacheRead = 0)
{
    Usage u;
    u.inputTokens = input;
    u.outputTokens = output;
    u.cacheWriteTokens = cacheWrite;
    u.cacheReadTokens = cacheRead;
    return u;
}

QByteArray wrap(const QByteArray &models)
{
    return R"({"version":1,"models":[)" + models + "]}";
}

const QByteArray kSonnet =
    R"({"id":"claude-sonnet-4-20250514","provider":"anthropic","aliases":["claude-sonnet-4-0"],)"
    R"("input":3,"output":15,"cache_write":3.75,"cache_read":0.3,"p95_latency_ms":580})";

} // namespace

class TestPriceTable : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void builtinLoads();
    void builtinMatchesDesignPrices();
    void builtinAnthropicCachePrices();
    void builtinOpenAiPrices();
    void lookupByAlias();
    void lookupDatedVariant();
    void lookupPrefersLongestId();
    void lookupUnknown();
    void costPerTokenKind();
    void costUnknownModel();
    void costLargeUsage();
    void cachePricesDefaultToInput();
    void validationErrors_data();
    void validationErrors();
    void routingSavingsAgainstTheRequestedModel();
    void routingSavingsForARouterModel();
};

void TestPriceTable::builtinLoads()
{
    QFile file(QStringLiteral(":/tollgate/prices.json"));
    QVERIFY2(file.open(QIODevice::ReadOnly), "prices.json is not compiled into the core");
    const auto parsed = PriceTable::fromJson(file.readAll());
    QVERIFY2(parsed.ok(), qPrintable(parsed ? QString() : parsed.error().toString()));

    const PriceTable table = PriceTable::builtin();
    QCOMPARE(table.models().size(), parsed->models().size());
    QVERIFY(table.models().size() >= 17);
    for (const ModelPrice &model : table.models()) {
        QVERIFY2(model.p95LatencyMs > 0, qPrintable(model.id));
        QVERIFY2(model.inputPerMTok > 0 && model.outputPerMTok > 0, qPrintable(model.id));
        QVERIFY2(model.provider == QLatin1String("anthropic") ||
                     model.provider == QLatin1String("openai"),
                 qPrintable(model.id));
    }
}

void TestPriceTable::builtinMatchesDesignPrices()
{
    const PriceTable table = PriceTable::builtin();

    const ModelPrice *sonnet = table.find(QStringLiteral("claude-sonnet-4-20250514"));
    QVERIFY(sonnet);
    QCOMPARE(sonnet->id, QStringLiteral("claude-sonnet-4-20250514"));
    QCOMPARE(sonnet->provider, QStringLiteral("anthropic"));
    QCOMPARE(sonnet->inputPerMTok, 3.00);
    QCOMPARE(sonnet->outputPerMTok, 15.00);
    QCOMPARE(sonnet->cacheWritePerMTok, 3.75);
    QCOMPARE(sonnet->cacheReadPerMTok, 0.30);
    QCOMPARE(sonnet->p95LatencyMs, 580);

    const ModelPrice *haiku = table.find(QStringLiteral("claude-3-haiku-20240307"));
    QVERIFY(haiku);
    QCOMPARE(haiku->inputPerMTok, 0.25);
    QCOMPARE(haiku->outputPerMTok, 1.25);
    QCOMPARE(haiku->p95LatencyMs, 320);
    QVERIFY(haiku->aliases.contains(QStringLiteral("claude-haiku-3-20240307")));
    // Anthropic's published Haiku 3 cache prices, which are not exactly 1.25x / 0.1x input.
    QCOMPARE(haiku->cacheWritePerMTok, 0.30);
    QCOMPARE(haiku->cacheReadPerMTok, 0.03);
}

void TestPriceTable::builtinAnthropicCachePrices()
{
    const PriceTable table = PriceTable::builtin();
    struct Expect {
        const char *id;
        double input, output;
    };
    const Expect expected[] = {
        {"claude-opus-4-1-20250805", 15, 75},  {"claude-opus-4-20250514", 15, 75},
        {"claude-sonnet-4-5-20250929", 3, 15}, {"claude-haiku-4-5-20251001", 1, 5},
        {"claude-3-7-sonnet-20250219", 3, 15}, {"claude-3-5-haiku-20241022", 0.80, 4},
    };
    for (const Expect &e : expected) {
        const ModelPrice *model = table.find(QLatin1String(e.id));
        QVERIFY2(model, e.id);
        QCOMPARE(model->id, QLatin1String(e.id));
        QCOMPARE(model->provider, QStringLiteral("anthropic"));
        QCOMPARE(model->inputPerMTok, e.input);
        QCOMPARE(model->outputPerMTok, e.output);
        QCOMPARE(model->cacheWritePerMTok, e.input * 1.25);
        QCOMPARE(model->cacheReadPerMTok, e.input * 0.1);
    }
}

void TestPriceTable::builtinOpenAiPrices()
{
    const PriceTable table = PriceTable::builtin();
    struct Expect {
        const char *id;
        double input, output, cacheRead;
    };
    const Expect expected[] = {
        {"gpt-4o", 2.50, 10, 1.25},
        {"gpt-4o-mini", 0.15, 0.60, 0.075},
        {"gpt-4.1", 2, 8, 0.50},
        {"gpt-4.1-mini", 0.40, 1.60, 0.10},
        {"gpt-4.1-nano", 0.10, 0.40, 0.025},
        {"o3", 2, 8, 0.5},
        {"o4-mini", 1.10, 4.40, 0.275},
        {"gpt-5", 1.25, 10, 0.125},
        {"gpt-5-mini", 0.25, 2, 0.025},
    };
    for (const Expect &e : expected) {
        const ModelPrice *model = table.find(QLatin1String(e.id));
        QVERIFY2(model, e.id);
        QCOMPARE(model->id, QLatin1String(e.id));
        QCOMPARE(model->provider, QStringLiteral("openai"));
        QCOMPARE(model->inputPerMTok, e.input);
        QCOMPARE(model->outputPerMTok, e.output);
        QCOMPARE(model->cacheReadPerMTok, e.cacheRead);
        // OpenAI bills no premium for writing its automatic prompt cache.
        QCOMPARE(model->cacheWritePerMTok, e.input);
    }
}

void TestPriceTable::lookupByAlias()
{
    const PriceTable table = PriceTable::builtin();
    const struct {
        const char *alias, *id;
    } cases[] = {
        {"claude-haiku-3-20240307", "claude-3-haiku-20240307"},
        {"claude-sonnet-4-0", "claude-sonnet-4-20250514"},
        {"claude-sonnet-4-5", "claude-sonnet-4-5-20250929"},
        {"claude-haiku-4-5", "claude-haiku-4-5-20251001"},
        {"claude-opus-4-1", "claude-opus-4-1-20250805"},
        {"claude-opus-4-0", "claude-opus-4-20250514"},
        {"claude-3-5-haiku-latest", "claude-3-5-haiku-20241022"},
        {"claude-3-7-sonnet-latest", "claude-3-7-sonnet-20250219"},
    };
    for (const auto &c : cases) {
        const ModelPrice *model = table.find(QLatin1String(c.alias));
        QVERIFY2(model, c.alias);
        QCOMPARE(model->id, QLatin1String(c.id));
    }
}

void TestPriceTable::lookupDatedVariant()
{
    const PriceTable table = PriceTable::builtin();
    const ModelPrice *model = table.find(QStringLiteral("gpt-4o-2024-08-06"));
    QVERIFY(model);
    QCOMPARE(model->id, QStringLiteral("gpt-4o"));
    model = table.find(QStringLiteral("gpt-4.1-2025-04-14"));
    QVERIFY(model);
    QCOMPARE(model->id, QStringLiteral("gpt-4.1"));
    model = table.find(QStringLiteral("o3-2025-04-16"));
    QVERIFY(model);
    QCOMPARE(model->id, QStringLiteral("o3"));
}

void TestPriceTable::lookupPrefersLongestId()
{
    const PriceTable table = PriceTable::builtin();
    const struct {
        const char *model, *id;
    } cases[] = {
        {"gpt-4o-mini-2024-07-18", "gpt-4o-mini"}, {"gpt-4.1-nano-2025-04-14", "gpt-4.1-nano"},
        {"gpt-5-mini-2025-08-07", "gpt-5-mini"},   {"gpt-5-nano-2025-08-07", "gpt-5-nano"},
        {"o4-mini-2025-04-16", "o4-mini"},         {"o3-mini-2025-01-31", "o3-mini"},
    };
    for (const auto &c : cases) {
        const ModelPrice *model = table.find(QLatin1String(c.model));
        QVERIFY2(model, c.model);
        QCOMPARE(model->id, QLatin1String(c.id));
    }
}

void TestPriceTable::lookupUnknown()
{
    const PriceTable table = PriceTable::builtin();
    QVERIFY(!table.find(QString()));
    QVERIFY(!table.find(QStringLiteral("llama-3-70b")));
    // A prefix must end at '-': "gpt-4oo" is not a variant of gpt-4o.
    QVERIFY(!table.find(QStringLiteral("gpt-4oo")));
    QVERIFY(!table.find(QStringLiteral("o33")));
    // Ids are matched exactly, not case-folded.
    QVERIFY(!table.find(QStringLiteral("GPT-4O")));
    // A model id alone is not a prefix of an alias' variants.
    QVERIFY(!table.find(QStringLiteral("-gpt-4o")));
}

void TestPriceTable::costPerTokenKind()
{
    const auto parsed = PriceTable::fromJson(wrap(kSonnet));
    QVERIFY(parsed.ok());
    const PriceTable &table = *parsed;
    const QString model = QStringLiteral("claude-sonnet-4-20250514");

    // One million tokens of a kind costs exactly its price.
    QCOMPARE(table.cost(model, usage(1'000'000, 0)).value(), 3.0);
    QCOMPARE(table.cost(model, usage(0, 1'000'000)).value(), 15.0);
    QCOMPARE(table.cost(model, usage(0, 0, 1'000'000, 0)).value(), 3.75);
    QCOMPARE(table.cost(model, usage(0, 0, 0, 1'000'000)).value(), 0.3);
    QCOMPARE(table.cost(model, usage(0, 0)).value(), 0.0);

    // 1000 in, 500 out, 2000 cache write, 10000 cache read:
    // (1000*3 + 500*15 + 2000*3.75 + 10000*0.3) / 1e6 = 21000 / 1e6
    QCOMPARE(table.cost(model, usage(1000, 500, 2000, 10000)).value(), 0.021);
    // An alias and a dated variant price the same.
    QCOMPARE(table.cost(QStringLiteral("claude-sonnet-4-0"), usage(1000, 500, 2000, 10000)).value(),
             0.021);
    // A single token of output.
    QCOMPARE(table.cost(model, usage(0, 1)).value(), 0.000015);
}

void TestPriceTable::costUnknownModel()
{
    const PriceTable table = PriceTable::builtin();
    QVERIFY(!table.cost(QStringLiteral("no-such-model"), usage(10, 10)).has_value());
    QVERIFY(!PriceTable().cost(QStringLiteral("gpt-4o"), usage(10, 10)).has_value());
}

void TestPriceTable::costLargeUsage()
{
    const PriceTable table = PriceTable::builtin();
    // 200M input + 50M output on opus: 200*15 + 50*75 = 6750 USD.
    QCOMPARE(table.cost(QStringLiteral("claude-opus-4-1"), usage(200'000'000, 50'000'000)).value(),
             6750.0);
    // gpt-4o-mini: 123456 in, 7890 out, 40000 cache read
    // = (123456*0.15 + 7890*0.6 + 40000*0.075) / 1e6 = (18518.4 + 4734 + 3000) / 1e6
    QCOMPARE(
        table.cost(QStringLiteral("gpt-4o-mini-2024-07-18"), usage(123456, 7890, 0, 40000)).value(),
        0.0262524);
}

void TestPriceTable::cachePricesDefaultToInput()
{
    const auto parsed =
        PriceTable::fromJson(wrap(R"({"id":"m","provider":"openai","input":2,"output":8})"));
    QVERIFY2(parsed.ok(), qPrintable(parsed ? QString() : parsed.error().toString()));
    const ModelPrice *model = parsed->find(QStringLiteral("m"));
    QVERIFY(model);
    QCOMPARE(model->cacheWritePerMTok, 2.0);
    QCOMPARE(model->cacheReadPerMTok, 2.0);
    QCOMPARE(model->p95LatencyMs, 0);
    QVERIFY(model->aliases.isEmpty());
}

void TestPriceTable::validationErrors_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("expected"); // Error::toString()

    const QByteArray ok = R"({"id":"a","provider":"openai","input":1,"output":2})";

    QTest::newRow("not json") << QByteArray("{") << QString();
    QTest::newRow("not an object")
        << QByteArray("[]") << QStringLiteral("the price table must be a JSON object");
    QTest::newRow("no version") << QByteArray(R"({"models":[]})")
                                << QStringLiteral(
                                       "version: must be 1 (the only format this build reads)");
    QTest::newRow("future version")
        << QByteArray(R"({"version":2,"models":[]})")
        << QStringLiteral("version: must be 1 (the only format this build reads)");
    QTest::newRow("models missing")
        << QByteArray(R"({"version":1})") << QStringLiteral("models: must be an array");
    QTest::newRow("unknown root field") << QByteArray(R"({"version":1,"models":[],"extra":1})")
                                        << QStringLiteral("extra: unknown field");
    QTest::newRow("model not object")
        << wrap(ok + ",3") << QStringLiteral("models[1]: must be an object");
    QTest::newRow("missing id")
        << wrap(R"({"provider":"openai","input":1,"output":2})")
        << QStringLiteral("models[0].id: must be a non-empty string without surrounding spaces");
    QTest::newRow("empty id")
        << wrap(R"({"id":"","provider":"openai","input":1,"output":2})")
        << QStringLiteral("models[0].id: must be a non-empty string without surrounding spaces");
    // Any provider name parses; the policy checks that it names one of its providers.
    QTest::newRow("bad provider") << wrap(ok + R"(,{"id":"b","provider":7,"input":1,"output":2})")
                                  << QStringLiteral("models[1].provider: must name a provider");
    QTest::newRow("negative input")
        << wrap(R"({"id":"a","provider":"openai","input":1,"output":2},)"
                R"({"id":"b","provider":"openai","input":1,"output":2},)"
                R"({"id":"c","provider":"openai","input":1,"output":2},)"
                R"({"id":"d","provider":"openai","input":-1,"output":2})")
        << QStringLiteral("models[3].input: must be a non-negative number");
    QTest::newRow("string output")
        << wrap(R"({"id":"a","provider":"openai","input":1,"output":"2"})")
        << QStringLiteral("models[0].output: must be a non-negative number");
    QTest::newRow("missing output")
        << wrap(R"({"id":"a","provider":"openai","input":1})")
        << QStringLiteral("models[0].output: must be a non-negative number");
    QTest::newRow("bad cache_read")
        << wrap(R"({"id":"a","provider":"openai","input":1,"output":2,"cache_read":null})")
        << QStringLiteral("models[0].cache_read: must be a non-negative number");
    QTest::newRow("bad cache_write")
        << wrap(R"({"id":"a","provider":"openai","input":1,"output":2,"cache_write":-0.5})")
        << QStringLiteral("models[0].cache_write: must be a non-negative number");
    QTest::newRow("fractional latency")
        << wrap(R"({"id":"a","provider":"openai","input":1,"output":2,"p95_latency_ms":1.5})")
        << QStringLiteral(
               "models[0].p95_latency_ms: must be a non-negative whole number of milliseconds");
    QTest::newRow("misspelt field")
        << wrap(R"({"id":"a","provider":"openai","input":1,"output":2,"cache_raed":0.1})")
        << QStringLiteral("models[0].cache_raed: unknown field");
    QTest::newRow("aliases not array")
        << wrap(R"({"id":"a","provider":"openai","aliases":"b","input":1,"output":2})")
        << QStringLiteral("models[0].aliases: must be an array of strings");
    QTest::newRow("alias not string")
        << wrap(R"({"id":"a","provider":"openai","aliases":["b",7],"input":1,"output":2})")
        << QStringLiteral(
               "models[0].aliases[1]: must be a non-empty string without surrounding spaces");
    QTest::newRow("duplicate id")
        << wrap(ok + "," + ok)
        << QStringLiteral(
               "models[1].id: duplicate model name \"a\" (already used by models[0].id)");
    QTest::newRow("alias duplicates id")
        << wrap(ok + R"(,{"id":"b","provider":"openai","aliases":["x","a"],"input":1,"output":2})")
        << QStringLiteral(
               "models[1].aliases[1]: duplicate model name \"a\" (already used by models[0].id)");
    QTest::newRow("id duplicates alias")
        << wrap(R"({"id":"b","provider":"openai","aliases":["a"],"input":1,"output":2},)" + ok)
        << QStringLiteral(
               "models[1].id: duplicate model name \"a\" (already used by models[0].aliases[0])");
    QTest::newRow("alias repeats own id")
        << wrap(R"({"id":"a","provider":"openai","aliases":["a"],"input":1,"output":2})")
        << QStringLiteral(
               "models[0].aliases[0]: duplicate model name \"a\" (already used by models[0].id)");
}

void TestPriceTable::validationErrors()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, expected);
    const auto parsed = PriceTable::fromJson(json);
    QVERIFY(!parsed.ok());
    if (expected.isEmpty())
        QVERIFY2(parsed.error().message.startsWith(QLatin1String("invalid JSON at offset")),
                 qPrintable(parsed.error().message));
    else
        QCOMPARE(parsed.error().toString(), expected);
}

namespace {

// Three models of one provider and one of another, with round prices per million tokens.
PriceTable routingTable()
{
    const auto parsed =
        PriceTable::fromJson(wrap(R"({"id":"big","provider":"a","input":10,"output":50},)"
                                  R"({"id":"mid","provider":"a","input":3,"output":15},)"
                                  R"({"id":"small","provider":"a","input":1,"output":5},)"
                                  R"({"id":"other-big","provider":"b","input":20,"output":80})"));
    if (!parsed)
        qFatal("bad test table: %s", qPrintable(parsed.error().toString()));
    return *parsed;
}

} // namespace

void TestPriceTable::routingSavingsAgainstTheRequestedModel()
{
    using tollgate::metering::routingSavingsUsd;
    const PriceTable table = routingTable();
    const Usage used = usage(1'000'000, 100'000); // $10 + $5 at "big", $1 + $0.5 at "small"
    QCOMPARE(routingSavingsUsd(QStringLiteral("big"), QStringLiteral("small"), used, table), 13.5);
    // An upgrade costs: negative.
    QCOMPARE(routingSavingsUsd(QStringLiteral("small"), QStringLiteral("mid"), used, table), -3.0);
    // Kept its model, or a price unknown: nothing to count.
    QCOMPARE(routingSavingsUsd(QStringLiteral("mid"), QStringLiteral("mid"), used, table), 0.0);
    QCOMPARE(routingSavingsUsd(QStringLiteral("big"), QStringLiteral("unknown"), used, table), 0.0);
}

void TestPriceTable::routingSavingsForARouterModel()
{
    using tollgate::metering::routingBaselineModel;
    using tollgate::metering::routingSavingsUsd;
    const PriceTable table = routingTable();
    // "auto" is not a priced model: the served provider's strongest model is the baseline, not
    // another provider's.
    QCOMPARE(routingBaselineModel(QStringLiteral("auto"), QStringLiteral("small"), table),
             QStringLiteral("big"));
    QCOMPARE(routingSavingsUsd(QStringLiteral("auto"), QStringLiteral("small"),
                               usage(1'000'000, 100'000), table),
             13.5);
    QCOMPARE(routingBaselineModel(QStringLiteral("auto"), QStringLiteral("unknown"), table),
             QString());
}

QTEST_GUILESS_MAIN(TestPriceTable)
#include "tst_pricetable.moc"
