// tollgate-bench: side-by-side latency and throughput of the gateway, the upstream it fronts
// (direct) and any other proxy (nginx), on loopback. See bench/README.md.

#include "benchreport.h"
#include "benchtarget.h"
#include "loadclient.h"
#include "processcpu.h"
#include "requestbuilder.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFile>
#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <numeric>
#include <random>

using namespace tollgate::bench;

namespace {

constexpr qint64 kSecond = 1'000'000'000;

struct Settings {
    std::vector<BenchTarget> targets;
    double rate = 1000;
    double streamRate = 300;
    double duration = 10;
    double warmup = 1;
    int connections = 64;
    int latencyConnections = 16;
    int maxLatencyConnections = 64;
    int streamEvents = 4;
    int streamGapMs = 2;
    double timeout = 10;
    QStringList phases;
    QString jsonPath;
    QHash<QString, std::vector<int>> cpuPids;       ///< target name -> its server processes
    QByteArray extraHeaders;                        ///< "name: value\r\n" lines for every request
    std::vector<std::pair<QString, QString>> pairs; ///< target, base: reported round by round
    QStringList hitTargets;                         ///< the targets of the hit phase
};

enum class OpenLoopKind { Latency, Stream, Hit };

[[noreturn]] void usageError(const QString &message)
{
    std::fprintf(stderr, "tollgate-bench: %s\n", qPrintable(message));
    std::exit(2);
}

void progress(const QString &message)
{
    std::fprintf(stderr, "tollgate-bench: %s\n", qPrintable(message));
    std::fflush(stderr);
}

double number(const QCommandLineParser &args, const char *name, double low, double high)
{
    bool ok = false;
    const double value = args.value(QLatin1String(name)).toDouble(&ok);
    if (!ok || value < low || value > high)
        usageError(QStringLiteral("--%1 must be a number in [%2, %3]")
                       .arg(QLatin1String(name))
                       .arg(low)
                       .arg(high));
    return value;
}

Settings parseSettings(const QCoreApplication &app)
{
    QCommandLineParser args;
    args.setApplicationDescription(QStringLiteral(
        "Loopback HTTP/1.1 benchmark of Tollgate against the upstream it fronts and other "
        "proxies.\nPhases: latency (open loop, targets interleaved request by request), stream "
        "(the same for stream:true, time to first event), throughput (closed loop, one target "
        "at a time). Name the upstream itself `direct` to get added latency, and a reference "
        "proxy `nginx` to get throughput ratios."));
    args.addHelpOption();
    args.addOptions({
        {QStringLiteral("target"),
         QStringLiteral("A server to measure, name=http://127.0.0.1:PORT (repeat)."),
         QStringLiteral("name=url")},
        {QStringLiteral("rate"),
         QStringLiteral("Open-loop requests per second, all targets. Default: 1000."),
         QStringLiteral("n"), QStringLiteral("1000")},
        {QStringLiteral("stream-rate"),
         QStringLiteral("Open-loop requests per second in the stream phase, all targets. A stream "
                        "is ~10 timed events, about ten times the mock's work of a message. "
                        "Default: 300."),
         QStringLiteral("n"), QStringLiteral("300")},
        {QStringLiteral("duration"),
         QStringLiteral("Seconds measured per phase (per target in the throughput phase). "
                        "Default: 10."),
         QStringLiteral("s"), QStringLiteral("10")},
        {QStringLiteral("warmup"),
         QStringLiteral("Unmeasured seconds before each measurement. Default: 1."),
         QStringLiteral("s"), QStringLiteral("1")},
        {QStringLiteral("connections"),
         QStringLiteral("Closed-loop connections per target (throughput phase). Default: 64."),
         QStringLiteral("n"), QStringLiteral("64")},
        {QStringLiteral("latency-connections"),
         QStringLiteral(
             "Keep-alive connections opened per target before an open-loop phase. Default: 16."),
         QStringLiteral("n"), QStringLiteral("16")},
        {QStringLiteral("max-latency-connections"),
         QStringLiteral("Most connections per target in an open-loop phase. Default: 64."),
         QStringLiteral("n"), QStringLiteral("64")},
        {QStringLiteral("stream-events"),
         QStringLiteral("Content events per mock stream. Default: 4."), QStringLiteral("n"),
         QStringLiteral("4")},
        {QStringLiteral("stream-gap-ms"),
         QStringLiteral("Mock delay between stream events (ms). Default: 2."), QStringLiteral("ms"),
         QStringLiteral("2")},
        {QStringLiteral("timeout"),
         QStringLiteral("Seconds before a request counts as failed. Default: 10."),
         QStringLiteral("s"), QStringLiteral("10")},
        {QStringLiteral("phases"),
         QStringLiteral("Comma-separated subset of latency,stream,hit,throughput. Default: "
                        "latency,stream,hit,throughput."),
         QStringLiteral("list"), QStringLiteral("latency,stream,hit,throughput")},
        {QStringLiteral("header"),
         QStringLiteral("A request header for every target, \"name: value\" (repeat); e.g. "
                        "\"x-tollgate-user: bench\" to make every request an identified "
                        "user's."),
         QStringLiteral("header")},
        {QStringLiteral("pair"),
         QStringLiteral("target=base: also report target minus base round by round in the "
                        "open-loop phases (repeat); e.g. gateway=gateway-plain for the cost of "
                        "the policy path."),
         QStringLiteral("target=base")},
        {QStringLiteral("hit-targets"),
         QStringLiteral("Comma-separated targets of the hit phase, which repeats one request "
                        "so that a gateway's cache answers it. Default: all targets."),
         QStringLiteral("list")},
        {QStringLiteral("json"), QStringLiteral("Also write the results as JSON to this file."),
         QStringLiteral("file")},
        {QStringLiteral("cpu-pids"),
         QStringLiteral("name=PID[,PID...]: processes serving target `name`, whose CPU time per "
                        "request the throughput phase reports (repeat)."),
         QStringLiteral("name=pids")},
    });
    args.process(app);

    Settings settings;
    for (const QString &spec : args.values(QStringLiteral("target"))) {
        QString error;
        auto target = BenchTarget::parse(spec, &error);
        if (!target)
            usageError(error);
        for (const BenchTarget &known : settings.targets) {
            if (known.name == target->name)
                usageError(QStringLiteral("target name %1 is used twice").arg(known.name));
        }
        settings.targets.push_back(*target);
    }
    if (settings.targets.empty() || settings.targets.size() > 8)
        usageError(QStringLiteral("give 1 to 8 --target name=http://127.0.0.1:PORT"));
    settings.rate = number(args, "rate", 1, 200000);
    settings.streamRate = number(args, "stream-rate", 1, 200000);
    settings.duration = number(args, "duration", 0.1, 600);
    settings.warmup = number(args, "warmup", 0, 60);
    settings.connections = int(number(args, "connections", 1, 4096));
    settings.latencyConnections = int(number(args, "latency-connections", 1, 1024));
    settings.maxLatencyConnections = int(number(args, "max-latency-connections", 1, 4096));
    settings.streamEvents = int(number(args, "stream-events", 1, 1000));
    settings.streamGapMs = int(number(args, "stream-gap-ms", 0, 10000));
    settings.timeout = number(args, "timeout", 0.1, 600);
    settings.latencyConnections =
        std::min(settings.latencyConnections, settings.maxLatencyConnections);
    settings.phases = args.value(QStringLiteral("phases")).split(QLatin1Char(','));
    for (const QString &phase : std::as_const(settings.phases)) {
        if (phase != QLatin1String("latency") && phase != QLatin1String("stream") &&
            phase != QLatin1String("hit") && phase != QLatin1String("throughput"))
            usageError(QStringLiteral("unknown phase %1").arg(phase));
    }
    const auto known = [&settings](const QString &name) {
        return std::any_of(settings.targets.begin(), settings.targets.end(),
                           [&name](const BenchTarget &t) { return t.name == name; });
    };
    for (const QString &header : args.values(QStringLiteral("header"))) {
        const QByteArray line = header.toLatin1().trimmed();
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0 || line.contains('\r') || line.contains('\n'))
            usageError(QStringLiteral("--header %1: expected \"name: value\"").arg(header));
        settings.extraHeaders += line + "\r\n";
    }
    for (const QString &spec : args.values(QStringLiteral("pair"))) {
        const QString target = spec.section(QLatin1Char('='), 0, 0);
        const QString base = spec.section(QLatin1Char('='), 1);
        if (!known(target) || !known(base) || target == base)
            usageError(
                QStringLiteral("--pair %1: expected target=base, two different targets").arg(spec));
        settings.pairs.emplace_back(target, base);
    }
    if (args.isSet(QStringLiteral("hit-targets"))) {
        settings.hitTargets = args.value(QStringLiteral("hit-targets")).split(QLatin1Char(','));
        for (const QString &name : std::as_const(settings.hitTargets)) {
            if (!known(name))
                usageError(QStringLiteral("--hit-targets: unknown target %1").arg(name));
        }
    } else {
        for (const BenchTarget &target : settings.targets)
            settings.hitTargets += target.name;
    }
    settings.jsonPath = args.value(QStringLiteral("json"));
    for (const QString &spec : args.values(QStringLiteral("cpu-pids"))) {
        const QString name = spec.section(QLatin1Char('='), 0, 0);
        std::vector<int> pids;
        for (const QString &text : spec.section(QLatin1Char('='), 1).split(QLatin1Char(','))) {
            bool ok = false;
            const int pid = text.toInt(&ok);
            if (!ok || pid <= 0)
                usageError(QStringLiteral("--cpu-pids %1: expected name=PID[,PID...]").arg(spec));
            pids.push_back(pid);
        }
        settings.cpuPids.insert(name, pids);
    }
    return settings;
}

/// The open-loop plan: request k is due at start + k / rate; every round of N consecutive
/// requests sends one to each target in a freshly shuffled order, so that no target always
/// follows the same neighbour.
struct OpenLoopPlan {
    std::vector<PlannedRequest> requests;
    std::vector<qint64> round;  ///< per request
    std::vector<char> measured; ///< per request: after the warm-up
    qint64 rounds = 0;
    std::vector<qint64> slotOf; ///< round * targets + target -> request index
};

OpenLoopPlan makePlan(const Settings &settings, int targets, double rate, qint64 startNs)
{
    OpenLoopPlan plan;
    const double intervalNs = double(kSecond) / rate;
    const auto total = qint64((settings.warmup + settings.duration) * rate);
    plan.rounds = total / targets;
    const qint64 measuredFrom = startNs + qint64(settings.warmup * double(kSecond));
    std::mt19937 random(20240601);
    std::vector<int> order(static_cast<size_t>(targets));
    std::iota(order.begin(), order.end(), 0);
    plan.slotOf.assign(size_t(plan.rounds * targets), -1);
    for (qint64 r = 0; r < plan.rounds; ++r) {
        std::shuffle(order.begin(), order.end(), random);
        for (int i = 0; i < targets; ++i) {
            const qint64 k = r * targets + i;
            const qint64 at = startNs + qint64(double(k) * intervalNs);
            plan.slotOf[size_t(r * targets + order[size_t(i)])] = qint64(plan.requests.size());
            plan.requests.push_back({at, order[size_t(i)]});
            plan.round.push_back(r);
            plan.measured.push_back(0);
        }
    }
    // A round counts only when all of it falls after the warm-up, so pairs are whole.
    for (qint64 r = 0; r < plan.rounds; ++r) {
        bool after = true;
        for (int t = 0; t < targets; ++t)
            after = after && plan.requests[size_t(plan.slotOf[size_t(r * targets + t)])].atNs >=
                                 measuredFrom;
        for (int t = 0; t < targets; ++t)
            plan.measured[size_t(plan.slotOf[size_t(r * targets + t)])] = after;
    }
    return plan;
}

BenchReport::OpenLoopPhase runOpenLoop(const Settings &settings, OpenLoopKind kind,
                                       qint64 *connectionsOpened)
{
    const bool stream = kind == OpenLoopKind::Stream;
    std::vector<BenchTarget> phaseTargets;
    for (const BenchTarget &target : settings.targets) {
        if (kind != OpenLoopKind::Hit || settings.hitTargets.contains(target.name))
            phaseTargets.push_back(target);
    }
    RequestBuilder::Options requestOptions;
    requestOptions.stream = stream;
    requestOptions.streamEvents = settings.streamEvents;
    requestOptions.streamGapMs = settings.streamGapMs;
    requestOptions.extraHeaders = settings.extraHeaders;
    requestOptions.repeat = kind == OpenLoopKind::Hit;
    // Unique to this run, so a long-running gateway's cache holds it from this run's warm-up only.
    requestOptions.repeatSeq = quint64(LoadClient::nowNs());
    LoadClient::Options clientOptions;
    clientOptions.timeoutNs = qint64(settings.timeout * double(kSecond));
    clientOptions.maxConnectionsPerTarget = settings.maxLatencyConnections;
    LoadClient client(phaseTargets, RequestBuilder(requestOptions), clientOptions);
    QString error;
    if (!client.init(&error) || !client.preconnect(settings.latencyConnections, &error)) {
        progress(error);
        std::exit(1);
    }
    const int targets = int(phaseTargets.size());
    const OpenLoopPlan plan =
        makePlan(settings, targets, stream ? settings.streamRate : settings.rate,
                 LoadClient::nowNs() + 100'000'000);
    const std::vector<RequestOutcome> outcomes = client.runSchedule(plan.requests);
    *connectionsOpened += client.connectionsOpened();

    const auto indexOf = [&phaseTargets](const QString &name) {
        for (int t = 0; t < int(phaseTargets.size()); ++t) {
            if (phaseTargets[size_t(t)].name == name)
                return t;
        }
        return -1;
    };
    const int directIndex = indexOf(QStringLiteral("direct"));
    BenchReport::OpenLoopPhase phase;
    phase.ran = true;
    for (int t = 0; t < targets; ++t) {
        BenchReport::LatencyRow row;
        row.target = phaseTargets[size_t(t)].name;
        std::vector<qint64> total, firstByte, firstEvent, lag, pairedTotal, pairedEvent, own;
        for (qint64 r = 0; r < plan.rounds; ++r) {
            const qint64 slot = plan.slotOf[size_t(r * targets + t)];
            if (!plan.measured[size_t(slot)])
                continue;
            const RequestOutcome &o = outcomes[size_t(slot)];
            ++row.requests;
            if (!o.ok) {
                ++row.errors;
                if (row.firstError.isEmpty())
                    row.firstError = o.error;
                continue;
            }
            total.push_back(o.doneNs - o.scheduledNs);
            firstByte.push_back(o.firstByteNs - o.scheduledNs);
            firstEvent.push_back(o.firstBodyNs - o.scheduledNs);
            lag.push_back(o.sentNs - o.scheduledNs);
            if (o.serverGatewayMs >= 0)
                own.push_back(qint64(o.serverGatewayMs * 1e6));
            if (directIndex < 0 || t == directIndex)
                continue;
            const RequestOutcome &d =
                outcomes[size_t(plan.slotOf[size_t(r * targets + directIndex)])];
            if (!d.ok)
                continue;
            pairedTotal.push_back((o.doneNs - o.scheduledNs) - (d.doneNs - d.scheduledNs));
            pairedEvent.push_back((o.firstBodyNs - o.scheduledNs) -
                                  (d.firstBodyNs - d.scheduledNs));
        }
        row.pairs = qint64(pairedTotal.size());
        row.total = LatencyStats(std::move(total));
        row.firstByte = LatencyStats(std::move(firstByte));
        row.firstEvent = LatencyStats(std::move(firstEvent));
        row.senderLag = LatencyStats(std::move(lag));
        row.pairedTotal = LatencyStats(std::move(pairedTotal));
        row.pairedFirstEvent = LatencyStats(std::move(pairedEvent));
        row.serverGateway = LatencyStats(std::move(own));
        phase.rows.push_back(std::move(row));
    }
    for (const auto &[targetName, baseName] : settings.pairs) {
        const int t = indexOf(targetName);
        const int b = indexOf(baseName);
        if (t < 0 || b < 0)
            continue;
        BenchReport::PairRow pair;
        pair.target = targetName;
        pair.base = baseName;
        std::vector<qint64> total, firstEvent;
        for (qint64 r = 0; r < plan.rounds; ++r) {
            const qint64 slot = plan.slotOf[size_t(r * targets + t)];
            if (!plan.measured[size_t(slot)])
                continue;
            const RequestOutcome &o = outcomes[size_t(slot)];
            const RequestOutcome &base = outcomes[size_t(plan.slotOf[size_t(r * targets + b)])];
            if (!o.ok || !base.ok)
                continue;
            total.push_back((o.doneNs - o.scheduledNs) - (base.doneNs - base.scheduledNs));
            firstEvent.push_back((o.firstBodyNs - o.scheduledNs) -
                                 (base.firstBodyNs - base.scheduledNs));
        }
        pair.pairs = qint64(total.size());
        pair.pairedTotal = LatencyStats(std::move(total));
        pair.pairedFirstEvent = LatencyStats(std::move(firstEvent));
        phase.pairs.push_back(std::move(pair));
    }
    return phase;
}

std::vector<BenchReport::ThroughputRow> runThroughput(const Settings &settings,
                                                      qint64 *connectionsOpened)
{
    LoadClient::Options clientOptions;
    clientOptions.timeoutNs = qint64(settings.timeout * double(kSecond));
    clientOptions.maxConnectionsPerTarget = settings.connections;
    RequestBuilder::Options requestOptions;
    requestOptions.extraHeaders = settings.extraHeaders;
    LoadClient client(settings.targets, RequestBuilder(requestOptions), clientOptions);
    QString error;
    if (!client.init(&error)) {
        progress(error);
        std::exit(1);
    }
    std::vector<BenchReport::ThroughputRow> rows;
    for (int t = 0; t < int(settings.targets.size()); ++t) {
        progress(QStringLiteral("throughput: %1, %2 connections")
                     .arg(settings.targets[size_t(t)].name)
                     .arg(settings.connections));
        const std::vector<int> pids = settings.cpuPids.value(settings.targets[size_t(t)].name);
        const double cpuBefore = pids.empty() ? -1 : ProcessCpu::seconds(pids);
        ClosedLoopResult result =
            client.runClosedLoop(t, settings.connections, qint64(settings.warmup * double(kSecond)),
                                 qint64(settings.duration * double(kSecond)));
        BenchReport::ThroughputRow row;
        row.target = settings.targets[size_t(t)].name;
        row.connections = settings.connections;
        row.completed = result.completed;
        row.errors = result.errors;
        row.firstError = result.firstError;
        row.seconds = double(result.windowNs) / double(kSecond);
        row.completedTotal = result.completedTotal;
        const double cpuAfter = pids.empty() ? -1 : ProcessCpu::seconds(pids);
        if (cpuBefore >= 0 && cpuAfter >= 0)
            row.cpuSeconds = cpuAfter - cpuBefore;
        row.latency = LatencyStats(std::move(result.latenciesNs));
        rows.push_back(std::move(row));
    }
    *connectionsOpened += client.connectionsOpened();
    return rows;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("tollgate-bench"));
    std::signal(SIGPIPE, SIG_IGN);
    const Settings settings = parseSettings(app);

    QJsonObject json;
    QJsonArray targets;
    QStringList names;
    for (const BenchTarget &target : settings.targets) {
        targets.append(target.name + QStringLiteral("=http://") +
                       QString::fromLatin1(target.hostHeader));
        names += QStringLiteral("`%1` 127.0.0.1:%2").arg(target.name).arg(target.port);
    }
    json[QStringLiteral("targets")] = targets;
    json[QStringLiteral("rate")] = settings.rate;
    json[QStringLiteral("stream_rate")] = settings.streamRate;
    json[QStringLiteral("duration_s")] = settings.duration;
    json[QStringLiteral("warmup_s")] = settings.warmup;
    json[QStringLiteral("connections")] = settings.connections;
    json[QStringLiteral("latency_connections")] = settings.latencyConnections;
    json[QStringLiteral("max_latency_connections")] = settings.maxLatencyConnections;
    json[QStringLiteral("stream_events")] = settings.streamEvents;
    json[QStringLiteral("stream_gap_ms")] = settings.streamGapMs;
    json[QStringLiteral("timeout_s")] = settings.timeout;
    json[QStringLiteral("phases")] = QJsonArray::fromStringList(settings.phases);
    json[QStringLiteral("hit_targets")] = QJsonArray::fromStringList(settings.hitTargets);
    json[QStringLiteral("extra_headers")] = QString::fromLatin1(settings.extraHeaders);
    QJsonArray pairs;
    for (const auto &[target, base] : settings.pairs)
        pairs.append(target + QLatin1Char('=') + base);
    json[QStringLiteral("pairs")] = pairs;
    const QStringList summary = {
        QStringLiteral("targets: %1").arg(names.join(QStringLiteral(", "))),
        QStringLiteral("request: POST /v1/messages, Anthropic body of ~330 bytes with a unique "
                       "prompt (never a cache hit, except in the hit phase), keep-alive HTTP/1.1%1")
            .arg(settings.extraHeaders.isEmpty()
                     ? QString()
                     : QStringLiteral("; extra headers: ") +
                           QString::fromLatin1(settings.extraHeaders.trimmed())
                               .replace(QLatin1String("\r\n"), QLatin1String(", "))),
        QStringLiteral("warm-up %1 s before every measurement; latencies count from the "
                       "scheduled send time (no coordinated omission)")
            .arg(settings.warmup),
    };

    BenchReport report;
    report.setSettings(json, summary);
    qint64 connectionsOpened = 0;
    const QString rate = QString::number(settings.rate, 'f', 0);
    const QString seconds = QString::number(settings.duration);
    if (settings.phases.contains(QLatin1String("latency"))) {
        progress(QStringLiteral("latency: %1 req/s for %2 s").arg(rate, seconds));
        BenchReport::OpenLoopPhase phase =
            runOpenLoop(settings, OpenLoopKind::Latency, &connectionsOpened);
        phase.title = QStringLiteral("Latency: non-streaming, open loop at %1 req/s total for %2 "
                                     "s, targets interleaved")
                          .arg(rate, seconds);
        report.setLatency(std::move(phase));
    }
    if (settings.phases.contains(QLatin1String("stream"))) {
        const QString streamRate = QString::number(settings.streamRate, 'f', 0);
        progress(QStringLiteral("stream: %1 req/s for %2 s").arg(streamRate, seconds));
        BenchReport::OpenLoopPhase phase =
            runOpenLoop(settings, OpenLoopKind::Stream, &connectionsOpened);
        phase.title = QStringLiteral("Streaming: stream:true, %1 events %2 ms apart, open loop "
                                     "at %3 req/s total for %4 s, targets interleaved")
                          .arg(settings.streamEvents)
                          .arg(settings.streamGapMs)
                          .arg(streamRate, seconds);
        report.setStream(std::move(phase));
    }
    if (settings.phases.contains(QLatin1String("hit"))) {
        progress(QStringLiteral("hit: %1 req/s for %2 s, one request repeated").arg(rate, seconds));
        BenchReport::OpenLoopPhase phase =
            runOpenLoop(settings, OpenLoopKind::Hit, &connectionsOpened);
        phase.title = QStringLiteral("Cache hits: one request repeated (after the warm-up a "
                                     "gateway's cache answers it), open loop at %1 req/s total "
                                     "for %2 s, targets interleaved")
                          .arg(rate, seconds);
        report.setHit(std::move(phase));
    }
    if (settings.phases.contains(QLatin1String("throughput"))) {
        report.setThroughput(QStringLiteral("Throughput: closed loop, %1 connections, %2 s per "
                                            "target, one target at a time")
                                 .arg(settings.connections)
                                 .arg(seconds),
                             runThroughput(settings, &connectionsOpened));
    }
    report.setConnectionsOpened(connectionsOpened);

    std::fputs(report.markdown().toUtf8().constData(), stdout);
    std::fflush(stdout);
    if (!settings.jsonPath.isEmpty()) {
        QFile file(settings.jsonPath);
        if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
            file.write(QJsonDocument(report.json()).toJson()) < 0) {
            progress(
                QStringLiteral("cannot write %1: %2").arg(file.fileName(), file.errorString()));
            return 1;
        }
    }
    if (report.totalErrors() > 0) {
        progress(QStringLiteral("%1 REQUESTS FAILED: see the table").arg(report.totalErrors()));
        return 1;
    }
    return 0;
}
