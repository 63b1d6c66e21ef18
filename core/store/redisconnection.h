#pragma once

#include "common/expected.h"
#include "store/redisendpoint.h"
#include "store/redisreply.h"

#include <QByteArray>
#include <QList>

#include <memory>

struct redisContext;

namespace tollgate::store {

/// One blocking hiredis connection with a timeout on connecting and on every command. Not
/// thread-safe: RedisClient lends each connection to one thread at a time.
///
/// After an I/O error the hiredis context is unusable, so the connection turns broken() and
/// every later call fails at once; its owner then drops it.
class RedisConnection {
public:
    /// A command as its arguments, each binary-safe: {"SET", key, value, "PX", "1000"}.
    using Command = QList<QByteArray>;

    /// Connects, then sends AUTH (when the endpoint has a password) and SELECT (db other than
    /// 0). Errors name the address, never the password.
    static Expected<std::unique_ptr<RedisConnection>> open(const RedisEndpoint &endpoint,
                                                           int timeoutMs);
    ~RedisConnection();
    RedisConnection(const RedisConnection &) = delete;
    RedisConnection &operator=(const RedisConnection &) = delete;

    /// Sends one command and waits for its reply (at most the timeout).
    Expected<RedisReply> command(const Command &command);
    /// Sends every command in one write and reads the replies in order: one round trip.
    Expected<QList<RedisReply>> pipeline(const QList<Command> &commands);

    bool broken() const { return m_broken; }
    /// The last I/O error was the server closing the connection (or resetting it), as it does
    /// to idle clients and when it restarts: a command sent on a fresh connection may work.
    bool closedByServer() const { return m_closedByServer; }

private:
    RedisConnection(redisContext *context, int timeoutMs);
    Error failure();

    redisContext *m_context;
    int m_timeoutMs;
    bool m_broken = false;
    bool m_closedByServer = false;
};

} // namespace tollgate::store
