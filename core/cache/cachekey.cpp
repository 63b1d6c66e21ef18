#include "cache/cachekey.h"

#include "cache/sha256.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string_view>
#include <vector>

namespace tollgate::cache {

namespace {

void writeValue(QByteArray &out, const QJsonValue &value);

void writeString(QByteArray &out, QStringView text)
{
    api::CanonicalObject::appendString(out, text);
}

void writeNumber(QByteArray &out, const QJsonValue &value)
{
    const double number = value.toDouble();
    // 2^63: beyond it an integral double has no qint64 spelling.
    constexpr double kInt64Limit = 9223372036854775808.0;
    if (std::isfinite(number) && std::floor(number) == number && std::fabs(number) < kInt64Limit)
        // toInteger() is exact for integers Qt kept as qint64 (above 2^53 a double would round).
        api::CanonicalObject::appendInteger(out, value.toInteger(qint64(number)));
    else
        api::CanonicalObject::appendDouble(out, number);
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

namespace {

const QLatin1StringView kIgnored[] = {
    QLatin1StringView("stream"),
    QLatin1StringView("stream_options"),
    QLatin1StringView("metadata"),
    QLatin1StringView("user"),
    QLatin1StringView("safety_identifier"),
};

// Neither API defines such members; one that a client adds by mistake must not split entries
// (or sit in a canonical form printed for debugging).
const QLatin1StringView kCredentialParts[] = {
    QLatin1StringView("api_key"),    QLatin1StringView("apikey"),
    QLatin1StringView("api-key"),    QLatin1StringView("authorization"),
    QLatin1StringView("secret"),     QLatin1StringView("password"),
    QLatin1StringView("credential"), QLatin1StringView("access_token"),
};

void writeHeader(QByteArray &out, api::Flavor flavor)
{
    out.append(kCacheKeyVersion);
    out.append('\n');
    out.append(api::flavorName(flavor));
    out.append('\n');
}

// The canonical members with the exclusions and the routed model applied: the same bytes the
// QJsonObject writer produces for the same body. Sized first and copied member by member.
void writeCanonical(QByteArray &out, api::Flavor flavor, const api::CanonicalObject &members,
                    const QString &routedModel)
{
    const QByteArrayView modelKey("model");
    QByteArray model; // `"model":"<routed>"`, when routing named one
    if (!routedModel.isEmpty()) {
        model.reserve(10 + 3 * routedModel.size());
        model.append("\"model\":");
        api::CanonicalObject::appendString(model, routedModel);
    }
    // Which members go in, in order; the routed model takes its sorted place.
    qsizetype size = 0;
    bool modelPending = !model.isEmpty();
    thread_local std::vector<QByteArrayView> parts;
    parts.clear();
    for (qsizetype i = 0; i < members.size(); ++i) {
        const QByteArrayView key = members.key(i);
        if (modelPending && api::CanonicalObject::keyLess(modelKey, key)) {
            parts.push_back(model); // the body names no model
            modelPending = false;
        }
        if (modelPending && key == modelKey) {
            parts.push_back(model);
            modelPending = false;
            continue;
        }
        if (!isExcludedFromKey(key))
            parts.push_back(members.member(i));
    }
    if (modelPending)
        parts.push_back(model);
    for (const QByteArrayView part : parts)
        size += part.size() + 1;

    const char *const flavorName = api::flavorName(flavor);
    const qsizetype versionSize = qsizetype(std::strlen(kCacheKeyVersion));
    const qsizetype flavorSize = qsizetype(std::strlen(flavorName));
    const qsizetype start = out.size();
    out.resize(start + versionSize + 1 + flavorSize + 1 + 1 + size + (parts.empty() ? 1 : 0));
    char *p = out.data() + start;
    const auto put = [&p](const char *data, qsizetype length) {
        if (length > 0)
            std::memcpy(p, data, size_t(length));
        p += length;
    };
    put(kCacheKeyVersion, versionSize);
    *p++ = '\n';
    put(flavorName, flavorSize);
    *p++ = '\n';
    *p++ = '{';
    for (size_t i = 0; i < parts.size(); ++i) {
        if (i > 0)
            *p++ = ',';
        put(parts[i].data(), parts[i].size());
    }
    *p++ = '}';
    Q_ASSERT(p == out.constData() + out.size());
}

} // namespace

bool isExcludedFromKey(const QString &member)
{
    for (QLatin1StringView name : kIgnored) {
        if (member == name)
            return true;
    }
    for (QLatin1StringView part : kCredentialParts) {
        if (member.contains(part, Qt::CaseInsensitive))
            return true;
    }
    return false;
}

bool isExcludedFromKey(QByteArrayView member)
{
    // Runs for every member of every request: ASCII names (all real ones) are lower-cased once
    // and searched as bytes; anything else takes the QString way, whose case folding is Unicode's
    // (K, the Kelvin sign, folds to `k`).
    char lower[64];
    if (member.size() > qsizetype(sizeof lower))
        return isExcludedFromKey(QString::fromUtf8(member));
    for (qsizetype i = 0; i < member.size(); ++i) {
        const auto c = static_cast<unsigned char>(member[i]);
        if (c >= 0x80)
            return isExcludedFromKey(QString::fromUtf8(member));
        lower[i] = char(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
    const std::string_view name(member.data(), size_t(member.size()));
    for (QLatin1StringView ignored : kIgnored) {
        if (name == std::string_view(ignored.data(), size_t(ignored.size())))
            return true;
    }
    const std::string_view folded(lower, size_t(member.size()));
    for (QLatin1StringView part : kCredentialParts) {
        if (folded.find(std::string_view(part.data(), size_t(part.size()))) !=
            std::string_view::npos)
            return true;
    }
    return false;
}

QByteArray canonicalRequest(api::Flavor flavor, const QJsonObject &requestBody,
                            const QString &routedModel)
{
    QByteArray out;
    out.reserve(256);
    writeHeader(out, flavor);
    const QLatin1StringView modelKey("model");
    writeMembers(
        out, requestBody, [](const QString &member) { return isExcludedFromKey(member); }, modelKey,
        routedModel.isEmpty() ? nullptr : &routedModel);
    return out;
}

QByteArray canonicalRequest(api::Flavor flavor, const api::CanonicalObject &members,
                            const QString &routedModel)
{
    QByteArray out;
    writeCanonical(out, flavor, members, routedModel);
    return out;
}

QByteArray canonicalRequest(api::Flavor flavor, const QByteArray &requestBody,
                            const QString &routedModel)
{
    if (const auto members = api::CanonicalObject::fromJson(requestBody))
        return canonicalRequest(flavor, *members, routedModel);
    // simdjson refused what Qt may tolerate (lone surrogates, integers beyond 64 bits): Qt decides,
    // as it did for every body before.
    return canonicalRequest(flavor, QJsonDocument::fromJson(requestBody).object(), routedModel);
}

QByteArray cacheKey(api::Flavor flavor, const QJsonObject &requestBody, const QString &routedModel)
{
    return sha256(canonicalRequest(flavor, requestBody, routedModel)).toHex();
}

QByteArray cacheKey(api::Flavor flavor, const api::CanonicalObject &members,
                    const QString &routedModel)
{
    // One buffer per thread: the canonical form of a coding agent's request is often 100 KB, and
    // only its hash is kept.
    thread_local QByteArray buffer;
    buffer.resize(0);
    writeCanonical(buffer, flavor, members, routedModel);
    QByteArray key = sha256(buffer).toHex();
    if (buffer.capacity() > 1024 * 1024)
        buffer = QByteArray(); // do not pin a rare huge request's memory in every worker
    return key;
}

QByteArray cacheKey(api::Flavor flavor, const QByteArray &requestBody, const QString &routedModel)
{
    if (const auto members = api::CanonicalObject::fromJson(requestBody))
        return cacheKey(flavor, *members, routedModel);
    return cacheKey(flavor, QJsonDocument::fromJson(requestBody).object(), routedModel);
}

} // namespace tollgate::cache
