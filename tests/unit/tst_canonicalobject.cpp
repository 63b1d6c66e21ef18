#include "api/canonicalobject.h"
#include "api/clientrequest.h"
#include "cache/cachekey.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QTest>

using tollgate::api::CanonicalObject;
using tollgate::api::Flavor;

Q_DECLARE_METATYPE(Flavor)

namespace {

// The key as the gateway computed it before CanonicalObject: Qt's parse, then the writer over
// QJsonObject. Persisted cache entries carry keys made this way, so every path must agree.
QByteArray qtCanonical(const QByteArray &json, const QString &routed = {})
{
    return tollgate::cache::canonicalRequest(Flavor::Anthropic,
                                             QJsonDocument::fromJson(json).object(), routed);
}

QByteArray fastCanonical(const QByteArray &json, const QString &routed = {})
{
    const std::optional<CanonicalObject> members = CanonicalObject::fromJson(json);
    if (!members)
        return "simdjson refused: " + json;
    return tollgate::cache::canonicalRequest(Flavor::Anthropic, *members, routed);
}

// A small alphabet of keys, so that sort order matters, some outside ASCII and the BMP.
// `identity` tells spellings of one key apart from different keys. No key from U+E000..U+FFFF:
// next to a key above U+FFFF, Qt 6.4's JSON object sorts it by code point but looks it up by
// UTF-16 unit, so the old writer read it as null (keysSortAsQStringDoes checks that order).
struct KeySpelling {
    const char *spelling;
    int identity;
};
const KeySpelling kKeys[] = {
    {"model", 0},
    {"messages", 1},
    {"max_tokens", 2},
    {"a", 3},
    {"b", 4},
    {"ab", 5},
    {"B", 6},
    {"_x", 7},
    {"stream", 8},
    {"metadata", 9},
    {"api_key", 10},
    {"z\\u00e9", 11},
    {"\xc3\xa9", 12},
    {"\\u00e9", 12},
    {"\xf0\x9f\x98\x80", 14},
    {"\\ud83d\\ude00", 14},
    {"\\u0041", 15},
    {"A", 15},
};

// Random JSON texts in many spellings of the same values: whitespace, escapes, number forms,
// keys outside the BMP.
class JsonGenerator {
public:
    explicit JsonGenerator(quint32 seed)
        : m_random(seed)
    {
    }

    QByteArray object(int depth)
    {
        QByteArray out = "{" + space();
        const int members = int(m_random.bounded(depth == 0 ? 12 : 5));
        // Each key once: Qt 6.4's parser mixes up values when a repeated key shares an object
        // with non-ASCII keys (the old key inherited that bug). Repeated keys are checked with
        // ASCII keys in matchesTheQtWriterOnEdgeCases.
        QList<int> used;
        for (int i = 0; i < members; ++i) {
            const int k = int(m_random.bounded(int(std::size(kKeys))));
            if (used.contains(kKeys[k].identity))
                continue;
            used.append(kKeys[k].identity);
            if (used.size() > 1)
                out += "," + space();
            out += '"' + QByteArray(kKeys[k].spelling) + '"' + space() + ":" + space() +
                   value(depth + 1) + space();
        }
        return out + "}";
    }

private:
    QByteArray space()
    {
        static const char *const spaces[] = {"", "", "", " ", "\n  ", "\t", "\r\n"};
        return spaces[m_random.bounded(7)];
    }

    QByteArray string()
    {
        static const char *const pieces[] = {"a",
                                             "Hello ",
                                             "\\n",
                                             "\\t",
                                             "\\\"",
                                             "\\\\",
                                             "\\/",
                                             "\\u0000",
                                             "\\u001f",
                                             "\\u007f",
                                             "\\u00e9",
                                             "\xc3\xa9",
                                             "\\u20ac",
                                             "\xe2\x82\xac",
                                             "\\ud83d\\ude00",
                                             "\xf0\x9f\x98\x80",
                                             "\x7f",
                                             "0123456789abcdef0123",
                                             "'",
                                             "\\b\\f\\r"};
        QByteArray out = "\"";
        const int count = int(m_random.bounded(8));
        for (int i = 0; i < count; ++i)
            out += pieces[m_random.bounded(int(std::size(pieces)))];
        return out + '"';
    }

    QByteArray number()
    {
        static const char *const numbers[] = {"0",
                                              "-0",
                                              "1",
                                              "1.0",
                                              "1e0",
                                              "10E-1",
                                              "-1",
                                              "0.5",
                                              "5e-1",
                                              "1.5",
                                              "-2.25",
                                              "100",
                                              "1e2",
                                              "1E+2",
                                              "0.1",
                                              "0.30000000000000004",
                                              "3.141592653589793",
                                              "1e20",
                                              "1e21",
                                              "123456789012",
                                              "9007199254740993",
                                              "9007199254740993.0",
                                              "-9007199254740993",
                                              "9223372036854775807",
                                              "-9223372036854775808",
                                              "9223372036854775808",
                                              "18446744073709551615",
                                              "9223372036854775807.0",
                                              "1e-7",
                                              "2.5e-300",
                                              "1.7976931348623157e308",
                                              "4.9e-324",
                                              "-0.0",
                                              "12345678.9"};
        return numbers[m_random.bounded(int(std::size(numbers)))];
    }

    QByteArray value(int depth)
    {
        const int kind = int(m_random.bounded(depth > 3 ? 5 : 7));
        switch (kind) {
        case 0: return string();
        case 1: return number();
        case 2: return m_random.bounded(2) ? "true" : "false";
        case 3: return "null";
        case 4: return string();
        case 5: return object(depth);
        default: {
            QByteArray out = "[" + space();
            const int count = int(m_random.bounded(4));
            for (int i = 0; i < count; ++i) {
                if (i > 0)
                    out += "," + space();
                out += value(depth + 1);
            }
            return out + space() + "]";
        }
        }
    }

    QRandomGenerator m_random;
};

} // namespace

class TestCanonicalObject : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void matchesTheQtWriterOnRandomBodies()
    {
        // Thousands of bodies: every one that Qt parses must spell exactly as before.
        JsonGenerator generator(20240601);
        int compared = 0;
        for (int round = 0; round < 4000; ++round) {
            const QByteArray json = generator.object(0);
            QJsonParseError error{};
            QJsonDocument::fromJson(json, &error);
            if (error.error != QJsonParseError::NoError)
                continue; // e.g. 1e400 is no JSON number for Qt either
            const QString routed = round % 3 == 0 ? QStringLiteral("routed-model") : QString();
            const QByteArray fast = fastCanonical(json, routed);
            if (fast != qtCanonical(json, routed))
                qWarning("body: %s", json.toPercentEncoding().constData());
            QCOMPARE(fast, qtCanonical(json, routed));
            ++compared;
        }
        QVERIFY2(compared > 3000, qPrintable(QString::number(compared)));
    }

    void matchesTheQtWriterOnEdgeCases_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::newRow("empty") << QByteArray("{}");
        QTest::newRow("duplicate keys: the last wins")
            << QByteArray(R"({"a":1,"b":{"x":1,"x":[2]},"a":{"y":3,"y":4}})");
        QTest::newRow("utf-16 order") << QByteArray("{\"\xf0\x9f\x98\x80\":1,\"\xef\xbc\xa1\":2,"
                                                    "\"\xee\x80\x80\":3,\"z\":4,\"\xc3\xa9\":5}");
        QTest::newRow("escaped key spells a plain one")
            << QByteArray(R"({"\u006dodel":"escaped","model":"plain"})");
        QTest::newRow("integers at the 2^63 edge")
            << QByteArray(R"({"a":9223372036854775807,"b":-9223372036854775808,)"
                          R"("c":9223372036854775806,"d":18446744073709551615})");
        QTest::newRow("integers beyond 2^53 stay exact")
            << QByteArray(R"({"a":9007199254740993,"b":[-9007199254740993]})");
        QTest::newRow("number spellings")
            << QByteArray(R"({"a":[1,1.0,1e0,-0,-0.0,0.1,1e21,1e-7,123.456e2]})");
        QTest::newRow("controls and quotes")
            << QByteArray("{\"s\":\"\\u0000\\u0001\\n\\t\\\"\\\\\\/\\u007f\\u2028\"}");
        QTest::newRow("a model but no routed one") << QByteArray(R"({"model":"m","z":1})");
        QTest::newRow("no model") << QByteArray(R"({"a":1,"zz":2})");
        QTest::newRow("excluded members")
            << QByteArray(R"({"stream":true,"stream_options":{},"metadata":{"user_id":"u"},)"
                          R"("user":"u","safety_identifier":"s","X-Api-Key":"sk","a":1})");
        QTest::newRow("a credential-like key in another script")
            << QByteArray("{\"api_\xe2\x84\xaa"
                          "ey\":\"sk\",\"a\":1}"); // U+212A, the Kelvin sign
    }

    void matchesTheQtWriterOnEdgeCases()
    {
        QFETCH(QByteArray, json);
        for (const QString &routed : {QString(), QStringLiteral("routed-\u00e9")})
            QCOMPARE(fastCanonical(json, routed), qtCanonical(json, routed));
    }

    void largeObjectsSortLikeSmallOnes()
    {
        // More members than the insertion sort handles, with repeats among them.
        QByteArray json = "{";
        for (int i = 0; i < 200; ++i)
            json += (i ? ",\"k" : "\"k") + QByteArray::number((i * 37) % 150) +
                    "\":" + QByteArray::number(i);
        json += "}";
        QCOMPARE(fastCanonical(json), qtCanonical(json));
        QCOMPARE(fastCanonical("{\"n\":" + json + "}"), qtCanonical("{\"n\":" + json + "}"));
    }

    void refusesWhatOnlyQtAccepts()
    {
        // Lone surrogates and integers beyond 64 bits: Qt's parser decides, as before.
        for (const QByteArray &json : {QByteArray(R"({"s":"\ud800"})"),
                                       QByteArray(R"({"n":123456789012345678901234567890})"),
                                       QByteArray("[1]"), QByteArray("not json")}) {
            QVERIFY2(!CanonicalObject::fromJson(json), json.constData());
            QCOMPARE(tollgate::cache::canonicalRequest(Flavor::Anthropic, json, {}),
                     qtCanonical(json));
            QCOMPARE(tollgate::cache::cacheKey(Flavor::Anthropic, json, QString()),
                     tollgate::cache::cacheKey(Flavor::Anthropic,
                                               QJsonDocument::fromJson(json).object(), QString()));
        }
    }

    void keysSortAsQStringDoes()
    {
        // UTF-16 order: U+1F600 (a surrogate pair, D83D DE00) before U+E000 and U+FF21.
        const auto members = CanonicalObject::fromJson(
            "{\"\xef\xbc\xa1\":1,\"\xee\x80\x80\":2,\"\xf0\x9f\x98\x80\":3,\"z\":4,"
            "\"\xc3\xa9\":5,\"Z\":6}");
        QVERIFY(members.has_value());
        QList<QString> keys;
        for (qsizetype i = 0; i < members->size(); ++i)
            keys.append(QString::fromUtf8(members->key(i)));
        QList<QString> sorted = keys;
        std::sort(sorted.begin(), sorted.end());
        QCOMPARE(keys, sorted);
        QCOMPARE(keys.at(3), QString::fromUtf8("\xf0\x9f\x98\x80"));
    }

    void repeatedKeysKeepTheLastValue()
    {
        // Also next to non-ASCII keys, where Qt 6.4's parser gets it wrong.
        const auto members = CanonicalObject::fromJson(
            "{\"\xc3\xa9\":null,\"\xef\xbc\xa1\":[1],\"\\u00e9\":\"x\",\"a\":{\"k\":1,\"k\":2}}");
        QVERIFY(members.has_value());
        QCOMPARE(members->size(), 3);
        QCOMPARE(members->key(0), QByteArrayView("a"));
        QCOMPARE(members->value(0), QByteArrayView("{\"k\":2}"));
        QCOMPARE(members->key(1), QByteArrayView("\xc3\xa9"));
        QCOMPARE(members->value(1), QByteArrayView("\"x\""));
        QCOMPARE(members->key(2), QByteArrayView("\xef\xbc\xa1"));
        QCOMPARE(members->value(2), QByteArrayView("[1]"));
    }

    void insertKeepsOrderAndReplaces()
    {
        CanonicalObject members = *CanonicalObject::fromJson(R"({"b":1,"d":2})");
        members.insert("c", "3");
        members.insert("a", "0");
        members.insert("d", "\"x\"");
        QCOMPARE(members.size(), 4);
        QCOMPARE(members.key(0), QByteArrayView("a"));
        QCOMPARE(members.key(2), QByteArrayView("c"));
        QCOMPARE(members.value(3), QByteArrayView("\"x\""));
    }

    void requestParserHandsTheKeyItsMembers_data()
    {
        QTest::addColumn<Flavor>("flavor");
        QTest::addColumn<QByteArray>("body");
        QTest::newRow("anthropic, unchanged")
            << Flavor::Anthropic
            << QByteArray(R"({"model":"m","max_tokens":10,"messages":[{"role":"user",)"
                          R"("content":"Hi \u00e9"}],"temperature":0.5})");
        QTest::newRow("anthropic, default max_tokens filled in")
            << Flavor::Anthropic << QByteArray(R"({"model":"m","messages":[],"top_k":4})");
        QTest::newRow("openai stream, include_usage added")
            << Flavor::OpenAI
            << QByteArray(R"({"model":"gpt-4o","stream":true,"messages":[],"seed":1})");
        QTest::newRow("openai stream, other stream options kept")
            << Flavor::OpenAI
            << QByteArray(R"({"model":"gpt-4o","stream":true,"stream_options":{"x":1},)"
                          R"("messages":[]})");
    }

    void requestParserHandsTheKeyItsMembers()
    {
        // The members the parser made describe the body it sends upstream, defaults and all.
        QFETCH(Flavor, flavor);
        QFETCH(QByteArray, body);
        const auto request = tollgate::api::parseClientRequest(flavor, body);
        QVERIFY(request.ok());
        QVERIFY(request->canonical.has_value());
        const QString routed = QStringLiteral("claude-3-haiku-20240307");
        QCOMPARE(tollgate::cache::cacheKey(flavor, *request->canonical, routed),
                 tollgate::cache::cacheKey(
                     flavor, QJsonDocument::fromJson(request->upstreamBody).object(), routed));
        const std::optional<CanonicalObject> reparsed =
            CanonicalObject::fromJson(request->upstreamBody);
        QVERIFY(reparsed.has_value());
        QCOMPARE(reparsed->size(), request->canonical->size());
        for (qsizetype i = 0; i < reparsed->size(); ++i) {
            QCOMPARE(request->canonical->key(i), reparsed->key(i));
            QCOMPARE(request->canonical->value(i), reparsed->value(i));
        }
    }

    void bodyOnlyQtAcceptsHasNoMembers()
    {
        const auto request = tollgate::api::parseClientRequest(
            Flavor::Anthropic, R"({"model":"m","max_tokens":1,"messages":[],"x":"\ud800"})");
        QVERIFY(request.ok());
        QVERIFY(!request->canonical.has_value());
    }
};

QTEST_GUILESS_MAIN(TestCanonicalObject)
#include "tst_canonicalobject.moc"
