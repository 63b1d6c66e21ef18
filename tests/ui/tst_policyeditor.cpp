// The console's Policy page against a running embedded gateway and the mock upstream, offscreen:
// an edit applied live changes how the next request is routed, undo takes it back, problems
// show by their fields and keep Apply off, the diff names the change, files round-trip, and the
// order of the rules decides which one wins. A rule's match and a budget's thresholds are also
// edited in forms of their own.

#include "consolepolicy.h"
#include "mainwindow.h"
#include "matchdialog.h"
#include "policyeditorpage.h"
#include "policysectionmodel.h"
#include "thresholdsdialog.h"

#include "gateway/gatewaythread.h"
#include "httptestclient.h"
#include "mockupstream.h"
#include "policy/gatewayconfig.h"
#include "policy/jsonpath.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QCryptographicHash>
#include <QDoubleSpinBox>
#include <QFile>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMimeData>
#include <QPointer>
#include <QPushButton>
#include <QSettings>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QToolButton>
#include <QUndoStack>

#include <functional>
#include <memory>

using namespace tollgate;
using testsupport::HttpTestClient;
using Page = ui::PolicyEditorPage;

namespace {

const QByteArray kHaiku = "claude-3-haiku-20240307";
const QByteArray kSonnet = "claude-sonnet-4-20250514";

} // namespace

class TestPolicyEditor : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanupTestCase();
    void thePageOpensWithItsShortcut();
    void anEditAppliedLiveRoutesTheNextRequest();
    void undoRestoresTheRuleAndApplyPutsItBack();
    void anInvalidEditIsShownInlineAndApplyIsRefused();
    void theDiffListsTheChange();
    void saveThenOpenRoundTrips();
    void reorderingChangesWhichRuleWins();
    void renamingAPlanCarriesItsReferences();
    void fixedChoicesAreEditedFromAList();
    void aRuleMatchIsEditedInAForm();
    void aFormKeepsWhatItCannotShow();
    void budgetThresholdsAreEditedInAForm();
    void aDoubleClickOrEnterOpensTheForm();
    void thePageRenders();

private:
    /// The model that answered a request for `model` (the mock answers with what it was asked).
    QByteArray servedModel(const QByteArray &model, const testsupport::HttpHeaders &hints = {});
    Page &page() const { return m_window->policyEditorPage(); }
    ui::PolicySectionModel &routes() const { return *page().model(Page::Routes); }
    /// The hourly request limit the gateway held a caller of `plan` to.
    QByteArray hourlyLimitOf(const QByteArray &plan);
    /// Opens the table's own editor on a cell, lets `use` work it, and commits it as the view does.
    void editWith(Page::Section section, int row, int column,
                  const std::function<void(QWidget *)> &use);
    /// Types `text` into a cell as the table's editor would, and lets the page take it.
    void typeInto(Page::Section section, int row, int column, const QString &text);
    int columnOf(Page::Section section, const QString &title) const;
    /// The form of a rule's match.
    ui::MatchDialog *matchForm(int row);

    QTemporaryDir m_dataDir;
    testsupport::MockUpstream m_mock;
    std::unique_ptr<gateway::GatewayThread> m_gateway;
    std::unique_ptr<ui::MainWindow> m_window;
    QJsonObject m_original;
    int m_asked = 0;
};

void TestPolicyEditor::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QSettings(QStringLiteral("tollgate"), QStringLiteral("console")).clear();
    QVERIFY(m_dataDir.isValid());
    m_mock.setThreads(1);
    QVERIFY2(m_mock.listen(), qPrintable(m_mock.errorString()));
    auto started = testsupport::consolePolicy(m_mock.baseUrl(), m_dataDir.path());
    QVERIFY2(started, qPrintable(started ? QString() : started.error().message));
    gateway::PolicyDocument policy = *started;
    m_gateway = std::make_unique<gateway::GatewayThread>(policy);
    QString error;
    QVERIFY2(m_gateway->start(&error), qPrintable(error));
    m_window = std::make_unique<ui::MainWindow>(*m_gateway);
    m_window->show();
    // Shortcuts act in the active window only.
    m_window->activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(m_window.get()));
    m_window->showPage(ui::MainWindow::PolicyEditor);
    m_original = page().running();
    QVERIFY(!m_original.isEmpty());
}

void TestPolicyEditor::init()
{
    // Every test starts from the reference policy, in force and in the editor.
    page().setValue(QString(), m_original);
    if (!page().changes().isEmpty())
        QVERIFY(page().apply());
    page().undoStack()->clear();
    QCOMPARE(page().document(), m_original);
}

void TestPolicyEditor::cleanupTestCase()
{
    m_window.reset();
    m_gateway.reset();
}

QByteArray TestPolicyEditor::servedModel(const QByteArray &model,
                                         const testsupport::HttpHeaders &hints)
{
    // A question of its own each time: never a cache hit from an earlier routing.
    const QByteArray body = R"({"model":")" + model +
                            R"(","max_tokens":16,"messages":[{"role":"user","content":"question )" +
                            QByteArray::number(++m_asked) + R"("}]})";
    testsupport::HttpHeaders headers = {{"content-type", "application/json"},
                                        {"anthropic-version", "2023-06-01"},
                                        {"x-api-key", "sk-ant-policy-test"}};
    headers += hints;
    const auto response =
        HttpTestClient::send(m_gateway->port(), "POST", "/v1/messages", headers, body);
    if (response.status != 200)
        return "status " + QByteArray::number(response.status) + ": " + response.body;
    // The header names the model used; the mock's answer says which model it was asked for.
    const QByteArray used = response.header("x-tollgate-model");
    const QByteArray answered = response.json().value(u"model").toString().toUtf8();
    return used == answered ? used : used + " != " + answered;
}

QByteArray TestPolicyEditor::hourlyLimitOf(const QByteArray &plan)
{
    const QByteArray body = R"({"model":")" + kHaiku +
                            R"(","max_tokens":16,"messages":[{"role":"user","content":"limit )" +
                            QByteArray::number(++m_asked) + R"("}]})";
    const auto response = HttpTestClient::send(m_gateway->port(), "POST", "/v1/messages",
                                               {{"content-type", "application/json"},
                                                {"anthropic-version", "2023-06-01"},
                                                {"x-api-key", "sk-ant-policy-test"},
                                                {"x-tollgate-user", "alice"},
                                                {"x-tollgate-plan", plan}},
                                               body);
    if (response.status != 200)
        return "status " + QByteArray::number(response.status);
    return response.header("x-ratelimit-limit-requests");
}

int TestPolicyEditor::columnOf(Page::Section section, const QString &title) const
{
    const ui::PolicySectionModel &model = *page().model(section);
    for (int column = 0; column < model.columnCount(); ++column) {
        if (model.headerData(column, Qt::Horizontal).toString() == title)
            return column;
    }
    return -1;
}

void TestPolicyEditor::typeInto(Page::Section section, int row, int column, const QString &text)
{
    ui::PolicySectionModel &model = *page().model(section);
    QVERIFY(column >= 0);
    QVERIFY(model.flags(model.index(row, column)) & Qt::ItemIsEditable);
    QVERIFY(model.setData(model.index(row, column), text));
    QCoreApplication::processEvents(); // the page takes the edit once the view is done with it
}

void TestPolicyEditor::editWith(Page::Section section, int row, int column,
                                const std::function<void(QWidget *)> &use)
{
    QTableView *view = page().view(section);
    const QModelIndex index = view->model()->index(row, column);
    QAbstractItemDelegate *delegate = view->itemDelegateForIndex(index);
    std::unique_ptr<QWidget> editor(
        delegate->createEditor(view->viewport(), QStyleOptionViewItem(), index));
    QVERIFY(editor);
    delegate->setEditorData(editor.get(), index);
    use(editor.get());
    delegate->setModelData(editor.get(), view->model(), index);
    QCoreApplication::processEvents();
}

void TestPolicyEditor::thePageOpensWithItsShortcut()
{
    m_window->showPage(ui::MainWindow::Overview);
    QTest::keyClick(m_window.get(), Qt::Key(Qt::Key_1 + ui::MainWindow::PolicyEditor),
                    Qt::ControlModifier);
    QCOMPARE(m_window->currentPage(), ui::MainWindow::PolicyEditor);
    // The reference rules, in order, as views over the running policy.
    QCOMPARE(routes().index(0, 0).data().toString(), QStringLiteral("priority-high"));
    QCOMPARE(routes().index(routes().rowCount() - 1, 0).data().toString(),
             QStringLiteral("requested"));
    QCOMPARE(routes()
                 .index(0, columnOf(Page::Routes, QStringLiteral("Targets (in order)")))
                 .data()
                 .toString(),
             QString::fromLatin1(kSonnet));
    const ui::PolicySectionModel &plans = *page().model(Page::Plans);
    const int free = plans.rowOf(QStringLiteral("plans.free"));
    QVERIFY(free >= 0);
    QCOMPARE(plans.index(free, columnOf(Page::Plans, QStringLiteral("Requests/hour"))).data(),
             QVariant(QStringLiteral("100")));
    QVERIFY(page().changes().isEmpty());
    QVERIFY(!page().applyAction()->isEnabled());
    QCOMPARE(page().undoAction()->shortcut(), QKeySequence(QKeySequence::Undo));
    QCOMPARE(page().redoAction()->shortcut(), QKeySequence(QStringLiteral("Ctrl+Shift+Z")));
}

void TestPolicyEditor::anEditAppliedLiveRoutesTheNextRequest()
{
    QCOMPARE(servedModel(kHaiku), kHaiku);
    // The first rule now catches requests for haiku and sends them to sonnet.
    typeInto(Page::Routes, 0, columnOf(Page::Routes, QStringLiteral("Match")),
             QStringLiteral(R"({"api": "anthropic", "model": "claude-3-haiku-20240307"})"));
    QVERIFY2(page().problems().isEmpty(), qPrintable(page().statusText()));
    QCOMPARE(page().undoStack()->count(), 1);
    // Not in force until applied.
    QCOMPARE(servedModel(kHaiku), kHaiku);
    QVERIFY(page().applyAction()->isEnabled());
    page().applyAction()->trigger();
    QVERIFY2(page().outcomeText().startsWith(QStringLiteral("Applied")),
             qPrintable(page().outcomeText()));
    QVERIFY(page().changes().isEmpty());
    QCOMPARE(servedModel(kHaiku), kSonnet);
    // The rest of the routing is as it was.
    QCOMPARE(servedModel("claude-3-5-haiku-20241022"), QByteArray("claude-3-5-haiku-20241022"));
}

void TestPolicyEditor::undoRestoresTheRuleAndApplyPutsItBack()
{
    const int targets = columnOf(Page::Routes, QStringLiteral("Targets (in order)"));
    typeInto(Page::Routes, 0, columnOf(Page::Routes, QStringLiteral("Match")),
             QStringLiteral(R"({"model": "claude-3-haiku-20240307"})"));
    typeInto(Page::Routes, 0, targets, QStringLiteral("claude-3-5-haiku-20241022, ") + kSonnet);
    QCOMPARE(page().undoStack()->count(), 2);
    QVERIFY(page().apply());
    QCOMPARE(servedModel(kHaiku), QByteArray("claude-3-5-haiku-20241022"));

    // Ctrl+Z on the table takes the last edit back, then the one before.
    QTableView *table = page().view(Page::Routes);
    table->setFocus();
    QTest::keyClick(table, Qt::Key_Z, Qt::ControlModifier);
    QCOMPARE(routes().index(0, targets).data().toString(), QString::fromLatin1(kSonnet));
    page().undoAction()->trigger();
    QCOMPARE(page().document(), m_original);
    QVERIFY(!page().undoAction()->isEnabled());
    // Undone is not yet in force: the diff says so, and Apply puts the old rule back.
    QCOMPARE(servedModel(kHaiku), QByteArray("claude-3-5-haiku-20241022"));
    QVERIFY(!page().changes().isEmpty());
    QVERIFY(page().apply());
    QCOMPARE(servedModel(kHaiku), kHaiku);

    // Redo comes back as well.
    page().redoAction()->trigger();
    QCOMPARE(routes().index(0, columnOf(Page::Routes, QStringLiteral("Match"))).data().toString(),
             QStringLiteral(R"({"model":"claude-3-haiku-20240307"})"));
    QTest::keyClick(table, Qt::Key_Z, Qt::ControlModifier | Qt::ShiftModifier);
    QCOMPARE(routes().index(0, targets).data().toString(),
             QStringLiteral("claude-3-5-haiku-20241022, ") + kSonnet);
}

void TestPolicyEditor::anInvalidEditIsShownInlineAndApplyIsRefused()
{
    const int targets = columnOf(Page::Routes, QStringLiteral("Targets (in order)"));
    typeInto(Page::Routes, 1, targets, QStringLiteral("no-such-model"));
    QCOMPARE(page().problems().size(), 1);
    QCOMPARE(page().problems().first().path, QStringLiteral("routes[1].targets[0]"));
    // By the cell, under the table, on the tab and in the status line.
    const QModelIndex cell = routes().index(1, targets);
    QVERIFY(cell.data(Qt::BackgroundRole).isValid());
    QVERIFY2(cell.data(Qt::ToolTipRole).toString().contains(QStringLiteral("unknown model")),
             qPrintable(cell.data(Qt::ToolTipRole).toString()));
    QVERIFY(!routes().index(0, targets).data(Qt::BackgroundRole).isValid());
    QVERIFY2(
        page()
            .problemText(Page::Routes)
            .startsWith(QStringLiteral("routes[1].targets[0]: unknown model \"no-such-model\"")),
        qPrintable(page().problemText(Page::Routes)));
    QCOMPARE(page().tabs()->tabText(Page::RoutingTab), QStringLiteral("Routing (1)"));
    QVERIFY(page().statusText().contains(QStringLiteral("Apply is off")));
    QVERIFY(!page().applyAction()->isEnabled());
    QVERIFY(!page().apply());
    QVERIFY(page().outcomeText().startsWith(QStringLiteral("Not applied")));
    QCOMPARE(page().running(), m_original);

    // A number field that gets words: that field's problem, on the plans tab.
    const ui::PolicySectionModel &plans = *page().model(Page::Plans);
    const int free = plans.rowOf(QStringLiteral("plans.free"));
    typeInto(Page::Plans, free, columnOf(Page::Plans, QStringLiteral("Requests/hour")),
             QStringLiteral("lots"));
    QVERIFY2(page()
                 .problemText(Page::Plans)
                 .startsWith(QStringLiteral("plans.free.requests_per_hour: expected")),
             qPrintable(page().problemText(Page::Plans)));
    QCOMPARE(page().problems().size(), 2);

    // Fixing both clears them.
    page().undoAction()->trigger();
    page().undoAction()->trigger();
    QVERIFY(page().problems().isEmpty());
    QVERIFY(page().problemText(Page::Routes).isEmpty());
    QCOMPARE(page().tabs()->tabText(Page::RoutingTab), QStringLiteral("Routing"));
}

void TestPolicyEditor::theDiffListsTheChange()
{
    QVERIFY(page().diffText().startsWith(QStringLiteral("No changes")));
    const ui::PolicySectionModel &cache = *page().model(Page::Cache);
    typeInto(Page::Cache, cache.rowOf(QStringLiteral("cache.ttl_seconds")), 1,
             QStringLiteral("60"));
    typeInto(Page::Routes, 0, 0, QStringLiteral("urgent"));
    const QList<policy::JsonChange> changes = page().changes();
    QCOMPARE(changes.size(), 2);
    QCOMPARE(changes.at(0).path, QStringLiteral("cache.ttl_seconds"));
    QCOMPARE(changes.at(0).before.toInt(), 3600);
    QCOMPARE(changes.at(0).after.toInt(), 60);
    QVERIFY2(page().diffText().contains(QStringLiteral("cache.ttl_seconds: 3600 → 60")),
             qPrintable(page().diffText()));
    QVERIFY(page().diffText().contains(
        QStringLiteral("routes[0].name: \"priority-high\" → \"urgent\"")));
    QCOMPARE(page().tabs()->tabText(Page::ChangesTab), QStringLiteral("Changes (2)"));
    QVERIFY(page().statusText().startsWith(QStringLiteral("2 changes not applied")));
    // Revert is one more step in the history.
    page().revert();
    QVERIFY(page().changes().isEmpty());
    page().undoAction()->trigger();
    QCOMPARE(page().changes().size(), 2);
}

void TestPolicyEditor::saveThenOpenRoundTrips()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("team.json"));
    const ui::PolicySectionModel &plans = *page().model(Page::Plans);
    typeInto(Page::Plans, plans.rowOf(QStringLiteral("plans.pro")),
             columnOf(Page::Plans, QStringLiteral("Requests/minute")), QStringLiteral("30"));
    page().addRow(Page::Budgets);
    QCoreApplication::processEvents();
    const QJsonObject edited = page().document();
    QCOMPARE(edited.value(u"budgets").toArray().size(), 1);
    QVERIFY(page().saveTo(path));

    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray text = file.readAll();
    QVERIFY(text.contains("\"requests_per_minute\": 30"));
    QVERIFY(!text.contains("\"providers\"") && !text.contains("\"gateway\""));
    QVERIFY(!text.contains("sk-ant"));

    page().revert();
    QCOMPARE(page().document(), m_original);
    QVERIFY(page().openFrom(path));
    QCOMPARE(page().document(), edited);
    // Opening is one undoable step.
    page().undoAction()->trigger();
    QCOMPARE(page().document(), m_original);

    // A full policy file: the server's sections stay the server's, and the page says so.
    const QString full = dir.filePath(QStringLiteral("full.json"));
    QFile out(full);
    QVERIFY(out.open(QIODevice::WriteOnly));
    out.write(R"({"version":1,"gateway":{"listen":"0.0.0.0:80"},"cache":{"ttl_seconds":5}})");
    out.close();
    QVERIFY(page().openFrom(full));
    QVERIFY2(page().outcomeText().contains(QStringLiteral("Left out, as the server's own: "
                                                          "gateway")),
             qPrintable(page().outcomeText()));
    QCOMPARE(policy::valueAtPath(page().document(), QStringLiteral("cache.ttl_seconds")).toInt(),
             5);
    QVERIFY(page().apply());
    QVERIFY(m_gateway->address().isLoopback());

    // Not a policy: nothing changes.
    QVERIFY(out.open(QIODevice::WriteOnly));
    out.write("{\"routes\": [");
    out.close();
    const QJsonObject before = page().document();
    QVERIFY(!page().openFrom(full));
    QVERIFY(page().outcomeText().contains(QStringLiteral("not valid JSON")));
    QCOMPARE(page().document(), before);
}

void TestPolicyEditor::reorderingChangesWhichRuleWins()
{
    // priority-high (sonnet) comes before budget-strict (haiku): a caller sending both hints
    // gets sonnet.
    const testsupport::HttpHeaders both = {{"x-tollgate-priority", "high"},
                                           {"x-tollgate-budget", "strict"}};
    QCOMPARE(servedModel("claude-3-5-haiku-20241022", both), kSonnet);

    // Dragging budget-strict above priority-high, as the table's drag and drop does.
    QMimeData *dragged = routes().mimeData({routes().index(1, 0)});
    QVERIFY(dragged);
    QVERIFY(!routes().dropMimeData(dragged, Qt::MoveAction, 0, 0, QModelIndex()));
    delete dragged;
    QCoreApplication::processEvents();
    QCOMPARE(routes().index(0, 0).data().toString(), QStringLiteral("budget-strict"));
    QCOMPARE(routes().index(1, 0).data().toString(), QStringLiteral("priority-high"));
    QCOMPARE(page().view(Page::Routes)->currentIndex().row(), 0);
    // The changes name the rule that moved, not every rule it passed.
    QCOMPARE(page().changes().size(), 1);
    QVERIFY2(page().diffText().contains(
                 QStringLiteral("routes[0] \"budget-strict\": moved from position 2 to 1")),
             qPrintable(page().diffText()));
    QVERIFY(page().apply());
    QCOMPARE(servedModel("claude-3-5-haiku-20241022", both), kHaiku);

    // Move down puts it back; one undo step each.
    page().moveRow(Page::Routes, 0, 2);
    QCOMPARE(routes().index(0, 0).data().toString(), QStringLiteral("priority-high"));
    QCOMPARE(page().document(), m_original);
    page().undoAction()->trigger();
    QCOMPARE(routes().index(0, 0).data().toString(), QStringLiteral("budget-strict"));

    // A new rule goes above the selected one, and can be removed again.
    page().view(Page::Routes)->selectRow(1);
    page().addRow(Page::Routes);
    QCOMPARE(routes().index(1, 0).data().toString(), QStringLiteral("rule-1"));
    QVERIFY(page().problems().isEmpty());
    page().removeRow(Page::Routes, 1);
    QCOMPARE(routes().index(1, 0).data().toString(), QStringLiteral("priority-high"));
}

void TestPolicyEditor::renamingAPlanCarriesItsReferences()
{
    // The first rule sends the pro plan to sonnet.
    const testsupport::HttpHeaders asBusiness = {{"x-tollgate-user", "alice"},
                                                 {"x-tollgate-plan", "business"}};
    typeInto(Page::Routes, 0, columnOf(Page::Routes, QStringLiteral("Match")),
             QStringLiteral(R"({"plan": "pro"})"));
    QVERIFY(page().apply());
    QCOMPARE(hourlyLimitOf("pro"), QByteArray("1000"));
    // No business plan yet: such a caller gets the default plan and the default route.
    QCOMPARE(hourlyLimitOf("business"), QByteArray("100"));
    QCOMPARE(servedModel(kHaiku, asBusiness), kHaiku);

    const ui::PolicySectionModel &plans = *page().model(Page::Plans);
    const QJsonObject before = page().document();
    const int steps = page().undoStack()->count();
    typeInto(Page::Plans, plans.rowOf(QStringLiteral("plans.pro")), 0, QStringLiteral("business"));
    QCOMPARE(page().undoStack()->count(), steps + 1);
    QVERIFY2(page().problems().isEmpty(), qPrintable(page().statusText()));
    QVERIFY(plans.rowOf(QStringLiteral("plans.pro")) < 0);
    QCOMPARE(routes().index(0, columnOf(Page::Routes, QStringLiteral("Match"))).data().toString(),
             QStringLiteral(R"({"plan":"business"})"));
    QVERIFY(page().apply());
    QCOMPARE(hourlyLimitOf("business"), QByteArray("1000"));
    QCOMPARE(servedModel(kHaiku, asBusiness), kSonnet);

    // One undo step brings the plan and the rule back together.
    page().undoAction()->trigger();
    QCOMPARE(page().document(), before);
    page().redoAction()->trigger();

    // Gateway keys are the server's own: the page says which still name the old plan.
    const gateway::PolicyDocument keyless = *m_gateway->context()->policy();
    gateway::PolicyDocument keyed = keyless;
    policy::GatewayKey key;
    key.name = QStringLiteral("ci");
    key.sha256Hex = QCryptographicHash::hash("tg-ci-key", QCryptographicHash::Sha256).toHex();
    key.plan = QStringLiteral("business");
    keyed.gateway.gatewayKeys = {key};
    // A gateway with keys must not pass its callers' keys on, so it needs a provider key.
    policy::ProviderConfig *anthropic =
        policy::findProvider(keyed.gateway, QStringLiteral("anthropic"));
    anthropic->apiKey = QByteArrayLiteral("sk-ant-placeholder");
    anthropic->keySource = QStringLiteral("test");
    QString error;
    QVERIFY2(m_gateway->applyPolicy(keyed, &error), qPrintable(error));
    typeInto(Page::Plans, plans.rowOf(QStringLiteral("plans.business")), 0, QStringLiteral("team"));
    const QString outcome = page().outcomeText();
    QVERIFY2(m_gateway->applyPolicy(keyless, &error), qPrintable(error));
    QVERIFY2(outcome.startsWith(QStringLiteral("1 gateway key(s) still name plan business")),
             qPrintable(outcome));
}

void TestPolicyEditor::fixedChoicesAreEditedFromAList()
{
    const auto itemsOf = [](QComboBox *combo) {
        QStringList items;
        for (int i = 0; i < combo->count(); ++i)
            items.append(combo->itemText(i));
        return items;
    };
    // A budget's window: a closed set.
    page().addRow(Page::Budgets);
    QCoreApplication::processEvents();
    editWith(Page::Budgets, 0, columnOf(Page::Budgets, QStringLiteral("Window")), [&](QWidget *w) {
        auto *combo = qobject_cast<QComboBox *>(w);
        QVERIFY(combo && !combo->isEditable());
        QCOMPARE(itemsOf(combo), (QStringList{"hour", "day", "month"}));
        QCOMPARE(combo->currentText(), QStringLiteral("day"));
        combo->setCurrentIndex(2);
    });
    QCOMPARE(policy::valueAtPath(page().document(), QStringLiteral("budgets[0].window")),
             QJsonValue(QStringLiteral("month")));

    // A rule's targets offer the models the document knows now, and still take a typed chain.
    page().addRow(Page::Models);
    QCoreApplication::processEvents();
    const QString added = page().model(Page::Models)->index(0, 0).data().toString();
    const int targets = columnOf(Page::Routes, QStringLiteral("Targets (in order)"));
    editWith(Page::Routes, 0, targets, [&](QWidget *w) {
        auto *combo = qobject_cast<QComboBox *>(w);
        QVERIFY(combo && combo->isEditable());
        QVERIFY2(itemsOf(combo).contains(added), qPrintable(itemsOf(combo).join(u' ')));
        QVERIFY(itemsOf(combo).contains(QStringLiteral("$requested")));
        combo->setEditText(added + QStringLiteral(", ") + kSonnet);
    });
    QCOMPARE(policy::valueAtPath(page().document(), QStringLiteral("routes[0].targets")),
             QJsonValue(QJsonArray{added, QString::fromLatin1(kSonnet)}));
    // A new model id renames the model where rules name it too, in one step.
    const int steps = page().undoStack()->count();
    typeInto(Page::Models, 0, 0, QStringLiteral("house-model"));
    QCOMPARE(page().undoStack()->count(), steps + 1);
    QCOMPARE(policy::valueAtPath(page().document(), QStringLiteral("routes[0].targets[0]")),
             QJsonValue(QStringLiteral("house-model")));

    // The plan choices are the plans; a switch is a check box.
    const ui::PolicySectionModel &choice = *page().model(Page::PlanChoice);
    editWith(Page::PlanChoice, choice.rowOf(QStringLiteral("default_plan")), 1, [&](QWidget *w) {
        auto *combo = qobject_cast<QComboBox *>(w);
        QVERIFY(combo && !combo->isEditable());
        QVERIFY(itemsOf(combo).contains(QStringLiteral("enterprise")));
        combo->setCurrentText(QStringLiteral("pro"));
    });
    QCOMPARE(page().document().value(u"default_plan").toString(), QStringLiteral("pro"));
    const ui::PolicySectionModel &rules = *page().model(Page::AlertRules);
    editWith(Page::AlertRules, rules.rowOf(QStringLiteral("alerts.rules.HighAILatency")),
             columnOf(Page::AlertRules, QStringLiteral("On")), [](QWidget *w) {
                 auto *box = qobject_cast<QCheckBox *>(w);
                 QVERIFY(box && box->isChecked());
                 box->setChecked(false);
             });
    QCOMPARE(policy::valueAtPath(page().document(),
                                 QStringLiteral("alerts.rules.HighAILatency.enabled")),
             QJsonValue(false));
    // A switch opened and left as it was is no edit.
    const int edits = page().undoStack()->count();
    editWith(Page::AlertRules, rules.rowOf(QStringLiteral("alerts.rules.HighAILatency")),
             columnOf(Page::AlertRules, QStringLiteral("On")), [](QWidget *w) {
                 auto *box = qobject_cast<QCheckBox *>(w);
                 QVERIFY(box && box->checkState() == Qt::Unchecked);
             });
    QCOMPARE(page().undoStack()->count(), edits);
    // A rule from a file that leaves "enabled" out keeps its default when its switch is opened.
    QJsonObject withoutSwitch = page().document();
    QJsonObject alerts = withoutSwitch.value(u"alerts").toObject();
    QJsonObject alertRules = alerts.value(u"rules").toObject();
    QJsonObject latency = alertRules.value(u"HighAILatency").toObject();
    latency.remove(QStringLiteral("enabled"));
    alertRules.insert(QStringLiteral("HighAILatency"), latency);
    alerts.insert(QStringLiteral("rules"), alertRules);
    withoutSwitch.insert(QStringLiteral("alerts"), alerts);
    const QString file = QDir(m_dataDir.path()).filePath(QStringLiteral("no-switch.json"));
    QFile out(file);
    QVERIFY(out.open(QIODevice::WriteOnly));
    out.write(QJsonDocument(withoutSwitch).toJson());
    out.close();
    QVERIFY(page().openFrom(file));
    editWith(Page::AlertRules, rules.rowOf(QStringLiteral("alerts.rules.HighAILatency")),
             columnOf(Page::AlertRules, QStringLiteral("On")), [](QWidget *w) {
                 auto *box = qobject_cast<QCheckBox *>(w);
                 QVERIFY(box && box->checkState() == Qt::PartiallyChecked);
             });
    QVERIFY(
        policy::valueAtPath(page().document(), QStringLiteral("alerts.rules.HighAILatency.enabled"))
            .isUndefined());
    page().undoAction()->trigger(); // the file
    // A number stays a text field.
    editWith(Page::Plans, 0, columnOf(Page::Plans, QStringLiteral("Requests/hour")),
             [](QWidget *w) { QVERIFY(qobject_cast<QLineEdit *>(w)); });
    QVERIFY2(page().problems().isEmpty(), qPrintable(page().statusText()));
}

ui::MatchDialog *TestPolicyEditor::matchForm(int row)
{
    return qobject_cast<ui::MatchDialog *>(
        page().openForm(Page::Routes, routes().index(row, columnOf(Page::Routes, "Match"))));
}

void TestPolicyEditor::aRuleMatchIsEditedInAForm()
{
    QCOMPARE(servedModel(kHaiku), kHaiku);
    // The first rule: priority high, for Anthropic clients.
    QPointer<ui::MatchDialog> form = matchForm(0);
    QVERIFY(form && form->isVisible());
    const auto box = [&](const QString &key, const QString &name) -> QCheckBox * {
        for (QCheckBox *candidate : form->editorOf(key)->findChildren<QCheckBox *>()) {
            if (candidate->text() == name)
                return candidate;
        }
        return nullptr;
    };
    QVERIFY(box("priority", "high") && box("priority", "high")->isChecked());
    QVERIFY(box("priority", "low") && !box("priority", "low")->isChecked());
    QVERIFY(box("api", "anthropic")->isChecked());
    QVERIFY2(form->problemText().isEmpty(), qPrintable(form->problemText()));

    // Catch requests for haiku instead of high priority ones; the model is picked from the
    // names the policy knows.
    box("priority", "high")->click();
    auto *pick = form->editorOf("model")->findChild<QToolButton *>();
    QVERIFY(pick && pick->menu());
    QAction *haiku = nullptr;
    for (QAction *action : pick->menu()->actions()) {
        if (action->text() == QString::fromLatin1(kHaiku))
            haiku = action;
    }
    QVERIFY(haiku);
    QVERIFY(pick->menu()->actions().first()->text() == QStringLiteral("auto"));
    haiku->trigger();
    QCOMPARE(form->editorOf("model")->findChild<QLineEdit *>()->text(),
             QString::fromLatin1(kHaiku));

    // Problems show as the form changes, by the condition they are about.
    auto *above = form->editorOf("complexity_above");
    auto *atMost = form->editorOf("complexity_at_most");
    above->findChild<QCheckBox *>()->click();
    above->findChild<QDoubleSpinBox *>()->setValue(0.8);
    atMost->findChild<QCheckBox *>()->click();
    atMost->findChild<QDoubleSpinBox *>()->setValue(0.3);
    QVERIFY2(form->problemText().startsWith(u"complexity_above: must be less than"),
             qPrintable(form->problemText()));
    above->findChild<QCheckBox *>()->click();
    atMost->findChild<QCheckBox *>()->click();
    QVERIFY2(form->problemText().isEmpty(), qPrintable(form->problemText()));
    // Nothing changes before OK.
    QCOMPARE(page().document(), m_original);
    form->accept();
    QTRY_VERIFY(!form); // closed and gone

    const QJsonObject expected{{QStringLiteral("api"), QStringLiteral("anthropic")},
                               {QStringLiteral("model"), QString::fromLatin1(kHaiku)}};
    QCOMPARE(policy::valueAtPath(page().document(), QStringLiteral("routes[0].match")),
             QJsonValue(expected));
    QCOMPARE(page().undoStack()->count(), 1);
    QVERIFY(page().apply());
    QCOMPARE(servedModel(kHaiku), kSonnet);
    page().undoAction()->trigger();
    QCOMPARE(page().document(), m_original);
    QVERIFY(page().apply());
    QCOMPARE(servedModel(kHaiku), kHaiku);

    // Cancel changes nothing.
    form = matchForm(0);
    box("api", "openai")->click();
    form->reject();
    QCOMPARE(page().document(), m_original);
}

void TestPolicyEditor::aFormKeepsWhatItCannotShow()
{
    // A member the core does not know and a pattern list the form shows as text stay as they are
    // unless their own row is changed.
    const QJsonObject match{
        {QStringLiteral("api"), QStringLiteral("anthropic")},
        {QStringLiteral("colour"), QStringLiteral("red")},
        {QStringLiteral("header"),
         QJsonObject{{QStringLiteral("user-agent"),
                      QJsonArray{QStringLiteral("a, b"), QStringLiteral("c")}}}}};
    QVERIFY(page().setValue(QStringLiteral("routes[1].match"), match));
    QPointer<ui::MatchDialog> form = matchForm(1);
    QVERIFY(form);
    QVERIFY2(form->problemText().contains(u"colour: unknown condition"),
             qPrintable(form->problemText()));
    // The header's pattern holds a comma: "a, b, c" would read back as three, so it is
    // read-only, and listed with the unknown member.
    QVERIFY(!form->editorOf(QStringLiteral("header"))->isEnabled());
    QVERIFY(form->editorOf(QStringLiteral("user"))->isEnabled());
    const QString kept = form->findChild<QLabel *>(QStringLiteral("keptAsWritten"))->text();
    QVERIFY2(kept.endsWith(u"header, colour"), qPrintable(kept));
    form->editorOf("user")->findChild<QLineEdit *>()->setText(QStringLiteral("alice"));
    QTest::keyClicks(form->editorOf("user")->findChild<QLineEdit *>(), QStringLiteral(", bob"));
    form->accept();
    QJsonObject expected = match;
    expected.insert(QStringLiteral("user"),
                    QJsonArray{QStringLiteral("alice"), QStringLiteral("bob")});
    QCOMPARE(policy::valueAtPath(page().document(), QStringLiteral("routes[1].match")),
             QJsonValue(expected));

    // A match that is not an object is not the form's: the outcome says to edit its JSON, and
    // JSON typed in the cell replaces the string.
    QVERIFY(page().setValue(QStringLiteral("routes[1].match"), QStringLiteral("anything")));
    QVERIFY(!matchForm(1));
    QVERIFY2(page().outcomeText().contains(u"F2"), qPrintable(page().outcomeText()));
    typeInto(Page::Routes, 1, columnOf(Page::Routes, QStringLiteral("Match")),
             QStringLiteral(R"({"api": "openai"})"));
    QCOMPARE(policy::valueAtPath(page().document(), QStringLiteral("routes[1].match")),
             QJsonValue(QJsonObject{{QStringLiteral("api"), QStringLiteral("openai")}}));

    // No match opens as an empty one, and OK on it is no edit.
    QVERIFY(page().setValue(QStringLiteral("routes[1].match"), QJsonValue::Undefined));
    const int steps = page().undoStack()->count();
    form = matchForm(1);
    form->accept();
    QCOMPARE(page().undoStack()->count(), steps);

    // Thresholds the table would change once touched (a member it has no column for) are not
    // the form's either.
    page().addRow(Page::Budgets);
    QCoreApplication::processEvents();
    QVERIFY(
        page().setValue(QStringLiteral("budgets[0].actions"),
                        QJsonArray{QJsonObject{{QStringLiteral("at_percent"), 50},
                                               {QStringLiteral("action"), QStringLiteral("alert")},
                                               {QStringLiteral("note"), QStringLiteral("x")}}}));
    QVERIFY(!page().openForm(
        Page::Budgets, page()
                           .model(Page::Budgets)
                           ->index(0, columnOf(Page::Budgets, QStringLiteral("Thresholds")))));
}

void TestPolicyEditor::budgetThresholdsAreEditedInAForm()
{
    page().addRow(Page::Budgets);
    QCoreApplication::processEvents();
    const int thresholds = columnOf(Page::Budgets, QStringLiteral("Thresholds"));
    const QModelIndex cell = page().model(Page::Budgets)->index(0, thresholds);
    QVERIFY(cell.data(ui::PolicySectionModel::FormRole).toBool());
    QPointer<ui::ThresholdsDialog> form =
        qobject_cast<ui::ThresholdsDialog *>(page().openForm(Page::Budgets, cell));
    QVERIFY(form);
    // A new budget gives none, so it has the default ones, and the form shows them.
    QCOMPARE(form->table()->rowCount(), 3);
    const auto percentAt = [&](int row) {
        return qobject_cast<QDoubleSpinBox *>(form->table()->cellWidget(row, 0));
    };
    const auto actionAt = [&](int row) {
        return qobject_cast<QComboBox *>(form->table()->cellWidget(row, 1));
    };
    QCOMPARE(percentAt(2)->value(), 100.0);
    QCOMPARE(actionAt(2)->currentText(), QStringLiteral("block"));
    QCOMPARE(actionAt(0)->count(), 3); // alert, downgrade, block
    // Left alone and accepted, the budget still gives none.
    const int steps = page().undoStack()->count();
    form->accept();
    QCoreApplication::processEvents();
    QCOMPARE(page().undoStack()->count(), steps);

    form = qobject_cast<ui::ThresholdsDialog *>(page().openForm(Page::Budgets, cell));
    actionAt(1)->setCurrentText(QStringLiteral("downgrade"));
    percentAt(0)->setValue(0);
    QVERIFY2(form->problemText().startsWith(u"row 1 at_percent: expected a number greater than 0"),
             qPrintable(form->problemText()));
    // Remove takes the row being edited: focus in a row's editor makes it the current row.
    QApplication::setActiveWindow(form);
    percentAt(0)->setFocus();
    QCOMPARE(form->table()->currentRow(), 0);
    for (QPushButton *button : form->findChildren<QPushButton *>()) {
        if (button->text() == QStringLiteral("Remove"))
            button->click();
    }
    QCOMPARE(form->table()->rowCount(), 2);
    form->addThreshold(95, QStringLiteral("alert"));
    QVERIFY2(form->problemText().isEmpty(), qPrintable(form->problemText()));
    form->accept();
    QCoreApplication::processEvents();
    const QJsonArray expected{QJsonObject{{QStringLiteral("at_percent"), 80},
                                          {QStringLiteral("action"), QStringLiteral("downgrade")}},
                              QJsonObject{{QStringLiteral("at_percent"), 100},
                                          {QStringLiteral("action"), QStringLiteral("block")}},
                              QJsonObject{{QStringLiteral("at_percent"), 95},
                                          {QStringLiteral("action"), QStringLiteral("alert")}}};
    QCOMPARE(policy::valueAtPath(page().document(), QStringLiteral("budgets[0].actions")),
             QJsonValue(expected));
    QCOMPARE(page().undoStack()->count(), steps + 1);
    QVERIFY(page().apply());
    const QJsonArray running =
        policy::valueAtPath(page().running(), QStringLiteral("budgets[0].actions")).toArray();
    QCOMPARE(running.size(), 3);

    // No row: a budget that only tracks spend.
    form = qobject_cast<ui::ThresholdsDialog *>(page().openForm(Page::Budgets, cell));
    while (form->table()->rowCount() > 0)
        form->removeThreshold(0);
    form->accept();
    QCoreApplication::processEvents();
    QCOMPARE(policy::valueAtPath(page().document(), QStringLiteral("budgets[0].actions")),
             QJsonValue(QJsonArray()));
}

void TestPolicyEditor::aDoubleClickOrEnterOpensTheForm()
{
    m_window->showPage(ui::MainWindow::PolicyEditor);
    page().tabs()->setCurrentIndex(Page::RoutingTab);
    QTableView *view = page().view(Page::Routes);
    const QModelIndex cell = routes().index(2, columnOf(Page::Routes, QStringLiteral("Match")));
    const auto openForms = [&] {
        QList<ui::MatchDialog *> open;
        for (ui::MatchDialog *form : page().findChildren<ui::MatchDialog *>()) {
            if (form->isVisible())
                open.append(form);
        }
        return open;
    };
    QVERIFY(openForms().isEmpty());
    const QPoint center = view->visualRect(cell).center();
    // A double-click as the window system sends it: press, release, then the double-click.
    QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, center);
    QTest::mouseDClick(view->viewport(), Qt::LeftButton, {}, center);
    QCOMPARE(openForms().size(), 1);
    QCOMPARE(openForms().first()->windowTitle(), QStringLiteral("Match of rule auto-complex"));
    QVERIFY(view->viewport()->findChildren<QLineEdit *>().isEmpty()); // no editor in the cell
    openForms().first()->reject();
    QCoreApplication::processEvents();

    view->setFocus();
    view->setCurrentIndex(cell);
    QTest::keyClick(view, Qt::Key_Return);
    QCOMPARE(openForms().size(), 1);
    openForms().first()->reject();
    QCoreApplication::processEvents();
    QCOMPARE(page().document(), m_original);
}

void TestPolicyEditor::thePageRenders()
{
    typeInto(Page::Routes, 1, columnOf(Page::Routes, QStringLiteral("Targets (in order)")),
             QStringLiteral("no-such-model"));
    for (int tab = 0; tab < page().tabs()->count(); ++tab) {
        page().tabs()->setCurrentIndex(tab);
        const QImage image = m_window->grab().toImage();
        QVERIFY(!image.isNull());
    }
}

QTEST_MAIN(TestPolicyEditor)
#include "tst_policyeditor.moc"
