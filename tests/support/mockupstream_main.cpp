// tollgate-mock-upstream: the mock provider as a process, for the SDK tests and the benchmark.

#include "mockupstream.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QSocketNotifier>

#include <csignal>
#include <cstdio>
#include <sys/socket.h>
#include <unistd.h>

using tollgate::testsupport::MockUpstream;

namespace {

int signalPipe[2] = {-1, -1};

// Only async-signal-safe work here: the event loop reads the byte and quits.
void onTerminationSignal(int)
{
    const char byte = 1;
    [[maybe_unused]] const ssize_t written = ::write(signalPipe[0], &byte, 1);
}

bool installSignalHandlers(QCoreApplication &app)
{
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, signalPipe) != 0)
        return false;
    auto *notifier = new QSocketNotifier(signalPipe[1], QSocketNotifier::Read, &app);
    QObject::connect(notifier, &QSocketNotifier::activated, &app, [notifier, &app] {
        notifier->setEnabled(false);
        char byte = 0;
        [[maybe_unused]] const ssize_t got = ::read(signalPipe[1], &byte, 1);
        app.quit();
    });
    struct sigaction action = {};
    action.sa_handler = onTerminationSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    ::sigaction(SIGTERM, &action, nullptr);
    ::sigaction(SIGINT, &action, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    return true;
}

bool parseListen(const QString &text, QHostAddress &address, quint16 &port)
{
    const qsizetype colon = text.lastIndexOf(QLatin1Char(':'));
    if (colon < 0)
        return false;
    QString host = text.left(colon);
    if (host.startsWith(QLatin1Char('[')) && host.endsWith(QLatin1Char(']')))
        host = host.mid(1, host.size() - 2);
    bool ok = false;
    const uint number = text.mid(colon + 1).toUInt(&ok);
    port = quint16(number);
    return ok && number <= 65535 && address.setAddress(host);
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("tollgate-mock-upstream"));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("A mock Anthropic + OpenAI upstream for Tollgate's tests and benchmark.\n"
                       "Scenarios are chosen per request; see tests/support/README.md."));
    parser.addHelpOption();
    parser.addOptions({
        {QStringLiteral("listen"), QStringLiteral("Address to listen on."),
         QStringLiteral("HOST:PORT"), QStringLiteral("127.0.0.1:0")},
        {QStringLiteral("threads"), QStringLiteral("Worker threads, each with its own event loop."),
         QStringLiteral("N"), QStringLiteral("1")},
        {QStringLiteral("require-key"),
         QStringLiteral("Answer 401 unless x-api-key or Authorization: Bearer carries KEY."),
         QStringLiteral("KEY")},
        {QStringLiteral("journal-limit"),
         QStringLiteral("Newest requests kept in the journal (0: none)."), QStringLiteral("N"),
         QStringLiteral("10000")},
    });
    parser.process(app);

    QHostAddress address;
    quint16 port = 0;
    bool threadsOk = false;
    const int threads = parser.value(QStringLiteral("threads")).toInt(&threadsOk);
    if (!parseListen(parser.value(QStringLiteral("listen")), address, port) || !threadsOk ||
        threads < 1) {
        std::fprintf(stderr, "tollgate-mock-upstream: bad --listen or --threads\n");
        return 2;
    }
    if (!installSignalHandlers(app)) {
        std::perror("tollgate-mock-upstream: socketpair");
        return 1;
    }

    MockUpstream mock;
    mock.setThreads(threads);
    mock.setRequiredKey(parser.value(QStringLiteral("require-key")).toUtf8());
    mock.setJournalLimit(parser.value(QStringLiteral("journal-limit")).toInt());
    if (!mock.listen(address, port)) {
        std::fprintf(stderr, "tollgate-mock-upstream: cannot listen on %s: %s\n",
                     qPrintable(parser.value(QStringLiteral("listen"))),
                     qPrintable(mock.errorString()));
        return 1;
    }
    const QString host = address.protocol() == QAbstractSocket::IPv6Protocol
                             ? QLatin1Char('[') + address.toString() + QLatin1Char(']')
                             : address.toString();
    std::printf("listening on %s:%u\n", qPrintable(host), unsigned(mock.port()));
    std::fflush(stdout);
    return app.exec();
}
