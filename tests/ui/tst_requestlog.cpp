// The Requests page over a large SQLite request log written before the console opened, with the
// embedded gateway and the mock upstream adding live requests, offscreen.

#include "consolepolicy.h"
#include "consolesettings.h"
#include "feedpoller.h"
#include "mainwindow.h"
#include "requestcelldelegate.h"
#include "requestsmodel.h"
#include "requestspage.h"
#include "resenddialog.h"
#include "statusdelegate.h"

#include "gateway/gatewaythread.h"
#include "httptestclient.h"
#include "metering/requestfeed.h"
#include "mockupstream.h"
#include "policy/gatewayconfig.h"
#include "store/requestlog.h"

#include <QAbstractItemModelTester>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QHeaderView>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollBar>
#include <QSet>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

using namespace tollgate;
using testsupport::HttpTestClient;

namespace {

constexpr int kRows = 200000;
constexpr int kUsers = 100;

// Row i of the generated log: newer for smaller i, 20 ms apart, ending a minute ago.
metering::RequestRecord generated(int i, qint64 newestMs)
{
    metering::RequestRecord r;
    r.id = QStringLiteral("gen-%1").arg(i, 6, 10, QLatin1Char('0'));
    r.startedAtMs = newestMs - qint64(i) * 20;
    r.flavor = QStringLiteral("anthropic");
    r.endpoint = QStringLiteral("/v1/messages");
    r.user = QStringLiteral("u%1").arg(i % kUsers);
    r.requestedModel = QStringLiteral("claude-3-haiku-20240307");
    r.usedModel = r.requestedModel;
    r.status = i % 50 == 0 ? 529 : 200;
    r.latencyMs = 100 + i % 400;
    r.ttftMs = 40;
    r.upstreamMs = r.latencyMs - 1;
    r.overheadMs = 1;
    r.usage.inputTokens = 10 + i % 90;
    r.usage.outputTokens = 20;
    r.costUsd = 0.0001;
    r.cacheStatus = QStringLiteral("miss");
    r.plan = QStringLiteral("free");
    return r;
}

// The delegate that draws the log's cells (the status column has one of its own).
const ui::RequestCellDelegate *cellDelegate(const QTableView *table)
{
    return qobject_cast<const ui::RequestCellDelegate *>(table->itemDelegate());
}

// Whether every row the view shows is in memory (none shows "…" while it is read).
bool rowsOnScreenLoaded(const QTableView *table, const ui::RequestsModel &model)
{
    const int bottom = table->rowAt(table->viewport()->height() - 1);
    const int last = bottom >= 0 ? bottom : model.rowCount() - 1;
    for (int row = std::max(0, table->rowAt(0)); row <= last; ++row) {
        if (!model.isLoaded(row))
            return false;
    }
    return true;
}

// Waits until every read the model asked for is answered, asking again for the rows the view
// shows (a paint asks for them).
bool settle(QTableView *table, ui::RequestsModel &model, int timeoutMs = 10000)
{
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < timeoutMs) {
        table->viewport()->repaint();
        QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
        if (model.isIdle() && model.matchingCount() >= 0 && rowsOnScreenLoaded(table, model))
            return true;
        QTest::qWait(2);
    }
    return false;
}

// The request id the row shows.
QString idAt(const ui::RequestsModel &model, int row)
{
    return model.index(row, ui::RequestsModel::Id).data(ui::RequestsModel::RawRole).toString();
}

// Hands `records` to the model as the feed would at 5,000 requests a second: a tick's worth at a
// time.
void feedInTicks(ui::RequestsModel &model, const QList<metering::RequestRecord> &records)
{
    constexpr int kPerTick = 1250;
    for (qsizetype i = 0; i < records.size(); i += kPerTick)
        model.append(records.mid(i, kPerTick));
}

// Counts the window's repaints (backing-store syncs) and the paints of one widget among them.
class RepaintCounter : public QObject {
public:
    RepaintCounter(QWidget *window, QWidget *watched)
        : m_watched(watched)
    {
        window->installEventFilter(this);
        watched->installEventFilter(this);
    }
    int repaints = 0;
    int watchedPaints = 0;

protected:
    bool eventFilter(QObject *object, QEvent *event) override
    {
        if (event->type() == QEvent::UpdateRequest)
            ++repaints;
        else if (event->type() == QEvent::Paint && object == m_watched)
            ++watchedPaints;
        return false;
    }

private:
    QWidget *m_watched;
};

} // namespace

class TestRequestLogView : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void opensOnTheLogWrittenBefore();
    void scrollsToTheOldestRow();
    void filterAppliesToStoredRows();
    void liveRowsMergeWithoutDuplicates();
    void columnChoicePersists();
    void statusIsColoured();
    void detailPaneShowsTheSelectedRequest();
    void detailShowsTheCapturedExchange();
    void resendSendsTheCapturedRequestAgain();
    void exportsHoldExactlyTheFilteredRows();
    void runningRequestsShowUntilTheyFinish();
    void repaintLaysOutOnlyNewText();
    void laidOutTextStaysBounded();
    void theTailFoldsIntoTheLogInPlace();
    void aFoldShowsTheTailRowsOnScreen();
    void newRowsArePaintedInOneRepaint();
    void aPollMovesTheRowsOnce();
    void theKeeperTakesThePollAfterItsReaders();
    void theSelectionFollowsARunningRequest();

private:
    testsupport::HttpTestResponse ask(const QByteArray &user);
    /// `count` requests written to the gateway's log and flushed, oldest first: ids
    /// `prefix`-000000 on, started 1 ms apart from `firstStartMs`. Empty when a write fails.
    QList<metering::RequestRecord> writeToLog(const QString &prefix, int count,
                                              qint64 firstStartMs);

    QTemporaryDir m_dataDir;
    qint64 m_newestMs = 0;
    testsupport::MockUpstream m_mock;
    std::unique_ptr<gateway::GatewayThread> m_gateway;
    std::unique_ptr<ui::MainWindow> m_window;
};

void TestRequestLogView::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QSettings(QStringLiteral("tollgate"), QStringLiteral("console")).clear();
    QVERIFY(m_dataDir.isValid());
    // A log from an earlier run, written straight into the data folder.
    m_newestMs = QDateTime::currentMSecsSinceEpoch() - 60000;
    {
        store::RequestLog::Options options;
        options.path = QDir(m_dataDir.path()).filePath(QStringLiteral("requests.sqlite"));
        options.queueCapacity = kRows;
        options.maxBatch = 10000;
        auto log = store::RequestLog::open(options);
        QVERIFY2(log, qPrintable(log ? QString() : log.error().message));
        for (int i = kRows - 1; i >= 0; --i)
            QVERIFY((*log)->append(generated(i, m_newestMs)));
        (*log)->flush();
        QCOMPARE((*log)->written(), quint64(kRows));
    }

    m_mock.setThreads(1);
    QVERIFY2(m_mock.listen(), qPrintable(m_mock.errorString()));
    auto started = testsupport::consolePolicy(m_mock.baseUrl(), m_dataDir.path());
    QVERIFY2(started, qPrintable(started ? QString() : started.error().message));
    gateway::PolicyDocument policy = *started;
    m_gateway = std::make_unique<gateway::GatewayThread>(policy);
    QString error;
    QVERIFY2(m_gateway->start(&error), qPrintable(error));
    m_window = std::make_unique<ui::MainWindow>(*m_gateway);
    m_window->feed().setIntervalMs(20);
    m_window->showPage(ui::MainWindow::Requests);
    m_window->resize(1100, 700);
    m_window->show();
}

void TestRequestLogView::cleanupTestCase()
{
    m_window.reset();
    m_gateway.reset();
}

QList<metering::RequestRecord> TestRequestLogView::writeToLog(const QString &prefix, int count,
                                                              qint64 firstStartMs)
{
    QList<metering::RequestRecord> written;
    for (int i = 0; i < count; ++i) {
        metering::RequestRecord r = generated(i, firstStartMs);
        r.id = QStringLiteral("%1-%2").arg(prefix).arg(i, 6, 10, QLatin1Char('0'));
        r.startedAtMs = firstStartMs + i;
        if (!m_gateway->context()->log->append(r))
            return {};
        written.append(r);
    }
    m_gateway->context()->log->flush();
    return written;
}

testsupport::HttpTestResponse TestRequestLogView::ask(const QByteArray &user)
{
    const QByteArray body =
        R"({"model":"claude-3-haiku-20240307","max_tokens":16,"messages":[{"role":"user","content":"hi )" +
        user + R"("}]})";
    return HttpTestClient::send(m_gateway->port(), "POST", "/v1/messages",
                                {{"content-type", "application/json"},
                                 {"anthropic-version", "2023-06-01"},
                                 {"x-api-key", "sk-ant-log-test"},
                                 {"x-tollgate-cache", "no-store"},
                                 {"x-tollgate-user", user}},
                                body);
}

void TestRequestLogView::opensOnTheLogWrittenBefore()
{
    ui::RequestsModel &model = m_window->requestsModel();
    ui::RequestsPage &page = m_window->requestsPage();
    QTableView *table = page.table();
    QVERIFY(settle(table, model));
    QCOMPARE(model.matchingCount(), kRows);
    QCOMPARE(model.totalCount(), kRows);
    QCOMPARE(model.rowCount(), kRows);
    QCOMPARE(model.index(0, ui::RequestsModel::Id).data().toString(), QStringLiteral("gen-000000"));
    QCOMPARE(model.index(1, ui::RequestsModel::User).data().toString(), QStringLiteral("u1"));
    QVERIFY2(page.countText().contains(QStringLiteral("200")), qPrintable(page.countText()));
}

void TestRequestLogView::scrollsToTheOldestRow()
{
    ui::RequestsModel &model = m_window->requestsModel();
    QTableView *table = m_window->requestsPage().table();
    QVERIFY(settle(table, model));
    // The middle, then the end, as a dragged scroll bar gets there: by jumps, not by reading
    // every row on the way.
    table->scrollTo(model.index(kRows / 2, 0), QAbstractItemView::PositionAtTop);
    QVERIFY(settle(table, model));
    const int middle = table->rowAt(0);
    QCOMPARE(model.index(middle, ui::RequestsModel::Id).data().toString(),
             QStringLiteral("gen-%1").arg(middle, 6, 10, QLatin1Char('0')));
    table->scrollToBottom();
    QVERIFY(settle(table, model));
    QCOMPARE(model.index(kRows - 1, ui::RequestsModel::Id).data().toString(),
             QStringLiteral("gen-%1").arg(kRows - 1, 6, 10, QLatin1Char('0')));
    // Every row up the last screen is in order.
    const int top = table->rowAt(0);
    QVERIFY(top > kRows - 100);
    for (int row = top; row < kRows; ++row)
        QCOMPARE(model.index(row, ui::RequestsModel::Id).data().toString(),
                 QStringLiteral("gen-%1").arg(row, 6, 10, QLatin1Char('0')));
    table->scrollToTop();
}

void TestRequestLogView::filterAppliesToStoredRows()
{
    ui::RequestsModel &model = m_window->requestsModel();
    ui::RequestsPage &page = m_window->requestsPage();
    page.filter()->setText(QStringLiteral("user=u7 status=529"));
    QVERIFY(settle(page.table(), model));
    // i % 100 == 7 and i % 50 == 0 never hold together.
    QCOMPARE(page.visibleRows(), 0);
    page.filter()->setText(QStringLiteral("user=u7"));
    QVERIFY(settle(page.table(), model));
    QCOMPARE(page.visibleRows(), kRows / kUsers);
    QCOMPARE(model.index(0, ui::RequestsModel::Id).data().toString(), QStringLiteral("gen-000007"));
    QVERIFY2(page.countText().contains(QStringLiteral(" of ")), qPrintable(page.countText()));
    page.table()->scrollToBottom();
    QVERIFY(settle(page.table(), model));
    QCOMPARE(model.index(kRows / kUsers - 1, ui::RequestsModel::Id).data().toString(),
             QStringLiteral("gen-%1").arg(kRows - kUsers + 7, 6, 10, QLatin1Char('0')));
    // A chart's moment narrows the stored rows by completion time.
    const metering::RequestRecord newest = generated(0, m_newestMs);
    page.showMoment(newest.completedAtMs() - 1000, newest.completedAtMs() + 1);
    QVERIFY(settle(page.table(), model));
    QVERIFY(page.visibleRows() > 0);
    for (int row = 0; row < page.visibleRows(); ++row) {
        const metering::RequestRecord *r = model.record(row);
        QVERIFY(r);
        QCOMPARE(r->user, QStringLiteral("u7"));
        QVERIFY(r->completedAtMs() >= newest.completedAtMs() - 1000);
    }
    page.clearMoment();
    page.filter()->clear();
    QVERIFY(settle(page.table(), model));
    QCOMPARE(page.visibleRows(), kRows);
}

void TestRequestLogView::liveRowsMergeWithoutDuplicates()
{
    ui::RequestsModel &model = m_window->requestsModel();
    ui::RequestsPage &page = m_window->requestsPage();
    QVERIFY(settle(page.table(), model));
    for (const char *user : {"live-a", "live-b", "live-c"})
        QCOMPARE(ask(user).status, 200);
    // On top at once, from the feed, before the log has them.
    QTRY_COMPARE(model.rowCount(), kRows + 3);
    QCOMPARE(model.index(0, ui::RequestsModel::User).data().toString(), QStringLiteral("live-c"));
    // A filter takes a new snapshot: the written ones now come from SQLite, each once.
    m_gateway->context()->log->flush();
    page.filter()->setText(QStringLiteral("user=live-*"));
    QVERIFY(settle(page.table(), model));
    QCOMPARE(page.visibleRows(), 3);
    page.filter()->clear();
    QVERIFY(settle(page.table(), model));
    QCOMPARE(model.rowCount(), kRows + 3);
    QCOMPARE(model.totalCount(), kRows + 3);
    QSet<QString> ids;
    for (int row = 0; row < 10; ++row)
        ids.insert(model.index(row, ui::RequestsModel::Id).data().toString());
    QCOMPARE(ids.size(), 10);
    QCOMPARE(model.index(3, ui::RequestsModel::Id).data().toString(), QStringLiteral("gen-000000"));
    // More while the view is scrolled down: it keeps showing the same rows.
    page.table()->scrollTo(model.index(1000, 0), QAbstractItemView::PositionAtTop);
    QVERIFY(settle(page.table(), model));
    const QString shown =
        model.index(page.table()->rowAt(0), ui::RequestsModel::Id).data().toString();
    QCOMPARE(ask("live-d").status, 200);
    QTRY_COMPARE(model.rowCount(), kRows + 4);
    QCOMPARE(model.index(page.table()->rowAt(0), ui::RequestsModel::Id).data().toString(), shown);
    page.table()->scrollToTop();
}

void TestRequestLogView::columnChoicePersists()
{
    ui::RequestsPage &page = m_window->requestsPage();
    // The rarer columns start hidden.
    QVERIFY(page.table()->isColumnHidden(ui::RequestsModel::Id));
    QVERIFY(!page.table()->isColumnHidden(ui::RequestsModel::Route));
    page.setColumnShown(ui::RequestsModel::Id, true);
    page.setColumnShown(ui::RequestsModel::Route, false);
    m_window->settings().sync();
    ui::MainWindow again(*m_gateway);
    QTableView *table = again.requestsPage().table();
    QVERIFY(!table->isColumnHidden(ui::RequestsModel::Id));
    QVERIFY(table->isColumnHidden(ui::RequestsModel::Route));
    QVERIFY(!table->isColumnHidden(ui::RequestsModel::User));
}

void TestRequestLogView::statusIsColoured()
{
    using Class = ui::RequestsModel::StatusClass;
    ui::RequestsModel &model = m_window->requestsModel();
    ui::RequestsPage &page = m_window->requestsPage();
    page.filter()->setText(QStringLiteral("id=gen-00000?"));
    QVERIFY(settle(page.table(), model));
    QCOMPARE(page.visibleRows(), 10);
    // gen-000000 is a 529, the others 200s.
    const auto classOf = [&](int row) {
        return Class(model.index(row, ui::RequestsModel::Status)
                         .data(ui::RequestsModel::StatusClassRole)
                         .toInt());
    };
    QCOMPARE(classOf(0), Class::Failure);
    QCOMPARE(classOf(1), Class::Success);
    metering::RequestRecord r = generated(1, m_newestMs);
    r.cacheStatus = QStringLiteral("hit");
    QCOMPARE(ui::RequestsModel::statusClass(r), Class::CacheHit);
    r.status = 429;
    QCOMPARE(ui::RequestsModel::statusClass(r), Class::ClientError);
    r.status = 200;
    r.error = QStringLiteral("stream cut short");
    QCOMPARE(ui::RequestsModel::statusClass(r), Class::Failure);
    // The pill is drawn in its colour.
    page.table()->setColumnHidden(ui::RequestsModel::Status, false);
    const QRect cell = page.table()->visualRect(model.index(0, ui::RequestsModel::Status));
    const QImage image = page.table()->viewport()->grab().toImage();
    const QColor red = ui::StatusDelegate::colour(int(Class::Failure));
    bool found = false;
    for (int x = cell.left(); x < cell.right() && !found; ++x)
        found = image.pixelColor(x, cell.center().y()) == red;
    QVERIFY(found);
    page.filter()->clear();
}

void TestRequestLogView::detailPaneShowsTheSelectedRequest()
{
    ui::RequestsModel &model = m_window->requestsModel();
    ui::RequestsPage &page = m_window->requestsPage();
    QVERIFY(page.detailText().isEmpty());
    QCOMPARE(ask("detail-user").status, 200);
    QTRY_COMPARE(model.index(0, ui::RequestsModel::User).data().toString(),
                 QStringLiteral("detail-user"));
    // Row 0 may still be the request as it ran until the feed brings its finished record.
    QTRY_VERIFY(!model.isRunning(0));
    page.table()->selectRow(0);
    const QString detail = page.detailText();
    for (const char *part :
         {"Timing", "queue:", "connect:", "latency:", "first token:", "upstream:", "overhead:",
          "Tokens", "input:", "Cost", "Routing", "rule:", "plan:", "retries:", "Cache",
          "detail-user", "claude-3-haiku-20240307"})
        QVERIFY2(detail.contains(QLatin1String(part)), qPrintable(part + (": " + detail)));
    // The client's key is nowhere: the log never had it.
    QVERIFY(!detail.contains(QStringLiteral("sk-ant")));
    const QString curl = page.curlCommand();
    QVERIFY2(
        curl.contains(QStringLiteral("http://127.0.0.1:%1/v1/messages").arg(m_gateway->port())),
        qPrintable(curl));
    QVERIFY(curl.contains(QStringLiteral("$ANTHROPIC_API_KEY")));
    QVERIFY(curl.contains(QStringLiteral("x-tollgate-user: detail-user")));
    QVERIFY(!curl.contains(QStringLiteral("sk-ant")));
    // A row deep in the log fills the pane once its page is read.
    page.table()->scrollTo(model.index(150000, 0));
    QVERIFY(settle(page.table(), model));
    page.table()->selectRow(150000);
    QTRY_VERIFY(page.detailText().contains(QStringLiteral("gen-")));
    page.table()->scrollToTop();
}

void TestRequestLogView::detailShowsTheCapturedExchange()
{
    ui::RequestsModel &model = m_window->requestsModel();
    ui::RequestsPage &page = m_window->requestsPage();
    QSignalSpy shown(&page, &ui::RequestsPage::exchangeShown);
    // A stream: the events in order and the text they add up to.
    const QByteArray body = R"({"model":"claude-3-haiku-20240307","max_tokens":16,"stream":true,)"
                            R"("messages":[{"role":"user","content":"stream for the detail"}]})";
    const auto streamed = HttpTestClient::send(m_gateway->port(), "POST", "/v1/messages",
                                               {{"content-type", "application/json"},
                                                {"anthropic-version", "2023-06-01"},
                                                {"x-api-key", "sk-ant-capture-secret"},
                                                {"x-tollgate-cache", "no-store"},
                                                {"x-tollgate-user", "capture-user"}},
                                               body);
    QCOMPARE(streamed.status, 200);
    QTRY_COMPARE(model.index(0, ui::RequestsModel::User).data().toString(),
                 QStringLiteral("capture-user"));
    QTRY_VERIFY(!model.isRunning(0)); // the finished record, whose exchange is kept
    // The exchange is written with the log's batch; select once both are there.
    m_gateway->context()->log->flush();
    page.table()->clearSelection();
    page.table()->selectRow(0);
    QTRY_VERIFY(!shown.isEmpty() && shown.last().at(1).toBool());
    const QString detail = page.detailText();
    for (const char *part :
         {"POST /v1/messages", "x-api-key: [redacted]", "\"stream for the detail\"", "HTTP 200",
          "events:", "message_start", "content_block_delta", "Assembled text:"})
        QVERIFY2(detail.contains(QLatin1String(part)), qPrintable(part + (": " + detail)));
    const QString assembled = detail.section(QStringLiteral("Assembled text:\n"), 1).trimmed();
    // The text the deltas add up to: each of its words came in the stream the client read.
    QVERIFY(!assembled.isEmpty());
    for (const QString &word : assembled.split(QLatin1Char(' ')))
        QVERIFY2(streamed.body.contains(word.toUtf8()), qPrintable(word));
    QVERIFY(!detail.contains(QStringLiteral("sk-ant-capture-secret")));

    // Copy as curl repeats it as sent, with the key from the environment.
    const QString curl = page.curlCommand();
    QVERIFY2(curl.contains(QStringLiteral("stream for the detail")), qPrintable(curl));
    QVERIFY(curl.contains(QStringLiteral("x-api-key: $ANTHROPIC_API_KEY")));
    QVERIFY(curl.contains(QStringLiteral("-N")));
    QVERIFY(!curl.contains(QStringLiteral("sk-ant-capture-secret")));
    // As a HAR, for tools that read one.
    const QString harPath = QDir::temp().filePath(QStringLiteral("tollgate-capture-test.har"));
    QVERIFY(page.exportHar(harPath));
    QFile harFile(harPath);
    QVERIFY(harFile.open(QIODevice::ReadOnly));
    const QByteArray harBytes = harFile.readAll();
    harFile.remove();
    const QJsonObject entry = QJsonDocument::fromJson(harBytes)
                                  .object()
                                  .value(u"log")
                                  .toObject()
                                  .value(u"entries")
                                  .toArray()
                                  .first()
                                  .toObject();
    QCOMPARE(entry.value(u"request").toObject().value(u"method").toString(),
             QStringLiteral("POST"));
    QVERIFY(entry.value(u"request")
                .toObject()
                .value(u"postData")
                .toObject()
                .value(u"text")
                .toString()
                .contains(QStringLiteral("stream for the detail")));
    QCOMPARE(entry.value(u"response").toObject().value(u"status").toInt(), 200);
    QCOMPARE(entry.value(u"_tollgate").toObject().value(u"user").toString(),
             QStringLiteral("capture-user"));
    QVERIFY(!harBytes.contains("sk-ant-capture-secret"));
    // Never on disk either.
    QFile database(m_gateway->context()->log->path());
    QVERIFY(database.open(QIODevice::ReadOnly));
    QVERIFY(!database.readAll().contains("sk-ant-capture-secret"));
}

void TestRequestLogView::resendSendsTheCapturedRequestAgain()
{
    ui::RequestsModel &model = m_window->requestsModel();
    ui::RequestsPage &page = m_window->requestsPage();
    const QByteArray body = R"({"model":"claude-3-haiku-20240307","max_tokens":16,)"
                            R"("messages":[{"role":"user","content":"first of two"}]})";
    const auto original = HttpTestClient::send(m_gateway->port(), "POST", "/v1/messages",
                                               {{"content-type", "application/json"},
                                                {"anthropic-version", "2023-06-01"},
                                                {"x-api-key", "sk-ant-original-secret"},
                                                {"x-tollgate-user", "resend-user"}},
                                               body);
    QCOMPARE(original.status, 200);
    const QString originalId = QString::fromLatin1(original.header("x-tollgate-request-id"));
    QTRY_COMPARE(model.index(0, ui::RequestsModel::User).data().toString(),
                 QStringLiteral("resend-user"));
    QTRY_VERIFY(!model.isRunning(0));
    m_gateway->context()->log->flush();
    QSignalSpy shown(&page, &ui::RequestsPage::exchangeShown);
    page.table()->clearSelection();
    page.table()->selectRow(0);
    QTRY_VERIFY(!shown.isEmpty() && shown.last().at(1).toBool());

    // Ctrl+R opens it, and the table's context menu offers it with its shortcut.
    const QList<QAction *> menu = page.table()->actions();
    const auto resend = std::find_if(menu.begin(), menu.end(), [](QAction *action) {
        return action->shortcut() == QKeySequence(Qt::CTRL | Qt::Key_R);
    });
    QVERIFY(resend != menu.end() && (*resend)->isEnabled());
    QVERIFY(page.findChildren<ui::ResendDialog *>().isEmpty());
    page.table()->setFocus();
    QTest::keyClick(page.table(), Qt::Key_R, Qt::ControlModifier);
    QTRY_COMPARE(page.findChildren<ui::ResendDialog *>().size(), 1);
    page.findChildren<ui::ResendDialog *>().first()->close();
    // The body edited, a key typed in for this send only.
    ui::ResendDialog *dialog = page.resendSelected();
    QVERIFY(dialog);
    QVERIFY(dialog->sendButton()->isEnabled());
    QVERIFY(dialog->body()->toPlainText().contains(QStringLiteral("first of two")));
    dialog->body()->setPlainText(
        dialog->body()->toPlainText().replace(QStringLiteral("first"), QStringLiteral("second")));
    dialog->key()->setText(QStringLiteral("sk-ant-typed-for-resend"));
    QSignalSpy finished(dialog, &ui::ResendDialog::answered);
    m_mock.clearJournal();
    dialog->send();
    QVERIFY(finished.wait(10000));
    QCOMPARE(finished.last().at(0).toInt(), 200);
    const QString resentId = finished.last().at(1).toString();
    QVERIFY(!resentId.isEmpty() && resentId != originalId);
    QVERIFY2(dialog->outcomeText().startsWith(QStringLiteral("HTTP 200")),
             qPrintable(dialog->outcomeText()));
    // The provider got the edited request with the typed key; the gateway counted it as the
    // same user's.
    const auto journal = m_mock.journal();
    QCOMPARE(journal.size(), 1);
    QVERIFY(journal.first().body.contains("second of two"));
    QCOMPARE(journal.first().header("x-api-key"), QByteArray("sk-ant-typed-for-resend"));
    QTRY_COMPARE(model.index(0, ui::RequestsModel::Id).data().toString(), resentId);
    QCOMPARE(model.index(0, ui::RequestsModel::User).data().toString(),
             QStringLiteral("resend-user"));

    // "Show in the log" finds it by its id.
    Q_EMIT dialog->showRequest(resentId);
    QCOMPARE(page.filter()->text(), QStringLiteral("id=") + resentId);
    QTRY_COMPARE(page.visibleRows(), 1);
    page.filter()->clear();
    dialog->close();

    // The typed key is in no file of the log.
    m_gateway->context()->log->flush();
    QFile database(m_gateway->context()->log->path());
    QVERIFY(database.open(QIODevice::ReadOnly));
    const QByteArray stored = database.readAll();
    QVERIFY(!stored.contains("sk-ant-typed-for-resend"));
    QVERIFY(!stored.contains("sk-ant-original-secret"));
}

void TestRequestLogView::exportsHoldExactlyTheFilteredRows()
{
    ui::RequestsModel &model = m_window->requestsModel();
    ui::RequestsPage &page = m_window->requestsPage();
    // Stored rows and a live one not in the snapshot.
    page.filter()->setText(QStringLiteral("user=u3 or user=export-*"));
    QVERIFY(settle(page.table(), model));
    QCOMPARE(ask("export-live").status, 200);
    QTRY_COMPARE(page.visibleRows(), kRows / kUsers + 1);
    QSignalSpy finished(&page, &ui::RequestsPage::exportFinished);
    const QString jsonl = m_dataDir.filePath(QStringLiteral("export.jsonl"));
    page.exportTo(jsonl, store::requestexport::Format::Jsonl);
    QTRY_COMPARE(finished.size(), 1);
    QCOMPARE(finished.at(0).at(2).toString(), QString());
    QCOMPARE(finished.at(0).at(1).toLongLong(), kRows / kUsers + 1);
    QFile file(jsonl);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QList<QByteArray> lines = file.readAll().trimmed().split('\n');
    QCOMPARE(lines.size(), kRows / kUsers + 1);
    QSet<QString> ids;
    for (const QByteArray &line : lines) {
        const QJsonObject object = QJsonDocument::fromJson(line).object();
        const QString user = object.value(QStringLiteral("user")).toString();
        QVERIFY2(user == QStringLiteral("u3") || user == QStringLiteral("export-live"),
                 qPrintable(user));
        ids.insert(object.value(QStringLiteral("id")).toString());
    }
    QCOMPARE(ids.size(), lines.size());
    QVERIFY(lines.first().contains("export-live"));
    QVERIFY(page.exportStatus().contains(QStringLiteral("Exported")));

    const QString csv = m_dataDir.filePath(QStringLiteral("export.csv"));
    page.exportTo(csv, store::requestexport::Format::Csv);
    QTRY_COMPARE(finished.size(), 2);
    QFile csvFile(csv);
    QVERIFY(csvFile.open(QIODevice::ReadOnly));
    QCOMPARE(csvFile.readAll().count("\r\n"), kRows / kUsers + 2); // a header line
    // As HAR: the same rows; the one sent through the proxy with its captured exchange.
    m_gateway->context()->log->flush();
    QVERIFY(settle(page.table(), model)); // an export waits for no snapshot being taken
    const QString har = m_dataDir.filePath(QStringLiteral("export.har"));
    page.exportTo(har, store::requestexport::Format::Har);
    QTRY_COMPARE(finished.size(), 3);
    QCOMPARE(finished.at(2).at(2).toString(), QString());
    QFile harFile(har);
    QVERIFY(harFile.open(QIODevice::ReadOnly));
    const QJsonArray entries = QJsonDocument::fromJson(harFile.readAll())
                                   .object()
                                   .value(u"log")
                                   .toObject()
                                   .value(u"entries")
                                   .toArray();
    QCOMPARE(entries.size(), kRows / kUsers + 1);
    const QJsonObject liveRequest = entries.first().toObject().value(u"request").toObject();
    QCOMPARE(liveRequest.value(u"url").toString(),
             QStringLiteral("http://127.0.0.1:%1/v1/messages").arg(m_gateway->port()));
    QVERIFY(!liveRequest.value(u"headers").toArray().isEmpty()); // captured
    // A place it cannot write says so on the page.
    page.exportTo(m_dataDir.filePath(QStringLiteral("missing/x.csv")),
                  store::requestexport::Format::Csv);
    QTRY_COMPARE(finished.size(), 4);
    QVERIFY(!finished.at(3).at(2).toString().isEmpty());
    QVERIFY(page.exportStatus().contains(QStringLiteral("failed")));
    page.filter()->clear();
}

void TestRequestLogView::runningRequestsShowUntilTheyFinish()
{
    ui::RequestsModel &model = m_window->requestsModel();
    ui::RequestsPage &page = m_window->requestsPage();
    QVERIFY(settle(page.table(), model));
    const int before = model.rowCount();
    // Watched while the (blocking) client waits on a slow upstream.
    QString status;
    QString user;
    QString firstLatency;
    QString lastLatency;
    int statusClass = -1;
    double firstElapsed = -1;
    double lastElapsed = -1;
    int rowsWhileRunning = 0;
    QString detail;
    QTimer probe;
    probe.setInterval(30);
    connect(&probe, &QTimer::timeout, this, [&] {
        if (!model.isRunning(0))
            return;
        status = model.index(0, ui::RequestsModel::Status).data().toString();
        statusClass = model.index(0, ui::RequestsModel::Status)
                          .data(ui::RequestsModel::StatusClassRole)
                          .toInt();
        user = model.index(0, ui::RequestsModel::User).data().toString();
        lastElapsed = model.record(0)->latencyMs;
        lastLatency = model.index(0, ui::RequestsModel::LatencyMs).data().toString();
        if (firstElapsed < 0) {
            firstElapsed = lastElapsed;
            firstLatency = lastLatency;
        }
        rowsWhileRunning = model.rowCount();
        page.table()->selectRow(0);
        detail = page.detailText();
    });
    probe.start();
    const QByteArray body =
        R"({"model":"claude-3-haiku-20240307","max_tokens":16,"messages":[{"role":"user","content":"slow"}]})";
    const auto response = HttpTestClient::send(m_gateway->port(), "POST", "/v1/messages",
                                               {{"content-type", "application/json"},
                                                {"anthropic-version", "2023-06-01"},
                                                {"x-tollgate-cache", "no-store"},
                                                {"x-mock-scenario", "slow=1500"},
                                                {"x-tollgate-user", "slow-user"}},
                                               body);
    probe.stop();
    QCOMPARE(response.status, 200);
    // It showed while it ran, with its time growing.
    QCOMPARE(user, QStringLiteral("slow-user"));
    QCOMPARE(status, QStringLiteral("…"));
    QCOMPARE(statusClass, int(ui::RequestsModel::StatusClass::Running));
    QVERIFY2(lastElapsed - firstElapsed >= 500,
             qPrintable(QStringLiteral("%1 → %2").arg(firstElapsed).arg(lastElapsed)));
    // The cells' text is kept per row, and a running request's row is new on every tick.
    QVERIFY2(firstLatency != lastLatency, qPrintable(firstLatency));
    QCOMPARE(rowsWhileRunning, before + 1);
    QVERIFY2(detail.contains(QStringLiteral("is running")), qPrintable(detail));
    // Then it turns into its finished row, once.
    QTRY_VERIFY(!model.isRunning(0));
    QTRY_COMPARE(model.index(0, ui::RequestsModel::Status).data().toString(),
                 QStringLiteral("200"));
    QCOMPARE(model.index(0, ui::RequestsModel::User).data().toString(),
             QStringLiteral("slow-user"));
    QCOMPARE(model.rowCount(), before + 1);
    QVERIFY(model.index(1, ui::RequestsModel::User).data().toString() != "slow-user");
}

void TestRequestLogView::repaintLaysOutOnlyNewText()
{
    ui::RequestsModel &model = m_window->requestsModel();
    QTableView *table = m_window->requestsPage().table();
    const ui::RequestCellDelegate *cells = cellDelegate(table);
    QVERIFY(cells);
    table->scrollToTop();
    QVERIFY(settle(table, model));
    table->viewport()->repaint();
    const quint64 laidOut = cells->layoutCount();
    QVERIFY(laidOut > 0);
    // The same rows again: every string they show is laid out already.
    table->viewport()->repaint();
    QCOMPARE(cells->layoutCount(), laidOut);
    // A new row on top lays out its own new strings (its time, its user), not the rows below,
    // and draws them.
    QCOMPARE(ask("layout-once").status, 200);
    QTRY_COMPARE(model.index(0, ui::RequestsModel::User).data().toString(),
                 QStringLiteral("layout-once"));
    QTRY_VERIFY(!model.isRunning(0));
    table->viewport()->repaint();
    const quint64 added = cells->layoutCount() - laidOut;
    QVERIFY2(added >= 2 && added <= quint64(2 * ui::RequestsModel::ColumnCount),
             qPrintable(QString::number(added)));
    const QRect cell = table->visualRect(model.index(0, ui::RequestsModel::User));
    const QImage image = table->viewport()->grab().toImage();
    const QColor background = image.pixelColor(cell.right() - 1, cell.top() + 1);
    int inked = 0;
    for (int x = cell.left(); x < cell.right(); ++x)
        inked += image.pixelColor(x, cell.center().y()) != background;
    QVERIFY2(inked > 3, qPrintable(QString::number(inked)));
}

void TestRequestLogView::laidOutTextStaysBounded()
{
    ui::RequestsModel &model = m_window->requestsModel();
    QTableView *table = m_window->requestsPage().table();
    const ui::RequestCellDelegate *cells = cellDelegate(table);
    QVERIFY(cells);
    // Pages of rows with times and ids of their own, well beyond what the cache keeps.
    const int rowsShown = table->rowAt(table->viewport()->height() - 1) - table->rowAt(0) + 1;
    QVERIFY(rowsShown > 5);
    const int pages = 3 * ui::RequestCellDelegate::kLaidOutStrings / rowsShown;
    for (int p = 0; p < pages; ++p) {
        table->scrollTo(model.index(p * rowsShown, 0), QAbstractItemView::PositionAtTop);
        QVERIFY(settle(table, model));
    }
    QVERIFY(cells->layoutCount() > quint64(2 * ui::RequestCellDelegate::kLaidOutStrings));
    QVERIFY(cells->laidOutCount() <= 2 * ui::RequestCellDelegate::kLaidOutStrings);
    table->scrollToTop();
}

void TestRequestLogView::theTailFoldsIntoTheLogInPlace()
{
    ui::RequestsModel &model = m_window->requestsModel();
    ui::RequestsPage &page = m_window->requestsPage();
    QTableView *table = page.table();
    QVERIFY(settle(table, model));
    // Looking at a stored request far down, with another selected.
    table->scrollTo(model.index(5000, 0), QAbstractItemView::PositionAtTop);
    QVERIFY(settle(table, model));
    const QString topId = idAt(model, table->rowAt(0));
    table->selectionModel()->setCurrentIndex(model.index(table->rowAt(0) + 3, 0),
                                             QItemSelectionModel::ClearAndSelect |
                                                 QItemSelectionModel::Rows);
    const QString selectedId = idAt(model, table->rowAt(0) + 3);
    QVERIFY(page.detailText().contains(selectedId));
    // A block far from the screen read last (as the detail pane or an export would): what a fold
    // reads with it is what is on screen, not what was read last.
    QTRY_VERIFY(model.isLoaded(1000));

    // Requests written to the log and brought by the feed, a tick's worth at a time, until the
    // tail is long enough to fold into the log.
    const int count = ui::RequestsModel::kFoldAfterTailRows;
    const int before = model.rowCount();
    const QList<metering::RequestRecord> written =
        writeToLog(QStringLiteral("fold"), count, QDateTime::currentMSecsSinceEpoch());
    QCOMPARE(written.size(), count);
    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QSignalSpy layouts(&model, &QAbstractItemModel::layoutChanged);
    QList<int> counts;           // the row count whenever the rows moved
    bool onScreenLoaded = false; // ... and whether the rows on screen were there to show
    QObject counting;
    connect(&model, &QAbstractItemModel::layoutChanged, &counting, [&] {
        counts.append(model.rowCount());
        onScreenLoaded = table->rowAt(0) >= 0 && rowsOnScreenLoaded(table, model);
    });
    feedInTicks(model, written);
    QCOMPARE(model.rowCount(), before + count);
    QTRY_COMPARE(layouts.count(), 1);
    QVERIFY(settle(table, model));

    // One move, rows in place: none lost or shown twice, the view where it was.
    QCOMPARE(resets.count(), 0);
    QCOMPARE(counts, QList<int>{before + count});
    QVERIFY(onScreenLoaded); // read with the fold: no row on screen waits for a read
    QCOMPARE(model.rowCount(), before + count);
    QCOMPARE(model.totalCount(), model.matchingCount());
    QCOMPARE(idAt(model, table->rowAt(0)), topId);
    QCOMPARE(idAt(model, table->selectionModel()->currentIndex().row()), selectedId);
    QCOMPARE(table->selectionModel()->selectedRows().size(), 1);
    QCOMPARE(idAt(model, table->selectionModel()->selectedRows().first().row()), selectedId);
    QVERIFY(page.detailText().contains(selectedId));
    // Newest first, the folded ones above those stored before, each once.
    table->scrollToTop();
    QVERIFY(settle(table, model));
    QCOMPARE(idAt(model, 0), QStringLiteral("fold-%1").arg(count - 1, 6, 10, QLatin1Char('0')));
    table->scrollTo(model.index(count - 20, 0), QAbstractItemView::PositionAtTop);
    QVERIFY(settle(table, model));
    QCOMPARE(idAt(model, count - 1), QStringLiteral("fold-000000"));
    QSet<QString> ids;
    for (int row = count - 20; row < count + 20; ++row)
        ids.insert(idAt(model, row));
    QCOMPARE(ids.size(), 40);
    table->clearSelection();
    table->scrollToTop();
}

void TestRequestLogView::aFoldShowsTheTailRowsOnScreen()
{
    ui::RequestsModel &model = m_window->requestsModel();
    QTableView *table = m_window->requestsPage().table();
    QVERIFY(settle(table, model));
    // Requests written to the log and brought by the feed in two halves: the view is scrolled
    // into the first half, still the live tail, when the second makes the tail fold.
    const int count = ui::RequestsModel::kFoldAfterTailRows;
    // Started after the last test's requests, which start up to 20 s on.
    const QList<metering::RequestRecord> written =
        writeToLog(QStringLiteral("tail"), count, QDateTime::currentMSecsSinceEpoch() + count);
    QCOMPARE(written.size(), count);
    feedInTicks(model, written.mid(0, count / 2));
    table->scrollTo(model.index(count / 4, 0), QAbstractItemView::PositionAtTop);
    QVERIFY(settle(table, model));
    const QString topId = idAt(model, table->rowAt(0));
    QVERIFY2(topId.startsWith(QStringLiteral("tail-")), qPrintable(topId));

    QSignalSpy layouts(&model, &QAbstractItemModel::layoutChanged);
    bool onScreenLoaded = false;
    QObject watching;
    connect(&model, &QAbstractItemModel::layoutChanged, &watching,
            [&] { onScreenLoaded = table->rowAt(0) >= 0 && rowsOnScreenLoaded(table, model); });
    feedInTicks(model, written.mid(count / 2));
    QTRY_COMPARE(layouts.count(), 1);
    // The rows on screen went from the tail into the log, and were read with the fold.
    QVERIFY(onScreenLoaded);
    QCOMPARE(idAt(model, table->rowAt(0)), topId);
    table->scrollToTop();
}

void TestRequestLogView::newRowsArePaintedInOneRepaint()
{
    ui::RequestsModel &model = m_window->requestsModel();
    QTableView *table = m_window->requestsPage().table();
    table->scrollToTop();
    QVERIFY(settle(table, model));
    QTest::qWait(100);
    // New rows change the table and the page's count: one repaint shows both.
    RepaintCounter counter(m_window.get(), table->viewport());
    metering::RequestRecord r = generated(0, QDateTime::currentMSecsSinceEpoch());
    r.id = QStringLiteral("one-repaint");
    model.append({r});
    QTRY_VERIFY(counter.watchedPaints > 0);
    QTest::qWait(100);
    QCOMPARE(counter.repaints, 1);
    QCOMPARE(counter.watchedPaints, 1);
}

void TestRequestLogView::theKeeperTakesThePollAfterItsReaders()
{
    // The request log's model keeps a poll's records by moving them out of it: every handler of
    // polled() must have read them first.
    metering::RequestFeed feed;
    feed.setCapacity(10);
    const qint64 nowMs = QDateTime::currentMSecsSinceEpoch();
    for (const char *id : {"kept-1", "kept-2", "kept-3"}) {
        metering::RequestRecord r = generated(0, nowMs);
        r.id = QLatin1String(id);
        feed.append(r);
    }
    ui::FeedPoller poller(feed);
    ui::RequestsModel model(std::nullopt);
    QStringList read;
    connect(&poller, &ui::FeedPoller::polled, this, [&read](const ui::FeedPoller::Poll &poll) {
        for (const metering::RequestRecord &r : poll.finished)
            read.append(r.id);
    });
    QStringList readWhenKept;
    poller.setKeeper([&](ui::FeedPoller::Poll &&poll) {
        readWhenKept = read;
        model.update(std::move(poll.finished), nullptr, poll.nowMs);
    });
    poller.pollNow();
    const QStringList ids{QStringLiteral("kept-1"), QStringLiteral("kept-2"),
                          QStringLiteral("kept-3")};
    QCOMPARE(readWhenKept, ids);
    QCOMPARE(model.rowCount(), 3);
    for (int row = 0; row < 3; ++row) // newest first, whole
        QCOMPARE(model.record(row)->id, ids[2 - row]);
    QCOMPARE(model.record(0)->usedModel, generated(0, nowMs).usedModel);
}

void TestRequestLogView::aPollMovesTheRowsOnce()
{
    // The live tail alone (no log): two finished requests, then three running. The tester checks
    // every change against the model contract.
    ui::RequestsModel model(std::nullopt);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    const qint64 nowMs = QDateTime::currentMSecsSinceEpoch();
    const auto request = [nowMs](const char *id, qint64 startedMsAgo) {
        metering::RequestRecord r = generated(0, nowMs - startedMsAgo);
        r.id = QLatin1String(id);
        r.user = QLatin1String(id);
        return r;
    };
    const auto users = [&model] {
        QStringList shown;
        for (int row = 0; row < model.rowCount(); ++row)
            shown << model.index(row, ui::RequestsModel::User).data().toString();
        return shown;
    };
    model.append({request("old-1", 5000), request("old-2", 4000)});
    const QList<metering::RequestRecord> running = {request("run-a", 900), request("run-b", 800),
                                                    request("run-c", 700)};
    model.update({}, &running, nowMs);
    QCOMPARE(users(), QStringList({"run-c", "run-b", "run-a", "old-2", "old-1"}));
    const QPersistentModelIndex oldest = model.index(4, 0);

    // A tick where two finish, one more finishes that was never seen running, one starts: the
    // rows on top change, the ones below move down by two, in one insertion.
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    const QList<metering::RequestRecord> stillRunning = {request("run-a", 900),
                                                         request("run-d", 100)};
    model.update({request("run-b", 800), request("run-c", 700), request("new-1", 300)},
                 &stillRunning, nowMs);
    QCOMPARE(users(), QStringList({"run-d", "run-a", "new-1", "run-c", "run-b", "old-2", "old-1"}));
    QCOMPARE(inserted.count() + removed.count() + resets.count(), 1);
    QCOMPARE(oldest.row(), 6);
    QVERIFY(model.isRunning(1) && !model.isRunning(2));

    // The last two end: as many rows on top as before, so no insertion or removal at all.
    const QList<metering::RequestRecord> noneRunning;
    model.update({request("run-a", 900), request("run-d", 100)}, &noneRunning, nowMs);
    QCOMPARE(users(), QStringList({"run-d", "run-a", "new-1", "run-c", "run-b", "old-2", "old-1"}));
    QCOMPARE(inserted.count() + removed.count() + resets.count(), 1);
    QVERIFY(!model.isRunning(0));
    QCOMPARE(oldest.row(), 6);
}

void TestRequestLogView::theSelectionFollowsARunningRequest()
{
    ui::RequestsModel &model = m_window->requestsModel();
    ui::RequestsPage &page = m_window->requestsPage();
    QTableView *table = page.table();
    table->scrollToTop();
    QVERIFY(settle(table, model));
    const qint64 nowMs = QDateTime::currentMSecsSinceEpoch();
    const auto request = [nowMs](const char *id) {
        metering::RequestRecord r = generated(0, nowMs - 500);
        r.id = QLatin1String(id);
        r.user = QLatin1String(id);
        return r;
    };
    const auto currentId = [&] {
        const metering::RequestRecord *r = model.record(table->currentIndex().row());
        return r ? r->id : QString();
    };
    // Two running, the older selected (row 1).
    const QList<metering::RequestRecord> both = {request("sel-a"), request("sel-b")};
    model.update({}, &both, nowMs);
    table->selectionModel()->setCurrentIndex(
        model.index(1, 0), QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    QCOMPARE(currentId(), QStringLiteral("sel-a"));
    // The newer one finishes: the selected one is on top now, and stays selected.
    const QList<metering::RequestRecord> one = {request("sel-a")};
    model.update({request("sel-b")}, &one, nowMs);
    QCOMPARE(currentId(), QStringLiteral("sel-a"));
    QCOMPARE(table->selectionModel()->selectedRows().size(), 1);
    QCOMPARE(table->selectionModel()->selectedRows().first().row(), 0);
    QVERIFY(page.detailText().contains(QStringLiteral("sel-a")));
    // It finishes too: still selected, now as a finished request.
    const QList<metering::RequestRecord> none;
    model.update({request("sel-a")}, &none, nowMs);
    QCOMPARE(currentId(), QStringLiteral("sel-a"));
    QVERIFY(!model.isRunning(table->currentIndex().row()));
    QVERIFY(page.detailText().contains(QStringLiteral("sel-a")));
    table->clearSelection();
}

QTEST_MAIN(TestRequestLogView)
#include "tst_requestlog.moc"
