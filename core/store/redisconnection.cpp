#include "store/redisconnection.h"

#include <hiredis/hiredis.h>

#include <cerrno>
#include <optional>
#include <vector>

namespace tollgate::store {

namespace {

timeval toTimeval(int ms)
{
    timeval tv{};
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}

RedisReply convert(const redisReply *reply)
{
    RedisReply out;
    switch (reply->type) {
    case REDIS_REPLY_INTEGER:
        out.type = RedisReply::Type::Integer;
        out.integer = reply->integer;
        break;
    case REDIS_REPLY_STRING:
        out.type = RedisReply::Type::String;
        out.string = QByteArray(reply->str, qsizetype(reply->len));
        break;
    case REDIS_REPLY_STATUS:
        out.type = RedisReply::Type::Status;
        out.string = QByteArray(reply->str, qsizetype(reply->len));
        break;
    case REDIS_REPLY_ERROR:
        out.type = RedisReply::Type::Error;
        out.string = QByteArray(reply->str, qsizetype(reply->len));
        break;
    case REDIS_REPLY_ARRAY:
        out.type = RedisReply::Type::Array;
        out.elements.reserve(qsizetype(reply->elements));
        for (size_t i = 0; i < reply->elements; ++i)
            out.elements.append(convert(reply->element[i]));
        break;
    default: out.type = RedisReply::Type::Nil; break;
    }
    return out;
}

/// hiredis wants parallel arrays of pointers and lengths.
struct Argv {
    explicit Argv(const RedisConnection::Command &command)
    {
        pointers.reserve(size_t(command.size()));
        lengths.reserve(size_t(command.size()));
        for (const QByteArray &argument : command) {
            pointers.push_back(argument.constData());
            lengths.push_back(size_t(argument.size()));
        }
    }
    std::vector<const char *> pointers;
    std::vector<size_t> lengths;
};

QString redact(QString text, const QByteArray &password)
{
    // Redis does not echo passwords today; this keeps it that way whatever a server says.
    if (!password.isEmpty())
        text.replace(QString::fromUtf8(password), QStringLiteral("***"));
    return text;
}

} // namespace

RedisConnection::RedisConnection(redisContext *context, int timeoutMs)
    : m_context(context)
    , m_timeoutMs(timeoutMs)
{
}

RedisConnection::~RedisConnection()
{
    redisFree(m_context);
}

Expected<std::unique_ptr<RedisConnection>> RedisConnection::open(const RedisEndpoint &endpoint,
                                                                 int timeoutMs)
{
    const QByteArray host = endpoint.host.toUtf8();
    redisContext *context =
        redisConnectWithTimeout(host.constData(), endpoint.port, toTimeval(timeoutMs));
    if (!context)
        return Error(
            QStringLiteral("cannot connect to Redis at %1: out of memory").arg(endpoint.address()));
    if (context->err) {
        const bool timedOut = context->err == REDIS_ERR_IO &&
                              (errno == EINPROGRESS || errno == EAGAIN || errno == ETIMEDOUT);
        const QString reason = timedOut ? QStringLiteral("no answer within %1 ms").arg(timeoutMs)
                                        : QString::fromUtf8(context->errstr);
        redisFree(context);
        return Error(
            QStringLiteral("cannot connect to Redis at %1: %2").arg(endpoint.address(), reason));
    }
    redisSetTimeout(context, toTimeval(timeoutMs));
    // Notices a server that vanished without a FIN (a node lost) on an idle pooled connection.
    redisEnableKeepAlive(context);
    std::unique_ptr<RedisConnection> connection(new RedisConnection(context, timeoutMs));

    auto login = [&](const Command &command, const char *what) -> std::optional<Error> {
        Expected<RedisReply> reply = connection->command(command);
        if (!reply)
            return Error(QStringLiteral("cannot %1 on Redis at %2: %3")
                             .arg(QLatin1String(what), endpoint.address(),
                                  redact(reply.error().message, endpoint.password)));
        if (reply->isError())
            return Error(QStringLiteral("cannot %1 on Redis at %2: %3")
                             .arg(QLatin1String(what), endpoint.address(),
                                  redact(QString::fromUtf8(reply->string), endpoint.password)));
        return std::nullopt;
    };
    if (!endpoint.password.isEmpty()) {
        Command auth{QByteArrayLiteral("AUTH")};
        if (!endpoint.username.isEmpty())
            auth.append(endpoint.username.toUtf8());
        auth.append(endpoint.password);
        if (auto error = login(auth, "log in"))
            return *error;
    }
    if (endpoint.db != 0) {
        if (auto error = login({QByteArrayLiteral("SELECT"), QByteArray::number(endpoint.db)},
                               "select the database"))
            return *error;
    }
    Expected<std::unique_ptr<RedisConnection>> result(std::move(connection));
    return result;
}

Error RedisConnection::failure()
{
    // Read errno before anything else can change it.
    const int savedErrno = errno;
    m_broken = true;
    m_closedByServer =
        m_context->err == REDIS_ERR_EOF ||
        (m_context->err == REDIS_ERR_IO && (savedErrno == ECONNRESET || savedErrno == EPIPE));
    if (m_context->err == REDIS_ERR_IO && (savedErrno == EAGAIN || savedErrno == EWOULDBLOCK))
        return Error(QStringLiteral("no answer within %1 ms").arg(m_timeoutMs));
    if (m_context->err == 0)
        return Error(QStringLiteral("the connection failed"));
    return Error(QString::fromUtf8(m_context->errstr));
}

Expected<RedisReply> RedisConnection::command(const Command &command)
{
    if (m_broken)
        return Error(QStringLiteral("the connection is broken"));
    Argv argv(command);
    errno = 0;
    auto *reply = static_cast<redisReply *>(redisCommandArgv(
        m_context, int(argv.pointers.size()), argv.pointers.data(), argv.lengths.data()));
    if (!reply)
        return failure();
    RedisReply out = convert(reply);
    freeReplyObject(reply);
    return out;
}

Expected<QList<RedisReply>> RedisConnection::pipeline(const QList<Command> &commands)
{
    if (m_broken)
        return Error(QStringLiteral("the connection is broken"));
    errno = 0;
    for (const Command &command : commands) {
        Argv argv(command);
        if (redisAppendCommandArgv(m_context, int(argv.pointers.size()), argv.pointers.data(),
                                   argv.lengths.data()) != REDIS_OK)
            return failure();
    }
    QList<RedisReply> replies;
    replies.reserve(commands.size());
    for (qsizetype i = 0; i < commands.size(); ++i) {
        void *raw = nullptr;
        if (redisGetReply(m_context, &raw) != REDIS_OK || !raw)
            return failure();
        auto *reply = static_cast<redisReply *>(raw);
        replies.append(convert(reply));
        freeReplyObject(reply);
    }
    return replies;
}

} // namespace tollgate::store
