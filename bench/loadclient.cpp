#include "loadclient.h"

#include <QList>

#include <http_parser.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

namespace tollgate::bench {

namespace {

constexpr qint64 kMs = 1'000'000;
constexpr qsizetype kMaxKeptBody = 64 * 1024;
constexpr int kMaxEvents = 256;

struct ParserCallbacks {
    int (*headerField)(http_parser *, const char *, size_t);
    int (*headerValue)(http_parser *, const char *, size_t);
    int (*headersComplete)(http_parser *);
    int (*body)(http_parser *, const char *, size_t);
    int (*messageComplete)(http_parser *);
};

const http_parser_settings &parserSettings(const ParserCallbacks &callbacks)
{
    static const http_parser_settings settings = [&] {
        http_parser_settings s;
        http_parser_settings_init(&s);
        s.on_header_field = callbacks.headerField;
        s.on_header_value = callbacks.headerValue;
        s.on_headers_complete = callbacks.headersComplete;
        s.on_body = callbacks.body;
        s.on_message_complete = callbacks.messageComplete;
        return s;
    }();
    return settings;
}

// `gateway;dur=0.123, upstream;dur=4.5` -> 0.123 (the gateway's own milliseconds); -1 if absent.
double gatewayServerTiming(const QByteArray &value)
{
    for (const QByteArray &metric : value.split(',')) {
        const QByteArray trimmed = metric.trimmed();
        if (!trimmed.startsWith("gateway;"))
            continue;
        const qsizetype at = trimmed.indexOf("dur=");
        bool ok = false;
        const double ms = at < 0 ? -1 : trimmed.mid(at + 4).toDouble(&ok);
        return ok ? ms : -1;
    }
    return -1;
}

} // namespace

struct LoadClient::Connection {
    enum class State { Connecting, Idle, Busy };

    int fd = -1;
    int target = 0;
    State state = State::Connecting;
    bool writeInterest = false;
    qint64 connectStartNs = 0;
    http_parser parser{};
    QByteArray out;
    qsizetype written = 0;
    qint64 slot = -1; ///< schedule slot of the request in flight
    RequestOutcome outcome;
    qint64 readNs = 0; ///< when the bytes being parsed were read
    QByteArray body;
    QByteArray headerName;  ///< of the header being parsed, lower-case
    QByteArray headerValue; ///< of a header the benchmark reads, as far as it arrived
    bool lastWasValue = false;
    bool messageDone = false;
    bool keepAlive = true;
};

LoadClient::LoadClient(std::vector<BenchTarget> targets, RequestBuilder builder, Options options)
    : m_targets(std::move(targets))
    , m_builder(builder)
    , m_marker(builder.expectedMarker())
    , m_options(options)
    , m_state(m_targets.size())
{
}

LoadClient::~LoadClient()
{
    closeAll();
    if (m_timer >= 0)
        ::close(m_timer);
    if (m_epoll >= 0)
        ::close(m_epoll);
}

qint64 LoadClient::nowNs()
{
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return qint64(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

bool LoadClient::init(QString *error)
{
    m_epoll = ::epoll_create1(EPOLL_CLOEXEC);
    m_timer = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (m_epoll < 0 || m_timer < 0) {
        *error = QStringLiteral("epoll/timerfd: %1").arg(QString::fromLocal8Bit(strerror(errno)));
        return false;
    }
    // The default 50 us timer slack would delay every scheduled send by up to that much.
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = nullptr; // the timer; connections carry their own pointer
    ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_timer, &event);
    // Prompts must differ from any earlier run against the same long-lived gateway (cache).
    m_seq = quint64(nowNs() / 1000);
    return true;
}

bool LoadClient::preconnect(int perTarget, QString *error)
{
    for (int target = 0; target < int(m_targets.size()); ++target) {
        for (int i = 0; i < perTarget; ++i) {
            if (!openConnection(target)) {
                *error = QStringLiteral("cannot open a socket to %1").arg(m_targets[target].name);
                return false;
            }
        }
    }
    const qint64 deadline = nowNs() + m_options.timeoutNs;
    m_mode = Mode::None;
    for (;;) {
        bool pending = false;
        for (const TargetState &state : m_state)
            pending = pending || state.connecting > 0;
        if (!pending)
            break;
        if (nowNs() > deadline) {
            *error = QStringLiteral("connecting to the targets timed out");
            return false;
        }
        poll(50);
    }
    for (int target = 0; target < int(m_targets.size()); ++target) {
        if (m_state[target].open < perTarget) {
            *error = QStringLiteral("%1 (127.0.0.1:%2) refused connections")
                         .arg(m_targets[target].name)
                         .arg(m_targets[target].port);
            return false;
        }
    }
    return true;
}

LoadClient::Connection *LoadClient::openConnection(int target)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return nullptr;
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(m_targets[target].port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int rc = ::connect(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address);
    if (rc != 0 && errno != EINPROGRESS) {
        ::close(fd);
        return nullptr;
    }
    auto connection = std::make_unique<Connection>();
    Connection *c = connection.get();
    c->fd = fd;
    c->target = target;
    c->connectStartNs = nowNs();
    c->writeInterest = true;
    epoll_event event{};
    // Connecting: writability reports the end of the handshake, success or not.
    event.events = EPOLLIN | EPOLLOUT;
    event.data.ptr = c;
    ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &event);
    m_connections.push_back(std::move(connection));
    ++m_connectionsOpened;
    ++m_state[target].open;
    ++m_state[target].connecting;
    return c;
}

void LoadClient::closeConnection(Connection *c)
{
    if (c->fd < 0)
        return;
    ::epoll_ctl(m_epoll, EPOLL_CTL_DEL, c->fd, nullptr);
    ::close(c->fd);
    c->fd = -1;
    TargetState &state = m_state[c->target];
    --state.open;
    if (c->state == Connection::State::Connecting)
        --state.connecting;
    state.idle.erase(std::remove(state.idle.begin(), state.idle.end(), c), state.idle.end());
    // Events for it may still be queued in this batch: free it after the batch.
    auto owned = std::find_if(m_connections.begin(), m_connections.end(),
                              [c](const auto &item) { return item.get() == c; });
    if (owned != m_connections.end()) {
        m_closed.push_back(std::move(*owned));
        *owned = std::move(m_connections.back());
        m_connections.pop_back();
    }
}

void LoadClient::closeAll()
{
    while (!m_connections.empty())
        closeConnection(m_connections.back().get());
    m_closed.clear();
    for (TargetState &state : m_state)
        state = TargetState();
}

void LoadClient::setWriteInterest(Connection *c, bool on)
{
    if (c->writeInterest == on)
        return;
    c->writeInterest = on;
    epoll_event event{};
    event.events = EPOLLIN | (on ? EPOLLOUT : 0u);
    event.data.ptr = c;
    ::epoll_ctl(m_epoll, EPOLL_CTL_MOD, c->fd, &event);
}

void LoadClient::armTimer(qint64 atNs)
{
    if (atNs == m_armedNs)
        return;
    m_armedNs = atNs;
    itimerspec spec{};
    spec.it_value.tv_sec = time_t(atNs / 1'000'000'000);
    spec.it_value.tv_nsec = long(atNs % 1'000'000'000);
    ::timerfd_settime(m_timer, TFD_TIMER_ABSTIME, &spec, nullptr);
}

void LoadClient::poll(int timeoutMs)
{
    epoll_event events[kMaxEvents];
    const int count = ::epoll_wait(m_epoll, events, kMaxEvents, timeoutMs);
    for (int i = 0; i < count; ++i) {
        auto *c = static_cast<Connection *>(events[i].data.ptr);
        if (!c) {
            quint64 expirations = 0;
            [[maybe_unused]] const ssize_t got = ::read(m_timer, &expirations, sizeof expirations);
            m_armedNs = -1;
            continue;
        }
        if (c->fd < 0)
            continue; // closed earlier in this batch
        const uint32_t flags = events[i].events;
        if (c->state == Connection::State::Connecting || (flags & EPOLLOUT))
            onWritable(c);
        if (c->fd >= 0 && c->state != Connection::State::Connecting &&
            (flags & (EPOLLIN | EPOLLHUP | EPOLLERR)))
            onReadable(c);
    }
    m_closed.clear();
}

void LoadClient::onWritable(Connection *c)
{
    if (c->state == Connection::State::Connecting) {
        int error = 0;
        socklen_t length = sizeof error;
        ::getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) {
            connectFailed(c, "connect: " + QByteArray(strerror(error)));
            return;
        }
        c->state = Connection::State::Idle;
        --m_state[c->target].connecting;
        setWriteInterest(c, false);
        becameIdle(c);
        return;
    }
    if (c->state == Connection::State::Busy && c->written < c->out.size())
        flush(c);
    else
        setWriteInterest(c, false);
}

void LoadClient::flush(Connection *c)
{
    while (c->written < c->out.size()) {
        const ssize_t sent = ::send(c->fd, c->out.constData() + c->written,
                                    size_t(c->out.size() - c->written), MSG_NOSIGNAL);
        if (sent > 0) {
            c->written += sent;
            continue;
        }
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            setWriteInterest(c, true);
            return;
        }
        if (sent < 0 && errno == EINTR)
            continue;
        fail(c, "send: " + QByteArray(strerror(errno)));
        return;
    }
    setWriteInterest(c, false);
}

void LoadClient::send(Connection *c, qint64 scheduledNs, qint64 slot)
{
    http_parser_init(&c->parser, HTTP_RESPONSE);
    c->parser.data = c;
    c->body.clear();
    c->headerName.clear();
    c->headerValue.clear();
    c->lastWasValue = false;
    c->messageDone = false;
    c->keepAlive = true;
    c->slot = slot;
    c->out = m_builder.build(m_targets[c->target], ++m_seq);
    c->written = 0;
    c->outcome = RequestOutcome();
    c->outcome.scheduledNs = scheduledNs;
    c->state = Connection::State::Busy;
    c->outcome.sentNs = nowNs();
    if (scheduledNs == 0)
        c->outcome.scheduledNs = c->outcome.sentNs;
    flush(c);
}

// Only two response headers matter: x-tollgate-cache (whether a hit was a hit) and
// server-timing (the gateway's own time for it).
int LoadClient::onHeaderField(http_parser *parser, const char *at, size_t length)
{
    auto *c = static_cast<Connection *>(parser->data);
    if (c->lastWasValue) {
        c->headerName.clear();
        c->headerValue.clear();
    }
    c->lastWasValue = false;
    c->headerName.append(QByteArray(at, qsizetype(length)).toLower());
    return 0;
}

int LoadClient::onHeaderValue(http_parser *parser, const char *at, size_t length)
{
    auto *c = static_cast<Connection *>(parser->data);
    c->lastWasValue = true;
    const bool cache = c->headerName == "x-tollgate-cache";
    if (!cache && c->headerName != "server-timing")
        return 0;
    c->headerValue.append(at, qsizetype(length));
    if (cache)
        c->outcome.cacheStatus = c->headerValue;
    else
        c->outcome.serverGatewayMs = gatewayServerTiming(c->headerValue);
    return 0;
}

int LoadClient::onHeadersComplete(http_parser *parser)
{
    auto *c = static_cast<Connection *>(parser->data);
    c->outcome.status = int(parser->status_code);
    return 0;
}

int LoadClient::onBody(http_parser *parser, const char *at, size_t length)
{
    auto *c = static_cast<Connection *>(parser->data);
    if (c->outcome.firstBodyNs == 0)
        c->outcome.firstBodyNs = c->readNs;
    if (c->body.size() < kMaxKeptBody)
        c->body.append(at, qsizetype(length));
    return 0;
}

int LoadClient::onMessageComplete(http_parser *parser)
{
    auto *c = static_cast<Connection *>(parser->data);
    c->messageDone = true;
    c->keepAlive = http_should_keep_alive(parser) != 0;
    // Stop here: no pipelining, so nothing after this message belongs to a request of ours.
    http_parser_pause(parser, 1);
    return 0;
}

void LoadClient::onReadable(Connection *c)
{
    const http_parser_settings &settings = parserSettings(
        {&LoadClient::onHeaderField, &LoadClient::onHeaderValue, &LoadClient::onHeadersComplete,
         &LoadClient::onBody, &LoadClient::onMessageComplete});
    char buffer[64 * 1024];
    // Bounded: a server that never stops sending is cut off after a few megabytes per wake-up.
    for (int round = 0; round < 64 && c->fd >= 0; ++round) {
        const qint64 now = nowNs();
        const ssize_t got = ::read(c->fd, buffer, sizeof buffer);
        if (got < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (errno == EINTR)
                continue;
            if (c->state == Connection::State::Busy)
                fail(c, "read: " + QByteArray(strerror(errno)));
            else
                closeConnection(c);
            return;
        }
        if (got == 0) {
            if (c->state != Connection::State::Busy) {
                closeConnection(c); // the server closed an idle keep-alive connection
                return;
            }
            c->readNs = now;
            http_parser_execute(&c->parser, &settings, nullptr, 0); // end of file
            if (c->messageDone) {
                c->keepAlive = false;
                complete(c);
            } else {
                fail(c, "connection closed before the response ended");
            }
            return;
        }
        if (c->state != Connection::State::Busy) {
            closeConnection(c); // bytes nobody asked for: the connection is unusable
            return;
        }
        c->readNs = now;
        if (c->outcome.firstByteNs == 0)
            c->outcome.firstByteNs = now;
        const size_t parsed = http_parser_execute(&c->parser, &settings, buffer, size_t(got));
        const http_errno error = HTTP_PARSER_ERRNO(&c->parser);
        if (c->messageDone) {
            if (parsed < size_t(got))
                c->keepAlive = false; // bytes after the response: not ours, do not reuse
            complete(c);
            continue;
        }
        if (error != HPE_OK) {
            fail(c, "bad HTTP response: " + QByteArray(http_errno_name(error)));
            return;
        }
    }
}

void LoadClient::complete(Connection *c)
{
    RequestOutcome &outcome = c->outcome;
    outcome.doneNs = c->readNs;
    outcome.ok = outcome.status == 200 && c->body.contains(m_marker);
    if (!outcome.ok) {
        outcome.error = outcome.status != 200 ? "HTTP " + QByteArray::number(outcome.status)
                                              : "response body lacks " + m_marker;
    } else if (m_builder.repeats() && !outcome.cacheStatus.isEmpty() &&
               outcome.cacheStatus.trimmed().toLower() != "hit") {
        // A repeated request that a gateway's cache did not answer measures the wrong thing.
        outcome.ok = false;
        outcome.error = "x-tollgate-cache: " + outcome.cacheStatus + " (expected hit)";
    }
    finishRequest(c);
    if (!c->keepAlive) {
        // A server may close after a good response (e.g. nginx's keepalive_requests): reconnect.
        // Bounded by the run's time, since every reconnect follows a completed request.
        const int target = c->target;
        closeConnection(c);
        if (m_mode == Mode::ClosedLoop && nowNs() < m_windowEndNs)
            openConnection(target);
        else if (m_mode == Mode::Schedule)
            ensureCapacity(target);
        return;
    }
    c->state = Connection::State::Idle;
    becameIdle(c);
}

void LoadClient::fail(Connection *c, const QByteArray &reason)
{
    const int target = c->target;
    if (c->state == Connection::State::Busy) {
        c->outcome.ok = false;
        c->outcome.error = reason;
        c->outcome.doneNs = nowNs();
        finishRequest(c);
    }
    closeConnection(c);
    if (m_mode == Mode::ClosedLoop && nowNs() < m_windowEndNs && m_reconnectBudget-- > 0)
        openConnection(target);
    else if (m_mode == Mode::Schedule)
        ensureCapacity(target);
}

void LoadClient::connectFailed(Connection *c, const QByteArray &reason)
{
    const int target = c->target;
    closeConnection(c);
    TargetState &state = m_state[target];
    if (m_mode == Mode::Schedule && !state.waiting.empty()) {
        // Each failed attempt costs the oldest waiting request, so a dead target cannot make
        // the client reconnect forever.
        const qint64 slot = state.waiting.front();
        state.waiting.pop_front();
        RequestOutcome &outcome = m_outcomes[size_t(slot)];
        outcome.error = reason;
        outcome.doneNs = nowNs();
        --m_remaining;
        ensureCapacity(target);
    } else if (m_mode == Mode::ClosedLoop) {
        ++m_closedResult.errors;
        if (m_closedResult.firstError.isEmpty())
            m_closedResult.firstError = reason;
        if (nowNs() < m_windowEndNs && m_reconnectBudget-- > 0)
            openConnection(target);
    }
}

void LoadClient::finishRequest(Connection *c)
{
    const RequestOutcome &outcome = c->outcome;
    if (m_mode == Mode::Schedule && c->slot >= 0) {
        m_outcomes[size_t(c->slot)] = outcome;
        --m_remaining;
    } else if (m_mode == Mode::ClosedLoop) {
        if (!outcome.ok) {
            ++m_closedResult.errors;
            if (m_closedResult.firstError.isEmpty())
                m_closedResult.firstError = outcome.error;
        } else {
            ++m_closedResult.completedTotal;
            if (outcome.doneNs >= m_windowStartNs && outcome.doneNs <= m_windowEndNs) {
                ++m_closedResult.completed;
                m_closedResult.latenciesNs.push_back(outcome.doneNs - outcome.sentNs);
            }
        }
    }
    c->slot = -1;
}

void LoadClient::becameIdle(Connection *c)
{
    TargetState &state = m_state[c->target];
    if (m_mode == Mode::Schedule && !state.waiting.empty()) {
        const qint64 slot = state.waiting.front();
        state.waiting.pop_front();
        send(c, m_outcomes[size_t(slot)].scheduledNs, slot);
        return;
    }
    if (m_mode == Mode::ClosedLoop) {
        if (nowNs() < m_windowEndNs)
            send(c, 0, -1);
        else
            closeConnection(c);
        return;
    }
    state.idle.push_back(c);
}

void LoadClient::dispatch(qint64 slot)
{
    const int target = (*m_plan)[size_t(slot)].target;
    TargetState &state = m_state[target];
    if (!state.idle.empty()) {
        Connection *c = state.idle.back();
        state.idle.pop_back();
        send(c, m_outcomes[size_t(slot)].scheduledNs, slot);
        return;
    }
    state.waiting.push_back(slot);
    ensureCapacity(target);
}

void LoadClient::ensureCapacity(int target)
{
    TargetState &state = m_state[target];
    if (state.waiting.empty() || qsizetype(state.connecting) >= qsizetype(state.waiting.size()) ||
        state.open >= m_options.maxConnectionsPerTarget)
        return;
    if (openConnection(target))
        return;
    // No socket at all (descriptor limit): the request fails now rather than waiting forever.
    const qint64 slot = state.waiting.front();
    state.waiting.pop_front();
    m_outcomes[size_t(slot)].error = "cannot create a socket";
    m_outcomes[size_t(slot)].doneNs = nowNs();
    --m_remaining;
}

void LoadClient::sweepTimeouts(qint64 now)
{
    std::vector<Connection *> late;
    for (const auto &c : m_connections) {
        if (c->state == Connection::State::Busy && now - c->outcome.sentNs > m_options.timeoutNs)
            late.push_back(c.get());
        else if (c->state == Connection::State::Connecting &&
                 now - c->connectStartNs > m_options.timeoutNs)
            late.push_back(c.get());
    }
    for (Connection *c : late) {
        if (c->fd < 0)
            continue;
        if (c->state == Connection::State::Connecting)
            connectFailed(c, "connect timed out");
        else
            fail(c, "timed out");
    }
}

std::vector<RequestOutcome> LoadClient::runSchedule(const std::vector<PlannedRequest> &plan)
{
    m_mode = Mode::Schedule;
    m_plan = &plan;
    m_outcomes.assign(plan.size(), RequestOutcome());
    for (size_t i = 0; i < plan.size(); ++i)
        m_outcomes[i].scheduledNs = plan[i].atNs;
    m_remaining = qint64(plan.size());
    for (TargetState &state : m_state)
        state.waiting.clear();

    const qint64 hardEnd =
        (plan.empty() ? nowNs() : plan.back().atNs) + m_options.timeoutNs + 1000 * kMs;
    size_t next = 0;
    qint64 lastSweep = nowNs();
    while (m_remaining > 0) {
        const qint64 now = nowNs();
        if (now > hardEnd)
            break;
        while (next < plan.size() && plan[next].atNs <= now)
            dispatch(qint64(next++));
        if (now - lastSweep > 10 * kMs) {
            sweepTimeouts(now);
            lastSweep = now;
        }
        if (next < plan.size())
            armTimer(plan[next].atNs);
        poll(next < plan.size() ? 100 : 10);
    }
    for (RequestOutcome &outcome : m_outcomes) {
        if (!outcome.ok && outcome.error.isEmpty())
            outcome.error = "not answered before the run's deadline";
    }
    // Whatever is still in flight belongs to no slot any more.
    std::vector<Connection *> busy;
    for (const auto &c : m_connections) {
        if (c->state == Connection::State::Busy)
            busy.push_back(c.get());
    }
    for (Connection *c : busy) {
        c->slot = -1;
        closeConnection(c);
    }
    m_closed.clear();
    m_mode = Mode::None;
    m_plan = nullptr;
    return std::move(m_outcomes);
}

ClosedLoopResult LoadClient::runClosedLoop(int target, int connections, qint64 warmupNs,
                                           qint64 durationNs)
{
    closeAll();
    m_mode = Mode::ClosedLoop;
    m_closedResult = ClosedLoopResult();
    m_closedResult.windowNs = durationNs;
    m_closedResult.latenciesNs.reserve(size_t(durationNs / kMs) * 64);
    m_reconnectBudget = 4 * connections;
    const qint64 start = nowNs();
    m_windowStartNs = start + warmupNs;
    m_windowEndNs = m_windowStartNs + durationNs;
    for (int i = 0; i < connections; ++i) {
        if (!openConnection(target)) {
            ++m_closedResult.errors;
            m_closedResult.firstError = "cannot create a socket";
        }
    }
    const qint64 hardEnd = m_windowEndNs + m_options.timeoutNs;
    qint64 lastSweep = start;
    for (;;) {
        const qint64 now = nowNs();
        if (now > hardEnd || (now >= m_windowEndNs && m_state[target].open == 0))
            break;
        if (now - lastSweep > 10 * kMs) {
            sweepTimeouts(now);
            lastSweep = now;
        }
        if (now >= m_windowEndNs) {
            // Stop idle connections; busy ones close when their response arrives.
            for (Connection *c : std::vector<Connection *>(m_state[target].idle))
                closeConnection(c);
        }
        poll(10);
    }
    closeAll();
    m_mode = Mode::None;
    return std::move(m_closedResult);
}

} // namespace tollgate::bench
