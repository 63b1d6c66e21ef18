#pragma once

#include "common/expected.h"
#include "store/redisconnection.h"
#include "store/redisendpoint.h"
#include "store/redisreply.h"

#include <QByteArray>
#include <QList>
#include <QString>

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

namespace tollgate::store {

/// A Lua script for EVALSHA: its source and the SHA-1 Redis knows it by.
struct RedisScript {
    explicit RedisScript(QByteArray source);
    QByteArray source;
    QByteArray sha1; ///< lower-case hex
};

/// Redis for every thread of the process: a pool of RedisConnections, a timeout on every
/// command, and one shared view of whether Redis can be reached.
///
/// A caller borrows a connection for one call and gives it back, so no two threads ever use one
/// hiredis context, and the pool holds about as many connections as calls ever ran at once (the
/// worker count plus the stores' writer threads).
///
/// Outages: the first failed call marks Redis unreachable and logs it once. From then on calls
/// fail at once, without I/O, until a backoff has passed (minBackoffMs, doubling up to
/// maxBackoffMs); then a single caller probes with its call while the others keep failing fast.
/// The first call that works again ends the outage and logs that. So while Redis is down a
/// request pays at most one timeout per backoff period across the whole process, never one
/// each.
class RedisClient {
public:
    struct Options {
        RedisEndpoint endpoint;
        int timeoutMs = 50; ///< connect, and each command or pipeline
        int minBackoffMs = 100;
        int maxBackoffMs = 5000;
        int maxIdleConnections = 64;
    };

    struct Stats {
        quint64 calls = 0;     ///< commands and pipelines that reached Redis
        quint64 failures = 0;  ///< calls that failed on I/O (connect, timeout, reset)
        quint64 fastFails = 0; ///< calls refused without I/O during an outage
        quint64 outages = 0;   ///< times Redis became unreachable
    };

    explicit RedisClient(Options options);
    ~RedisClient();
    RedisClient(const RedisClient &) = delete;
    RedisClient &operator=(const RedisClient &) = delete;

    Expected<RedisReply> command(const RedisConnection::Command &command);
    /// The commands in one round trip, replies in order.
    Expected<QList<RedisReply>> pipeline(const QList<RedisConnection::Command> &commands);
    /// EVALSHA of `script`; on NOSCRIPT (a restarted or flushed server) loads it and runs it
    /// again, which is safe because a NOSCRIPT command did not run.
    Expected<RedisReply> eval(const RedisScript &script, const QList<QByteArray> &keys,
                              const QList<QByteArray> &args);
    /// Several runs of `script`, each {keys, args}, in one round trip (plus one to load the
    /// script when the server lacks it).
    Expected<QList<RedisReply>>
    evalPipeline(const RedisScript &script,
                 const QList<QPair<QList<QByteArray>, QList<QByteArray>>> &runs);

    /// False during an outage until the next probe is due: callers that have somewhere else to
    /// go (a local limiter, a cache miss) can skip the call entirely.
    bool isAvailable() const;
    /// False from a failed call until a call succeeds again (for /metrics: `tollgate_redis_up`).
    bool isReachable() const { return !m_down.load(std::memory_order_acquire); }
    Stats stats() const;
    /// "host:port/db", never the password.
    QString address() const { return m_options.endpoint.address(); }

private:
    /// A connection for one call, or the reason there is none (an outage in backoff, or a
    /// failed connect, which starts or extends the outage).
    Expected<std::unique_ptr<RedisConnection>> acquire(bool *reused, bool *probe);
    void giveBack(std::unique_ptr<RedisConnection> connection, quint64 generation);
    template <typename Result, typename Call> Expected<Result> run(const Call &call);
    void succeeded(bool probe);
    void failed(const Error &error, bool probe);
    static qint64 steadyNowMs();

    const Options m_options;

    std::mutex m_poolMutex;
    std::vector<std::unique_ptr<RedisConnection>> m_idle;
    /// Bumped when an outage starts: connections from before it are closed, not reused.
    std::atomic<quint64> m_generation{0};

    // The outage state. Written under m_stateMutex; the atomics let isAvailable() and the
    // success path of every call read it without the lock.
    mutable std::mutex m_stateMutex;
    std::atomic<bool> m_down{false};
    std::atomic<qint64> m_retryAtMs{0};
    bool m_probing = false;
    int m_backoffMs = 0;

    std::atomic<quint64> m_calls{0};
    std::atomic<quint64> m_failures{0};
    std::atomic<quint64> m_fastFails{0};
    std::atomic<quint64> m_outages{0};
};

} // namespace tollgate::store
