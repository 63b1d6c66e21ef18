#include "metering/metrics.h"

#include <QFileInfo>
#include <QProcess>
#include <QRegularExpression>
#include <QTest>

#include <thread>
#include <vector>

using tollgate::metering::Metrics;
using tollgate::metering::RedisHealth;
using tollgate::metering::RequestRecord;

namespace {

RequestRecord makeRecord(const QString &model, int status, double latencyMs)
{
    RequestRecord r;
    r.id = QStringLiteral("req");
    r.flavor = QStringLiteral("anthropic");
    r.endpoint = QStringLiteral("/v1/messages");
    r.requestedModel = model;
    r.usedModel = model;
    r.status = status;
    r.latencyMs = latencyMs;
    r.upstreamMs = latencyMs;
    r.overheadMs = 0;
    r.cacheStatus = QStringLiteral("miss");
    return r;
}

QStringList lines(const QByteArray &text)
{
    return QString::fromUtf8(text).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
}

// The value of the one sample line that starts with `series` followed by a space.
QString sampleValue(const QByteArray &text, const QString &series)
{
    QString found;
    int matches = 0;
    for (const QString &line : lines(text)) {
        if (line.startsWith(series + QLatin1Char(' '))) {
            found = line.mid(series.size() + 1);
            ++matches;
        }
    }
    return matches == 1 ? found : QString();
}

bool hasLine(const QByteArray &text, const QString &line)
{
    return lines(text).contains(line);
}

const QString kSonnet = QStringLiteral("claude-sonnet-4-20250514");

} // namespace

class TestMetrics : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void emptyRegistryRendersEveryFamily();
    void requestsByModelAndStatus();
    void errorTypes_data();
    void errorTypes();
    void durationBucketsAreCumulative();
    void bucketsCumulativeEverywhere();
    void ttftUpstreamAndOverhead();
    void tokensCostAndCache();
    void modelLabelFallback();
    void labelValuesAreEscaped();
    void gauges();
    void savedRetriesAndBreakers();
    void modelLabelsAreCapped();
    void concurrentRecording();
    void redisHealthOnlyWhenConfigured();
    void promtoolAcceptsEmptyOutput();
    void promtoolAcceptsFullOutput();

private:
    void checkWithPromtool(const QByteArray &text);
};

void TestMetrics::emptyRegistryRendersEveryFamily()
{
    const QByteArray text = Metrics().renderPrometheus();
    const struct {
        const char *name, *type;
    } families[] = {
        {"ai_requests_total", "counter"},
        {"ai_errors_total", "counter"},
        {"ai_request_duration_seconds", "histogram"},
        {"ai_time_to_first_token_seconds", "histogram"},
        {"tollgate_upstream_duration_seconds", "histogram"},
        {"tollgate_gateway_overhead_seconds", "histogram"},
        {"ai_cost_total_usd", "gauge"},
        {"ai_tokens_total", "counter"},
        {"ai_cache_requests_total", "counter"},
        {"tollgate_inflight_requests", "gauge"},
        {"tollgate_log_dropped_total", "counter"},
    };
    for (const auto &family : families) {
        const QString type = QStringLiteral("# TYPE %1 %2")
                                 .arg(QLatin1String(family.name), QLatin1String(family.type));
        QVERIFY2(hasLine(text, type), qPrintable(type));
        QCOMPARE(
            lines(text).filter(QStringLiteral("# HELP %1 ").arg(QLatin1String(family.name))).size(),
            1);
    }
    QVERIFY(
        hasLine(text, QStringLiteral("tollgate_gateway_overhead_seconds_bucket{le=\"+Inf\"} 0")));
    QVERIFY(hasLine(text, QStringLiteral("tollgate_gateway_overhead_seconds_count 0")));
    QVERIFY(hasLine(text, QStringLiteral("tollgate_gateway_overhead_seconds_sum 0")));
    QVERIFY(hasLine(text, QStringLiteral("ai_cache_requests_total{status=\"hit\"} 0")));
    QVERIFY(hasLine(text, QStringLiteral("tollgate_inflight_requests 0")));
    QVERIFY(hasLine(text, QStringLiteral("tollgate_log_dropped_total 0")));
    QVERIFY(text.endsWith('\n'));
}

void TestMetrics::requestsByModelAndStatus()
{
    Metrics metrics;
    metrics.record(makeRecord(kSonnet, 200, 100));
    metrics.record(makeRecord(kSonnet, 200, 100));
    metrics.record(makeRecord(kSonnet, 429, 1));
    metrics.record(makeRecord(QStringLiteral("gpt-4o"), 200, 100));
    const QByteArray text = metrics.renderPrometheus();

    QVERIFY(hasLine(
        text,
        QStringLiteral(R"(ai_requests_total{model="claude-sonnet-4-20250514",status="200"} 2)")));
    QVERIFY(hasLine(
        text,
        QStringLiteral(R"(ai_requests_total{model="claude-sonnet-4-20250514",status="429"} 1)")));
    QVERIFY(hasLine(text, QStringLiteral(R"(ai_requests_total{model="gpt-4o",status="200"} 1)")));
    QVERIFY(hasLine(
        text,
        QStringLiteral(
            R"(ai_errors_total{model="claude-sonnet-4-20250514",status="429",type="rate_limited"} 1)")));
    // Successes are not errors.
    QCOMPARE(lines(text).filter(QStringLiteral("ai_errors_total{")).size(), 1);
    // Output is sorted, so scrapes are stable.
    const QStringList requestLines = lines(text).filter(QRegularExpression("^ai_requests_total{"));
    QStringList sorted = requestLines;
    sorted.sort();
    QCOMPARE(requestLines, sorted);
}

void TestMetrics::errorTypes_data()
{
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("error");
    QTest::addColumn<QString>("type"); // empty: not an error

    QTest::newRow("200") << 200 << QString() << QString();
    QTest::newRow("304") << 304 << QString() << QString();
    QTest::newRow("client left, no error") << 0 << QString() << QString();
    QTest::newRow("400") << 400 << QStringLiteral("bad json") << QStringLiteral("client_error");
    QTest::newRow("401 without text") << 401 << QString() << QStringLiteral("client_error");
    QTest::newRow("404") << 404 << QString() << QStringLiteral("client_error");
    QTest::newRow("429") << 429 << QString() << QStringLiteral("rate_limited");
    QTest::newRow("408") << 408 << QString() << QStringLiteral("timeout");
    QTest::newRow("504") << 504 << QStringLiteral("upstream timed out")
                         << QStringLiteral("timeout");
    QTest::newRow("500") << 500 << QString() << QStringLiteral("upstream_error");
    QTest::newRow("502") << 502 << QStringLiteral("bad gateway")
                         << QStringLiteral("upstream_error");
    QTest::newRow("529 overloaded") << 529 << QString() << QStringLiteral("upstream_error");
    QTest::newRow("200 cut short")
        << 200 << QStringLiteral("upstream reset") << QStringLiteral("stream_interrupted");
    QTest::newRow("client left with error")
        << 0 << QStringLiteral("client closed") << QStringLiteral("client_closed");
    QTest::newRow("302 with error") << 302 << QStringLiteral("odd") << QStringLiteral("other");
}

void TestMetrics::errorTypes()
{
    QFETCH(int, status);
    QFETCH(QString, error);
    QFETCH(QString, type);

    Metrics metrics;
    RequestRecord r = makeRecord(QStringLiteral("m"), status, 10);
    r.error = error;
    metrics.record(r);
    metrics.record(r);
    const QByteArray text = metrics.renderPrometheus();
    const QStringList errorLines = lines(text).filter(QRegularExpression("^ai_errors_total{"));
    if (type.isEmpty()) {
        QVERIFY2(errorLines.isEmpty(), qPrintable(errorLines.join(QLatin1Char('\n'))));
    } else {
        QCOMPARE(errorLines,
                 QStringList{QStringLiteral(R"(ai_errors_total{model="m",status="%1",type="%2"} 2)")
                                 .arg(status)
                                 .arg(type)});
    }
    QVERIFY(
        hasLine(text, QStringLiteral(R"(ai_requests_total{model="m",status="%1"} 2)").arg(status)));
}

void TestMetrics::durationBucketsAreCumulative()
{
    Metrics metrics;
    // 0.05 s, exactly 0.1 s (belongs to le="0.1"), 0.7 s, 3 s and 20 s (only +Inf).
    for (double ms : {50.0, 100.0, 700.0, 3000.0, 20000.0})
        metrics.record(makeRecord(kSonnet, 200, ms));
    const QByteArray text = metrics.renderPrometheus();

    const QString prefix =
        QStringLiteral(R"(ai_request_duration_seconds_bucket{model="claude-sonnet-4-20250514",)");
    const QStringList expected = {
        prefix + QStringLiteral(R"(le="0.1"} 2)"),  prefix + QStringLiteral(R"(le="0.5"} 2)"),
        prefix + QStringLiteral(R"(le="1"} 3)"),    prefix + QStringLiteral(R"(le="2"} 3)"),
        prefix + QStringLiteral(R"(le="5"} 4)"),    prefix + QStringLiteral(R"(le="10"} 4)"),
        prefix + QStringLiteral(R"(le="+Inf"} 5)"),
    };
    QCOMPARE(lines(text).filter(prefix), expected);
    QVERIFY(hasLine(
        text, QStringLiteral(
                  R"(ai_request_duration_seconds_count{model="claude-sonnet-4-20250514"} 5)")));
    const QString sum = sampleValue(
        text,
        QStringLiteral(R"(ai_request_duration_seconds_sum{model="claude-sonnet-4-20250514"})"));
    bool ok = false;
    QCOMPARE(sum.toDouble(&ok), 0.05 + 0.1 + 0.7 + 3 + 20);
    QVERIFY(ok);
}

void TestMetrics::bucketsCumulativeEverywhere()
{
    Metrics metrics;
    int i = 0;
    for (double ms :
         {0.01, 0.07, 0.3, 2.0, 40.0, 120.0, 450.0, 900.0, 1500.0, 4000.0, 9000.0, 60000.0}) {
        RequestRecord r = makeRecord(i % 2 ? kSonnet : QStringLiteral("gpt-4o"), 200, ms);
        r.ttftMs = ms / 2;
        r.upstreamMs = ms * 0.9;
        r.overheadMs = ms / 1000;
        metrics.record(r);
        ++i;
    }
    const QByteArray text = metrics.renderPrometheus();

    // Group bucket lines by series (name plus labels without le) and check each is
    // non-decreasing, ends in +Inf and that +Inf equals _count.
    static const QRegularExpression bucket(
        QStringLiteral("^(\\w+)_bucket[{](.*?),?le=\"([^\"]+)\"[}] (\\d+)$"));
    QHash<QString, quint64> last;
    QHash<QString, QString> lastLe;
    int bucketLines = 0;
    for (const QString &line : lines(text)) {
        const QRegularExpressionMatch m = bucket.match(line);
        if (!m.hasMatch())
            continue;
        ++bucketLines;
        const QString series = m.captured(1) + QLatin1Char('|') + m.captured(2);
        const quint64 value = m.captured(4).toULongLong();
        QVERIFY2(value >= last.value(series, 0), qPrintable(line));
        last[series] = value;
        lastLe[series] = m.captured(3);
    }
    QVERIFY(bucketLines > 0);
    for (auto it = last.cbegin(); it != last.cend(); ++it) {
        QCOMPARE(lastLe.value(it.key()), QStringLiteral("+Inf"));
        const QStringList parts = it.key().split(QLatin1Char('|'));
        const QString countSeries = parts[1].isEmpty()
                                        ? parts[0] + QStringLiteral("_count")
                                        : parts[0] + QStringLiteral("_count{%1}").arg(parts[1]);
        QCOMPARE(sampleValue(text, countSeries), QString::number(it.value()));
    }
    QVERIFY(hasLine(text, QStringLiteral("tollgate_gateway_overhead_seconds_count 12")));
}

void TestMetrics::ttftUpstreamAndOverhead()
{
    Metrics metrics;
    RequestRecord streamed = makeRecord(kSonnet, 200, 1500);
    streamed.stream = true;
    streamed.ttftMs = 300;
    streamed.upstreamMs = 1499.5;
    streamed.overheadMs = 0.5; // 500 µs: le="0.0005"
    metrics.record(streamed);

    RequestRecord cacheHit = makeRecord(QStringLiteral("gpt-4o"), 200, 0.04);
    cacheHit.upstreamMs = 0; // never went upstream
    cacheHit.overheadMs = 0.04;
    cacheHit.cacheStatus = QStringLiteral("hit");
    metrics.record(cacheHit);
    const QByteArray text = metrics.renderPrometheus();

    const QString m = QStringLiteral(R"(model="claude-sonnet-4-20250514")");
    QVERIFY(hasLine(
        text, QStringLiteral(R"(ai_time_to_first_token_seconds_bucket{%1,le="0.25"} 0)").arg(m)));
    QVERIFY(hasLine(
        text, QStringLiteral(R"(ai_time_to_first_token_seconds_bucket{%1,le="0.5"} 1)").arg(m)));
    QVERIFY(hasLine(text, QStringLiteral("ai_time_to_first_token_seconds_sum{%1} 0.3").arg(m)));
    QVERIFY(hasLine(text, QStringLiteral("ai_time_to_first_token_seconds_count{%1} 1").arg(m)));
    QVERIFY(hasLine(
        text, QStringLiteral(R"(tollgate_upstream_duration_seconds_bucket{%1,le="1"} 0)").arg(m)));
    QVERIFY(hasLine(
        text, QStringLiteral(R"(tollgate_upstream_duration_seconds_bucket{%1,le="2"} 1)").arg(m)));
    QVERIFY(
        hasLine(text, QStringLiteral("tollgate_upstream_duration_seconds_sum{%1} 1.4995").arg(m)));
    // No time to first token and no upstream time for the cache hit: no series at all.
    QCOMPARE(lines(text).filter(QStringLiteral("ai_time_to_first_token_seconds_count{")).size(), 1);
    QCOMPARE(lines(text).filter(QStringLiteral("tollgate_upstream_duration_seconds_count{")).size(),
             1);

    const QStringList expectedOverhead = {
        QStringLiteral(R"(tollgate_gateway_overhead_seconds_bucket{le="5e-05"} 1)"),
        QStringLiteral(R"(tollgate_gateway_overhead_seconds_bucket{le="0.0001"} 1)"),
        QStringLiteral(R"(tollgate_gateway_overhead_seconds_bucket{le="0.00025"} 1)"),
        QStringLiteral(R"(tollgate_gateway_overhead_seconds_bucket{le="0.0005"} 2)"),
        QStringLiteral(R"(tollgate_gateway_overhead_seconds_bucket{le="0.001"} 2)"),
        QStringLiteral(R"(tollgate_gateway_overhead_seconds_bucket{le="0.0025"} 2)"),
        QStringLiteral(R"(tollgate_gateway_overhead_seconds_bucket{le="0.005"} 2)"),
        QStringLiteral(R"(tollgate_gateway_overhead_seconds_bucket{le="0.01"} 2)"),
        QStringLiteral(R"(tollgate_gateway_overhead_seconds_bucket{le="0.05"} 2)"),
        QStringLiteral(R"(tollgate_gateway_overhead_seconds_bucket{le="+Inf"} 2)"),
    };
    QCOMPARE(lines(text).filter(QStringLiteral("tollgate_gateway_overhead_seconds_bucket")),
             expectedOverhead);
    QVERIFY(hasLine(text, QStringLiteral("tollgate_gateway_overhead_seconds_count 2")));
}

void TestMetrics::tokensCostAndCache()
{
    Metrics metrics;
    RequestRecord a = makeRecord(kSonnet, 200, 500);
    a.usage.inputTokens = 1000;
    a.usage.outputTokens = 200;
    a.usage.cacheWriteTokens = 3000;
    a.usage.cacheReadTokens = 0;
    a.costUsd = 0.5;
    metrics.record(a);
    RequestRecord b = a;
    b.usage.cacheWriteTokens = 0;
    b.usage.cacheReadTokens = 3000;
    b.costUsd = 0.25;
    b.cacheStatus = QStringLiteral("hit");
    metrics.record(b);
    RequestRecord c = makeRecord(kSonnet, 200, 100);
    c.cacheStatus = QStringLiteral("bypass");
    metrics.record(c);
    RequestRecord d = makeRecord(kSonnet, 400, 1);
    d.cacheStatus.clear(); // rejected before the cache was consulted
    metrics.record(d);
    const QByteArray text = metrics.renderPrometheus();

    const QString m = QStringLiteral(R"(model="claude-sonnet-4-20250514")");
    const QStringList expectedTokens = {
        QStringLiteral(R"(ai_tokens_total{%1,kind="input"} 2000)").arg(m),
        QStringLiteral(R"(ai_tokens_total{%1,kind="output"} 400)").arg(m),
        QStringLiteral(R"(ai_tokens_total{%1,kind="cache_write"} 3000)").arg(m),
        QStringLiteral(R"(ai_tokens_total{%1,kind="cache_read"} 3000)").arg(m),
    };
    QCOMPARE(lines(text).filter(QStringLiteral("ai_tokens_total{")), expectedTokens);
    QVERIFY(hasLine(text, QStringLiteral("ai_cost_total_usd{%1} 0.75").arg(m)));
    QVERIFY(hasLine(text, QStringLiteral(R"(ai_cache_requests_total{status="hit"} 1)")));
    QVERIFY(hasLine(text, QStringLiteral(R"(ai_cache_requests_total{status="miss"} 1)")));
    QVERIFY(hasLine(text, QStringLiteral(R"(ai_cache_requests_total{status="bypass"} 1)")));
}

void TestMetrics::modelLabelFallback()
{
    Metrics metrics;
    RequestRecord routed = makeRecord(QStringLiteral("claude-3-haiku-20240307"), 200, 10);
    routed.requestedModel = kSonnet; // the router picked haiku: the served model counts
    metrics.record(routed);
    RequestRecord rejected = makeRecord(QString(), 400, 1);
    rejected.requestedModel = QStringLiteral("gpt-4o");
    metrics.record(rejected);
    metrics.record(makeRecord(QString(), 400, 1));
    const QByteArray text = metrics.renderPrometheus();

    QVERIFY(hasLine(
        text,
        QStringLiteral(R"(ai_requests_total{model="claude-3-haiku-20240307",status="200"} 1)")));
    QVERIFY(!text.contains(R"(model="claude-sonnet-4-20250514")"));
    QVERIFY(hasLine(text, QStringLiteral(R"(ai_requests_total{model="gpt-4o",status="400"} 1)")));
    QVERIFY(hasLine(text, QStringLiteral(R"(ai_requests_total{model="unknown",status="400"} 1)")));
    QVERIFY(hasLine(
        text,
        QStringLiteral(R"(ai_errors_total{model="unknown",status="400",type="client_error"} 1)")));
}

void TestMetrics::labelValuesAreEscaped()
{
    Metrics metrics;
    metrics.record(makeRecord(QStringLiteral("we\"ird\\mo\ndel"), 200, 10));
    metrics.record(makeRecord(QStringLiteral("modèle-ü"), 200, 10));
    const QByteArray text = metrics.renderPrometheus();

    QVERIFY(text.contains(R"(ai_requests_total{model="we\"ird\\mo\ndel",status="200"} 1)"));
    QVERIFY(text.contains("ai_requests_total{model=\"mod\xc3\xa8le-\xc3\xbc\",status=\"200\"} 1"));
    // No raw newline inside a sample line: every line is a comment or a complete sample.
    for (const QString &line : lines(text)) {
        static const QRegularExpression sample(QStringLiteral(R"(^[a-z_]+(\{.*\})? \S+$)"));
        QVERIFY2(line.startsWith(QLatin1Char('#')) || sample.match(line).hasMatch(),
                 qPrintable(line));
    }
}

void TestMetrics::gauges()
{
    Metrics metrics;
    metrics.setInflight(7);
    metrics.setLogDropped(3);
    QByteArray text = metrics.renderPrometheus();
    QVERIFY(hasLine(text, QStringLiteral("tollgate_inflight_requests 7")));
    QVERIFY(hasLine(text, QStringLiteral("tollgate_log_dropped_total 3")));
    metrics.setInflight(0);
    metrics.setLogDropped(12);
    text = metrics.renderPrometheus();
    QVERIFY(hasLine(text, QStringLiteral("tollgate_inflight_requests 0")));
    QVERIFY(hasLine(text, QStringLiteral("tollgate_log_dropped_total 12")));
}

void TestMetrics::modelLabelsAreCapped()
{
    // Client-chosen model names must not grow the registry without bound.
    Metrics metrics;
    for (int i = 0; i < 300; ++i)
        metrics.record(makeRecord(QStringLiteral("made-up-%1").arg(i), 404, 1));
    const QByteArray text = metrics.renderPrometheus();
    const QStringList requestLines = lines(text).filter(QRegularExpression("^ai_requests_total{"));
    QCOMPARE(requestLines.size(), 257);
    QVERIFY(hasLine(text, QStringLiteral(R"(ai_requests_total{model="other",status="404"} 44)")));
}

void TestMetrics::concurrentRecording()
{
    Metrics metrics;
    constexpr int kThreads = 4;
    constexpr int kPerThread = 5000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&metrics, t] {
            RequestRecord r = makeRecord(t % 2 ? kSonnet : QStringLiteral("gpt-4o"), 200, 250);
            r.usage.outputTokens = 10;
            for (int i = 0; i < kPerThread; ++i)
                metrics.record(r);
        });
    }
    // Rendering while workers record must be safe and consistent.
    for (int i = 0; i < 20; ++i)
        QVERIFY(!metrics.renderPrometheus().isEmpty());
    for (std::thread &thread : threads)
        thread.join();
    const QByteArray text = metrics.renderPrometheus();
    QVERIFY(
        hasLine(text, QStringLiteral(R"(ai_requests_total{model="gpt-4o",status="200"} 10000)")));
    QVERIFY(hasLine(
        text, QStringLiteral(
                  R"(ai_requests_total{model="claude-sonnet-4-20250514",status="200"} 10000)")));
    QVERIFY(
        hasLine(text, QStringLiteral(R"(ai_tokens_total{model="gpt-4o",kind="output"} 100000)")));
    QVERIFY(hasLine(text, QStringLiteral("tollgate_gateway_overhead_seconds_count 20000")));
}

void TestMetrics::checkWithPromtool(const QByteArray &text)
{
    const QString promtool = QStringLiteral("/usr/bin/promtool");
    if (!QFileInfo(promtool).isExecutable())
        QSKIP("promtool not installed at /usr/bin/promtool (Debian package 'prometheus'); "
              "cannot lint the exposition format");
    QProcess process;
    process.start(promtool, {QStringLiteral("check"), QStringLiteral("metrics")});
    QVERIFY2(process.waitForStarted(10000), qPrintable(process.errorString()));
    process.write(text);
    process.closeWriteChannel();
    QVERIFY(process.waitForFinished(30000));
    const QByteArray output = process.readAllStandardOutput() + process.readAllStandardError();
    QVERIFY2(process.exitStatus() == QProcess::NormalExit && process.exitCode() == 0,
             qPrintable(QStringLiteral("promtool exit %1:\n%2\n--- input ---\n%3")
                            .arg(process.exitCode())
                            .arg(QString::fromUtf8(output), QString::fromUtf8(text))));
}

void TestMetrics::redisHealthOnlyWhenConfigured()
{
    Metrics metrics;
    QVERIFY(!metrics.renderPrometheus().contains("tollgate_redis_"));
    QVERIFY(!metrics.renderPrometheus().contains("tollgate_ratelimit_"));

    // Rate limits and budgets shared, the cache not: its families stay out.
    RedisHealth health;
    health.up = false;
    health.calls = 40;
    health.failures = 2;
    health.skipped = 9;
    health.outages = 1;
    health.rateLimits = true;
    health.rateLimitRedisAdmissions = 30;
    health.rateLimitFallbackAdmissions = 7;
    health.budgets = true;
    health.spendSent = 12;
    health.spendPending = 3;
    health.spendLastSyncSeconds = 1764855000.25;
    metrics.setRedisHealth(health);
    const QByteArray text = metrics.renderPrometheus();
    QVERIFY(hasLine(text, QStringLiteral("# TYPE tollgate_redis_up gauge")));
    QVERIFY(hasLine(text, QStringLiteral("tollgate_redis_up 0")));
    QVERIFY(hasLine(text, QStringLiteral("tollgate_redis_calls_total 40")));
    QVERIFY(hasLine(text, QStringLiteral("tollgate_redis_errors_total 2")));
    QVERIFY(hasLine(text, QStringLiteral("tollgate_redis_skipped_calls_total 9")));
    QVERIFY(hasLine(text, QStringLiteral("tollgate_redis_outages_total 1")));
    QVERIFY(hasLine(text, QStringLiteral("tollgate_ratelimit_redis_admissions_total 30")));
    QVERIFY(hasLine(text, QStringLiteral("tollgate_ratelimit_fallback_admissions_total 7")));
    QVERIFY(hasLine(text, QStringLiteral("tollgate_redis_spend_sent_total 12")));
    QVERIFY(hasLine(text, QStringLiteral("tollgate_redis_spend_pending 3")));
    QVERIFY(hasLine(
        text, QStringLiteral("tollgate_redis_spend_last_sync_timestamp_seconds 1764855000.25")));
    QVERIFY(!text.contains("tollgate_redis_cache_"));
    checkWithPromtool(text);

    health.up = true;
    health.cache = true;
    health.cacheErrors = 4;
    metrics.setRedisHealth(health);
    const QByteArray all = metrics.renderPrometheus();
    QVERIFY(hasLine(all, QStringLiteral("tollgate_redis_up 1")));
    QVERIFY(hasLine(all, QStringLiteral("tollgate_redis_cache_errors_total 4")));
    QVERIFY(hasLine(all, QStringLiteral("tollgate_redis_cache_hits_total 0")));
    checkWithPromtool(all);
}

void TestMetrics::promtoolAcceptsEmptyOutput()
{
    checkWithPromtool(Metrics().renderPrometheus());
}

void TestMetrics::savedRetriesAndBreakers()
{
    Metrics metrics;
    RequestRecord hit = makeRecord(kSonnet, 200, 1);
    hit.cacheStatus = QStringLiteral("hit");
    hit.savedUsd = 0.25;
    metrics.record(hit);
    RequestRecord retried = makeRecord(kSonnet, 200, 900);
    retried.retries = 2;
    retried.costUsd = 0.5;
    metrics.record(retried);
    metrics.setBreakerStates({{QStringLiteral("anthropic https://api.anthropic.com a"), 0},
                              {QStringLiteral("anthropic https://api.anthropic.com \"b\""), 2}});
    const QByteArray text = metrics.renderPrometheus();
    QCOMPARE(sampleValue(
                 text, QStringLiteral("tollgate_cache_saved_usd_total{model=\"%1\"}").arg(kSonnet)),
             QStringLiteral("0.25"));
    QCOMPARE(sampleValue(text, QStringLiteral("ai_cost_total_usd{model=\"%1\"}").arg(kSonnet)),
             QStringLiteral("0.5"));
    QVERIFY(hasLine(
        text, QStringLiteral("tollgate_upstream_retries_total{model=\"%1\"} 2").arg(kSonnet)));
    QVERIFY(hasLine(text, QStringLiteral("tollgate_breaker_state{target=\"anthropic "
                                         "https://api.anthropic.com a\"} 0")));
    QVERIFY(hasLine(text, QStringLiteral("tollgate_breaker_state{target=\"anthropic "
                                         "https://api.anthropic.com \\\"b\\\"\"} 2")));
}

void TestMetrics::promtoolAcceptsFullOutput()
{
    Metrics metrics;
    const QStringList models = {kSonnet, QStringLiteral("gpt-4o-mini"),
                                QStringLiteral("we\"ird\\mo\ndel"), QStringLiteral("modèle")};
    int i = 0;
    for (const QString &model : models) {
        for (int status : {200, 200, 400, 429, 500, 504, 0}) {
            RequestRecord r = makeRecord(model, status, 37.0 * ++i);
            r.stream = i % 2;
            r.ttftMs = r.stream ? 12.5 * i : -1;
            r.upstreamMs = i % 3 ? 30.0 * i : 0;
            r.overheadMs = 0.013 * i;
            r.usage.inputTokens = 100 * i;
            r.usage.outputTokens = 10 * i;
            r.usage.cacheReadTokens = i % 4 ? 0 : 1000;
            r.costUsd = 0.001 * i;
            r.savedUsd = i % 3 == 0 ? 0.002 * i : 0;
            r.retries = i % 2;
            r.cacheStatus = i % 3 == 0 ? QStringLiteral("hit") : QStringLiteral("miss");
            if (status == 0 || i % 5 == 0)
                r.error = QStringLiteral("cut");
            metrics.record(r);
        }
    }
    metrics.record(makeRecord(QString(), 400, 1));
    metrics.setInflight(3);
    metrics.setLogDropped(2);
    metrics.setBreakerStates({{QStringLiteral("anthropic https://api.anthropic.com m"), 2}});
    checkWithPromtool(metrics.renderPrometheus());
}

QTEST_GUILESS_MAIN(TestMetrics)
#include "tst_metrics.moc"
