#include "routing/complexity.h"
#include "routing/router.h"

#include <QTest>

#include <cmath>
#include <functional>
#include <limits>

using tollgate::policy::RequestFeatures;
using tollgate::routing::effectiveComplexity;
using tollgate::routing::estimateComplexity;

namespace {

// One input of the estimate, set to a given magnitude on top of a base request.
using Setter = std::function<void(RequestFeatures &, qint64)>;

RequestFeatures hi()
{
    RequestFeatures f;
    f.requestedModel = QStringLiteral("auto");
    f.promptChars = 2;
    f.messageCount = 1;
    return f;
}

// A long agentic coding session: big prompt, many turns, tools and code.
RequestFeatures codingSession()
{
    RequestFeatures f;
    f.requestedModel = QStringLiteral("auto");
    f.promptChars = 20000;
    f.messageCount = 12;
    f.toolCount = 5;
    f.codeBlockCount = 4;
    return f;
}

} // namespace

Q_DECLARE_METATYPE(Setter)

class TestComplexity : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void trivialPromptIsSimple();
    void longCodeAndToolsConversationIsComplex();
    void monotonicInEachInput_data();
    void monotonicInEachInput();
    void boundedForExtremeInputs_data();
    void boundedForExtremeInputs();
    void defaultMaxTokensAddsNothing();
    void noSingleSignalCrossesTheReferenceThreshold();
    void callerComplexityWins();
    void callerComplexityIsClamped();
    void nanCallerComplexityIsIgnored();
};

void TestComplexity::trivialPromptIsSimple()
{
    QVERIFY(estimateComplexity(hi()) < 0.3);
    QCOMPARE(estimateComplexity(hi()), 0.0);
    RequestFeatures withDefault = hi();
    withDefault.maxTokens = 1024;
    QVERIFY(estimateComplexity(withDefault) < 0.3);
}

void TestComplexity::longCodeAndToolsConversationIsComplex()
{
    const double c = estimateComplexity(codingSession());
    QVERIFY2(c > 0.7, qPrintable(QString::number(c)));
    RequestFeatures longOutput = codingSession();
    longOutput.maxTokens = 8192;
    QVERIFY(estimateComplexity(longOutput) > c);
}

void TestComplexity::monotonicInEachInput_data()
{
    QTest::addColumn<Setter>("set");
    QTest::newRow("promptChars") << Setter(
        [](RequestFeatures &f, qint64 v) { f.promptChars = v * 97; });
    QTest::newRow("messageCount") << Setter(
        [](RequestFeatures &f, qint64 v) { f.messageCount = int(v); });
    QTest::newRow("toolCount") << Setter(
        [](RequestFeatures &f, qint64 v) { f.toolCount = int(v); });
    QTest::newRow("codeBlockCount")
        << Setter([](RequestFeatures &f, qint64 v) { f.codeBlockCount = int(v); });
    QTest::newRow("mathMarkerCount")
        << Setter([](RequestFeatures &f, qint64 v) { f.mathMarkerCount = int(v); });
    QTest::newRow("maxTokens") << Setter(
        [](RequestFeatures &f, qint64 v) { f.maxTokens = int(v * 113); });
}

void TestComplexity::monotonicInEachInput()
{
    QFETCH(Setter, set);
    // From a trivial base and from a busy one, so no signal is masked by the others.
    for (const RequestFeatures &base : {hi(), codingSession()}) {
        double previous = -1;
        double first = 0;
        double last = 0;
        for (qint64 v = 0; v <= 400; ++v) {
            RequestFeatures f = base;
            set(f, v);
            const double c = estimateComplexity(f);
            QVERIFY2(c >= previous, qPrintable(QStringLiteral("dropped at %1").arg(v)));
            QVERIFY(c >= 0 && c <= 1);
            if (v == 0)
                first = c;
            last = c;
            previous = c;
        }
        // Every signal counts for something when it grows.
        QVERIFY2(last > first, "the input has no effect");
    }
}

void TestComplexity::boundedForExtremeInputs_data()
{
    QTest::addColumn<qint64>("value");
    QTest::newRow("zero") << qint64(0);
    QTest::newRow("negative") << qint64(-5);
    QTest::newRow("huge") << qint64(std::numeric_limits<int>::max());
}

void TestComplexity::boundedForExtremeInputs()
{
    QFETCH(qint64, value);
    RequestFeatures f;
    f.promptChars = value;
    f.messageCount = int(value);
    f.toolCount = int(value);
    f.codeBlockCount = int(value);
    f.mathMarkerCount = int(value);
    f.maxTokens = int(value);
    const double c = estimateComplexity(f);
    QVERIFY(c >= 0 && c <= 1);
    if (value > 0)
        QCOMPARE(c, 1.0);
    else
        QCOMPARE(c, 0.0);
}

void TestComplexity::defaultMaxTokensAddsNothing()
{
    // The pipeline fills max_tokens 1024 for Anthropic requests without one; that default must
    // not make a request look harder than the same request with no max_tokens.
    RequestFeatures none = codingSession();
    RequestFeatures withDefault = codingSession();
    withDefault.maxTokens = 1024;
    QCOMPARE(estimateComplexity(withDefault), estimateComplexity(none));
}

void TestComplexity::noSingleSignalCrossesTheReferenceThreshold()
{
    RequestFeatures f;
    f.promptChars = 10'000'000;
    QVERIFY(estimateComplexity(f) <= 0.7);
    f = {};
    f.toolCount = 100;
    QVERIFY(estimateComplexity(f) <= 0.7);
    f = {};
    f.codeBlockCount = 100;
    QVERIFY(estimateComplexity(f) <= 0.7);
}

void TestComplexity::callerComplexityWins()
{
    RequestFeatures simple = hi();
    simple.complexity = 0.9;
    QCOMPARE(effectiveComplexity(simple), 0.9);

    RequestFeatures complex = codingSession();
    complex.complexity = 0.1;
    QCOMPARE(effectiveComplexity(complex), 0.1);

    complex.complexity.reset();
    QCOMPARE(effectiveComplexity(complex), estimateComplexity(complex));
}

void TestComplexity::callerComplexityIsClamped()
{
    RequestFeatures f = hi();
    f.complexity = 1.5;
    QCOMPARE(effectiveComplexity(f), 1.0);
    f.complexity = -0.5;
    QCOMPARE(effectiveComplexity(f), 0.0);
}

void TestComplexity::nanCallerComplexityIsIgnored()
{
    RequestFeatures f = codingSession();
    f.complexity = std::nan("");
    QCOMPARE(effectiveComplexity(f), estimateComplexity(f));
}

QTEST_GUILESS_MAIN(TestComplexity)
#include "tst_complexity.moc"
