#include "benchtarget.h"

#include <QUrl>

namespace tollgate::bench {

std::optional<BenchTarget> BenchTarget::parse(const QString &spec, QString *error)
{
    const qsizetype equals = spec.indexOf(QLatin1Char('='));
    if (equals <= 0) {
        *error = QStringLiteral("--target %1: expected name=http://127.0.0.1:PORT").arg(spec);
        return std::nullopt;
    }
    const QUrl url(spec.mid(equals + 1), QUrl::StrictMode);
    if (!url.isValid() || url.scheme() != QLatin1String("http") ||
        url.host() != QLatin1String("127.0.0.1") || url.port() <= 0 ||
        (!url.path().isEmpty() && url.path() != QLatin1String("/"))) {
        *error = QStringLiteral("--target %1: only http://127.0.0.1:PORT (no path) is allowed")
                     .arg(spec);
        return std::nullopt;
    }
    BenchTarget target;
    target.name = spec.left(equals);
    target.port = quint16(url.port());
    target.hostHeader = "127.0.0.1:" + QByteArray::number(target.port);
    return target;
}

} // namespace tollgate::bench
