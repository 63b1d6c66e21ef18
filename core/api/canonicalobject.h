#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QStringView>

#include <optional>
#include <vector>

namespace simdjson::dom {
class object;
}

namespace tollgate::api {

/// The members of a JSON object with every value in one canonical spelling, so that two texts
/// meaning the same JSON give the same bytes: object keys sorted, no whitespace, strings escaped
/// one way, numbers normalized. The response cache hashes it (see cache::cacheKey); it is built
/// from the simdjson DOM the request body was parsed into, so the body is not parsed again.
///
/// The spelling is exactly the one cache keys have always hashed:
/// - keys in the order QString compares them (UTF-16 code units); a repeated key keeps its last
///   value, as Qt's JSON parser does;
/// - strings in UTF-8 with only `"`, `\` and control characters escaped (`\"`, `\\`, `\u00XX`);
/// - integral numbers below 2^63 in magnitude as plain integers (1, 1.0 and 1e0 are `1`; -0 is
///   `0`), every other number in its shortest round-trip form (`0.5`, `1e+20`);
/// - `true`, `false`, `null`; arrays in their order.
class CanonicalObject {
public:
    /// Parses `json` with simdjson. nullopt when simdjson refuses it (Qt's more tolerant parser
    /// may still accept it: lone surrogates, integers beyond 64 bits) or when it is not an object.
    static std::optional<CanonicalObject> fromJson(const QByteArray &json);
    /// From a DOM that a parser already holds (the request parser's). `sizeHint`: the JSON text's
    /// size, which the canonical text rarely exceeds by much.
    static CanonicalObject fromDom(const simdjson::dom::object &object, qsizetype sizeHint = 0);

    qsizetype size() const { return qsizetype(m_members.size()); }
    /// The i-th member's key, decoded, in UTF-8; members are in canonical (sorted) order.
    QByteArrayView key(qsizetype i) const
    {
        const Member &m = m_members[size_t(i)];
        return QByteArrayView(m_text.constData() + m.keyAt, m.keySize);
    }
    /// The i-th member's value in canonical spelling.
    QByteArrayView value(qsizetype i) const
    {
        const Member &m = m_members[size_t(i)];
        return QByteArrayView(m_text.constData() + m.valueAt, m.valueSize);
    }
    /// The i-th member as it appears in the canonical object: `"key":value`.
    QByteArrayView member(qsizetype i) const
    {
        const Member &m = m_members[size_t(i)];
        return QByteArrayView(m_text.constData() + m.memberAt,
                              m.valueAt + m.valueSize - m.memberAt);
    }
    /// Sets a member (adding it in its sorted place when absent); `canonicalValue` must already be
    /// in canonical spelling.
    void insert(QByteArrayView key, QByteArrayView canonicalValue);

    /// Appends `text` as a canonical JSON string.
    static void appendString(QByteArray &out, QStringView text);
    /// The same for text already in UTF-8 (valid UTF-8, as simdjson guarantees).
    static void appendUtf8String(QByteArray &out, QByteArrayView utf8);
    static void appendInteger(QByteArray &out, qint64 number);
    static void appendDouble(QByteArray &out, double number);
    /// The canonical key order for UTF-8 keys: QString's order of the same keys.
    static bool keyLess(QByteArrayView a, QByteArrayView b);

private:
    struct Member {
        qsizetype keyAt = 0; ///< the decoded key
        qsizetype keySize = 0;
        qsizetype memberAt = 0; ///< `"key":value`, of which the value is the end
        qsizetype valueAt = 0;
        qsizetype valueSize = 0;
    };

    /// Per member: its decoded key, then `"key":value`, so that a canonical form copies each
    /// member whole.
    QByteArray m_text;
    std::vector<Member> m_members;
};

} // namespace tollgate::api
