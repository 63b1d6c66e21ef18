#include "store/redisendpoint.h"

#include <QUrl>

#include <limits>

namespace tollgate::store {

Expected<RedisEndpoint> RedisEndpoint::parse(const QString &url)
{
    const QUrl parsed(url, QUrl::StrictMode);
    if (!parsed.isValid() || parsed.scheme().isEmpty())
        return Error(QStringLiteral("expected a URL redis://[:password@]host:port[/db]"));
    if (parsed.scheme() == QLatin1String("rediss"))
        return Error(QStringLiteral("rediss:// (TLS) is not supported; use redis:// on a private "
                                    "network or a TLS sidecar"));
    if (parsed.scheme() != QLatin1String("redis"))
        return Error(QStringLiteral("expected the scheme redis://"));
    if (parsed.host().isEmpty())
        return Error(QStringLiteral("the URL names no host"));
    if (parsed.hasQuery() || parsed.hasFragment())
        return Error(QStringLiteral("expected no query or fragment in the URL"));

    RedisEndpoint endpoint;
    endpoint.host = parsed.host();
    const int port = parsed.port(6379);
    if (port < 1 || port > 65535)
        return Error(QStringLiteral("expected a port from 1 to 65535"));
    endpoint.port = port;
    QString path = parsed.path();
    if (path.startsWith(QLatin1Char('/')))
        path.remove(0, 1);
    if (!path.isEmpty()) {
        bool numeric = false;
        const qint64 db = path.toLongLong(&numeric);
        if (!numeric || db < 0 || db > std::numeric_limits<int>::max() ||
            path.contains(QLatin1Char('+')))
            return Error(QStringLiteral("expected a database number after the host, e.g. /0"));
        endpoint.db = int(db);
    }
    endpoint.username = parsed.userName(QUrl::FullyDecoded);
    endpoint.password = parsed.password(QUrl::FullyDecoded).toUtf8();
    return endpoint;
}

QString RedisEndpoint::address() const
{
    const QString shownHost =
        host.contains(QLatin1Char(':')) ? QLatin1Char('[') + host + QLatin1Char(']') : host;
    return QStringLiteral("%1:%2/%3").arg(shownHost).arg(port).arg(db);
}

QString RedisEndpoint::urlWithoutPassword() const
{
    QUrl url;
    url.setScheme(QStringLiteral("redis"));
    url.setHost(host);
    url.setPort(port);
    url.setPath(QLatin1Char('/') + QString::number(db));
    if (!username.isEmpty())
        url.setUserName(username);
    return url.toString();
}

} // namespace tollgate::store
