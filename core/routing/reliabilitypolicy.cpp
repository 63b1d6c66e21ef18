#include "routing/reliabilitypolicy.h"

#include <QJsonArray>
#include <QStringList>

#include <optional>
#include <utility>

namespace tollgate::routing {

namespace {

constexpr QLatin1String kRetries("retries");
constexpr QLatin1String kBreakers("breakers");

/// Reads the fields of one section, collecting every problem instead of stopping at the first,
/// so an operator fixes a policy in one pass.
class SectionReader {
public:
    SectionReader(const QJsonObject &section, QString path, QList<Error> *problems)
        : m_section(section)
        , m_path(std::move(path))
        , m_problems(problems)
    {
    }

    /// True when `key` is present and its value is a valid integer >= minimum.
    bool integer(const QString &key, int *target, int minimum)
    {
        const QJsonValue value = take(key);
        if (value.isUndefined())
            return false;
        const double number = value.toDouble();
        if (!value.isDouble() || number != double(qint64(number)) || number < minimum ||
            number > 2147483647.0) {
            problem(key, QStringLiteral("expected an integer >= %1").arg(minimum));
            return false;
        }
        *target = int(number);
        return true;
    }

    void number(const QString &key, double *target, double low, bool lowInclusive, double high,
                const QString &expected)
    {
        const QJsonValue value = take(key);
        if (value.isUndefined())
            return;
        const double number = value.toDouble();
        if (!value.isDouble() || (lowInclusive ? number < low : number <= low) || number > high) {
            problem(key, expected);
            return;
        }
        *target = number;
    }

    void boolean(const QString &key, bool *target)
    {
        const QJsonValue value = take(key);
        if (value.isUndefined())
            return;
        if (!value.isBool()) {
            problem(key, QStringLiteral("expected true or false"));
            return;
        }
        *target = value.toBool();
    }

    void statuses(const QString &key, QList<int> *target)
    {
        const QJsonValue value = take(key);
        if (value.isUndefined())
            return;
        if (!value.isArray()) {
            problem(key, QStringLiteral("expected an array of HTTP statuses"));
            return;
        }
        const QJsonArray array = value.toArray();
        QList<int> parsed;
        bool valid = true;
        for (qsizetype i = 0; i < array.size(); ++i) {
            const QString element = QStringLiteral("%1[%2]").arg(key).arg(i);
            const double number = array.at(i).toDouble();
            if (!array.at(i).isDouble() || number < 400 || number > 599 ||
                number != double(int(number))) {
                problem(element, QStringLiteral("expected an HTTP status from 400 to 599"));
                valid = false;
            } else if (isNeverRetried(int(number))) {
                // decideRetry would ignore it anyway; saying so beats a silent no-op.
                problem(element, QStringLiteral("%1 is never retried: the request or its "
                                                "credential would be wrong for every target")
                                     .arg(int(number)));
                valid = false;
            } else {
                parsed.append(int(number));
            }
        }
        if (valid)
            *target = parsed;
    }

    void problem(const QString &key, const QString &message)
    {
        m_problems->append(Error(message, m_path + QLatin1Char('.') + key));
    }

    /// Reports the keys no reader asked for.
    void finish()
    {
        QStringList unknown = m_section.keys();
        for (const QString &key : unknown) {
            if (!m_known.contains(key))
                problem(key, QStringLiteral("unknown setting"));
        }
    }

private:
    QJsonValue take(const QString &key)
    {
        m_known.append(key);
        return m_section.value(key);
    }

    QJsonObject m_section;
    QString m_path;
    QList<Error> *m_problems;
    QStringList m_known;
};

/// The section at `key`, or nullopt (with a problem when it is there but not an object).
std::optional<QJsonObject> section(const QJsonObject &document, QLatin1String key,
                                   QList<Error> *problems)
{
    const QJsonValue value = document.value(key);
    if (value.isUndefined())
        return std::nullopt;
    if (!value.isObject()) {
        problems->append(Error(QStringLiteral("expected an object"), QString(key)));
        return std::nullopt;
    }
    return value.toObject();
}

void readRetries(const QJsonObject &object, RetryPolicy *retries, QList<Error> *problems)
{
    SectionReader reader(object, kRetries, problems);
    reader.integer(QStringLiteral("max_attempts"), &retries->maxAttempts, 1);
    const bool baseOk = reader.integer(QStringLiteral("base_delay_ms"), &retries->baseDelayMs, 0);
    const bool maxOk = reader.integer(QStringLiteral("max_delay_ms"), &retries->maxDelayMs, 0);
    // Compared only when both are readable, or one typo would be reported twice; and reported
    // at a field the operator wrote, not at a default they never saw.
    const bool hasMax = object.contains(QStringLiteral("max_delay_ms"));
    const bool hasBase = object.contains(QStringLiteral("base_delay_ms"));
    if ((baseOk || !hasBase) && (maxOk || !hasMax) && retries->maxDelayMs < retries->baseDelayMs) {
        if (hasMax)
            reader.problem(QStringLiteral("max_delay_ms"),
                           QStringLiteral("expected an integer >= base_delay_ms (%1)")
                               .arg(retries->baseDelayMs));
        else
            reader.problem(QStringLiteral("base_delay_ms"),
                           QStringLiteral("expected an integer <= max_delay_ms (%1)")
                               .arg(retries->maxDelayMs));
    }
    reader.number(QStringLiteral("jitter"), &retries->jitter, 0, true, 1,
                  QStringLiteral("expected a number from 0 to 1"));
    reader.integer(QStringLiteral("deadline_ms"), &retries->deadlineMs, 1);
    reader.statuses(QStringLiteral("retry_on"), &retries->retryOn);
    reader.boolean(QStringLiteral("honour_retry_after"), &retries->honourRetryAfter);
    reader.finish();
}

void readBreakers(const QJsonObject &object, BreakerPolicy *breakers, QList<Error> *problems)
{
    SectionReader reader(object, kBreakers, problems);
    reader.integer(QStringLiteral("consecutive_failures"), &breakers->consecutiveFailures, 1);
    reader.number(QStringLiteral("error_rate"), &breakers->errorRate, 0, false, 1,
                  QStringLiteral("expected a number > 0 and <= 1"));
    reader.integer(QStringLiteral("window_ms"), &breakers->windowMs, 1);
    reader.integer(QStringLiteral("min_requests"), &breakers->minRequests, 1);
    reader.integer(QStringLiteral("cooldown_ms"), &breakers->cooldownMs, 1);
    reader.integer(QStringLiteral("half_open_probes"), &breakers->halfOpenProbes, 1);
    reader.finish();
}

ReliabilityPolicy parse(const QJsonObject &document, QList<Error> *problems)
{
    ReliabilityPolicy policy = ReliabilityPolicy::reference();
    if (auto retries = section(document, kRetries, problems))
        readRetries(*retries, &policy.retries, problems);
    if (auto breakers = section(document, kBreakers, problems))
        readBreakers(*breakers, &policy.breakers, problems);
    return policy;
}

} // namespace

ReliabilityPolicy ReliabilityPolicy::reference()
{
    // The member initializers of RetryPolicy and BreakerPolicy are the reference values.
    return ReliabilityPolicy{};
}

Expected<ReliabilityPolicy> ReliabilityPolicy::fromJson(const QJsonObject &document)
{
    QList<Error> problems;
    ReliabilityPolicy policy = parse(document, &problems);
    if (problems.isEmpty())
        return policy;
    QStringList lines;
    for (const Error &problem : problems)
        lines.append(problem.toString());
    return Error(lines.join(QLatin1Char('\n')));
}

QList<Error> ReliabilityPolicy::validate(const QJsonObject &document)
{
    QList<Error> problems;
    parse(document, &problems);
    return problems;
}

QJsonObject ReliabilityPolicy::toJson() const
{
    QJsonArray retryOn;
    for (int status : retries.retryOn)
        retryOn.append(status);
    const QJsonObject retriesObject{
        {QStringLiteral("max_attempts"), retries.maxAttempts},
        {QStringLiteral("base_delay_ms"), retries.baseDelayMs},
        {QStringLiteral("max_delay_ms"), retries.maxDelayMs},
        {QStringLiteral("jitter"), retries.jitter},
        {QStringLiteral("deadline_ms"), retries.deadlineMs},
        {QStringLiteral("retry_on"), retryOn},
        {QStringLiteral("honour_retry_after"), retries.honourRetryAfter},
    };
    const QJsonObject breakersObject{
        {QStringLiteral("consecutive_failures"), breakers.consecutiveFailures},
        {QStringLiteral("error_rate"), breakers.errorRate},
        {QStringLiteral("window_ms"), breakers.windowMs},
        {QStringLiteral("min_requests"), breakers.minRequests},
        {QStringLiteral("cooldown_ms"), breakers.cooldownMs},
        {QStringLiteral("half_open_probes"), breakers.halfOpenProbes},
    };
    return QJsonObject{{QString(kRetries), retriesObject}, {QString(kBreakers), breakersObject}};
}

} // namespace tollgate::routing
