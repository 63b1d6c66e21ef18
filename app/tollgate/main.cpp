// tollgate: the desktop console, with the gateway running in-process.

#include "consolestart.h"
#include "gatewayoptions.h"
#include "mainwindow.h"
#include "simulatedproviders.h"

#include "gateway/gatewaythread.h"

#include <QApplication>
#include <QTimer>

#include <csignal>
#include <cstdio>

using namespace tollgate;

namespace {

int fail(const QString &message)
{
    std::fprintf(stderr, "tollgate: %s\n", qPrintable(message));
    return 2;
}

/// For documentation and visual checks: runs for a while, saves every page, quits.
void scheduleScreenshots(ui::MainWindow &window, const QString &folder, double seconds)
{
    QTimer::singleShot(int(seconds * 1000), &window, [&window, folder] {
        const auto files = window.saveScreenshots(folder);
        if (!files) {
            fail(files.error().message);
            QCoreApplication::exit(1);
            return;
        }
        for (const QString &file : *files)
            std::fprintf(stdout, "saved %s\n", qPrintable(file));
        QCoreApplication::exit(0);
    });
}

} // namespace

int main(int argc, char *argv[])
{
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("tollgate"));
    QApplication::setApplicationDisplayName(QStringLiteral("Tollgate"));
    QApplication::setApplicationVersion(QStringLiteral(TOLLGATE_VERSION));
    std::signal(SIGPIPE, SIG_IGN);

    QCommandLineParser args;
    args.setApplicationDescription(QStringLiteral(
        "Tollgate console: the gateway in-process, its request log and where to point your "
        "tools."));
    args.addHelpOption();
    args.addVersionOption();
    app::addGatewayOptions(args);
    app::SimulatedProviders::addOptions(args, app::SimulatedProviders::Mode::Auto);
    args.addOptions({
        {QStringLiteral("screenshots"),
         QStringLiteral("Save a PNG of every page into DIR, then quit (see "
                        "--screenshots-after)."),
         QStringLiteral("DIR")},
        {QStringLiteral("screenshots-after"),
         QStringLiteral("Seconds to run before the screenshots (default 10)."), QStringLiteral("s"),
         QStringLiteral("10")},
    });
    args.process(app);

    bool delayOk = false;
    const double screenshotDelay =
        args.value(QStringLiteral("screenshots-after")).toDouble(&delayOk);
    if (!delayOk || screenshotDelay < 0 || screenshotDelay > 3600)
        return fail(QStringLiteral("--screenshots-after: expected 0 to 3600 seconds"));

    app::ConsoleStart start;
    if (const QString problem = start.prepare(args); !problem.isEmpty())
        return fail(problem);

    gateway::GatewayThread gateway(start.document());
    QString error;
    if (!gateway.start(&error))
        return fail(error);
    std::fprintf(stdout, "listening on %s:%u\n", qPrintable(gateway.address().toString()),
                 unsigned(gateway.port()));
    std::fflush(stdout);
    for (const QString &note : start.notes())
        std::fprintf(stderr, "tollgate: %s\n", qPrintable(note));

    ui::MainWindow window(gateway);
    start.attach(window);
    window.show();
    if (args.isSet(QStringLiteral("screenshots")))
        scheduleScreenshots(window, args.value(QStringLiteral("screenshots")), screenshotDelay);
    const int code = app.exec();
    gateway.stop();
    return code;
}
