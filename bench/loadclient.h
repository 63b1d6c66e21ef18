#pragma once

#include "benchtarget.h"
#include "requestbuilder.h"

#include <QByteArray>
#include <QString>

#include <deque>
#include <memory>
#include <vector>

struct http_parser;

namespace tollgate::bench {

/// One request of an open-loop schedule: when it is due and to which target.
struct PlannedRequest {
    qint64 atNs = 0;
    int target = 0;
};

/// What happened to one request. Times are CLOCK_MONOTONIC nanoseconds; 0: never got there.
struct RequestOutcome {
    qint64 scheduledNs = 0; ///< when the schedule wanted it sent (closed loop: when it was sent)
    qint64 sentNs = 0;
    qint64 firstByteNs = 0; ///< first response byte: the status line
    qint64 firstBodyNs = 0; ///< first body byte: for a stream, its first event
    qint64 doneNs = 0;
    int status = 0;
    bool ok = false;
    QByteArray error;            ///< why it is not ok
    QByteArray cacheStatus;      ///< the x-tollgate-cache response header, empty when absent
    double serverGatewayMs = -1; ///< server-timing `gateway;dur=`: the gateway's own time
};

/// Closed-loop totals for one target.
struct ClosedLoopResult {
    qint64 completed = 0;      ///< good responses that finished inside the window
    qint64 completedTotal = 0; ///< good responses of the whole run, warm-up and drain too
    qint64 errors = 0; ///< failed requests and connections during the whole run, warm-up too
    qint64 windowNs = 0;
    std::vector<qint64> latenciesNs; ///< send to last byte of the good responses in the window
    QByteArray firstError;
};

/// An HTTP/1.1 load generator on one thread: non-blocking keep-alive sockets on epoll, and a
/// timerfd so that requests leave at their scheduled nanosecond rather than on a millisecond
/// tick. One request in flight per connection, no pipelining; traffic goes to 127.0.0.1 only.
class LoadClient {
public:
    struct Options {
        qint64 timeoutNs = 10'000'000'000; ///< per request, and per connection attempt
        int maxConnectionsPerTarget = 64;  ///< open loop: the pool grows up to this
    };

    LoadClient(std::vector<BenchTarget> targets, RequestBuilder builder, Options options);
    ~LoadClient();
    LoadClient(const LoadClient &) = delete;
    LoadClient &operator=(const LoadClient &) = delete;

    bool init(QString *error);
    /// Opens `perTarget` idle keep-alive connections to every target, so the schedule does not
    /// start by paying for TCP handshakes.
    bool preconnect(int perTarget, QString *error);
    /// Sends every planned request at its time, whatever happened to the ones before it (open
    /// loop), and returns one outcome per plan entry. `plan` is sorted by time.
    std::vector<RequestOutcome> runSchedule(const std::vector<PlannedRequest> &plan);
    /// Keeps `connections` requests in flight to one target: each response triggers the next
    /// request on its connection. Counts what finishes in [warm-up end, warm-up end + duration].
    ClosedLoopResult runClosedLoop(int target, int connections, qint64 warmupNs, qint64 durationNs);
    void closeAll();
    /// TCP connections opened so far; keep-alive working means this stays near the pool size.
    qint64 connectionsOpened() const { return m_connectionsOpened; }

    static qint64 nowNs();

private:
    struct Connection;
    struct TargetState {
        std::vector<Connection *> idle; ///< a stack: the most recently used connection first
        std::deque<qint64> waiting;     ///< schedule slots due but without a free connection
        int open = 0;                   ///< connecting or connected
        int connecting = 0;
    };
    enum class Mode { None, Schedule, ClosedLoop };

    Connection *openConnection(int target);
    void closeConnection(Connection *c);
    void setWriteInterest(Connection *c, bool on);
    void poll(int timeoutMs);
    void onWritable(Connection *c);
    void onReadable(Connection *c);
    void flush(Connection *c);
    void send(Connection *c, qint64 scheduledNs, qint64 slot);
    void complete(Connection *c);
    void fail(Connection *c, const QByteArray &reason);
    void connectFailed(Connection *c, const QByteArray &reason);
    void becameIdle(Connection *c);
    void finishRequest(Connection *c);
    void dispatch(qint64 slot);
    void ensureCapacity(int target);
    void sweepTimeouts(qint64 now);
    void armTimer(qint64 atNs);

    static int onHeaderField(::http_parser *parser, const char *at, size_t length);
    static int onHeaderValue(::http_parser *parser, const char *at, size_t length);
    static int onHeadersComplete(::http_parser *parser);
    static int onBody(::http_parser *parser, const char *at, size_t length);
    static int onMessageComplete(::http_parser *parser);

    std::vector<BenchTarget> m_targets;
    RequestBuilder m_builder;
    QByteArray m_marker;
    Options m_options;
    int m_epoll = -1;
    int m_timer = -1;
    qint64 m_armedNs = -1;
    quint64 m_seq = 0;
    qint64 m_connectionsOpened = 0;
    std::vector<std::unique_ptr<Connection>> m_connections;
    std::vector<std::unique_ptr<Connection>> m_closed; ///< freed after the event batch
    std::vector<TargetState> m_state;

    Mode m_mode = Mode::None;
    // Schedule mode.
    const std::vector<PlannedRequest> *m_plan = nullptr;
    std::vector<RequestOutcome> m_outcomes;
    qint64 m_remaining = 0;
    // Closed-loop mode.
    ClosedLoopResult m_closedResult;
    qint64 m_windowStartNs = 0;
    qint64 m_windowEndNs = 0;
    int m_reconnectBudget = 0; ///< reconnects after failures before a closed loop gives up
};

} // namespace tollgate::bench
