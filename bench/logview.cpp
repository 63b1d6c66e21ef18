// tollgate-logview-bench: the console's Requests page over a large SQLite request log. Generates
// the log once (kept between runs in --dir), then measures opening the page, scrolling (by
// screens, by jumps to the middle and the end, and by drags to random places) and filtering, each
// step timed until every row on screen is shown. Run it on the offscreen platform:
//
//   QT_QPA_PLATFORM=offscreen build/bench/tollgate-logview-bench --rows 1000000 --dir /tmp/logview

#include "generatedlog.h"
#include "latencystats.h"

#include "consolesettings.h"
#include "requestsmodel.h"
#include "requestspage.h"

#include "store/requestlog.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QLineEdit>
#include <QRandomGenerator>
#include <QScrollBar>
#include <QStandardPaths>
#include <QTableView>
#include <QTemporaryDir>
#include <QThread>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <vector>

using namespace tollgate;
using bench::LatencyStats;

namespace {

class Bench {
public:
    Bench(const QString &dir)
        : m_settings(std::make_unique<ui::ConsoleSettings>())
        , m_dir(dir)
    {
    }

    // Opens the page: the time to the first screen of rows, and to the count.
    void open()
    {
        QElapsedTimer timer;
        timer.start();
        m_model = std::make_unique<ui::RequestsModel>(
            store::RequestLogReader(bench::requestLogPath(m_dir)));
        m_page = std::make_unique<ui::RequestsPage>(*m_model, *m_settings);
        m_page->resize(1100, 700);
        m_page->show();
        waitForScreen([] { return true; }, false);
        const double firstRows = double(timer.nsecsElapsed()) / 1e6;
        waitForScreen([this] { return m_model->matchingCount() >= 0; }, false);
        const double counted = double(timer.nsecsElapsed()) / 1e6;
        waitForScreen([] { return true; }, true);
        const double indexed = double(timer.nsecsElapsed()) / 1e6;
        std::printf("open: first rows shown %.2f ms; counted %lld rows in %.1f ms; block index "
                    "in %.1f ms\n",
                    firstRows, qlonglong(m_model->matchingCount()), counted, indexed);
    }

    // Steps the view through `steps` moves; prints per-step percentiles.
    void steps(const char *name, int count, const std::function<void(int)> &move)
    {
        std::vector<qint64> samples;
        samples.reserve(size_t(count));
        for (int i = 0; i < count; ++i) {
            QElapsedTimer timer;
            timer.start();
            move(i);
            waitForScreen([] { return true; }, false);
            samples.push_back(timer.nsecsElapsed());
        }
        report(name, LatencyStats(samples));
    }

    void scrolling()
    {
        QTableView *table = m_page->table();
        QScrollBar *bar = table->verticalScrollBar();
        const int rows = m_model->rowCount();
        table->scrollToTop();
        waitForScreen([] { return true; }, false);
        steps("page down from the top (200 screens)", 200,
              [bar](int) { bar->triggerAction(QAbstractSlider::SliderPageStepAdd); });
        steps("jump to the middle", 1, [&](int) {
            table->scrollTo(m_model->index(rows / 2, 0), QAbstractItemView::PositionAtTop);
        });
        steps("page down in the middle (200 screens)", 200,
              [bar](int) { bar->triggerAction(QAbstractSlider::SliderPageStepAdd); });
        steps("jump to the end", 1, [table](int) { table->scrollToBottom(); });
        steps("page up from the end (200 screens)", 200,
              [bar](int) { bar->triggerAction(QAbstractSlider::SliderPageStepSub); });
        QRandomGenerator random(42);
        steps("drag to a random place (100 drags)", 100,
              [&](int) { bar->setValue(int(random.bounded(bar->maximum() + 1))); });
        steps("back to the top", 1, [table](int) { table->scrollToTop(); });
    }

    void filtering()
    {
        for (const char *text :
             {"user=u7", "status=5xx model=claude-*", "latency>900ms", "nobody-has-this"}) {
            QElapsedTimer timer;
            timer.start();
            m_page->filter()->setText(QLatin1String(text));
            waitForScreen([] { return true; }, false);
            const double firstRows = double(timer.nsecsElapsed()) / 1e6;
            waitForScreen([this] { return m_model->matchingCount() >= 0; }, false);
            const double counted = double(timer.nsecsElapsed()) / 1e6;
            waitForScreen([] { return true; }, true);
            const double indexed = double(timer.nsecsElapsed()) / 1e6;
            QElapsedTimer end;
            end.start();
            m_page->table()->scrollToBottom();
            waitForScreen([] { return true; }, false);
            std::printf("filter %-28s first rows %8.2f ms; counted %7lld in %7.1f ms; "
                        "indexed in %7.1f ms; to its end %6.2f ms\n",
                        qPrintable(QStringLiteral("\"%1\":").arg(QLatin1String(text))), firstRows,
                        qlonglong(m_model->matchingCount()), counted, indexed,
                        double(end.nsecsElapsed()) / 1e6);
        }
        m_page->filter()->clear();
        waitForScreen([this] { return m_model->matchingCount() >= 0; }, true);
    }

private:
    // Spins the event loop until the rows on screen are read and shown (and `more` holds).
    void waitForScreen(const std::function<bool()> &more, bool idle)
    {
        QTableView *table = m_page->table();
        QElapsedTimer waited;
        waited.start();
        while (waited.elapsed() < 60000) {
            table->viewport()->repaint(); // a paint asks for the rows on screen
            QCoreApplication::processEvents(QEventLoop::AllEvents);
            const int top = table->rowAt(0);
            int bottom = table->rowAt(table->viewport()->height() - 1);
            if (bottom < 0)
                bottom = m_model->rowCount() - 1;
            // No row on screen counts as shown once the model has nothing left to read.
            bool shown = top >= 0 || m_model->isIdle();
            for (int row = top; shown && top >= 0 && row <= bottom; ++row)
                shown = m_model->isLoaded(row);
            if (shown && more() && (!idle || m_model->isIdle()))
                return;
            QThread::usleep(50);
        }
        std::fprintf(stderr, "gave up waiting for the screen after 60 s\n");
        std::exit(2);
    }

    static void report(const char *name, const LatencyStats &stats)
    {
        std::printf("%-40s n=%4lld  p50 %7.2f ms  p90 %7.2f ms  p99 %7.2f ms  max %7.2f ms\n", name,
                    qlonglong(stats.count()), LatencyStats::toMs(stats.percentileNs(0.5)),
                    LatencyStats::toMs(stats.percentileNs(0.9)),
                    LatencyStats::toMs(stats.percentileNs(0.99)),
                    LatencyStats::toMs(stats.maxNs()));
    }

    std::unique_ptr<ui::ConsoleSettings> m_settings;
    QString m_dir;
    std::unique_ptr<ui::RequestsModel> m_model;
    std::unique_ptr<ui::RequestsPage> m_page;
};

QString residentMemory()
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly))
        return {};
    QStringList found;
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("VmRSS") || line.startsWith("VmHWM"))
            found.append(QString::fromLatin1(line.simplified()));
    }
    return found.join(QStringLiteral(", "));
}

} // namespace

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QStandardPaths::setTestModeEnabled(true); // console settings away from the user's
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Measures the console's Requests page over a large request log."));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("rows"), QStringLiteral("rows in the log"),
                      QStringLiteral("N"), QStringLiteral("1000000")});
    parser.addOption({QStringLiteral("dir"),
                      QStringLiteral("folder for the log, kept for the next run (default: a "
                                     "temporary one)"),
                      QStringLiteral("DIR")});
    parser.process(app);
    const qint64 rows = parser.value(QStringLiteral("rows")).toLongLong();
    QTemporaryDir temporary;
    const QString dir = parser.isSet(QStringLiteral("dir")) ? parser.value(QStringLiteral("dir"))
                                                            : temporary.path();
    if (rows < 1 || !QDir().mkpath(dir) || !bench::writeGeneratedLog(dir, rows))
        return 1;
    std::printf("block %d rows, %d blocks cached; platform %s\n", ui::RequestsModel::kBlockRows,
                ui::RequestsModel::kCachedBlocks, qPrintable(QGuiApplication::platformName()));
    Bench bench(dir);
    bench.open();
    bench.scrolling();
    bench.filtering();
    std::printf("memory: %s\n", qPrintable(residentMemory()));
    return 0;
}
