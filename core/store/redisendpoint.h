#pragma once

#include "common/expected.h"

#include <QByteArray>
#include <QString>

namespace tollgate::store {

/// Where a Redis server is and how to log in, from `redis://[[user]:password@]host[:port][/db]`.
/// The password is held only to send AUTH; address() and urlWithoutPassword() never show it.
struct RedisEndpoint {
    QString host = QStringLiteral("127.0.0.1");
    int port = 6379;
    int db = 0;
    QString username;    ///< Redis 6 ACL user; empty: the default user
    QByteArray password; ///< empty: no AUTH

    /// Reads a `redis://` URL. Refused: other schemes (`rediss://` needs TLS, which this client
    /// does not speak), a missing host, a port outside 1-65535, a path other than a database
    /// number, a query or fragment. Messages never repeat the URL, which may hold a password.
    static Expected<RedisEndpoint> parse(const QString &url);

    /// "host:port/db", for logs and errors.
    QString address() const;
    /// The URL with the user but without the password, for the effective policy.
    QString urlWithoutPassword() const;
};

} // namespace tollgate::store
