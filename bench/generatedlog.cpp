#include "generatedlog.h"

#include "store/requestlog.h"

#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>

#include <cstdio>

namespace tollgate::bench {

metering::RequestRecord generatedRequest(qint64 i, qint64 newestMs)
{
    static const char *const models[] = {"claude-3-haiku-20240307", "claude-sonnet-4-20250514",
                                         "gpt-4o-mini", "gpt-4o"};
    static const int statuses[] = {200, 200, 200, 200, 200, 200, 200, 429, 500, 529};
    metering::RequestRecord r;
    r.id = QStringLiteral("bench-%1").arg(i, 7, 10, QLatin1Char('0'));
    r.startedAtMs = newestMs - i * 2; // 1,000,000 rows over about 33 minutes
    const bool openai = i % 4 >= 2;
    r.flavor = QLatin1String(openai ? "openai" : "anthropic");
    r.endpoint = QLatin1String(openai ? "/v1/chat/completions" : "/v1/messages");
    r.user = QStringLiteral("u%1").arg(i % 200);
    r.requestedModel = QLatin1String(models[i % 4]);
    r.usedModel = r.requestedModel;
    r.status = statuses[i % 10];
    r.stream = i % 3 == 0;
    r.latencyMs = 80 + double(i % 900);
    r.ttftMs = r.stream ? 40 + double(i % 200) : -1;
    r.upstreamMs = r.latencyMs - 0.3;
    r.overheadMs = 0.3;
    r.usage.inputTokens = 100 + i % 4000;
    r.usage.outputTokens = 20 + i % 800;
    r.costUsd = 0.0001 * double(i % 100);
    r.cacheStatus = QLatin1String(i % 7 == 0 ? "hit" : "miss");
    r.plan = QStringLiteral("pro");
    r.route = QLatin1String(i % 5 == 0 ? "complexity" : "");
    return r;
}

QString requestLogPath(const QString &dataDir)
{
    return QDir(dataDir).filePath(QStringLiteral("requests.sqlite"));
}

bool writeGeneratedLog(const QString &dataDir, qint64 rows)
{
    store::RequestLog::Options options;
    options.path = requestLogPath(dataDir);
    options.retentionDays = 0;
    options.maxRows = 0;
    options.queueCapacity = 100000;
    options.maxBatch = 10000;
    auto log = store::RequestLog::open(options);
    if (!log) {
        std::fprintf(stderr, "%s\n", qPrintable(log.error().message));
        return false;
    }
    const auto existing = (*log)->count(metering::RequestFilter());
    if (existing && *existing == rows) {
        std::printf("log: %lld rows already in %s\n", qlonglong(rows), qPrintable(options.path));
        return true;
    }
    if (existing && *existing != 0) {
        std::fprintf(stderr, "%s holds %lld rows, not %lld: use another --dir\n",
                     qPrintable(options.path), qlonglong(*existing), qlonglong(rows));
        return false;
    }
    QElapsedTimer timer;
    timer.start();
    const qint64 newest = QDateTime::currentMSecsSinceEpoch();
    // Oldest first, as a gateway writes them, in chunks the queue holds.
    for (qint64 i = rows - 1; i >= 0; --i) {
        if (!(*log)->append(generatedRequest(i, newest)))
            return false;
        if (i % 50000 == 0)
            (*log)->flush();
    }
    (*log)->flush();
    std::printf("log: wrote %lld rows in %.1f s to %s\n", qlonglong(rows),
                double(timer.elapsed()) / 1000, qPrintable(options.path));
    return true;
}

} // namespace tollgate::bench
