#include "cache/cachekey.h"
#include "cache/cachepolicy.h"
#include "cache/sha256.h"

#include <QCryptographicHash>
#include <QRandomGenerator>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QTest>

using tollgate::api::Flavor;
using tollgate::cache::CacheDirective;
using tollgate::cache::cacheKey;
using tollgate::cache::CacheOutcome;
using tollgate::cache::CachePolicy;
using tollgate::cache::canonicalRequest;
using tollgate::cache::parseDirective;
using tollgate::http::HeaderList;

namespace {

QJsonObject parse(const QByteArray &json)
{
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(json, &error);
    if (error.error != QJsonParseError::NoError)
        qFatal("bad test JSON: %s in %s", qPrintable(error.errorString()), json.constData());
    return doc.object();
}

QByteArray anthropicKey(const QByteArray &json, const QString &routed = {})
{
    return cacheKey(Flavor::Anthropic, parse(json), routed);
}

QByteArray openAiKey(const QByteArray &json, const QString &routed = {})
{
    return cacheKey(Flavor::OpenAI, parse(json), routed);
}

const QByteArray kAnthropicBase =
    R"({"model":"claude-sonnet-4-20250514","max_tokens":1024,"system":"Be brief.",)"
    R"("messages":[{"role":"user","content":"Hello"}],"temperature":0.7,"top_p":0.9,"top_k":40,)"
    R"("stop_sequences":["END"],"tools":[{"name":"get_weather","description":"Weather",)"
    R"("input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],)"
    R"("tool_choice":{"type":"auto"},"thinking":{"type":"enabled","budget_tokens":2048}})";

const QByteArray kOpenAiBase =
    R"({"model":"gpt-4o","messages":[{"role":"system","content":"Be brief."},)"
    R"({"role":"user","content":"Hello"}],"temperature":0.7,"top_p":0.9,"max_tokens":100,)"
    R"("stop":["END"],"response_format":{"type":"json_object"},"seed":7,"n":1,)"
    R"("tools":[{"type":"function","function":{"name":"f","parameters":{}}}],)"
    R"("tool_choice":"auto"})";

// Replaces (or adds) one top-level member of a JSON object text.
QByteArray with(const QByteArray &json, const QString &member, const QByteArray &valueJson)
{
    QJsonObject object = parse(json);
    object.insert(member, QJsonDocument::fromJson("[" + valueJson + "]").array().at(0));
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}

HeaderList headers(std::initializer_list<QPair<QByteArray, QByteArray>> fields)
{
    return HeaderList(fields);
}

} // namespace

class TestCacheKey : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void keyIsLowerCaseHexSha256()
    {
        const QByteArray key = anthropicKey(kAnthropicBase);
        QCOMPARE(key.size(), 64);
        QVERIFY(QRegularExpression(QStringLiteral("^[0-9a-f]{64}$"))
                    .match(QString::fromLatin1(key))
                    .hasMatch());
        QCOMPARE(anthropicKey(kAnthropicBase), key); // deterministic
    }

    void sha256MatchesTheReference_data()
    {
        QTest::addColumn<bool>("openSsl");
        QTest::newRow("default path") << false;
        QTest::newRow("OpenSSL") << true;
    }

    void sha256MatchesTheReference()
    {
        // Every length around the block and padding boundaries, then large inputs, with bytes
        // that exercise the byte-swapping; both paths must equal Qt's portable one.
        QFETCH(bool, openSsl);
        const auto hash = [openSsl](const QByteArray &data) {
            return openSsl ? tollgate::cache::sha256WithOpenSsl(data)
                           : tollgate::cache::sha256(data);
        };
        QRandomGenerator random(42);
        QByteArray data;
        for (int length = 0; length <= 300; ++length) {
            QCOMPARE(hash(data), QCryptographicHash::hash(data, QCryptographicHash::Sha256));
            data.append(char(random.bounded(256)));
        }
        for (const int length : {4095, 4096, 4097, 1 << 20}) {
            QByteArray large(length, Qt::Uninitialized);
            for (char &c : large)
                c = char(random.bounded(256));
            QCOMPARE(hash(large), QCryptographicHash::hash(large, QCryptographicHash::Sha256));
        }
        QCOMPARE(hash("abc").toHex(),
                 QByteArray("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        if (!openSsl)
            qInfo("SHA instructions used directly: %s",
                  tollgate::cache::sha256UsesCpuInstructions() ? "yes" : "no");
    }

    void stringEncodingMatchesReference()
    {
        // The canonical writer encodes UTF-16 to UTF-8 itself, eight ASCII units at a time when
        // it can; compare it with the obvious implementation on strings that put every kind of
        // character at every offset of those eight-unit steps.
        const QList<QString> pieces = {
            QStringLiteral("a"),      QStringLiteral("Z"),      QStringLiteral(" "),
            QStringLiteral("~"),      QStringLiteral("\""),     QStringLiteral("\\"),
            QStringLiteral("/"),      QStringLiteral("\n"),     QString(QChar(0x01)),
            QString(QChar(0x1f)),     QString(QChar(0x7f)),     QString(QChar(0x80)),
            QStringLiteral("\u00e9"), QStringLiteral("\u20ac"), QStringLiteral("\U0001F600"),
        };
        const auto reference = [](const QString &text) {
            QByteArray out = "\"";
            for (const char c : text.toUtf8()) {
                const auto u = static_cast<unsigned char>(c);
                if (c == '"' || c == '\\')
                    out += QByteArray("\\") + c;
                else if (u < 0x20)
                    out += "\\u00" + QByteArray::number(u, 16).rightJustified(2, '0');
                else
                    out += c;
            }
            return out + '"';
        };
        QRandomGenerator random(7);
        for (int round = 0; round < 2000; ++round) {
            QString text;
            const int count = int(random.bounded(40));
            for (int i = 0; i < count; ++i)
                text += random.bounded(3) == 0 ? pieces.at(random.bounded(int(pieces.size())))
                                               : QString(QChar(u'a' + random.bounded(26)));
            const QByteArray canonical =
                canonicalRequest(Flavor::OpenAI, QJsonObject{{QStringLiteral("s"), text}}, {});
            const QByteArray expected =
                "tollgate-cache-key/1\nopenai\n{\"s\":" + reference(text) + '}';
            QCOMPARE(canonical, expected);
        }
    }

    void keyOrderWhitespaceAndSpellingDoNotMatter()
    {
        const QByteArray a =
            R"({"model":"m","max_tokens":1024,"temperature":1,"messages":[{"role":"user",)"
            R"("content":[{"type":"text","text":"Hi A/"}]}],"top_p":0.5})";
        const QByteArray b = "{\n  \"top_p\" : 5e-1,\n  \"messages\" : [ { \"content\" : [ { "
                             "\"text\" : \"Hi \\u0041\\/\", \"type\" : \"text\" } ], \"role\" : "
                             "\"user\" } ],\n  \"temperature\" : 1.0, \"max_tokens\": 1.024e3,\n"
                             "  \"model\" : \"m\"\n}";
        QCOMPARE(anthropicKey(b), anthropicKey(a));
    }

    void arrayOrderMatters()
    {
        const QByteArray a = R"({"model":"m","stop_sequences":["a","b"]})";
        const QByteArray b = R"({"model":"m","stop_sequences":["b","a"]})";
        QVERIFY(anthropicKey(a) != anthropicKey(b));
    }

    void streamFlagDoesNotMatter()
    {
        const QByteArray plain = with(kOpenAiBase, QStringLiteral("stream"), "false");
        const QByteArray streamed = with(kOpenAiBase, QStringLiteral("stream"), "true");
        const QByteArray withUsage =
            with(streamed, QStringLiteral("stream_options"), R"({"include_usage":true})");
        QCOMPARE(openAiKey(streamed), openAiKey(kOpenAiBase));
        QCOMPARE(openAiKey(plain), openAiKey(kOpenAiBase));
        QCOMPARE(openAiKey(withUsage), openAiKey(kOpenAiBase));
        QCOMPARE(anthropicKey(with(kAnthropicBase, QStringLiteral("stream"), "true")),
                 anthropicKey(kAnthropicBase));
    }

    void identityAndCredentialsDoNotMatter()
    {
        QCOMPARE(anthropicKey(
                     with(kAnthropicBase, QStringLiteral("metadata"), R"({"user_id":"alice"})")),
                 anthropicKey(kAnthropicBase));
        QCOMPARE(openAiKey(with(kOpenAiBase, QStringLiteral("user"), R"("bob")")),
                 openAiKey(kOpenAiBase));
        QCOMPARE(openAiKey(with(kOpenAiBase, QStringLiteral("metadata"), R"({"team":"x"})")),
                 openAiKey(kOpenAiBase));
        QCOMPARE(openAiKey(with(kOpenAiBase, QStringLiteral("safety_identifier"), R"("h1")")),
                 openAiKey(kOpenAiBase));
        QCOMPARE(openAiKey(with(kOpenAiBase, QStringLiteral("api_key"), R"("sk-secret")")),
                 openAiKey(kOpenAiBase));
        QCOMPARE(openAiKey(with(kOpenAiBase, QStringLiteral("Authorization"), R"("Bearer x")")),
                 openAiKey(kOpenAiBase));
        // max_tokens contains "token" but is not credential-like.
        QVERIFY(!tollgate::cache::isExcludedFromKey(QStringLiteral("max_tokens")));
        QVERIFY(!canonicalRequest(Flavor::OpenAI,
                                  parse(with(kOpenAiBase, QStringLiteral("api_key"), "\"sk-1\"")),
                                  {})
                     .contains("sk-1"));
    }

    void includedFieldChangesKey_data()
    {
        QTest::addColumn<bool>("anthropic");
        QTest::addColumn<QString>("member");
        QTest::addColumn<QByteArray>("value");
        const auto row = [](const char *name, bool anthropic, const char *member,
                            const QByteArray &value) {
            QTest::newRow(name) << anthropic << QString::fromLatin1(member) << value;
        };
        row("anthropic system", true, "system", R"("Be verbose.")");
        row("anthropic messages", true, "messages", R"([{"role":"user","content":"Hello!"}])");
        row("anthropic tools", true, "tools", R"([])");
        row("anthropic tool_choice", true, "tool_choice", R"({"type":"any"})");
        row("anthropic temperature", true, "temperature", "0.70001");
        row("anthropic top_p", true, "top_p", "0.8");
        row("anthropic top_k", true, "top_k", "41");
        row("anthropic max_tokens", true, "max_tokens", "1025");
        row("anthropic stop_sequences", true, "stop_sequences", R"(["STOP"])");
        row("anthropic thinking", true, "thinking", R"({"type":"enabled","budget_tokens":4096})");
        row("anthropic model", true, "model", R"("claude-3-haiku-20240307")");
        row("anthropic future member", true, "service_tier", R"("standard_only")");
        row("openai messages", false, "messages", R"([{"role":"user","content":"Hello"}])");
        row("openai temperature", false, "temperature", "0");
        row("openai max_tokens", false, "max_tokens", "101");
        row("openai max_completion_tokens", false, "max_completion_tokens", "100");
        row("openai stop", false, "stop", R"("END")");
        row("openai response_format", false, "response_format", R"({"type":"text"})");
        row("openai seed", false, "seed", "8");
        row("openai n", false, "n", "2");
        row("openai tools", false, "tools", R"([])");
        row("openai tool_choice", false, "tool_choice", R"("none")");
        row("openai reasoning_effort", false, "reasoning_effort", R"("high")");
        row("openai presence_penalty", false, "presence_penalty", "0.5");
        row("openai logprobs", false, "logprobs", "true");
    }

    void includedFieldChangesKey()
    {
        QFETCH(bool, anthropic);
        QFETCH(QString, member);
        QFETCH(QByteArray, value);
        const QByteArray &base = anthropic ? kAnthropicBase : kOpenAiBase;
        const auto key = anthropic ? anthropicKey : openAiKey;
        QVERIFY(key(with(base, member, value), {}) != key(base, {}));
    }

    void routedModelReplacesRequested()
    {
        const QByteArray viaAlias = with(kAnthropicBase, QStringLiteral("model"), R"("auto")");
        const QString sonnet = QStringLiteral("claude-sonnet-4-20250514");
        QCOMPARE(anthropicKey(viaAlias, sonnet), anthropicKey(kAnthropicBase));
        QCOMPARE(anthropicKey(kAnthropicBase, sonnet), anthropicKey(kAnthropicBase));
        QVERIFY(anthropicKey(viaAlias, QStringLiteral("claude-3-haiku-20240307")) !=
                anthropicKey(viaAlias, sonnet));
        // A body without a model (the router supplied it) keys like one that named it.
        QJsonObject noModel = parse(kAnthropicBase);
        noModel.remove(QStringLiteral("model"));
        QCOMPARE(cacheKey(Flavor::Anthropic, noModel, sonnet), anthropicKey(kAnthropicBase));
    }

    void flavorSeparatesKeys() { QVERIFY(anthropicKey(kOpenAiBase) != openAiKey(kOpenAiBase)); }

    void canonicalFormIsExact()
    {
        const QByteArray body =
            "{\"stream\":true,\"z\":[1.50,-0.0,1e2,{\"b\":null,\"a\":false}],\"model\":\"x\","
            "\"messages\":[{\"content\":\"\\u00e9\\\"\\n\",\"role\":\"user\"}],"
            "\"metadata\":{\"user_id\":\"u\"}}";
        QCOMPARE(canonicalRequest(Flavor::Anthropic, parse(body), QStringLiteral("routed")),
                 QByteArray("tollgate-cache-key/1\nanthropic\n{\"messages\":[{\"content\":"
                            "\"\xc3\xa9\\\"\\u000a\",\"role\":\"user\"}],\"model\":\"routed\","
                            "\"z\":[1.5,0,100,{\"a\":false,\"b\":null}]}"));
    }

    // --- request directives -------------------------------------------------------------

    void noHeadersReadAndWrite()
    {
        const CacheDirective d = parseDirective({{"content-type", "application/json"}});
        QVERIFY(d.read);
        QVERIFY(d.write);
        QVERIFY(!d.ttlSeconds);
        QVERIFY(d.problem.isEmpty());
        QCOMPARE(CachePolicy::reference().ttlMs(d), 3600 * 1000LL);
    }

    void noCacheSkipsReadButStores()
    {
        const CacheDirective d = parseDirective(headers({{"x-tollgate-cache", "no-cache"}}));
        QVERIFY(!d.read);
        QVERIFY(d.write);
    }

    void noStoreSkipsBoth()
    {
        const CacheDirective d = parseDirective(headers({{"x-tollgate-cache", "no-store"}}));
        QVERIFY(!d.read);
        QVERIFY(!d.write);
    }

    void valuesCombineCaseInsensitively()
    {
        const CacheDirective d = parseDirective(
            headers({{"x-tollgate-cache", " No-Cache , bogus"}, {"x-tollgate-cache", "NO-STORE"}}));
        QVERIFY(!d.read);
        QVERIFY(!d.write);
        QVERIFY(d.problem.contains(QStringLiteral("bogus")));
    }

    void ttlOverridesPolicy()
    {
        const CacheDirective d = parseDirective(headers({{"x-tollgate-cache-ttl", " 60 "}}));
        QCOMPARE(d.ttlSeconds.value_or(-1), 60);
        QVERIFY(d.read);
        QVERIFY(d.write);
        QCOMPARE(CachePolicy::reference().ttlMs(d), 60000LL);
    }

    void ttlZeroMeansDoNotStore()
    {
        const CacheDirective d = parseDirective(headers({{"x-tollgate-cache-ttl", "0"}}));
        QVERIFY(d.read);
        QVERIFY(!d.write);
    }

    void badTtlIsIgnoredAndReported_data()
    {
        QTest::addColumn<QByteArray>("value");
        QTest::newRow("word") << QByteArray("soon");
        QTest::newRow("negative") << QByteArray("-5");
        QTest::newRow("fraction") << QByteArray("1.5");
        QTest::newRow("plus") << QByteArray("+5");
        QTest::newRow("empty") << QByteArray("");
        QTest::newRow("too long") << QByteArray("99999999999");
    }

    void badTtlIsIgnoredAndReported()
    {
        QFETCH(QByteArray, value);
        const CacheDirective d = parseDirective(headers({{"x-tollgate-cache-ttl", value}}));
        QVERIFY(!d.ttlSeconds);
        QVERIFY(d.write);
        QVERIFY(d.problem.contains(QStringLiteral("x-tollgate-cache-ttl")));
    }

    void outcomeNames()
    {
        QCOMPARE(tollgate::cache::cacheOutcomeName(CacheOutcome::Hit), "hit");
        QCOMPARE(tollgate::cache::cacheOutcomeName(CacheOutcome::Miss), "miss");
        QCOMPARE(tollgate::cache::cacheOutcomeName(CacheOutcome::Bypass), "bypass");
    }

    // --- the policy section -------------------------------------------------------------

    void referenceDefaults()
    {
        const CachePolicy p = CachePolicy::reference();
        QVERIFY(p.enabled);
        QCOMPARE(p.ttlSeconds, 3600);
        QCOMPARE(p.maxBytes, 67108864);
        QVERIFY(!p.persistent);
        QCOMPARE(p.maxEntryBytes, 4194304);
        QCOMPARE(p.toJson(), parse(R"({"enabled":true,"ttl_seconds":3600,"max_bytes":67108864,)"
                                   R"("persistent":false,"max_entry_bytes":4194304})"));
    }

    void absentSectionIsReference()
    {
        const auto undefinedSection = CachePolicy::fromJson(QJsonValue::Undefined, "cache");
        QVERIFY(undefinedSection.ok());
        QVERIFY(*undefinedSection == CachePolicy::reference());
        const auto empty = CachePolicy::fromJson(QJsonObject(), "cache");
        QVERIFY(empty.ok());
        QVERIFY(*empty == CachePolicy::reference());
    }

    void readsEveryField()
    {
        const auto p = CachePolicy::fromJson(
            parse(R"({"enabled":false,"ttl_seconds":60,"max_bytes":1048576,"persistent":true,)"
                  R"("max_entry_bytes":65536.0})"),
            QStringLiteral("cache"));
        QVERIFY2(p.ok(), qPrintable(p.ok() ? QString() : p.error().toString()));
        QVERIFY(!p->enabled);
        QCOMPARE(p->ttlSeconds, 60);
        QCOMPARE(p->maxBytes, 1048576);
        QVERIFY(p->persistent);
        QCOMPARE(p->maxEntryBytes, 65536);
        const auto again = CachePolicy::fromJson(p->toJson(), QStringLiteral("cache"));
        QVERIFY(again.ok() && *again == *p);
    }

    void problemsCarryTheirPath_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("path");
        QTest::newRow("not an object") << QByteArray("[1]") << "cache";
        QTest::newRow("ttl text") << QByteArray(R"({"ttl_seconds":"1h"})") << "cache.ttl_seconds";
        QTest::newRow("ttl zero") << QByteArray(R"({"ttl_seconds":0})") << "cache.ttl_seconds";
        QTest::newRow("ttl fraction")
            << QByteArray(R"({"ttl_seconds":1.5})") << "cache.ttl_seconds";
        QTest::newRow("enabled number") << QByteArray(R"({"enabled":1})") << "cache.enabled";
        QTest::newRow("persistent text")
            << QByteArray(R"({"persistent":"yes"})") << "cache.persistent";
        QTest::newRow("max_bytes negative")
            << QByteArray(R"({"max_bytes":-1})") << "cache.max_bytes";
        QTest::newRow("entry above total")
            << QByteArray(R"({"max_bytes":1000,"max_entry_bytes":1001})")
            << "cache.max_entry_bytes";
        QTest::newRow("unknown") << QByteArray(R"({"ttl":5})") << "cache.ttl";
    }

    void problemsCarryTheirPath()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, path);
        const QJsonDocument doc = QJsonDocument::fromJson("[" + json + "]");
        const auto p = CachePolicy::fromJson(doc.array().at(0), QStringLiteral("cache"));
        QVERIFY(!p.ok());
        QCOMPARE(p.error().path, path);
        QVERIFY(!p.error().message.isEmpty());
    }

    void everyProblemIsReported()
    {
        const QJsonObject section =
            parse(R"({"enabled":"no","ttl_seconds":-3,"max_bytes":1.5,"colour":"red"})");
        const QList<tollgate::Error> problems =
            CachePolicy::validate(section, QStringLiteral("cache"));
        QStringList paths;
        for (const auto &e : problems)
            paths.append(e.path);
        paths.sort();
        QCOMPARE(paths, QStringList({"cache.colour", "cache.enabled", "cache.max_bytes",
                                     "cache.ttl_seconds"}));
        const auto p = CachePolicy::fromJson(section, QStringLiteral("cache"));
        QVERIFY(!p.ok());
        for (const QString &path : paths)
            QVERIFY2(p.error().message.contains(path + QStringLiteral(": ")),
                     qPrintable(p.error().message));
    }
};

QTEST_GUILESS_MAIN(TestCacheKey)
#include "tst_cachekey.moc"
