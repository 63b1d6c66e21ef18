#include "api/canonicalobject.h"

#include "api/jsondom.h"

#include <QLocale>
#include <QString>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string_view>
#include <utility>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace tollgate::api {

namespace {

using Field = std::pair<std::string_view, simdjson::dom::element>;

QByteArrayView view(std::string_view text)
{
    return QByteArrayView(text.data(), qsizetype(text.size()));
}

void writeElement(QByteArray &out, simdjson::dom::element value, std::vector<Field> &scratch);

// Sorts `fields[begin, end)` by key, keeping arrival order among equal keys, then drops all but
// the last of each run of equal keys (Qt's parser keeps the last duplicate). Returns the new end.
size_t sortMembers(std::vector<Field> &fields, size_t begin, size_t end)
{
    const auto less = [](const Field &a, const Field &b) {
        return CanonicalObject::keyLess(view(a.first), view(b.first));
    };
    if (end - begin <= 16) {
        // Objects in requests are small (a message, a content block): an insertion sort is
        // stable and allocates nothing.
        for (size_t i = begin + 1; i < end; ++i) {
            Field item = fields[i];
            size_t j = i;
            for (; j > begin && less(item, fields[j - 1]); --j)
                fields[j] = fields[j - 1];
            fields[j] = item;
        }
    } else {
        std::stable_sort(fields.begin() + qsizetype(begin), fields.begin() + qsizetype(end), less);
    }
    size_t kept = begin;
    for (size_t i = begin; i < end; ++i) {
        if (i + 1 < end && fields[i + 1].first == fields[i].first)
            continue; // a later duplicate follows
        fields[kept++] = fields[i];
    }
    return kept;
}

void writeObject(QByteArray &out, simdjson::dom::object object, std::vector<Field> &scratch)
{
    // The fields go on the shared scratch stack; nested objects push above them and pop again,
    // so indices stay valid where references would not.
    const size_t begin = scratch.size();
    for (const simdjson::dom::key_value_pair field : object)
        scratch.emplace_back(field.key, field.value);
    const size_t end = sortMembers(scratch, begin, scratch.size());
    out.append('{');
    for (size_t i = begin; i < end; ++i) {
        if (i > begin)
            out.append(',');
        const Field field = scratch[i];
        CanonicalObject::appendUtf8String(out, view(field.first));
        out.append(':');
        writeElement(out, field.second, scratch);
    }
    out.append('}');
    scratch.resize(begin);
}

void writeElement(QByteArray &out, simdjson::dom::element value, std::vector<Field> &scratch)
{
    // The type is known in each case, so the getters cannot fail.
    switch (value.type()) {
    case simdjson::dom::element_type::ARRAY: {
        out.append('[');
        bool first = true;
        // A copy: the result object value_unsafe() refers into is a temporary.
        const simdjson::dom::array array = value.get_array().value_unsafe();
        for (const simdjson::dom::element item : array) {
            if (!first)
                out.append(',');
            first = false;
            writeElement(out, item, scratch);
        }
        out.append(']');
        break;
    }
    case simdjson::dom::element_type::OBJECT:
        writeObject(out, value.get_object().value_unsafe(), scratch);
        break;
    case simdjson::dom::element_type::INT64:
        CanonicalObject::appendInteger(out, value.get_int64().value_unsafe());
        break;
    case simdjson::dom::element_type::UINT64:
        // Above 2^63 - 1: Qt's parser keeps such a number as a double.
        CanonicalObject::appendDouble(out, double(value.get_uint64().value_unsafe()));
        break;
    case simdjson::dom::element_type::DOUBLE:
        CanonicalObject::appendDouble(out, value.get_double().value_unsafe());
        break;
    case simdjson::dom::element_type::STRING:
        CanonicalObject::appendUtf8String(out, view(value.get_string().value_unsafe()));
        break;
    case simdjson::dom::element_type::BOOL:
        out.append(value.get_bool().value_unsafe() ? "true" : "false");
        break;
    case simdjson::dom::element_type::NULL_VALUE: out.append("null"); break;
    }
}

} // namespace

std::optional<CanonicalObject> CanonicalObject::fromJson(const QByteArray &json)
{
    std::optional<CanonicalObject> result;
    const simdjson::error_code error = readJsonDom(json, [&](simdjson::dom::element root) {
        simdjson::dom::object object;
        if (root.get_object().get(object) == simdjson::SUCCESS)
            result = fromDom(object, json.size());
    });
    if (error)
        return std::nullopt;
    return result;
}

CanonicalObject CanonicalObject::fromDom(const simdjson::dom::object &object, qsizetype sizeHint)
{
    CanonicalObject canonical;
    canonical.m_text.reserve(sizeHint + sizeHint / 8);
    std::vector<Field> scratch;
    scratch.reserve(32);
    for (const simdjson::dom::key_value_pair field : object)
        scratch.emplace_back(field.key, field.value);
    const size_t end = sortMembers(scratch, 0, scratch.size());
    canonical.m_members.reserve(end);
    for (size_t i = 0; i < end; ++i) {
        // Copied out: writing a value pushes nested fields onto the same scratch.
        const Field field = scratch[i];
        Member member;
        member.keyAt = canonical.m_text.size();
        member.keySize = qsizetype(field.first.size());
        canonical.m_text.append(field.first.data(), member.keySize);
        member.memberAt = canonical.m_text.size();
        appendUtf8String(canonical.m_text, view(field.first));
        canonical.m_text.append(':');
        member.valueAt = canonical.m_text.size();
        writeElement(canonical.m_text, field.second, scratch);
        member.valueSize = canonical.m_text.size() - member.valueAt;
        canonical.m_members.push_back(member);
    }
    return canonical;
}

void CanonicalObject::insert(QByteArrayView key, QByteArrayView canonicalValue)
{
    Member member;
    member.keyAt = m_text.size();
    member.keySize = key.size();
    m_text.append(key);
    member.memberAt = m_text.size();
    appendUtf8String(m_text, key);
    m_text.append(':');
    member.valueAt = m_text.size();
    member.valueSize = canonicalValue.size();
    m_text.append(canonicalValue);
    auto at = std::lower_bound(
        m_members.begin(), m_members.end(), key, [this](const Member &m, QByteArrayView k) {
            return keyLess(QByteArrayView(m_text.constData() + m.keyAt, m.keySize), k);
        });
    if (at != m_members.end() && QByteArrayView(m_text.constData() + at->keyAt, at->keySize) == key)
        *at = member; // the old bytes stay in m_text, unused
    else
        m_members.insert(at, member);
}

bool CanonicalObject::keyLess(QByteArrayView a, QByteArrayView b)
{
    const qsizetype common = std::min(a.size(), b.size());
    for (qsizetype i = 0; i < common; ++i) {
        const auto x = static_cast<unsigned char>(a[i]);
        const auto y = static_cast<unsigned char>(b[i]);
        if (x == y)
            continue;
        if (x < 0x80 && y < 0x80)
            return x < y;
        // UTF-8 bytes sort by code point, QString by UTF-16 unit: they disagree on characters
        // above U+FFFF against U+E000..U+FFFF. Rare in keys, so let QString decide.
        return QString::fromUtf8(a) < QString::fromUtf8(b);
    }
    return a.size() < b.size();
}

void CanonicalObject::appendString(QByteArray &out, QStringView text)
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

void CanonicalObject::appendUtf8String(QByteArray &out, QByteArrayView utf8)
{
    static const char hex[] = "0123456789abcdef";
    const char *const s = utf8.data();
    const qsizetype size = utf8.size();
    // First how much escaping adds (`"` and `\` one byte, a control character five), so the text
    // is written in place once: this runs over every string of every request.
    qsizetype extra = 0;
    qsizetype i = 0;
#ifdef __SSE2__
    for (; size - i >= 16; i += 16) {
        const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i *>(s + i));
        const int quoted = _mm_movemask_epi8(_mm_or_si128(
            _mm_cmpeq_epi8(bytes, _mm_set1_epi8('"')), _mm_cmpeq_epi8(bytes, _mm_set1_epi8('\\'))));
        // An unsigned byte <= 0x1f: min(byte, 0x1f) is the byte itself.
        const int control =
            _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(bytes, _mm_set1_epi8(0x1f)), bytes));
        extra += __builtin_popcount(unsigned(quoted)) + 5 * __builtin_popcount(unsigned(control));
    }
#endif
    for (; i < size; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        extra += c == '"' || c == '\\' ? 1 : c < 0x20 ? 5 : 0;
    }

    const qsizetype start = out.size();
    out.resize(start + size + extra + 2);
    char *p = out.data() + start;
    *p++ = '"';
    if (extra == 0) {
        if (size > 0)
            std::memcpy(p, s, size_t(size));
        p += size;
    } else {
        // Runs between the bytes to escape are copied whole (code in prompts has a line break
        // every few dozen bytes).
        qsizetype run = 0;
        for (i = 0; i < size;) {
#ifdef __SSE2__
            if (size - i >= 16) {
                const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i *>(s + i));
                const int special = _mm_movemask_epi8(
                    _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('"')),
                                              _mm_cmpeq_epi8(bytes, _mm_set1_epi8('\\'))),
                                 _mm_cmpeq_epi8(_mm_min_epu8(bytes, _mm_set1_epi8(0x1f)), bytes)));
                if (special == 0) {
                    i += 16;
                    continue;
                }
                i += __builtin_ctz(unsigned(special));
            }
#endif
            const auto c = static_cast<unsigned char>(s[i]);
            if (c != '"' && c != '\\' && c >= 0x20) {
                ++i;
                continue;
            }
            std::memcpy(p, s + run, size_t(i - run));
            p += i - run;
            if (c < 0x20) {
                const char escaped[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
                std::memcpy(p, escaped, sizeof(escaped));
                p += sizeof(escaped);
            } else {
                *p++ = '\\';
                *p++ = char(c);
            }
            run = ++i;
        }
        std::memcpy(p, s + run, size_t(size - run));
        p += size - run;
    }
    *p++ = '"';
    Q_ASSERT(p == out.constData() + out.size());
}

void CanonicalObject::appendInteger(QByteArray &out, qint64 number)
{
    // Qt compares an integer's double value with 2^63 too, so the two spellings agree at the edge.
    constexpr double kInt64Limit = 9223372036854775808.0;
    if (std::fabs(double(number)) >= kInt64Limit) {
        appendDouble(out, double(number));
        return;
    }
    char digits[24];
    const auto written = std::to_chars(digits, digits + sizeof(digits), number);
    out.append(digits, written.ptr - digits);
}

void CanonicalObject::appendDouble(QByteArray &out, double number)
{
    // 2^63: beyond it an integral double has no qint64 spelling.
    constexpr double kInt64Limit = 9223372036854775808.0;
    if (std::isfinite(number) && std::floor(number) == number && std::fabs(number) < kInt64Limit) {
        char digits[24];
        const auto written = std::to_chars(digits, digits + sizeof(digits), qint64(number));
        out.append(digits, written.ptr - digits);
        return;
    }
    out.append(QByteArray::number(number, 'g', QLocale::FloatingPointShortest));
}

} // namespace tollgate::api
