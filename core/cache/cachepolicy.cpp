#include "cache/cachepolicy.h"

#include <QStringList>

#include <algorithm>
#include <cmath>

namespace tollgate::cache {

namespace {

QLatin1StringView lit(const char *text)
{
    return QLatin1StringView(text);
}

QString childPath(const QString &path, const QString &key)
{
    return path.isEmpty() ? key : path + QLatin1Char('.') + key;
}

// An integer in [minimum, maximum]; JSON has only doubles, so 3600.0 counts and 3600.5 does not.
std::optional<qint64> integerIn(const QJsonValue &value, qint64 minimum, qint64 maximum)
{
    if (!value.isDouble())
        return std::nullopt;
    const double number = value.toDouble();
    if (!std::isfinite(number) || std::floor(number) != number || number < double(minimum) ||
        number > double(maximum))
        return std::nullopt;
    return qint64(number);
}

// Parses into `policy` and collects every problem rather than stopping at the first, so one
// round of editing fixes the whole section.
QList<Error> parse(const QJsonValue &value, const QString &path, CachePolicy &policy)
{
    QList<Error> problems;
    if (value.isUndefined() || value.isNull())
        return problems;
    if (!value.isObject()) {
        problems.append(Error(QStringLiteral("expected an object"), path));
        return problems;
    }
    const QJsonObject object = value.toObject();
    // 1 TiB: far above any machine's memory, and well inside qint64 and double precision.
    constexpr qint64 kMaxBytes = 1LL << 40;
    for (auto it = object.begin(); it != object.end(); ++it) {
        const QString key = it.key();
        const QString at = childPath(path, key);
        const QJsonValue member = it.value();
        if (key == lit("enabled") || key == lit("persistent")) {
            if (!member.isBool()) {
                problems.append(Error(QStringLiteral("expected true or false"), at));
                continue;
            }
            (key == lit("enabled") ? policy.enabled : policy.persistent) = member.toBool();
        } else if (key == lit("ttl_seconds")) {
            const std::optional<qint64> ttl = integerIn(member, 1, kMaxTtlSeconds);
            if (!ttl)
                problems.append(
                    Error(QStringLiteral("expected whole seconds from 1 to %1 (to turn caching "
                                         "off, set enabled to false)")
                              .arg(kMaxTtlSeconds),
                          at));
            else
                policy.ttlSeconds = *ttl;
        } else if (key == lit("max_bytes") || key == lit("max_entry_bytes")) {
            const std::optional<qint64> bytes = integerIn(member, 1, kMaxBytes);
            if (!bytes)
                problems.append(
                    Error(QStringLiteral("expected a byte count from 1 to %1").arg(kMaxBytes), at));
            else
                (key == lit("max_bytes") ? policy.maxBytes : policy.maxEntryBytes) = *bytes;
        } else {
            problems.append(Error(QStringLiteral("unknown setting"), at));
        }
    }
    // Checked only when both numbers are themselves valid, so one mistake is reported once.
    const auto valid = [&](const char *key) {
        for (const Error &e : problems) {
            if (e.path == childPath(path, lit(key)))
                return false;
        }
        return true;
    };
    if (valid("max_bytes") && valid("max_entry_bytes") && policy.maxEntryBytes > policy.maxBytes)
        problems.append(Error(QStringLiteral("must not exceed max_bytes (%1)").arg(policy.maxBytes),
                              childPath(path, lit("max_entry_bytes"))));
    return problems;
}

} // namespace

CacheDirective parseDirective(const http::HeaderList &headers)
{
    CacheDirective directive;
    QStringList problems;
    for (const auto &[name, value] : headers) {
        if (name == "x-tollgate-cache") {
            for (const QByteArray &part : value.split(',')) {
                const QByteArray token = part.trimmed().toLower();
                if (token == "no-cache") {
                    directive.read = false;
                } else if (token == "no-store") {
                    directive.read = false;
                    directive.write = false;
                } else if (!token.isEmpty()) {
                    problems.append(QStringLiteral("x-tollgate-cache: unknown value \"%1\"")
                                        .arg(QString::fromLatin1(part.trimmed())));
                }
            }
        } else if (name == "x-tollgate-cache-ttl") {
            const QByteArray text = value.trimmed();
            bool ok = false;
            const qint64 seconds = text.toLongLong(&ok);
            // Digits only: "+5", "0x10" and "1e3" are not what a person means by seconds.
            const bool digitsOnly =
                !text.isEmpty() &&
                std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
            if (!ok || !digitsOnly || seconds > kMaxTtlSeconds) {
                problems.append(
                    QStringLiteral("x-tollgate-cache-ttl: expected whole seconds from 0 to %1, "
                                   "got \"%2\"")
                        .arg(kMaxTtlSeconds)
                        .arg(QString::fromLatin1(text)));
                continue;
            }
            directive.ttlSeconds = seconds;
        }
    }
    if (directive.ttlSeconds == 0)
        directive.write = false;
    directive.problem = problems.join(QStringLiteral("; "));
    return directive;
}

const char *cacheOutcomeName(CacheOutcome outcome)
{
    switch (outcome) {
    case CacheOutcome::Hit: return "hit";
    case CacheOutcome::Miss: return "miss";
    case CacheOutcome::Bypass: return "bypass";
    }
    return "bypass";
}

Expected<CachePolicy> CachePolicy::fromJson(const QJsonValue &value, const QString &path)
{
    CachePolicy policy;
    const QList<Error> problems = parse(value, path, policy);
    if (problems.isEmpty())
        return policy;
    if (problems.size() == 1)
        return problems.first();
    QStringList lines;
    for (const Error &e : problems)
        lines.append(e.toString());
    return Error(lines.join(QStringLiteral("; ")));
}

QList<Error> CachePolicy::validate(const QJsonValue &value, const QString &path)
{
    CachePolicy ignored;
    return parse(value, path, ignored);
}

QJsonObject CachePolicy::toJson() const
{
    return QJsonObject{
        {lit("enabled"), enabled},
        {lit("ttl_seconds"), ttlSeconds},
        {lit("max_bytes"), maxBytes},
        {lit("persistent"), persistent},
        {lit("max_entry_bytes"), maxEntryBytes},
    };
}

qint64 CachePolicy::ttlMs(const CacheDirective &directive) const
{
    return directive.ttlSeconds.value_or(ttlSeconds) * 1000;
}

} // namespace tollgate::cache
