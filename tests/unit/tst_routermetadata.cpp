// Metadata routing from the client's bytes to the decision: what api::parseClientRequest
// extracts from Anthropic and OpenAI bodies (only string fields of `metadata`, OpenAI's `user` as
// user_id, the last of repeated keys, a bounded number of members, the same through the fallback
// parser), and how the router matches it (docs/routing.md, "metadata").

#include "api/clientrequest.h"
#include "metering/pricetable.h"
#include "routing/router.h"
#include "routing/routingpolicy.h"

#include <QJsonDocument>
#include <QTest>

using tollgate::api::ClientRequest;
using tollgate::api::Flavor;
using tollgate::metering::PriceTable;
using tollgate::policy::RequestFeatures;
using tollgate::routing::RouteDecision;
using tollgate::routing::RoutingPolicy;

namespace {

// "name=value" per field, sorted: the Qt fallback walks keys in sorted order, simdjson in body
// order, and matching does not depend on the order.
QStringList fields(const ClientRequest &request)
{
    QStringList out;
    for (const auto &field : request.metadata)
        out.append(field.first + QLatin1Char('=') + field.second);
    out.sort();
    return out;
}

ClientRequest parsed(Flavor flavor, const QByteArray &body)
{
    auto request = tollgate::api::parseClientRequest(flavor, body);
    if (!request)
        qFatal("request rejected: %s", qPrintable(request.error().toString()));
    return *request;
}

// What ProxyCall::features() hands the router from a parsed request, for these rules.
RequestFeatures features(Flavor flavor, const ClientRequest &request)
{
    RequestFeatures f;
    f.flavor = flavor;
    f.requestedModel = request.model;
    f.maxTokens = request.maxTokens;
    f.metadata = request.metadata;
    return f;
}

RoutingPolicy policyFrom(const QByteArray &routes)
{
    auto policy = RoutingPolicy::fromJson(QJsonDocument::fromJson(routes).array(),
                                          QStringLiteral("routes"), PriceTable::builtin());
    if (!policy)
        qFatal("test policy rejected: %s", qPrintable(policy.error().toString()));
    return *policy;
}

// Claude Code's metadata.user_id: a JSON object as text.
const QByteArray kClaudeCodeUserId =
    R"({\"device_id\":\"5f0c1d2e3a4b\",\"account_uuid\":\"acct-7d41\",\"session_id\":\"s-91\"})";

const QByteArray kRoutes = R"([
  {"name":"batch","match":{"metadata":{"user_id":"batch-*"},"api":"anthropic"},
   "targets":["claude-3-haiku-20240307"]},
  {"name":"account","match":{"metadata":{"user_id.account_uuid":"acct-7*"}},
   "targets":["claude-sonnet-4-20250514"]},
  {"name":"openai-prod-batch","match":{"metadata":{"user_id":"batch-*","env":"prod"},
                                       "api":"openai"},
   "targets":["gpt-4o-mini"]},
  {"name":"requested","match":{},"targets":["$requested"]}])";

} // namespace

class TestRouterMetadata : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void extraction_data();
    void extraction();
    void fallbackParserExtractsTheSame();
    void boundedMemberCount();
    void decisions_data();
    void decisions();
    void reasonNamesFieldsNotValues();
};

void TestRouterMetadata::extraction_data()
{
    QTest::addColumn<bool>("openAi");
    QTest::addColumn<QByteArray>("extra"); // members after model and messages
    QTest::addColumn<QStringList>("expected");

    QTest::newRow("anthropic user_id")
        << false << QByteArray(R"("max_tokens":5,"metadata":{"user_id":"batch-7"})")
        << QStringList{"user_id=batch-7"};
    QTest::newRow("anthropic claude code user_id")
        << false
        << QByteArray(R"("max_tokens":5,"metadata":{"user_id":")" + kClaudeCodeUserId + "\"}")
        << QStringList{QStringLiteral("user_id=") +
                       QString::fromLatin1(kClaudeCodeUserId)
                           .replace(QStringLiteral("\\\""), QStringLiteral("\""))};
    QTest::newRow("anthropic without metadata")
        << false << QByteArray(R"("max_tokens":5)") << QStringList{};
    QTest::newRow("anthropic user_id null")
        << false << QByteArray(R"("max_tokens":5,"metadata":{"user_id":null})") << QStringList{};
    // `user` is OpenAI's field; an Anthropic body's `user` is not a metadata field.
    QTest::newRow("anthropic top-level user ignored")
        << false << QByteArray(R"("max_tokens":5,"user":"svc")") << QStringList{};
    QTest::newRow("metadata not an object")
        << false << QByteArray(R"("max_tokens":5,"metadata":"batch-7")") << QStringList{};
    QTest::newRow("only string values")
        << false
        << QByteArray(R"("max_tokens":5,"metadata":{"n":5,"b":true,"z":null,"o":{"a":"b"},)"
                      R"("l":["x"],"s":"ok","e":""})")
        << QStringList{"e=", "s=ok"};
    QTest::newRow("repeated key, last wins")
        << false << QByteArray(R"("max_tokens":5,"metadata":{"env":"dev","env":"prod"})")
        << QStringList{"env=prod"};
    QTest::newRow("repeated key, last not a string")
        << false << QByteArray(R"("max_tokens":5,"metadata":{"env":"dev","env":5})")
        << QStringList{};
    QTest::newRow("repeated metadata, last wins")
        << false << QByteArray(R"("max_tokens":5,"metadata":{"a":"1"},"metadata":{"b":"2"})")
        << QStringList{"b=2"};
    QTest::newRow("non-ascii") << false
                               << QByteArray(R"("max_tokens":5,"metadata":{"équipe":"données"})")
                               << QStringList{QStringLiteral("équipe=données")};

    QTest::newRow("openai user") << true << QByteArray(R"("user":"batch-3")")
                                 << QStringList{"user_id=batch-3"};
    QTest::newRow("openai metadata and user")
        << true << QByteArray(R"("user":"batch-3","metadata":{"env":"prod","team":"ml"})")
        << QStringList{"env=prod", "team=ml", "user_id=batch-3"};
    QTest::newRow("openai user and metadata user_id both kept")
        << true << QByteArray(R"("user":"batch-3","metadata":{"user_id":"alice"})")
        << QStringList{"user_id=alice", "user_id=batch-3"};
    QTest::newRow("openai user not a string")
        << true << QByteArray(R"("user":42,"metadata":{"env":"prod"})") << QStringList{"env=prod"};
    QTest::newRow("openai user null") << true << QByteArray(R"("user":null)") << QStringList{};
}

void TestRouterMetadata::extraction()
{
    QFETCH(bool, openAi);
    QFETCH(QByteArray, extra);
    QFETCH(QStringList, expected);

    const QByteArray body = R"({"model":"m","messages":[],)" + extra + "}";
    const ClientRequest request = parsed(openAi ? Flavor::OpenAI : Flavor::Anthropic, body);
    QCOMPARE(fields(request), expected);
    // Reading metadata never changes what goes upstream.
    QCOMPARE(request.upstreamBody, body);
}

void TestRouterMetadata::fallbackParserExtractsTheSame()
{
    // A lone surrogate in the prompt: simdjson refuses the body, Qt's parser (the fallback)
    // accepts it, and the metadata must come out the same.
    const QByteArray tail = R"(,"max_tokens":5,"metadata":{"user_id":"batch-7","env":"prod",)"
                            R"("n":1,"env":"stage"}})";
    const QByteArray strict = R"({"model":"m","messages":[{"role":"user","content":"hi"}])" + tail;
    const QByteArray tolerated =
        R"({"model":"m","messages":[{"role":"user","content":"hi \ud800"}])" + tail;
    const QStringList expected{"env=stage", "user_id=batch-7"};
    QCOMPARE(fields(parsed(Flavor::Anthropic, strict)), expected);
    QCOMPARE(fields(parsed(Flavor::Anthropic, tolerated)), expected);
}

void TestRouterMetadata::boundedMemberCount()
{
    // Far more members than any provider accepts: only the first 64 are read, and the request
    // itself still passes (the provider decides whether it accepts the body).
    QByteArray metadata;
    for (int i = 0; i < 1000; ++i)
        metadata +=
            (i ? "," : "") + QByteArray(R"("k)") + QByteArray::number(1000 + i) + R"(":"v")";
    const ClientRequest request =
        parsed(Flavor::OpenAI, R"({"model":"m","messages":[],"metadata":{)" + metadata + "}}");
    QCOMPARE(request.metadata.size(), 64);
    QCOMPARE(request.metadata.first().first, QStringLiteral("k1000"));
    QCOMPARE(request.metadata.last().first, QStringLiteral("k1063"));
}

void TestRouterMetadata::decisions_data()
{
    QTest::addColumn<bool>("openAi");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QString>("rule");
    QTest::addColumn<QStringList>("chain");

    QTest::newRow("anthropic batch user")
        << false
        << QByteArray(R"({"model":"claude-sonnet-4-0","max_tokens":9,"messages":[],)"
                      R"("metadata":{"user_id":"batch-42"}})")
        << "batch" << QStringList{"claude-3-haiku-20240307"};
    QTest::newRow("anthropic other user keeps its model")
        << false
        << QByteArray(R"({"model":"claude-sonnet-4-0","max_tokens":9,"messages":[],)"
                      R"("metadata":{"user_id":"alice"}})")
        << "requested" << QStringList{"claude-sonnet-4-20250514"};
    QTest::newRow("anthropic user_id as a number never matches")
        << false
        << QByteArray(R"({"model":"claude-sonnet-4-0","max_tokens":9,"messages":[],)"
                      R"("metadata":{"user_id":42}})")
        << "requested" << QStringList{"claude-sonnet-4-20250514"};
    QTest::newRow("claude code account")
        << false
        << QByteArray(R"({"model":"claude-3-haiku-20240307","max_tokens":9,"messages":[],)"
                      R"("metadata":{"user_id":")" +
                      kClaudeCodeUserId + "\"}}")
        << "account" << QStringList{"claude-sonnet-4-20250514"};
    QTest::newRow("openai batch user in prod")
        << true
        << QByteArray(R"({"model":"gpt-4o","messages":[],"user":"batch-9",)"
                      R"("metadata":{"env":"prod"}})")
        << "openai-prod-batch" << QStringList{"gpt-4o-mini"};
    QTest::newRow("openai batch user elsewhere")
        << true
        << QByteArray(R"({"model":"gpt-4o","messages":[],"user":"batch-9",)"
                      R"("metadata":{"env":"dev"}})")
        << "requested" << QStringList{"gpt-4o"};
    QTest::newRow("openai metadata user_id counts too")
        << true
        << QByteArray(R"({"model":"gpt-4o","messages":[],"user":"carol",)"
                      R"("metadata":{"env":"prod","user_id":"batch-1"}})")
        << "openai-prod-batch" << QStringList{"gpt-4o-mini"};
}

void TestRouterMetadata::decisions()
{
    QFETCH(bool, openAi);
    QFETCH(QByteArray, body);
    QFETCH(QString, rule);
    QFETCH(QStringList, chain);

    const Flavor flavor = openAi ? Flavor::OpenAI : Flavor::Anthropic;
    const RouteDecision decision = tollgate::routing::route(
        policyFrom(kRoutes), features(flavor, parsed(flavor, body)), PriceTable::builtin());
    QCOMPARE(decision.ruleName, rule);
    QCOMPARE(decision.chain, chain);
}

void TestRouterMetadata::reasonNamesFieldsNotValues()
{
    const ClientRequest request =
        parsed(Flavor::OpenAI, R"({"model":"gpt-4o","messages":[],"user":"batch-secret-9",)"
                               R"("metadata":{"env":"prod"}})");
    const RouteDecision decision = tollgate::routing::route(
        policyFrom(kRoutes), features(Flavor::OpenAI, request), PriceTable::builtin());
    QCOMPARE(decision.reason, QStringLiteral("metadata env, metadata user_id, api=openai"));
}

QTEST_GUILESS_MAIN(TestRouterMetadata)
#include "tst_routermetadata.moc"
