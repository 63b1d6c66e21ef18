#include "store/redisclient.h"

#include <QCryptographicHash>
#include <QtDebug>

#include <algorithm>
#include <chrono>

namespace tollgate::store {

RedisScript::RedisScript(QByteArray source_)
    : source(std::move(source_))
    , sha1(QCryptographicHash::hash(source, QCryptographicHash::Sha1).toHex())
{
}

RedisClient::RedisClient(Options options)
    : m_options(std::move(options))
{
}

RedisClient::~RedisClient() = default;

qint64 RedisClient::steadyNowMs()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

bool RedisClient::isAvailable() const
{
    return !m_down.load(std::memory_order_acquire) ||
           steadyNowMs() >= m_retryAtMs.load(std::memory_order_acquire);
}

RedisClient::Stats RedisClient::stats() const
{
    Stats s;
    s.calls = m_calls.load();
    s.failures = m_failures.load();
    s.fastFails = m_fastFails.load();
    s.outages = m_outages.load();
    return s;
}

Expected<std::unique_ptr<RedisConnection>> RedisClient::acquire(bool *reused, bool *probe)
{
    *reused = false;
    *probe = false;
    if (m_down.load(std::memory_order_acquire)) {
        std::lock_guard<std::mutex> lock(m_stateMutex);
        const qint64 now = steadyNowMs();
        if (m_down.load() && (m_probing || now < m_retryAtMs.load())) {
            ++m_fastFails;
            return Error(QStringLiteral("Redis at %1 is unreachable; the next attempt is in %2 ms")
                             .arg(address())
                             .arg(std::max<qint64>(0, m_retryAtMs.load() - now)));
        }
        if (m_down.load()) {
            m_probing = true;
            *probe = true;
        }
    }
    {
        std::lock_guard<std::mutex> lock(m_poolMutex);
        if (!m_idle.empty()) {
            std::unique_ptr<RedisConnection> connection = std::move(m_idle.back());
            m_idle.pop_back();
            *reused = true;
            Expected<std::unique_ptr<RedisConnection>> result(std::move(connection));
            return result;
        }
    }
    auto opened = RedisConnection::open(m_options.endpoint, m_options.timeoutMs);
    if (!opened)
        failed(opened.error(), *probe);
    return opened;
}

void RedisClient::giveBack(std::unique_ptr<RedisConnection> connection, quint64 generation)
{
    if (connection->broken() || generation != m_generation.load())
        return;
    std::lock_guard<std::mutex> lock(m_poolMutex);
    if (qsizetype(m_idle.size()) < m_options.maxIdleConnections)
        m_idle.push_back(std::move(connection));
}

void RedisClient::succeeded(bool probe)
{
    if (!probe && !m_down.load(std::memory_order_acquire))
        return;
    bool recovered = false;
    {
        std::lock_guard<std::mutex> lock(m_stateMutex);
        if (m_down.load()) {
            m_down.store(false, std::memory_order_release);
            m_backoffMs = 0;
            recovered = true;
        }
        if (probe)
            m_probing = false;
    }
    if (recovered)
        qWarning("tollgate: Redis at %s is reachable again; state is shared again",
                 qPrintable(address()));
}

void RedisClient::failed(const Error &error, bool probe)
{
    ++m_failures;
    bool started = false;
    {
        std::lock_guard<std::mutex> lock(m_stateMutex);
        if (!m_down.load()) {
            started = true;
            m_backoffMs = std::max(1, m_options.minBackoffMs);
            ++m_outages;
            ++m_generation;
            m_down.store(true, std::memory_order_release);
        } else if (probe) {
            m_backoffMs = std::min(m_backoffMs * 2, std::max(1, m_options.maxBackoffMs));
        }
        if (probe || started)
            m_retryAtMs.store(steadyNowMs() + m_backoffMs, std::memory_order_release);
        if (probe)
            m_probing = false;
    }
    if (!started)
        return;
    // The idle connections are most likely as dead as the one that failed; close them outside
    // the lock, and let the first call after the outage connect afresh.
    std::vector<std::unique_ptr<RedisConnection>> stale;
    {
        std::lock_guard<std::mutex> lock(m_poolMutex);
        stale.swap(m_idle);
    }
    qWarning("tollgate: Redis at %s is unreachable (%s); until it is back, rate limits are "
             "counted by each replica alone and the shared cache is skipped",
             qPrintable(address()), qPrintable(error.message));
}

template <typename Result, typename Call> Expected<Result> RedisClient::run(const Call &call)
{
    for (int attempt = 0;; ++attempt) {
        bool reused = false;
        bool probe = false;
        const quint64 generation = m_generation.load();
        auto connection = acquire(&reused, &probe);
        if (!connection)
            return connection.error();
        ++m_calls;
        Expected<Result> result = call(**connection);
        if (result) {
            giveBack(std::move(*connection), generation);
            succeeded(probe);
            return result;
        }
        // A pooled connection that the server closed while it sat idle (a restart, a client
        // timeout) failed before the call ran: send it once more on a fresh connection.
        if (attempt == 0 && reused && !probe && (*connection)->closedByServer())
            continue;
        failed(result.error(), probe);
        return Error(QStringLiteral("Redis at %1: %2").arg(address(), result.error().message));
    }
}

Expected<RedisReply> RedisClient::command(const RedisConnection::Command &command)
{
    return run<RedisReply>([&](RedisConnection &c) { return c.command(command); });
}

Expected<QList<RedisReply>> RedisClient::pipeline(const QList<RedisConnection::Command> &commands)
{
    if (commands.isEmpty())
        return QList<RedisReply>();
    return run<QList<RedisReply>>([&](RedisConnection &c) { return c.pipeline(commands); });
}

namespace {

RedisConnection::Command evalShaCommand(const RedisScript &script, const QList<QByteArray> &keys,
                                        const QList<QByteArray> &args)
{
    RedisConnection::Command command{QByteArrayLiteral("EVALSHA"), script.sha1,
                                     QByteArray::number(keys.size())};
    command += keys;
    command += args;
    return command;
}

} // namespace

Expected<RedisReply> RedisClient::eval(const RedisScript &script, const QList<QByteArray> &keys,
                                       const QList<QByteArray> &args)
{
    auto replies = evalPipeline(script, {{keys, args}});
    if (!replies)
        return replies.error();
    return replies->constFirst();
}

Expected<QList<RedisReply>>
RedisClient::evalPipeline(const RedisScript &script,
                          const QList<QPair<QList<QByteArray>, QList<QByteArray>>> &runs)
{
    QList<RedisConnection::Command> commands;
    commands.reserve(runs.size());
    for (const auto &run : runs)
        commands.append(evalShaCommand(script, run.first, run.second));
    auto replies = pipeline(commands);
    if (!replies)
        return replies;
    QList<qsizetype> missing;
    for (qsizetype i = 0; i < replies->size(); ++i) {
        if (replies->at(i).isErrorCode("NOSCRIPT"))
            missing.append(i);
    }
    if (missing.isEmpty())
        return replies;
    // The server lost its scripts (restart, SCRIPT FLUSH): load it and send those runs again.
    QList<RedisConnection::Command> again{
        {QByteArrayLiteral("SCRIPT"), QByteArrayLiteral("LOAD"), script.source}};
    for (qsizetype index : missing)
        again.append(commands.at(index));
    auto retried = pipeline(again);
    if (!retried)
        return retried.error();
    if (retried->constFirst().isError())
        return Error(QStringLiteral("Redis at %1 refused a script: %2")
                         .arg(address(), QString::fromUtf8(retried->constFirst().string)));
    for (qsizetype j = 0; j < missing.size(); ++j)
        (*replies)[missing.at(j)] = retried->at(j + 1);
    return replies;
}

} // namespace tollgate::store
