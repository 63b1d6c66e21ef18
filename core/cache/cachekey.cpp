#include "cache/cachekey.h"

#include "cache/sha256.h"

#include <QJsonArray>
#include <QLocale>

#include <algorithm>
#include <cmath>
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace tollgate::cache {

namespace {

void writeValue(QByteArray &out, const QJsonValue &value);

// Writes `text` as a JSON string in UTF-8, straight from UTF-16 into `out`. One escaping for
// every input spelling: "\u00e9", "é" and "\/" all reach here decoded, so only the characters
// JSON requires are escaped, always the same way. This runs on the request path over every
// message of every request, hence no intermediate QByteArray and no per-character append.
void writeString(QByteArray &out, QStringView text)
{
    static const char hex[] = "0123456789abcdef";
    const qsizetype start = out.size();
    // Worst case per UTF-16 unit: 6 bytes (a control character as \u00XX).
    out.resize(start + 2 + 6 * text.size());
    char *p = out.data() + start;
    *p++ = '"';
    const char16_t *s = text.utf16();
    const char16_t *const end = s + text.size();
    while (s != end) {
#ifdef __SSE2__
        // Most text is printable ASCII without quotes or backslashes: check and narrow eight
        // UTF-16 units at a time (SSE2 is part of every x86-64 CPU).
        const __m128i low = _mm_set1_epi16(0x20);
        const __m128i high = _mm_set1_epi16(0x7f);
        const __m128i quote = _mm_set1_epi16('"');
        const __m128i backslash = _mm_set1_epi16('\\');
        while (end - s >= 8) {
            const __m128i units = _mm_loadu_si128(reinterpret_cast<const __m128i *>(s));
            const __m128i bad = _mm_or_si128(
                _mm_or_si128(_mm_subs_epu16(units, high), _mm_subs_epu16(low, units)),
                _mm_or_si128(_mm_cmpeq_epi16(units, quote), _mm_cmpeq_epi16(units, backslash)));
            if (_mm_movemask_epi8(_mm_cmpeq_epi16(bad, _mm_setzero_si128())) != 0xffff)
                break;
            _mm_storel_epi64(reinterpret_cast<__m128i *>(p), _mm_packus_epi16(units, units));
            p += 8;
            s += 8;
        }
        if (s == end)
            break;
#endif
        char32_t u = *s++;
        if (u < 0x80) {
            if (u == '"' || u == '\\') {
                *p++ = '\\';
                *p++ = char(u);
            } else if (u < 0x20) {
                const char escaped[] = {'\\', 'u', '0', '0', hex[u >> 4], hex[u & 0xf]};
                std::memcpy(p, escaped, sizeof(escaped));
                p += sizeof(escaped);
            } else {
                *p++ = char(u);
            }
            continue;
        }
        if (u < 0x800) {
            *p++ = char(0xc0 | (u >> 6));
            *p++ = char(0x80 | (u & 0x3f));
            continue;
        }
        if (QChar::isHighSurrogate(u) && s != end && QChar::isLowSurrogate(*s)) {
            u = QChar::surrogateToUcs4(char16_t(u), *s++);
            *p++ = char(0xf0 | (u >> 18));
            *p++ = char(0x80 | ((u >> 12) & 0x3f));
            *p++ = char(0x80 | ((u >> 6) & 0x3f));
            *p++ = char(0x80 | (u & 0x3f));
            continue;
        }
        if (QChar::isSurrogate(u))
            u = QChar::ReplacementCharacter; // a lone half of a pair: as QString::toUtf8 does
        *p++ = char(0xe0 | (u >> 12));
        *p++ = char(0x80 | ((u >> 6) & 0x3f));
        *p++ = char(0x80 | (u & 0x3f));
    }
    *p++ = '"';
    out.resize(p - out.constData());
}

void writeNumber(QByteArray &out, const QJsonValue &value)
{
    const double number = value.toDouble();
    // 2^63: beyond it an integral double has no qint64 spelling.
    constexpr double kInt64Limit = 9223372036854775808.0;
    if (std::isfinite(number) && std::floor(number) == number && std::fabs(number) < kInt64Limit) {
        // toInteger() is exact for integers Qt kept as qint64 (above 2^53 a double would round).
        out.append(QByteArray::number(value.toInteger(qint64(number))));
        return;
    }
    out.append(QByteArray::number(number, 'g', QLocale::FloatingPointShortest));
}

// Writes the members of `object` in key order, skipping those `skip` names, with `override`
// (when set) as the value of `overrideKey`, which is added when absent.
template <typename Skip>
void writeMembers(QByteArray &out, const QJsonObject &object, Skip skip,
                  QLatin1StringView overrideKey = {}, const QString *override = nullptr)
{
    // Qt 6 keeps a QJsonObject's keys sorted and iterates in that order, which is the order the
    // canonical form needs; the check below keeps the key correct even if a Qt version did not.
    QList<QString> keys;
    keys.reserve(object.size() + 1);
    bool sorted = true;
    for (auto it = object.begin(); it != object.end(); ++it) {
        keys.append(it.key());
        if (keys.size() > 1 && !(keys.at(keys.size() - 2) < keys.last()))
            sorted = false;
    }
    if (override && !object.contains(overrideKey)) {
        keys.append(overrideKey);
        sorted = false;
    }
    if (!sorted)
        std::sort(keys.begin(), keys.end());

    out.append('{');
    bool first = true;
    auto it = object.begin();
    for (const QString &key : keys) {
        // In the common (sorted) case the iterator walks alongside; otherwise look the key up.
        QJsonValue value;
        if (sorted) {
            value = it.value();
            ++it;
        } else {
            value = object.value(key);
        }
        if (skip(key))
            continue;
        if (!first)
            out.append(',');
        first = false;
        writeString(out, key);
        out.append(':');
        if (override && key == overrideKey)
            writeString(out, *override);
        else
            writeValue(out, value);
    }
    out.append('}');
}

void writeValue(QByteArray &out, const QJsonValue &value)
{
    switch (value.type()) {
    case QJsonValue::Null:
    case QJsonValue::Undefined: out.append("null"); break;
    case QJsonValue::Bool: out.append(value.toBool() ? "true" : "false"); break;
    case QJsonValue::Double: writeNumber(out, value); break;
    case QJsonValue::String: writeString(out, value.toString()); break;
    case QJsonValue::Array: {
        const QJsonArray array = value.toArray();
        out.append('[');
        bool first = true;
        for (const QJsonValue element : array) {
            if (!first)
                out.append(',');
            first = false;
            writeValue(out, element);
        }
        out.append(']');
        break;
    }
    case QJsonValue::Object:
        writeMembers(out, value.toObject(), [](const QString &) { return false; });
        break;
    }
}

} // namespace

bool isExcludedFromKey(const QString &member)
{
    static const QLatin1StringView kIgnored[] = {
        QLatin1StringView("stream"),
        QLatin1StringView("stream_options"),
        QLatin1StringView("metadata"),
        QLatin1StringView("user"),
        QLatin1StringView("safety_identifier"),
    };
    for (QLatin1StringView name : kIgnored) {
        if (member == name)
            return true;
    }
    // Neither API defines such members; one that a client adds by mistake must not split entries
    // (or sit in a canonical form printed for debugging).
    static const QLatin1StringView kCredentialParts[] = {
        QLatin1StringView("api_key"),    QLatin1StringView("apikey"),
        QLatin1StringView("api-key"),    QLatin1StringView("authorization"),
        QLatin1StringView("secret"),     QLatin1StringView("password"),
        QLatin1StringView("credential"), QLatin1StringView("access_token"),
    };
    for (QLatin1StringView part : kCredentialParts) {
        if (member.contains(part, Qt::CaseInsensitive))
            return true;
    }
    return false;
}

QByteArray canonicalRequest(api::Flavor flavor, const QJsonObject &requestBody,
                            const QString &routedModel)
{
    QByteArray out;
    out.reserve(256);
    out.append(kCacheKeyVersion);
    out.append('\n');
    out.append(api::flavorName(flavor));
    out.append('\n');

    const QLatin1StringView modelKey("model");
    writeMembers(out, requestBody, isExcludedFromKey, modelKey,
                 routedModel.isEmpty() ? nullptr : &routedModel);
    return out;
}

QByteArray cacheKey(api::Flavor flavor, const QJsonObject &requestBody, const QString &routedModel)
{
    return sha256(canonicalRequest(flavor, requestBody, routedModel)).toHex();
}

} // namespace tollgate::cache
