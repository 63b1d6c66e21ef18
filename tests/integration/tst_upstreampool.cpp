// The gateway's own upstream client against the mock upstream on real sockets.

#include "http/upstreampool.h"
#include "mockupstream.h"
#include "testchecks.h"

#include <QElapsedTimer>
#include <QSignalSpy>
#include <QTest>

using namespace tollgate::http;
using tollgate::testsupport::MockUpstream;
using tollgate::testsupport::waitForOutcome;

class TestUpstreamPool : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void runsManyCallsAtOnce();
    void queuesBeyondTheConnectionCap();
    void reusesKeptAliveConnections();
    void retriesOnceWhenAPooledConnectionWentStale();
    void streamsBodyAsItArrives();
    void reportsConnectFailure();
    void timesOutWaitingForTheFirstByte();
    void cancelClosesTheUpstreamConnection();
    void pauseStopsReadingUntilResumed();

private:
    UpstreamRequest messages(const QByteArray &scenario, bool stream = false) const;
    /// Waits until `call` finishes or fails; returns true when it finished.
    bool wait(UpstreamCall *call, int timeoutMs = 5000);

    MockUpstream *m_mock = nullptr;
};

void TestUpstreamPool::init()
{
    m_mock = new MockUpstream;
    m_mock->setThreads(1);
    QVERIFY(m_mock->listen());
}

void TestUpstreamPool::cleanup()
{
    delete m_mock;
    m_mock = nullptr;
}

UpstreamRequest TestUpstreamPool::messages(const QByteArray &scenario, bool stream) const
{
    UpstreamRequest request;
    request.baseUrl = m_mock->baseUrl();
    request.method = "POST";
    request.target = "/v1/messages";
    request.headers = {{"content-type", "application/json"}, {"x-mock-scenario", scenario}};
    request.body = R"({"model":"claude-3-haiku-20240307","max_tokens":16,"stream":)" +
                   QByteArray(stream ? "true" : "false") +
                   R"(,"messages":[{"role":"user","content":"hi"}]})";
    return request;
}

bool TestUpstreamPool::wait(UpstreamCall *call, int timeoutMs)
{
    return waitForOutcome(call, &UpstreamCall::finished, &UpstreamCall::failed, timeoutMs);
}

void TestUpstreamPool::runsManyCallsAtOnce()
{
    // QNetworkAccessManager would run 6 at a time: 24 calls of 400 ms would take 1.6 s.
    UpstreamPool pool({64, 64, 60000});
    QList<UpstreamCall *> calls;
    int done = 0;
    QElapsedTimer clock;
    clock.start();
    for (int i = 0; i < 24; ++i) {
        auto *call = pool.start(messages("slow=400"), this);
        connect(call, &UpstreamCall::finished, this, [&done] { ++done; });
        calls.append(call);
    }
    QCOMPARE(pool.activeConnections(), 24);
    QTRY_COMPARE_WITH_TIMEOUT(done, 24, 5000);
    QVERIFY2(clock.elapsed() < 1200, qPrintable(QString::number(clock.elapsed())));
    for (UpstreamCall *call : calls)
        QCOMPARE(call->status(), 200);
    QCOMPARE(pool.idleConnections(), 24);
    qDeleteAll(calls);
}

void TestUpstreamPool::queuesBeyondTheConnectionCap()
{
    UpstreamPool pool({2, 8, 60000});
    int done = 0;
    QList<UpstreamCall *> calls;
    for (int i = 0; i < 5; ++i) {
        auto *call = pool.start(messages("slow=100"), this);
        connect(call, &UpstreamCall::finished, this, [&done] { ++done; });
        calls.append(call);
    }
    QCOMPARE(pool.activeConnections(), 2);
    // The first two have connections at once; the rest wait for one of them to come free.
    QVERIFY(calls.at(0)->queuedMs() >= 0);
    QCOMPARE(calls.at(2)->queuedMs(), -1.0);
    QTRY_COMPARE_WITH_TIMEOUT(done, 5, 5000);
    QCOMPARE(pool.idleConnections(), 2);
    for (int i = 2; i < 5; ++i)
        QVERIFY2(calls.at(i)->queuedMs() >= 90,
                 qPrintable(QString::number(calls.at(i)->queuedMs())));
    // They reuse the first two's connections: nothing to open.
    for (int i = 2; i < 5; ++i)
        QCOMPARE(calls.at(i)->connectMs(), 0.0);
    QVERIFY(calls.at(0)->queuedMs() < calls.at(2)->queuedMs());
    qDeleteAll(calls);
}

void TestUpstreamPool::reusesKeptAliveConnections()
{
    UpstreamPool pool({8, 8, 60000});
    for (int i = 0; i < 5; ++i) {
        UpstreamCall *call = pool.start(messages("in=1"), this);
        QVERIFY(wait(call));
        // Only the first call waits for a connection to open.
        if (i == 0)
            QVERIFY(call->connectMs() > 0);
        else
            QCOMPARE(call->connectMs(), 0.0);
        delete call;
        QCOMPARE(pool.idleConnections(), 1);
    }
    QCOMPARE(m_mock->journal().size(), 5);
}

void TestUpstreamPool::retriesOnceWhenAPooledConnectionWentStale()
{
    UpstreamPool pool({8, 8, 60000});
    UpstreamCall *first = pool.start(messages("in=1"), this);
    QVERIFY(wait(first));
    delete first;
    QCOMPARE(pool.idleConnections(), 1);
    // Restart the upstream: the pooled connection is now dead, but nothing has told the pool.
    const quint16 port = m_mock->port();
    m_mock->close();
    QVERIFY(m_mock->listen(QHostAddress::LocalHost, port));
    UpstreamCall *second = pool.start(messages("in=2"), this);
    QVERIFY(wait(second));
    QCOMPARE(second->status(), 200);
    delete second;
}

void TestUpstreamPool::streamsBodyAsItArrives()
{
    UpstreamPool pool({8, 8, 60000});
    UpstreamCall *call = pool.start(messages("gap=100,events=3", true), this);
    QList<qint64> arrivals;
    QElapsedTimer clock;
    clock.start();
    connect(call, &UpstreamCall::bodyReceived, this,
            [&](const QByteArray &) { arrivals.append(clock.elapsed()); });
    QVERIFY(wait(call));
    QVERIFY(arrivals.size() >= 4);
    // Pieces come as the upstream sends them, not all at the end.
    QVERIFY2(arrivals.last() - arrivals.first() >= 250,
             qPrintable(QString::number(arrivals.last() - arrivals.first())));
    delete call;
}

void TestUpstreamPool::reportsConnectFailure()
{
    UpstreamPool pool({8, 8, 60000});
    UpstreamRequest request = messages("in=1");
    const quint16 port = m_mock->port();
    m_mock->close();
    request.baseUrl.setPort(port);
    UpstreamCall *call = pool.start(request, this);
    QSignalSpy failed(call, &UpstreamCall::failed);
    QTRY_COMPARE_WITH_TIMEOUT(failed.size(), 1, 5000);
    const auto error = failed.first().first().value<UpstreamError>();
    QCOMPARE(int(error.kind), int(UpstreamError::Kind::Connect));
    QVERIFY(!error.responseStarted);
    // The attempt to connect counts as connect time, though it failed.
    QVERIFY(call->connectMs() > 0);
    QVERIFY(call->queuedMs() >= 0);
    delete call;
}

void TestUpstreamPool::timesOutWaitingForTheFirstByte()
{
    UpstreamPool pool({8, 8, 60000});
    UpstreamRequest request = messages("slow=3000");
    request.timeouts.firstByteMs = 200;
    UpstreamCall *call = pool.start(request, this);
    QSignalSpy failed(call, &UpstreamCall::failed);
    QTRY_COMPARE_WITH_TIMEOUT(failed.size(), 1, 2000);
    const auto error = failed.first().first().value<UpstreamError>();
    QCOMPARE(int(error.kind), int(UpstreamError::Kind::Timeout));
    QVERIFY(error.message.contains(QLatin1String("200 ms")));
    delete call;
}

void TestUpstreamPool::cancelClosesTheUpstreamConnection()
{
    UpstreamPool pool({8, 8, 60000});
    UpstreamCall *call = pool.start(messages("gap=100,events=30", true), this);
    QSignalSpy body(call, &UpstreamCall::bodyReceived);
    QTRY_VERIFY_WITH_TIMEOUT(!body.isEmpty(), 2000);
    call->cancel();
    QCOMPARE(pool.activeConnections(), 0);
    QCOMPARE(pool.idleConnections(), 0);
    QTRY_VERIFY_WITH_TIMEOUT(!m_mock->journal().isEmpty() && m_mock->journal().first().clientClosed,
                             2000);
    QVERIFY(!m_mock->journal().first().completed);
    delete call;
}

void TestUpstreamPool::pauseStopsReadingUntilResumed()
{
    // ~10 MB of events: more than loopback socket buffers hold, so a paused reader must stall
    // the upstream's writes instead of buffering them.
    UpstreamPool pool({8, 8, 60000});
    UpstreamCall *call = pool.start(messages("events=100000", true), this);
    qint64 received = 0;
    connect(call, &UpstreamCall::bodyReceived, this, [&](const QByteArray &data) {
        received += data.size();
        call->pause();
    });
    QSignalSpy finished(call, &UpstreamCall::finished);
    QTRY_VERIFY_WITH_TIMEOUT(received > 0, 2000);
    const qint64 atPause = received;
    QTest::qWait(300);
    QCOMPARE(received, atPause);
    QVERIFY(!m_mock->journal().first().completed);

    disconnect(call, &UpstreamCall::bodyReceived, this, nullptr);
    connect(call, &UpstreamCall::bodyReceived, this,
            [&](const QByteArray &data) { received += data.size(); });
    call->resume();
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 10000);
    QVERIFY(received > 5 * 1024 * 1024);
    QVERIFY(m_mock->journal().first().completed);
    delete call;
}

QTEST_GUILESS_MAIN(TestUpstreamPool)
#include "tst_upstreampool.moc"
