// tollgate-guibench: the console's GUI thread while traffic passes through its embedded gateway.
// The mock upstream, the gateway (GatewayThread), the console's MainWindow and an open-loop
// client all run in this one process; the GUI thread is measured from the inside. See
// bench/README.md.
//
// Unlike tollgate-bench, which must see the gateway from the outside, this program links
// tollgate_ui (and through it tollgate_core): what it measures is the console itself.

#include "benchtarget.h"
#include "generatedlog.h"
#include "latencystats.h"
#include "loadclient.h"
#include "processcpu.h"
#include "requestbuilder.h"

#include "alertspage.h"
#include "dashboardpage.h"
#include "feedpoller.h"
#include "mainwindow.h"
#include "overviewpage.h"
#include "requestsmodel.h"
#include "requestspage.h"

#include "gateway/gatewaythread.h"
#include "mockupstream.h"
#include "policy/gatewayconfig.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QEventLoop>
#include <QFile>
#include <QHash>
#include <QPixmap>
#include <QSettings>
#include <QStandardPaths>
#include <QTableView>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>
#include <array>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <map>
#include <thread>

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

using namespace tollgate;
using namespace tollgate::bench;

namespace {

constexpr qint64 kMs = 1'000'000;
constexpr qint64 kSecond = 1'000'000'000;

thread_local bool t_onGuiThread = false;

qint64 threadCpuNs()
{
    timespec now{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return qint64(now.tv_sec) * kSecond + now.tv_nsec;
}

[[noreturn]] void usageError(const QString &message)
{
    std::fprintf(stderr, "tollgate-guibench: %s\n", qPrintable(message));
    std::exit(2);
}

void progress(const QString &message)
{
    std::fprintf(stderr, "tollgate-guibench: %s\n", qPrintable(message));
    std::fflush(stderr);
}

/// What the GUI thread spends its time on, by kind of work. Each is one delivery of an event
/// from the event loop (an outermost QApplication::notify), with everything it triggers
/// synchronously.
enum Category {
    FeedTick,         ///< FeedPoller's 250 ms tick: the whole of it
    FeedBatch,        ///< ... to the end of the poll's handlers (Overview input, totals)
    FeedViews,        ///< ... the rest: the request log's rows (the poll's keeper), the status
                      ///< line, and the Overview cards when shown
    DashboardRefresh, ///< DashboardPage's timers: the 1 s redraw (reading the window, the first
                      ///< chart's points) and the steps plotting the others
    AlertsRefresh,    ///< AlertsPage's rule evaluation timer
    Repaint,          ///< a backing-store sync (UpdateRequest): painting the dirty widgets
    Grab,             ///< this benchmark's own full-window paint (QWidget::grab)
    Other,            ///< everything else (layout, queued calls, other timers)
    CategoryCount
};

const char *categoryName(int category)
{
    switch (category) {
    case FeedTick: return "feed tick (FeedPoller, all of it)";
    case FeedBatch: return "  batch: poll, Overview input, totals";
    case FeedViews: return "  log rows and views: log model, status line (+ Overview cards)";
    case DashboardRefresh: return "Dashboard refresh (1 s timer, a chart a step)";
    case AlertsRefresh: return "Alerts refresh (timer)";
    case Repaint: return "repaint (UpdateRequest: dirty widgets)";
    case Grab: return "full-window paint (grab, once a second)";
    case Other: return "other events";
    default: return "?";
    }
}

const char *shortName(int category)
{
    switch (category) {
    case FeedTick: return "feed tick";
    case DashboardRefresh: return "Dashboard refresh";
    case AlertsRefresh: return "Alerts refresh";
    case Repaint: return "repaint";
    default: return categoryName(category);
    }
}

/// Wall-clock and GUI-thread CPU durations of one kind of work.
struct Durations {
    std::vector<qint64> wallNs;
    std::vector<qint64> cpuNs;
    void add(qint64 wall, qint64 cpu)
    {
        wallNs.push_back(wall);
        cpuNs.push_back(cpu);
    }
};

/// CPU seconds of every thread of this process, by thread id, with its name (from
/// /proc/self/task). Threads that never set a name inherit the program's.
std::map<int, std::pair<QString, double>> threadCpu()
{
    static const long ticksPerSecond = ::sysconf(_SC_CLK_TCK);
    std::map<int, std::pair<QString, double>> threads;
    const QDir tasks(QStringLiteral("/proc/self/task"));
    for (const QString &tid : tasks.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        QFile file(tasks.filePath(tid + QStringLiteral("/stat")));
        if (!file.open(QIODevice::ReadOnly))
            continue;
        const QByteArray stat = file.readAll();
        const qsizetype open = stat.indexOf('(');
        const qsizetype close = stat.lastIndexOf(')');
        if (open < 0 || close < open)
            continue;
        QString name = QString::fromUtf8(stat.mid(open + 1, close - open - 1));
        // http-worker-0, -1 ... add up per kind.
        while (!name.isEmpty() && name.back().isDigit())
            name.chop(1);
        if (name.endsWith(QLatin1Char('-')))
            name.chop(1);
        const QList<QByteArray> fields = stat.mid(close + 2).split(' ');
        if (fields.size() < 13)
            continue;
        threads[tid.toInt()] = {name, double(fields[11].toLongLong() + fields[12].toLongLong()) /
                                          double(ticksPerSecond)};
    }
    return threads;
}

/// Gives the threads that stand for the traffic's two ends (the mock upstream, the open-loop
/// clients) the niceness `nice`. In use those run on other machines; here they share the cores
/// with the console, and a positive nice lets the GUI and the gateway go first when both wait.
void niceTrafficThreads(int nice)
{
    if (nice == 0)
        return;
    for (const auto &[tid, thread] : threadCpu()) {
        if (thread.first == QLatin1String("mock-upstream") ||
            thread.first == QLatin1String("bench-client") ||
            thread.first == QLatin1String("bench-streams"))
            ::setpriority(PRIO_PROCESS, id_t(tid), nice);
    }
}

double guiThreadCpuSeconds(pid_t tid)
{
    static const long ticksPerSecond = ::sysconf(_SC_CLK_TCK);
    QFile file(QStringLiteral("/proc/self/task/%1/stat").arg(tid));
    if (!file.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray stat = file.readAll();
    const QList<QByteArray> fields = stat.mid(stat.lastIndexOf(')') + 2).split(' ');
    if (fields.size() < 13)
        return -1;
    return double(fields[11].toLongLong() + fields[12].toLongLong()) / double(ticksPerSecond);
}

QString ms(qint64 ns, int decimals = 2)
{
    return QString::number(double(ns) / 1e6, 'f', decimals);
}

/// Watches every event the GUI thread's loop delivers: how long each took and what it was,
/// how late a 16 ms probe timer fires, and how long an update takes to reach the screen.
class GuiRecorder {
public:
    void setWindow(ui::MainWindow *window) { m_window = window; }
    /// The widget that shows the page's data: a frame ends with the repaint that paints it, not
    /// just any repaint (the status line's and the page's counts may be painted first, a table
    /// after its queued geometry update).
    void setDataWidget(const QWidget *widget) { m_dataWidget = widget; }
    void setProbe(QObject *probe) { m_probe = probe; }
    void setRecording(bool on) { m_recording = on; }
    bool recording() const { return m_recording; }

    /// Called around every event delivered on the GUI thread.
    template <typename Handle> bool deliver(QObject *receiver, QEvent *event, const Handle &handle)
    {
        const QEvent::Type type = event->type();
        if (m_depth > 0) {
            if (type == QEvent::UpdateRequest)
                m_current.repaint = true;
            if (type == QEvent::Paint && showsData(receiver))
                m_current.dataPainted = true;
            ++m_depth;
            const bool handled = handle();
            --m_depth;
            return handled;
        }
        m_current = Current();
        m_current.startNs = LoadClient::nowNs();
        m_current.startCpuNs = threadCpuNs();
        if (type == QEvent::UpdateRequest)
            m_current.repaint = true;
        if (type == QEvent::Timer) {
            if (receiver == m_probe)
                m_current.category = Probe;
            else if (auto *timer = qobject_cast<QTimer *>(receiver); timer && m_window) {
                if (timer->parent() == &m_window->dashboardPage())
                    m_current.category = DashboardRefresh;
                else if (timer->parent() == &m_window->alertsPage())
                    m_current.category = AlertsRefresh;
            }
        }
        ++m_depth;
        const bool handled = handle();
        --m_depth;
        finish(receiver, event);
        return handled;
    }

    /// The end of the handlers of a FeedPoller::polled with records (ours is connected after the
    /// window's).
    void feedRecordsHandled()
    {
        m_current.feedRecordsNs = LoadClient::nowNs();
        m_current.feedRecordsCpuNs = threadCpuNs();
        m_current.feedRecords = true;
    }
    /// The end of FeedPoller::ticked's handlers.
    void feedTicked() { m_current.feedTick = true; }

    void grabbing(bool on) { m_current.grab = on || m_current.grab; }

    // Probe: a single-shot timer re-armed every time it fires.
    void probeArmed(qint64 dueNs)
    {
        m_probeDueNs = dueNs;
        m_probeArmedNs = LoadClient::nowNs();
    }
    void probeFired(qint64 nowNs)
    {
        if (!m_recording)
            return;
        // A probe that waited for this benchmark's own grab measures the benchmark.
        if (m_lastGrabEndNs > m_probeArmedNs)
            ++probesExcluded;
        else
            probeLatenessNs.push_back(std::max<qint64>(0, nowNs - m_probeDueNs));
    }

    void reset()
    {
        probeLatenessNs.clear();
        probesExcluded = 0;
        for (Durations &d : durations)
            d = Durations();
        frameBusyNs.clear();
        frameWallNs.clear();
        framesExcluded = 0;
        busyNs = 0;
        longestOtherNs = 0;
        longestOther.clear();
        worstFrameNs = 0;
        worstFrame.clear();
        m_frameOpen = false;
    }

    std::vector<qint64> probeLatenessNs;
    qint64 probesExcluded = 0;
    std::array<Durations, CategoryCount> durations;
    std::vector<qint64> frameBusyNs; ///< an update to the end of the repaint that shows it: busy
    std::vector<qint64> frameWallNs; ///< ... and wall clock
    qint64 framesExcluded = 0;       ///< frames that held one of the benchmark's grabs
    qint64 busyNs = 0;               ///< all deliveries, summed
    qint64 longestOtherNs = 0;
    QString longestOther;
    qint64 worstFrameNs = 0;
    QString worstFrame; ///< what the GUI thread did in it

private:
    static constexpr int Probe = CategoryCount;

    struct Current {
        qint64 startNs = 0;
        qint64 startCpuNs = 0;
        int category = Other;
        bool repaint = false;
        bool dataPainted = false;
        bool grab = false;
        bool feedTick = false;
        bool feedRecords = false;
        qint64 feedRecordsNs = 0;
        qint64 feedRecordsCpuNs = 0;
    };

    void finish(QObject *receiver, QEvent *event)
    {
        const qint64 endNs = LoadClient::nowNs();
        const qint64 endCpuNs = threadCpuNs();
        const qint64 wall = endNs - m_current.startNs;
        const qint64 cpu = endCpuNs - m_current.startCpuNs;
        int category = m_current.category;
        if (m_current.grab) {
            category = Grab;
            m_lastGrabEndNs = endNs;
        } else if (m_current.feedTick) {
            category = FeedTick;
        } else if (m_current.repaint) {
            category = Repaint;
        }
        if (!m_recording)
            return;
        busyNs += wall;
        if (category == Probe)
            return;
        durations[size_t(category)].add(wall, cpu);
        if (category == FeedTick) {
            const qint64 splitNs =
                m_current.feedRecords ? m_current.feedRecordsNs : m_current.startNs;
            const qint64 splitCpuNs =
                m_current.feedRecords ? m_current.feedRecordsCpuNs : m_current.startCpuNs;
            if (m_current.feedRecords)
                durations[FeedBatch].add(splitNs - m_current.startNs,
                                         splitCpuNs - m_current.startCpuNs);
            durations[FeedViews].add(endNs - splitNs, endCpuNs - splitCpuNs);
        }
        if (category == Other && wall > longestOtherNs) {
            longestOtherNs = wall;
            longestOther = QStringLiteral("event type %1 to %2")
                               .arg(int(event->type()))
                               .arg(QLatin1String(receiver->metaObject()->className()));
        }
        // Update to painted frame: from a data-driven update to the end of the next repaint of the
        // widget showing the data, counting the GUI thread's busy time in between (not the idle
        // gaps).
        // The Dashboard's charts change on its own refresh; the other pages on the feed's tick.
        const bool dashboard = m_window && m_dataWidget == &m_window->dashboardPage();
        const bool update = dashboard ? category == DashboardRefresh
                                      : category == FeedTick && m_current.feedRecords;
        if (category == Grab && m_frameOpen)
            m_frameHeldGrab = true;
        if (update && !m_frameOpen) {
            m_frameOpen = true;
            m_frameHeldGrab = false;
            m_frameStartNs = m_current.startNs;
            m_frameBusyAtStartNs = busyNs - wall;
            m_frameParts = {};
        }
        if (m_frameOpen) {
            m_frameParts[size_t(category)].wallNs += wall;
            m_frameParts[size_t(category)].cpuNs += cpu;
        }
        if (category == Repaint && m_current.dataPainted && m_frameOpen) {
            m_frameOpen = false;
            // As with the probes: a frame that waited for this benchmark's own grab measures the
            // benchmark.
            if (m_frameHeldGrab) {
                ++framesExcluded;
            } else {
                frameBusyNs.push_back(busyNs - m_frameBusyAtStartNs);
                frameWallNs.push_back(endNs - m_frameStartNs);
                if (frameBusyNs.back() > worstFrameNs)
                    describeWorstFrame(frameBusyNs.back());
            }
        }
    }

    /// What the GUI thread did in the worst frame so far: wall and CPU ms by category.
    void describeWorstFrame(qint64 busy)
    {
        worstFrameNs = busy;
        QStringList parts;
        for (int category = 0; category < CategoryCount; ++category) {
            const FramePart &part = m_frameParts[size_t(category)];
            if (part.wallNs > 0)
                parts << QStringLiteral("%1 %2 (CPU %3)")
                             .arg(QLatin1String(shortName(category)), ms(part.wallNs),
                                  ms(part.cpuNs));
        }
        worstFrame = parts.join(QStringLiteral(", "));
    }

    bool showsData(const QObject *receiver) const
    {
        const auto *widget = qobject_cast<const QWidget *>(receiver);
        return widget && m_dataWidget &&
               (widget == m_dataWidget || m_dataWidget->isAncestorOf(widget));
    }

    ui::MainWindow *m_window = nullptr;
    const QWidget *m_dataWidget = nullptr;
    QObject *m_probe = nullptr;
    bool m_recording = false;
    int m_depth = 0;
    Current m_current;
    qint64 m_probeDueNs = 0;
    qint64 m_probeArmedNs = 0;
    qint64 m_lastGrabEndNs = 0;
    bool m_frameOpen = false;
    bool m_frameHeldGrab = false;
    struct FramePart {
        qint64 wallNs = 0;
        qint64 cpuNs = 0;
    };
    std::array<FramePart, CategoryCount> m_frameParts{}; // the open frame's busy time
    qint64 m_frameStartNs = 0;
    qint64 m_frameBusyAtStartNs = 0;
};

/// A QApplication that times every event the GUI thread delivers. Qt 6 calls notify() for
/// every thread's events; the gateway's and the mock's pass straight through.
class ProbedApplication : public QApplication {
public:
    using QApplication::QApplication;
    GuiRecorder *recorder = nullptr;

    bool notify(QObject *receiver, QEvent *event) override
    {
        if (!t_onGuiThread || !recorder)
            return QApplication::notify(receiver, event);
        return recorder->deliver(receiver, event,
                                 [&] { return QApplication::notify(receiver, event); });
    }
};

struct Settings {
    double duration = 10;
    double warmup = 2;
    QList<double> rates;
    double streamRate = 100;
    QList<ui::MainWindow::Page> pages;
    int probeMs = 16;
    int grabMs = 1000;
    double thresholdMs = 16;
    int workers = 1;
    int mockThreads = 1;
    int connections = 32;
    int trafficNice = 0; ///< nice of the mock upstream's and the clients' threads
    qint64 logRows = 0;  ///< requests in the log before the console opens
    int maxConnections = 256;
    int width = 1280;
    int height = 800;
};

/// What one open-loop client did in a phase.
struct Traffic {
    double rate = 0;
    qint64 planned = 0;
    qint64 ok = 0;
    qint64 okInWindow = 0; ///< good responses that ended inside the measured window
    qint64 errors = 0;
    QByteArray firstError;
    std::vector<qint64> latencyNs; ///< scheduled send to last byte, window only
    std::vector<qint64> lagNs;     ///< actual minus scheduled send, window only
};

struct PhaseResult {
    QString name;
    QString page;
    double rate = 0; ///< 0: idle
    double windowSeconds = 0;
    std::vector<qint64> probeLatenessNs;
    qint64 probesExcluded = 0;
    std::array<Durations, CategoryCount> durations;
    std::vector<qint64> frameBusyNs;
    std::vector<qint64> frameWallNs;
    qint64 framesExcluded = 0;
    qint64 busyNs = 0;
    qint64 longestOtherNs = 0;
    QString longestOther;
    qint64 worstFrameNs = 0;
    QString worstFrame; ///< what the GUI thread did in it
    double guiCpuSeconds = -1;
    double processCpuSeconds = -1;
    std::map<QString, double> threadCpuSeconds;
    Traffic messages;
    Traffic streams;
    int rowsAtEnd = 0;
};

/// What shows a page's data: the log's table (its rows), or the whole page (cards, charts).
const QWidget *dataWidget(const ui::MainWindow &window, ui::MainWindow::Page page)
{
    switch (page) {
    case ui::MainWindow::Overview: return &window.overviewPage();
    case ui::MainWindow::Dashboard: return &window.dashboardPage();
    case ui::MainWindow::Requests: return window.requestsPage().table()->viewport();
    case ui::MainWindow::Alerts: return &window.alertsPage();
    default: return nullptr;
    }
}

QString pageName(ui::MainWindow::Page page)
{
    switch (page) {
    case ui::MainWindow::Overview: return QStringLiteral("Overview");
    case ui::MainWindow::Dashboard: return QStringLiteral("Dashboard");
    case ui::MainWindow::Requests: return QStringLiteral("Requests");
    case ui::MainWindow::Alerts: return QStringLiteral("Alerts");
    default: return QStringLiteral("?");
    }
}

/// Runs one open-loop client on a thread of its own, from `startNs` for `seconds`.
class ClientRun {
public:
    ClientRun(quint16 port, bool stream, double rate, qint64 startNs, double seconds,
              qint64 windowStartNs, qint64 windowEndNs, const Settings &settings)
    {
        m_traffic.rate = rate;
        m_thread = std::thread([=] {
            ::prctl(PR_SET_NAME, stream ? "bench-streams" : "bench-client", 0, 0, 0);
            QString error;
            auto target =
                BenchTarget::parse(QStringLiteral("gateway=http://127.0.0.1:%1").arg(port), &error);
            RequestBuilder::Options builderOptions;
            builderOptions.stream = stream;
            LoadClient::Options options;
            options.maxConnectionsPerTarget = settings.maxConnections;
            LoadClient client({*target}, RequestBuilder(builderOptions), options);
            if (!client.init(&error) ||
                !client.preconnect(stream ? 8 : settings.connections, &error)) {
                m_traffic.firstError = error.toUtf8();
                m_traffic.errors = 1;
                m_done = true;
                return;
            }
            std::vector<PlannedRequest> plan;
            const qint64 count = qint64(rate * seconds);
            plan.reserve(size_t(count));
            for (qint64 k = 0; k < count; ++k)
                plan.push_back({startNs + qint64(double(k) * double(kSecond) / rate), 0});
            const std::vector<RequestOutcome> outcomes = client.runSchedule(plan);
            client.closeAll();
            m_traffic.planned = count;
            for (const RequestOutcome &o : outcomes) {
                if (!o.ok) {
                    ++m_traffic.errors;
                    if (m_traffic.firstError.isEmpty())
                        m_traffic.firstError = o.error;
                    continue;
                }
                ++m_traffic.ok;
                if (o.doneNs >= windowStartNs && o.doneNs < windowEndNs)
                    ++m_traffic.okInWindow;
                if (o.scheduledNs >= windowStartNs && o.scheduledNs < windowEndNs) {
                    m_traffic.latencyNs.push_back(o.doneNs - o.scheduledNs);
                    m_traffic.lagNs.push_back(o.sentNs - o.scheduledNs);
                }
            }
            m_done = true;
        });
    }
    ~ClientRun()
    {
        if (m_thread.joinable())
            m_thread.join();
    }
    bool done() const { return m_done; }
    Traffic take()
    {
        m_thread.join();
        return std::move(m_traffic);
    }

private:
    std::thread m_thread;
    std::atomic<bool> m_done{false};
    Traffic m_traffic;
};

/// Runs the event loop for `ms` milliseconds (never from inside an event: the recorder
/// counts the deliveries of this loop as the outermost ones).
void spin(qint64 untilNs)
{
    const qint64 left = untilNs - LoadClient::nowNs();
    if (left <= 0)
        return;
    QEventLoop loop;
    QTimer::singleShot(int(left / kMs) + 1, Qt::PreciseTimer, &loop, &QEventLoop::quit);
    loop.exec();
}

class GuiBench {
public:
    GuiBench(ProbedApplication &app, ui::MainWindow &window, quint16 gatewayPort,
             const Settings &settings)
        : m_app(app)
        , m_window(window)
        , m_port(gatewayPort)
        , m_settings(settings)
        , m_guiTid(pid_t(::syscall(SYS_gettid)))
    {
        m_recorder.setWindow(&window);
        m_probe.setSingleShot(true);
        m_probe.setTimerType(Qt::PreciseTimer);
        m_recorder.setProbe(&m_probe);
        QObject::connect(&m_probe, &QTimer::timeout, [this] {
            m_recorder.probeFired(LoadClient::nowNs());
            armProbe();
        });
        m_grab.setTimerType(Qt::PreciseTimer);
        m_grab.setInterval(std::max(1, settings.grabMs));
        QObject::connect(&m_grab, &QTimer::timeout, [this] {
            m_recorder.grabbing(true);
            const QPixmap frame = m_window.grab();
            Q_UNUSED(frame);
        });
        QObject::connect(&window.feed(), &ui::FeedPoller::polled,
                         [this](const ui::FeedPoller::Poll &poll) {
                             if (!poll.finished.isEmpty())
                                 m_recorder.feedRecordsHandled();
                         });
        QObject::connect(&window.feed(), &ui::FeedPoller::ticked,
                         [this] { m_recorder.feedTicked(); });
        app.recorder = &m_recorder;
        armProbe();
        if (settings.grabMs > 0)
            m_grab.start();
    }
    ~GuiBench() { m_app.recorder = nullptr; }

    PhaseResult run(const QString &name, ui::MainWindow::Page page, double rate)
    {
        progress(QStringLiteral("phase %1: %2 page, %3")
                     .arg(name, pageName(page),
                          rate > 0 ? QStringLiteral("%1 req/s").arg(rate)
                                   : QStringLiteral("no traffic")));
        PhaseResult result;
        result.name = name;
        result.page = pageName(page);
        result.rate = rate;
        m_window.showPage(page);
        m_recorder.setDataWidget(dataWidget(m_window, page));
        // The clients connect first; the schedule starts a little later, then the warm-up.
        const qint64 startNs = LoadClient::nowNs() + (rate > 0 ? 300 * kMs : 0);
        const qint64 windowStartNs = startNs + qint64(m_settings.warmup * double(kSecond));
        const qint64 windowEndNs = windowStartNs + qint64(m_settings.duration * double(kSecond));
        const double seconds = m_settings.warmup + m_settings.duration;
        std::unique_ptr<ClientRun> messages;
        std::unique_ptr<ClientRun> streams;
        if (rate > 0) {
            messages = std::make_unique<ClientRun>(m_port, false, rate, startNs, seconds,
                                                   windowStartNs, windowEndNs, m_settings);
            if (m_settings.streamRate > 0)
                streams =
                    std::make_unique<ClientRun>(m_port, true, m_settings.streamRate, startNs,
                                                seconds, windowStartNs, windowEndNs, m_settings);
        }
        spin(windowStartNs);
        niceTrafficThreads(m_settings.trafficNice); // the clients started in the warm-up
        m_recorder.reset();
        m_recorder.setRecording(true);
        const double gui0 = guiThreadCpuSeconds(m_guiTid);
        const double process0 = ProcessCpu::seconds({int(::getpid())});
        const auto threads0 = threadCpu();
        const qint64 t0 = LoadClient::nowNs();
        spin(windowEndNs);
        const qint64 t1 = LoadClient::nowNs();
        m_recorder.setRecording(false);
        result.windowSeconds = double(t1 - t0) / double(kSecond);
        result.guiCpuSeconds = guiThreadCpuSeconds(m_guiTid) - gui0;
        result.processCpuSeconds = ProcessCpu::seconds({int(::getpid())}) - process0;
        for (const auto &[tid, thread] : threadCpu()) {
            const auto before = threads0.find(tid);
            const QString label = tid == m_guiTid ? QStringLiteral("GUI (main thread)")
                                  : thread.first.startsWith(QLatin1String("tollgate-gui"))
                                      ? QStringLiteral("unnamed (e.g. request log writer)")
                                      : thread.first;
            result.threadCpuSeconds[label] +=
                thread.second - (before == threads0.end() ? 0.0 : before->second.second);
        }
        result.probeLatenessNs = std::move(m_recorder.probeLatenessNs);
        result.probesExcluded = m_recorder.probesExcluded;
        result.durations = std::move(m_recorder.durations);
        result.frameBusyNs = std::move(m_recorder.frameBusyNs);
        result.frameWallNs = std::move(m_recorder.frameWallNs);
        result.framesExcluded = m_recorder.framesExcluded;
        result.busyNs = m_recorder.busyNs;
        result.longestOtherNs = m_recorder.longestOtherNs;
        result.longestOther = m_recorder.longestOther;
        result.worstFrameNs = m_recorder.worstFrameNs;
        result.worstFrame = m_recorder.worstFrame;
        m_recorder.reset();
        // Let the clients finish their last requests; the GUI keeps running meanwhile.
        while ((messages && !messages->done()) || (streams && !streams->done()))
            spin(LoadClient::nowNs() + 50 * kMs);
        if (messages)
            result.messages = messages->take();
        if (streams)
            result.streams = streams->take();
        result.rowsAtEnd = m_window.requestsModel().rowCount();
        return result;
    }

private:
    void armProbe()
    {
        m_recorder.probeArmed(LoadClient::nowNs() + m_settings.probeMs * kMs);
        m_probe.start(m_settings.probeMs);
    }

    ProbedApplication &m_app;
    ui::MainWindow &m_window;
    quint16 m_port;
    const Settings &m_settings;
    pid_t m_guiTid;
    GuiRecorder m_recorder;
    QTimer m_probe;
    QTimer m_grab;
};

// ---- report -------------------------------------------------------------------------------

QString percent(double part, double whole)
{
    return whole > 0 && part >= 0 ? QString::number(100.0 * part / whole, 'f', 1)
                                  : QStringLiteral("–");
}

QString ratio(double a, double b)
{
    return b > 0 ? QString::number(a / b, 'f', 2) + QStringLiteral("×") : QStringLiteral("–");
}

qint64 maxOf(const std::vector<qint64> &values)
{
    return values.empty() ? 0 : *std::max_element(values.begin(), values.end());
}

QString phaseLabel(const PhaseResult &p)
{
    return p.rate > 0 ? QStringLiteral("load %1/s").arg(p.rate) : QStringLiteral("idle");
}

/// Whether a load phase is smooth: the probe's p99 lateness, every timer-driven update and the
/// update-to-painted frame's busy time all under the threshold.
struct Verdict {
    bool smooth = false;
    QString why;
};

Verdict judge(const PhaseResult &p, double thresholdMs, bool cpu)
{
    const qint64 limit = qint64(thresholdMs * double(kMs));
    QStringList over;
    const LatencyStats probe(p.probeLatenessNs);
    if (!cpu && probe.percentileNs(0.99) >= limit)
        over << QStringLiteral("probe p99 %1 ms").arg(ms(probe.percentileNs(0.99)));
    for (const int category : {FeedTick, DashboardRefresh, AlertsRefresh, Repaint}) {
        const Durations &d = p.durations[size_t(category)];
        const qint64 worst = maxOf(cpu ? d.cpuNs : d.wallNs);
        if (worst >= limit)
            over << QStringLiteral("%1 max %2 ms")
                        .arg(QLatin1String(shortName(category)), ms(worst));
    }
    if (!cpu && maxOf(p.frameBusyNs) >= limit)
        over << QStringLiteral("update-to-frame busy max %1 ms").arg(ms(maxOf(p.frameBusyNs)));
    Verdict v;
    v.smooth = over.isEmpty();
    v.why = over.join(QStringLiteral("; "));
    return v;
}

QString report(const std::vector<PhaseResult> &phases, const Settings &settings,
               const QString &platform)
{
    QString out;
    const auto line = [&out](const QString &text) { out += text + QLatin1Char('\n'); };

    line(QStringLiteral("### Traffic through the console's gateway (open loop, non-streaming "
                        "plus %1 streams/s)")
             .arg(settings.streamRate));
    line({});
    line(QStringLiteral("| phase | page | target req/s | achieved req/s | errors | latency p50 ms "
                        "| latency p99 ms | client lag p99 ms | streams ok/s | stream errors | "
                        "rows in the log model |"));
    line(QStringLiteral("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"));
    for (const PhaseResult &p : phases) {
        if (p.rate <= 0)
            continue;
        const LatencyStats latency(p.messages.latencyNs);
        const LatencyStats lag(p.messages.lagNs);
        line(QStringLiteral("| %1 | %2 | %3 | %4 | %5 | %6 | %7 | %8 | %9 | %10 | %11 |")
                 .arg(phaseLabel(p), p.page)
                 .arg(p.rate)
                 .arg(QString::number(double(p.messages.okInWindow) / p.windowSeconds, 'f', 0))
                 .arg(p.messages.errors)
                 .arg(ms(latency.percentileNs(0.5), 3), ms(latency.percentileNs(0.99), 3),
                      ms(lag.percentileNs(0.99), 3))
                 .arg(QString::number(double(p.streams.okInWindow) / p.windowSeconds, 'f', 0))
                 .arg(p.streams.errors)
                 .arg(p.rowsAtEnd));
    }
    for (const PhaseResult &p : phases) {
        if (!p.messages.firstError.isEmpty())
            line(QStringLiteral("\nfirst error (%1, %2): %3")
                     .arg(phaseLabel(p), p.page, QString::fromUtf8(p.messages.firstError)));
        if (!p.streams.firstError.isEmpty())
            line(QStringLiteral("\nfirst stream error (%1, %2): %3")
                     .arg(phaseLabel(p), p.page, QString::fromUtf8(p.streams.firstError)));
    }
    line({});

    line(QStringLiteral("### GUI event-loop responsiveness: lateness of a %1 ms probe timer")
             .arg(settings.probeMs));
    line({});
    line(QStringLiteral("| phase | page | probes | p50 ms | p90 ms | p99 ms | max ms | excluded "
                        "(own grab) | GUI thread busy % | GUI thread CPU % | process CPU % |"));
    line(QStringLiteral("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"));
    for (const PhaseResult &p : phases) {
        const LatencyStats probe(p.probeLatenessNs);
        line(QStringLiteral("| %1 | %2 | %3 | %4 | %5 | %6 | %7 | %8 | %9 | %10 | %11 |")
                 .arg(phaseLabel(p), p.page)
                 .arg(probe.count())
                 .arg(ms(probe.percentileNs(0.5)), ms(probe.percentileNs(0.9)),
                      ms(probe.percentileNs(0.99)), ms(probe.maxNs()))
                 .arg(p.probesExcluded)
                 .arg(percent(double(p.busyNs) / 1e9, p.windowSeconds),
                      percent(p.guiCpuSeconds, p.windowSeconds),
                      percent(p.processCpuSeconds, p.windowSeconds)));
    }
    line(QStringLiteral("\nbusy: the GUI thread's time inside event deliveries (wall clock, "
                        "this benchmark's grabs included); CPU: its user+system time from "
                        "/proc (10 ms ticks); process CPU in % of one core."));
    line({});

    line(QStringLiteral("### Work on the GUI thread, per event delivery (wall clock; the GUI "
                        "thread's own CPU time in the CPU columns)"));
    line({});
    line(QStringLiteral(
        "| phase | page | work | count | p50 ms | p99 ms | max ms | CPU p99 ms | CPU max ms |"));
    line(QStringLiteral("|---|---|---|---:|---:|---:|---:|---:|---:|"));
    for (const PhaseResult &p : phases) {
        for (int category = 0; category < CategoryCount; ++category) {
            const Durations &d = p.durations[size_t(category)];
            if (d.wallNs.empty())
                continue;
            const LatencyStats wall(d.wallNs);
            const LatencyStats cpu(d.cpuNs);
            line(QStringLiteral("| %1 | %2 | %3 | %4 | %5 | %6 | %7 | %8 | %9 |")
                     .arg(phaseLabel(p), p.page, QLatin1String(categoryName(category)))
                     .arg(wall.count())
                     .arg(ms(wall.percentileNs(0.5)), ms(wall.percentileNs(0.99)), ms(wall.maxNs()),
                          ms(cpu.percentileNs(0.99)), ms(cpu.maxNs())));
        }
        if (!p.frameBusyNs.empty()) {
            const LatencyStats busy(p.frameBusyNs);
            const LatencyStats wall(p.frameWallNs);
            line(QStringLiteral("| %1 | %2 | update → painted frame: busy (wall p50 %3, p99 %4; "
                                "%9 left out: held the grab) | %5 | %6 | %7 | %8 | | |")
                     .arg(phaseLabel(p), p.page, ms(wall.percentileNs(0.5)),
                          ms(wall.percentileNs(0.99)))
                     .arg(busy.count())
                     .arg(ms(busy.percentileNs(0.5)), ms(busy.percentileNs(0.99)), ms(busy.maxNs()))
                     .arg(p.framesExcluded));
        }
    }
    line(QStringLiteral("\nLongest \"other\" event per phase:"));
    for (const PhaseResult &p : phases)
        line(QStringLiteral("- %1, %2: %3 ms (%4)")
                 .arg(phaseLabel(p), p.page, ms(p.longestOtherNs), p.longestOther));
    line(QStringLiteral(
        "\nThe worst update → painted frame per phase, busy ms, and the GUI thread's work "
        "in it, wall ms (CPU):"));
    for (const PhaseResult &p : phases) {
        if (p.worstFrameNs > 0)
            line(QStringLiteral("- %1, %2: %3 ms: %4")
                     .arg(phaseLabel(p), p.page, ms(p.worstFrameNs), p.worstFrame));
    }
    line({});

    line(QStringLiteral("### Load / idle, same page"));
    line({});
    line(QStringLiteral("| page | rate | probe p50 | probe p99 | feed tick p99 | Dashboard "
                        "refresh p99 | repaint p99 | grab p50 | GUI busy | process CPU |"));
    line(QStringLiteral("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"));
    const auto p99 = [](const PhaseResult &p, int category) {
        return double(LatencyStats(p.durations[size_t(category)].wallNs).percentileNs(0.99));
    };
    for (const PhaseResult &load : phases) {
        if (load.rate <= 0)
            continue;
        const auto idle = std::find_if(phases.begin(), phases.end(), [&](const PhaseResult &p) {
            return p.rate <= 0 && p.page == load.page;
        });
        if (idle == phases.end())
            continue;
        const LatencyStats probeLoad(load.probeLatenessNs);
        const LatencyStats probeIdle(idle->probeLatenessNs);
        line(QStringLiteral("| %1 | %2 | %3 | %4 | %5 | %6 | %7 | %8 | %9 | %10 |")
                 .arg(load.page)
                 .arg(load.rate)
                 .arg(ratio(double(probeLoad.percentileNs(0.5)),
                            double(probeIdle.percentileNs(0.5))),
                      ratio(double(probeLoad.percentileNs(0.99)),
                            double(probeIdle.percentileNs(0.99))),
                      ratio(p99(load, FeedTick), p99(*idle, FeedTick)),
                      ratio(p99(load, DashboardRefresh), p99(*idle, DashboardRefresh)),
                      ratio(p99(load, Repaint), p99(*idle, Repaint)),
                      ratio(double(LatencyStats(load.durations[Grab].wallNs).percentileNs(0.5)),
                            double(LatencyStats(idle->durations[Grab].wallNs).percentileNs(0.5))),
                      ratio(double(load.busyNs) / load.windowSeconds,
                            double(idle->busyNs) / idle->windowSeconds))
                 .arg(ratio(load.processCpuSeconds / load.windowSeconds,
                            idle->processCpuSeconds / idle->windowSeconds)));
    }
    line({});

    line(QStringLiteral("### CPU by thread (% of one core)"));
    line({});
    for (const PhaseResult &p : phases) {
        std::vector<std::pair<double, QString>> sorted;
        for (const auto &[thread, cpu] : p.threadCpuSeconds) {
            if (cpu > 0)
                sorted.emplace_back(cpu, thread);
        }
        std::sort(sorted.rbegin(), sorted.rend());
        QStringList parts;
        for (const auto &[cpu, thread] : sorted)
            parts << QStringLiteral("%1 %2").arg(thread, percent(cpu, p.windowSeconds));
        line(QStringLiteral("- %1, %2: %3")
                 .arg(phaseLabel(p), p.page, parts.join(QStringLiteral(", "))));
    }
    line({});

    line(QStringLiteral("### Against the target: \"redraw stays smooth under 5,000 req/s\""));
    line({});
    line(QStringLiteral("Smooth: probe lateness p99 < %1 ms, every timer-driven update (feed "
                        "tick, Dashboard refresh, Alerts refresh) and every repaint < %1 ms "
                        "(max, wall clock), and every update-to-painted frame's GUI busy time < "
                        "%1 ms; the target holds when it does so at the target rate with the "
                        "rate achieved (≥ 98 %) and no errors. Platform: %2.")
             .arg(settings.thresholdMs)
             .arg(platform));
    line({});
    for (const PhaseResult &p : phases) {
        if (p.rate <= 0)
            continue;
        const Verdict wall = judge(p, settings.thresholdMs, false);
        const Verdict cpu = judge(p, settings.thresholdMs, true);
        const double achieved = double(p.messages.okInWindow) / p.windowSeconds;
        const bool rateOk =
            achieved >= 0.98 * p.rate && p.messages.errors == 0 && p.streams.errors == 0;
        line(QStringLiteral("- %1, %2 page: %3%4%5%6")
                 .arg(phaseLabel(p), p.page,
                      wall.smooth && rateOk ? QStringLiteral("**smooth: holds**")
                                            : QStringLiteral("**does not hold**"))
                 .arg(rateOk ? QString()
                             : QStringLiteral(" (achieved %1 req/s, %2 errors)")
                                   .arg(achieved, 0, 'f', 0)
                                   .arg(p.messages.errors + p.streams.errors))
                 .arg(wall.why.isEmpty() ? QString() : QStringLiteral(" — over: ") + wall.why)
                 .arg(cpu.smooth ? QStringLiteral("; on GUI-thread CPU time every update is under "
                                                  "the threshold")
                                 : QStringLiteral("; on GUI-thread CPU time too: ") + cpu.why));
    }
    return out;
}

Settings parseSettings(const QApplication &app)
{
    QCommandLineParser args;
    args.setApplicationDescription(QStringLiteral(
        "The console's GUI thread while traffic passes: the mock upstream, the embedded "
        "gateway, the MainWindow and an open-loop client in one process. Phases: idle and "
        "under load, per page. See bench/README.md."));
    args.addHelpOption();
    args.addOptions({
        {QStringLiteral("rate"),
         QStringLiteral("Open-loop non-streaming requests per second in the load phases; a "
                        "comma-separated list runs each. Default: 5000."),
         QStringLiteral("list"), QStringLiteral("5000")},
        {QStringLiteral("stream-rate"),
         QStringLiteral("Streams per second alongside, 0 for none. Default: 100."),
         QStringLiteral("n"), QStringLiteral("100")},
        {QStringLiteral("duration"), QStringLiteral("Seconds measured per phase. Default: 10."),
         QStringLiteral("s"), QStringLiteral("10")},
        {QStringLiteral("warmup"),
         QStringLiteral("Unmeasured seconds before each phase (page switch, connections). "
                        "Default: 2."),
         QStringLiteral("s"), QStringLiteral("2")},
        {QStringLiteral("pages"),
         QStringLiteral("Pages to measure, in order: overview,dashboard,requests,alerts. "
                        "Default: dashboard,overview,requests."),
         QStringLiteral("list"), QStringLiteral("dashboard,overview,requests")},
        {QStringLiteral("probe-ms"), QStringLiteral("Probe timer interval. Default: 16."),
         QStringLiteral("ms"), QStringLiteral("16")},
        {QStringLiteral("grab-ms"),
         QStringLiteral("Full-window paint (grab) interval, 0 for none. Default: 1000."),
         QStringLiteral("ms"), QStringLiteral("1000")},
        {QStringLiteral("threshold-ms"),
         QStringLiteral("The frame budget the verdict holds updates to. Default: 16."),
         QStringLiteral("ms"), QStringLiteral("16")},
        {QStringLiteral("workers"), QStringLiteral("Gateway I/O threads. Default: 1."),
         QStringLiteral("n"), QStringLiteral("1")},
        {QStringLiteral("mock-threads"), QStringLiteral("Mock upstream threads. Default: 1."),
         QStringLiteral("n"), QStringLiteral("1")},
        {QStringLiteral("connections"),
         QStringLiteral("Keep-alive connections opened before a load phase. Default: 32."),
         QStringLiteral("n"), QStringLiteral("32")},
        {QStringLiteral("traffic-nice"),
         QStringLiteral("Niceness (0-19) of the mock upstream's and the clients' threads, which "
                        "in use run on other machines. Default: 0."),
         QStringLiteral("n"), QStringLiteral("0")},
        {QStringLiteral("log-rows"),
         QStringLiteral("Requests written to the request log before the console opens, so the "
                        "live tail runs over a large log. Default: 0."),
         QStringLiteral("n"), QStringLiteral("0")},
        {QStringLiteral("size"), QStringLiteral("Window size WxH. Default: 1280x800."),
         QStringLiteral("WxH"), QStringLiteral("1280x800")},
    });
    args.process(app);

    const auto number = [&args](const char *name, double low, double high) {
        bool ok = false;
        const double value = args.value(QLatin1String(name)).toDouble(&ok);
        if (!ok || value < low || value > high)
            usageError(QStringLiteral("--%1 must be a number in [%2, %3]")
                           .arg(QLatin1String(name))
                           .arg(low)
                           .arg(high));
        return value;
    };
    Settings s;
    for (const QString &item : args.value(QStringLiteral("rate")).split(QLatin1Char(','))) {
        bool ok = false;
        const double rate = item.toDouble(&ok);
        if (!ok || rate < 1 || rate > 100000)
            usageError(QStringLiteral("--rate: expected rates in [1, 100000]"));
        s.rates << rate;
    }
    s.streamRate = number("stream-rate", 0, 10000);
    s.duration = number("duration", 0.5, 600);
    s.warmup = number("warmup", 0, 60);
    s.probeMs = int(number("probe-ms", 1, 1000));
    s.grabMs = int(number("grab-ms", 0, 60000));
    s.thresholdMs = number("threshold-ms", 1, 1000);
    s.workers = int(number("workers", 1, 64));
    s.mockThreads = int(number("mock-threads", 1, 64));
    s.connections = int(number("connections", 1, 1024));
    s.trafficNice = int(number("traffic-nice", 0, 19));
    s.logRows = qint64(number("log-rows", 0, 100000000));
    const QStringList size = args.value(QStringLiteral("size")).split(QLatin1Char('x'));
    if (size.size() != 2 || size[0].toInt() < 200 || size[1].toInt() < 200)
        usageError(QStringLiteral("--size: expected WxH, e.g. 1280x800"));
    s.width = size[0].toInt();
    s.height = size[1].toInt();
    static const QHash<QString, ui::MainWindow::Page> known{
        {QStringLiteral("overview"), ui::MainWindow::Overview},
        {QStringLiteral("dashboard"), ui::MainWindow::Dashboard},
        {QStringLiteral("requests"), ui::MainWindow::Requests},
        {QStringLiteral("alerts"), ui::MainWindow::Alerts}};
    for (const QString &page : args.value(QStringLiteral("pages")).split(QLatin1Char(','))) {
        if (!known.contains(page))
            usageError(QStringLiteral("--pages: unknown page %1").arg(page));
        s.pages << known.value(page);
    }
    return s;
}

} // namespace

int main(int argc, char *argv[])
{
    // Never the user's keyring: the Providers page asks the keychain over the session bus.
    qputenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/tollgate-guibench-bus");
    t_onGuiThread = true;
    ProbedApplication app(argc, argv);
    std::signal(SIGPIPE, SIG_IGN);
    const Settings settings = parseSettings(app);
    // The console's settings (page, geometry) under ~/.qttest, not the user's.
    QStandardPaths::setTestModeEnabled(true);
    QSettings(QStringLiteral("tollgate"), QStringLiteral("console")).clear();

    QTemporaryDir dataDir;
    if (!dataDir.isValid())
        usageError(QStringLiteral("cannot create a temporary data directory"));
    if (settings.logRows > 0 && !bench::writeGeneratedLog(dataDir.path(), settings.logRows))
        usageError(QStringLiteral("cannot write the request log"));
    testsupport::MockUpstream mock;
    mock.setThreads(settings.mockThreads);
    mock.setJournalLimit(0);
    if (!mock.listen())
        usageError(QStringLiteral("mock upstream: %1").arg(mock.errorString()));
    gateway::PolicyDocument policy;
    policy.gateway.listenPort = 0;
    policy.gateway.dataDir = dataDir.path();
    policy.gateway.workers = settings.workers;
    for (const char *name : {"anthropic", "openai"}) {
        const auto url = policy::parseBaseUrl(mock.baseUrl().toString());
        policy::findProvider(policy.gateway, QLatin1String(name))->baseUrls = {*url};
    }
    gateway::GatewayThread gatewayThread(policy);
    QString error;
    if (!gatewayThread.start(&error))
        usageError(QStringLiteral("gateway: %1").arg(error));

    int rc = 0;
    {
        ui::MainWindow window(gatewayThread);
        window.resize(settings.width, settings.height);
        window.show();
        GuiBench bench(app, window, gatewayThread.port(), settings);
        spin(LoadClient::nowNs() + kSecond); // shown, laid out, history loaded

        const QString platform = QGuiApplication::platformName();
        std::printf("# Tollgate console under load (tollgate-guibench)\n\n");
        std::printf("- platform: %s; window %dx%d (shown: %dx%d); probe every %d ms; a full "
                    "window grab every %d ms\n",
                    qPrintable(platform), settings.width, settings.height, window.width(),
                    window.height(), settings.probeMs, settings.grabMs);
        std::printf("- in one process: mock upstream (%d thread), gateway (%d worker, request "
                    "log on, default policy: every request a cache miss that is stored), the "
                    "console's MainWindow, open-loop clients on 127.0.0.1\n",
                    settings.mockThreads, settings.workers);
        if (settings.logRows > 0)
            std::printf("- the request log held %lld generated requests when the console "
                        "opened\n",
                        qlonglong(settings.logRows));
        if (settings.trafficNice != 0)
            std::printf("- the mock upstream's and the clients' threads at nice %d (they stand "
                        "for other machines); the console's and the gateway's at 0\n",
                        settings.trafficNice);
        std::printf("- each phase: %.0f s warm-up (unmeasured), then %.0f s measured\n\n",
                    settings.warmup, settings.duration);
        std::fflush(stdout);

        std::vector<PhaseResult> phases;
        for (const ui::MainWindow::Page page : settings.pages)
            phases.push_back(bench.run(QStringLiteral("idle"), page, 0));
        for (const double rate : settings.rates) {
            for (const ui::MainWindow::Page page : settings.pages)
                phases.push_back(bench.run(QStringLiteral("load"), page, rate));
        }
        std::printf("%s", qPrintable(report(phases, settings, platform)));
        for (const PhaseResult &p : phases)
            rc = p.messages.errors + p.streams.errors > 0 ? 1 : rc;
        if (rc != 0)
            std::printf("\n!!! REQUESTS FAILED: the load phases' numbers are not a measurement\n");
    }
    gatewayThread.stop();
    mock.close();
    return rc;
}
