#include "limits/admission.h"

#include <algorithm>

namespace tollgate::limits {

QByteArray formatResetDuration(qint64 ms)
{
    // Rounded up, so a client that waits this long finds the window reset.
    const qint64 seconds = (std::max<qint64>(0, ms) + 999) / 1000;
    const qint64 hours = seconds / 3600;
    const qint64 minutes = seconds % 3600 / 60;
    const qint64 rest = seconds % 60;
    QByteArray text;
    if (hours > 0)
        text += QByteArray::number(hours) + 'h';
    if (hours > 0 || minutes > 0)
        text += QByteArray::number(minutes) + 'm';
    text += QByteArray::number(rest) + 's';
    return text;
}

http::HeaderList rateLimitHeaders(const Admission &admission, qint64 nowMs)
{
    http::HeaderList headers;
    if (admission.requests.limit > 0) {
        headers.append({QByteArrayLiteral("x-ratelimit-limit-requests"),
                        QByteArray::number(admission.requests.limit)});
        headers.append({QByteArrayLiteral("x-ratelimit-remaining-requests"),
                        QByteArray::number(admission.requests.remaining)});
        headers.append({QByteArrayLiteral("x-ratelimit-reset-requests"),
                        formatResetDuration(admission.requests.resetAtMs - nowMs)});
    }
    if (!admission.allowed) {
        headers.append(
            {QByteArrayLiteral("retry-after"), QByteArray::number(admission.retryAfterSeconds)});
        // The 429 message is fixed, so this header is how a caller learns which limit it hit.
        headers.append({QByteArrayLiteral("x-tollgate-rate-limit"),
                        QByteArray(admission.limitName.data(), admission.limitName.size())});
    }
    return headers;
}

} // namespace tollgate::limits
