#include "metering/requestfilter.h"

#include <QElapsedTimer>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QTest>

using tollgate::metering::RequestFilter;
using tollgate::metering::RequestRecord;

namespace {

// A failed, streamed, partly cached request with every field set.
RequestRecord sample()
{
    RequestRecord r;
    r.id = QStringLiteral("req-42abc");
    r.startedAtMs = 1'760'000'000'000;
    r.flavor = QStringLiteral("anthropic");
    r.endpoint = QStringLiteral("/v1/messages");
    r.user = QStringLiteral("Alice");
    r.requestedModel = QStringLiteral("claude-sonnet-4");
    r.usedModel = QStringLiteral("claude-sonnet-4-20250514");
    r.status = 529;
    r.stream = true;
    r.latencyMs = 2500;
    r.ttftMs = 300;
    r.upstreamMs = 2400;
    r.overheadMs = 100;
    r.queueMs = 2;
    r.connectMs = 0;
    r.usage.inputTokens = 1200;
    r.usage.outputTokens = 300;
    r.usage.cacheReadTokens = 500;
    r.costUsd = 0.0625;
    r.route = QStringLiteral("cheap-first");
    r.plan = QStringLiteral("team pro");
    r.cacheStatus = QStringLiteral("miss");
    r.error = QStringLiteral("upstream overloaded");
    r.retries = 2;
    return r;
}

RequestFilter parsed(const QString &text)
{
    const auto filter = RequestFilter::parse(text);
    if (!filter)
        qWarning("%s: %s", qPrintable(text), qPrintable(filter.error().message));
    return filter ? *filter : RequestFilter();
}

// The 1-based position an error message names, or -1.
int positionIn(const QString &message)
{
    static const QRegularExpression at(QStringLiteral(" at (\\d+)(;|$)"));
    const QRegularExpressionMatch match = at.match(message);
    return match.hasMatch() ? match.captured(1).toInt() : -1;
}

} // namespace

class TestRequestFilter : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void emptyMatchesEverything();
    void matchesSample_data();
    void matchesSample();
    void missingFirstByteComparesFalse();
    void errorYesIsFailed();
    void caseFoldsAsciiOnly();
    void quotesAndEscapes();
    void sqlBindsValuesInOrder();
    void copiesShareOneCompiledFilter();
    void documentedExamplesParse();
    void errors_data();
    void errors();
    void fuzzNeverCrashesOrHangs();
};

void TestRequestFilter::emptyMatchesEverything()
{
    for (const QString &text : {QString(), QStringLiteral("   \t ")}) {
        const auto filter = RequestFilter::parse(text);
        QVERIFY(filter);
        QVERIFY(filter->matchesAll());
        QVERIFY(filter->matches(sample()));
        QVERIFY(filter->matches(RequestRecord{}));
        QCOMPARE(filter->toSql().where, QStringLiteral("1"));
        QVERIFY(filter->toSql().values.isEmpty());
        QCOMPARE(filter->text(), text);
    }
    QVERIFY(RequestFilter().matches(sample()));
}

void TestRequestFilter::matchesSample_data()
{
    QTest::addColumn<QString>("filter");
    QTest::addColumn<bool>("expected");
    const auto row = [](const char *filter, bool expected) {
        QTest::newRow(filter) << QString::fromUtf8(filter) << expected;
    };
    // status: codes, classes, and orders against a class's whole range
    row("status=529", true);
    row("status=5xx", true);
    row("status=5XX", true);
    row("status=4xx", false);
    row("status!=5xx", false);
    row("status!=404", true);
    row("status>=500", true);
    row("status>529", false);
    row("status<600", true);
    row("status>4xx", true);
    row("status<=5xx", true);
    row("status<5xx", false);
    row("status>=5xx", true);
    // model is the used or the requested model; requested and used are each alone
    row("model=claude-sonnet-4", true);
    row("model=claude-sonnet-4-2025*", true);
    row("model=CLAUDE-*", true);
    row("model=claude", false);
    row("model=gpt*", false);
    row("model!=gpt*", true);
    row("model!=claude-sonnet-4", false);
    row("model=claude-sonnet-?", true);
    row("model=claude-sonnet-??", false);
    row("model=*", true);
    row("requested=claude-sonnet-4", true);
    row("requested=*2025*", false);
    row("used=*2025*", true);
    // the other text fields, and their aliases
    row("provider=anthropic", true);
    row("flavor=ANTHROPIC", true);
    row("provider=openai", false);
    row("user=alice", true);
    row("USER=alice", true);
    row("user=bob", false);
    row("user!=bob", true);
    row("user=Al*", true);
    row("user=\"\"", false);
    row("plan=\"team pro\"", true);
    row("plan=team", false);
    row("plan=\"team *\"", true);
    row("route=cheap-first", true);
    row("endpoint=/v1/messages", true);
    row("path=/v1/*", true);
    row("endpoint=/v1", false);
    row("id=req-42*", true);
    row("id=42", false);
    // money, with or without a dollar sign
    row("cost>0.05", true);
    row("cost>$0.05", true);
    row("cost<0.05", false);
    row("cost=0.0625", true);
    row("cost>=$1", false);
    row("cost>-1", true);
    // durations: ms, s, m; a bare number is milliseconds
    row("latency>2s", true);
    row("latency>2500", false);
    row("latency>=2500ms", true);
    row("latency<1m", true);
    row("latency>2.4s", true);
    row("latency=2.5s", true);
    row("latency>.5s", true);
    row("ttft<1s", true);
    row("ttft>300", false);
    row("ttft=300ms", true);
    row("upstream>2s", true);
    row("overhead<=100", true);
    row("overhead>0.1s", false);
    row("queue<5ms", true);
    row("queue>2", false);
    row("connect=0", true);
    row("connect>0", false);
    // token counts: all four kinds, input, output; k and m multiply
    row("tokens=2000", true);
    row("tokens>1.9k", true);
    row("tokens<1m", true);
    row("in=1200", true);
    row("in>1k", true);
    row("out>=300", true);
    row("out>300", false);
    row("retries=2", true);
    row("retries>2", false);
    // cache and stream take a fixed set of values
    row("cache=miss", true);
    row("cache=MISS", true);
    row("cache=hit", false);
    row("cache!=hit", true);
    row("stream=yes", true);
    row("stream=true", true);
    row("stream=1", true);
    row("stream=no", false);
    row("stream!=no", true);
    // error: yes/no is failed(); other words are looked for in the error text
    row("error=yes", true);
    row("error=no", false);
    row("error!=yes", false);
    row("error!=no", true);
    row("error=overloaded", true);
    row("error=OVERLOAD", true);
    row("error=\"upstream overloaded\"", true);
    row("error=*load*", true);
    row("error=timeout", false);
    row("error!=timeout", true);
    row("error=\"yes\"", false);
    // free text: id, models, user, endpoint, route, plan, error and status code
    row("alice", true);
    row("sonnet", true);
    row("529", true);
    row("overloaded", true);
    row("cheap", true);
    row("v1/mess", true);
    row("req-42", true);
    row("\"team pro\"", true);
    row("\"team  pro\"", false);
    row("zebra", false);
    row("anthropic", false); // the provider is not free text
    row("son*4-2", true);
    // and binds tighter than or; parentheses group; not(), not and ! negate
    row("user=alice status=529", true);
    row("user=alice status=200", false);
    row("user=alice and status=529", true);
    row("user=alice AND status=200", false);
    row("status=200 or user=alice", true);
    row("status=200 OR user=bob", false);
    row("user=bob user=alice or status=529", true);
    row("user=bob (user=alice or status=529)", false);
    row("user=alice or status=200 user=bob", true);
    row("(user=alice or status=200) user=bob", false);
    row("not(user=bob)", true);
    row("not(user=alice)", false);
    row("not (user=alice)", false);
    row("not user=bob", true);
    row("NOT user=alice", false);
    row("!user=alice", false);
    row("!(user=bob or status=200)", true);
    row("not not user=alice", true);
    row("!!user=alice", true);
    row("not(user=bob) cost>0.05", true);
    row("not(user=alice or status=200) or cache=miss", true);
    row("not(user=alice or status=200) or cache=hit", false);
    row("((user=alice))", true);
    row("  user=alice\tstatus=5xx  ", true);
    row("status>=500 model=claude-* not(user=bob) cost>0.05 latency>2s cache=miss", true);
}

void TestRequestFilter::matchesSample()
{
    QFETCH(QString, filter);
    QFETCH(bool, expected);
    const auto parsedFilter = RequestFilter::parse(filter);
    QVERIFY2(parsedFilter, parsedFilter ? "" : qPrintable(parsedFilter.error().message));
    QCOMPARE(parsedFilter->matches(sample()), expected);
    QCOMPARE(parsedFilter->text(), filter);
}

void TestRequestFilter::missingFirstByteComparesFalse()
{
    RequestRecord r = sample();
    r.ttftMs = -1;
    QVERIFY(!parsed(QStringLiteral("ttft<1s")).matches(r));
    QVERIFY(!parsed(QStringLiteral("ttft>=0")).matches(r));
    QVERIFY(!parsed(QStringLiteral("ttft=-1")).matches(r));
    // != is not(=), for every field
    QVERIFY(parsed(QStringLiteral("ttft!=300")).matches(r));
    QVERIFY(parsed(QStringLiteral("not(ttft<1s)")).matches(r));
    QVERIFY(parsed(QStringLiteral("ttft<1s")).matches(sample()));
    // No upstream call (a cache hit, a refusal): no queue or connect time to compare.
    r.queueMs = -1;
    r.connectMs = -1;
    QVERIFY(!parsed(QStringLiteral("queue>=0")).matches(r));
    QVERIFY(!parsed(QStringLiteral("connect=0")).matches(r));
    QVERIFY(parsed(QStringLiteral("not(connect>0)")).matches(r));
}

void TestRequestFilter::errorYesIsFailed()
{
    RequestRecord ok = sample();
    ok.status = 200;
    ok.error.clear();
    RequestRecord clientLeft = ok; // status 0 with no text: not an error, as failed() says
    clientLeft.status = 0;
    RequestRecord cutShort = ok;
    cutShort.error = QStringLiteral("stream cut short");
    RequestRecord notFound = ok;
    notFound.status = 404;
    const RequestFilter failed = parsed(QStringLiteral("error=yes"));
    const RequestFilter succeeded = parsed(QStringLiteral("error=no"));
    for (const RequestRecord &r : {ok, clientLeft, cutShort, notFound}) {
        QCOMPARE(failed.matches(r), r.failed());
        QCOMPARE(succeeded.matches(r), !r.failed());
        QCOMPARE(parsed(QStringLiteral("error=true")).matches(r), r.failed());
        QCOMPARE(parsed(QStringLiteral("error!=false")).matches(r), r.failed());
    }
}

void TestRequestFilter::caseFoldsAsciiOnly()
{
    RequestRecord r = sample();
    r.user = QStringLiteral("Zoë Émile");
    QVERIFY(parsed(QStringLiteral("user=zoë*")).matches(r));
    QVERIFY(parsed(QStringLiteral("user=\"ZOë émile\"")).matches(sample()) == false);
    QVERIFY(parsed(QStringLiteral("user=\"ZOë Émile\"")).matches(r));
    // As SQLite's LIKE does: letters beyond ASCII match only in the case they were typed.
    QVERIFY(!parsed(QStringLiteral("user=ZOË*")).matches(r));
    // ? is one character, even beyond the 16-bit plane.
    r.user = QStringLiteral("a\U0001F600b");
    QVERIFY(parsed(QStringLiteral("user=a?b")).matches(r));
    QVERIFY(!parsed(QStringLiteral("user=a??b")).matches(r));
}

void TestRequestFilter::quotesAndEscapes()
{
    RequestRecord r = sample();
    r.error = QStringLiteral("bad \"json\" at \\n");
    QVERIFY(parsed(QStringLiteral("error=\"\\\"json\\\"\"")).matches(r));
    QVERIFY(parsed(QStringLiteral("error=\"at \\\\n\"")).matches(r));
    QVERIFY(parsed(QStringLiteral("\"\\\"json\"")).matches(r));
    // Characters special to LIKE are plain text in a filter.
    r.id = QStringLiteral("100%_done");
    QVERIFY(parsed(QStringLiteral("id=100%_done")).matches(r));
    QVERIFY(!parsed(QStringLiteral("id=100%_done")).matches(sample()));
    QCOMPARE(parsed(QStringLiteral("id=100%_do*")).toSql().values,
             QVariantList{QStringLiteral("100\\%\\_do%")});
    // A quote inside an unquoted value is part of it.
    r.user = QStringLiteral("o\"brien");
    QVERIFY(parsed(QStringLiteral("user=o\"brien")).matches(r));
}

void TestRequestFilter::sqlBindsValuesInOrder()
{
    const RequestFilter::Sql sql =
        parsed(QStringLiteral("model=gpt* (latency>2s or not(ttft<100)) error=yes zoe")).toSql();
    QCOMPARE(sql.values.size(), 4);
    QCOMPARE(sql.values.at(0), QVariant(QStringLiteral("gpt%")));
    QCOMPARE(sql.values.at(1), QVariant(2000.0));
    QCOMPARE(sql.values.at(2), QVariant(100.0));
    QCOMPARE(sql.values.at(3), QVariant(QStringLiteral("%zoe%")));
    for (int i = 1; i <= 4; ++i)
        QVERIFY2(sql.where.contains(QStringLiteral("?%1").arg(i)), qPrintable(sql.where));
    QVERIFY(!sql.where.contains(QStringLiteral("?5")));
    QVERIFY(sql.where.contains(QStringLiteral("used_model LIKE ?1")));
    QVERIFY(sql.where.contains(QStringLiteral("requested_model LIKE ?1")));
    QVERIFY(sql.where.contains(QStringLiteral("ttft_ms IS NOT NULL")));
}

void TestRequestFilter::copiesShareOneCompiledFilter()
{
    RequestFilter copy;
    {
        const RequestFilter original = parsed(QStringLiteral("user=alice"));
        copy = original;
    }
    QVERIFY(copy.matches(sample()));
    QVERIFY(!copy.matchesAll());
}

// The examples in docs/filter.md.
void TestRequestFilter::documentedExamplesParse()
{
    for (const char *example :
         {"status>=500 model=claude-* not(user=bob) cost>0.05 latency>2s cache=miss", "status=5xx",
          "error=yes", "model=gpt-4o* latency>5s", "user=bob or user=carol",
          "not(cache=hit) tokens>100k", "cost>$1 or (retries>0 error=yes)", "stream=yes ttft>2s",
          "provider=openai !user=\"\"", "\"stream cut short\"", "ttft<=250", "latency<1.5m",
          "user=al?ce", "son*4", "\"rate limit\"", "error=\"yes\"", "a b or c"}) {
        const auto filter = RequestFilter::parse(QString::fromUtf8(example));
        QVERIFY2(filter, filter ? example : qPrintable(filter.error().message));
    }
}

void TestRequestFilter::errors_data()
{
    QTest::addColumn<QString>("filter");
    QTest::addColumn<QString>("message");
    const auto row = [](const QString &filter, const QString &message) {
        QTest::newRow(qPrintable(filter.left(40))) << filter << message;
    };
    row(QStringLiteral("mdl=x"),
        QStringLiteral(
            "unknown field \"mdl\" at 1; fields: status, model, requested, used, "
            "provider, user, plan, route, endpoint, id, cost, latency, ttft, "
            "upstream, overhead, queue, connect, tokens, in, out, retries, cache, stream, error"));
    row(QStringLiteral("latency>2x"),
        QStringLiteral("\"2x\" is not a duration at 9; e.g. 250ms, 2s, 1m"));
    row(QStringLiteral("status>=500 latency>2x"),
        QStringLiteral("\"2x\" is not a duration at 21; e.g. 250ms, 2s, 1m"));
    row(QStringLiteral("ttft<s"),
        QStringLiteral("\"s\" is not a duration at 6; e.g. 250ms, 2s, 1m"));
    row(QStringLiteral("latency>inf"),
        QStringLiteral("\"inf\" is not a duration at 9; e.g. 250ms, 2s, 1m"));
    row(QStringLiteral("status=abc"),
        QStringLiteral("\"abc\" is not a status at 8; e.g. 404 or 5xx"));
    row(QStringLiteral("status=6xx"),
        QStringLiteral("\"6xx\" is not a status at 8; e.g. 404 or 5xx"));
    row(QStringLiteral("status=1000"),
        QStringLiteral("\"1000\" is not a status at 8; e.g. 404 or 5xx"));
    row(QStringLiteral("status=50.5"),
        QStringLiteral("\"50.5\" is not a status at 8; e.g. 404 or 5xx"));
    row(QStringLiteral("cost>abc"),
        QStringLiteral("\"abc\" is not a cost in USD at 6; e.g. 0.05 or $1.50"));
    row(QStringLiteral("cost>1e5"),
        QStringLiteral("\"1e5\" is not a cost in USD at 6; e.g. 0.05 or $1.50"));
    row(QStringLiteral("cost>$"),
        QStringLiteral("\"$\" is not a cost in USD at 6; e.g. 0.05 or $1.50"));
    row(QStringLiteral("cost>1.2.3"),
        QStringLiteral("\"1.2.3\" is not a cost in USD at 6; e.g. 0.05 or $1.50"));
    row(QStringLiteral("tokens>lots"),
        QStringLiteral("\"lots\" is not a number at 8; e.g. 500, 10k, 1m"));
    row(QStringLiteral("cache=hti"),
        QStringLiteral("\"hti\" is not a cache status at 7; use hit, miss or bypass"));
    row(QStringLiteral("stream=maybe"), QStringLiteral("\"maybe\" is not yes or no at 8"));
    row(QStringLiteral("stream=%1x"), QStringLiteral("\"%1x\" is not yes or no at 8"));
    row(QStringLiteral("model>x"),
        QStringLiteral("model cannot be compared with > at 6; use = or !="));
    row(QStringLiteral("cache<=hit"),
        QStringLiteral("cache cannot be compared with <= at 6; use = or !="));
    row(QStringLiteral("user=>bob"),
        QStringLiteral("unknown operator \"=>\" at 5; use =, !=, >, >=, < or <="));
    row(QStringLiteral("user==bob"),
        QStringLiteral("unknown operator \"==\" at 5; use =, !=, >, >=, < or <="));
    row(QStringLiteral("=bob"), QStringLiteral("missing field before \"=\" at 1"));
    row(QStringLiteral("x !=bob"), QStringLiteral("missing field before \"!=\" at 3"));
    row(QStringLiteral("user="), QStringLiteral("missing value after \"user=\" at 6"));
    row(QStringLiteral("user= bob"), QStringLiteral("missing value after \"user=\" at 6"));
    row(QStringLiteral("(user=)"), QStringLiteral("missing value after \"user=\" at 7"));
    row(QStringLiteral("user=\"bob"), QStringLiteral("unterminated quote at 6"));
    row(QStringLiteral("x \"abc"), QStringLiteral("unterminated quote at 3"));
    row(QStringLiteral("(user=bob"), QStringLiteral("( without its ) at 1"));
    row(QStringLiteral("user=bob)"), QStringLiteral("unmatched ) at 9"));
    row(QStringLiteral(")"), QStringLiteral("unmatched ) at 1"));
    row(QStringLiteral("()"), QStringLiteral("empty ( ) at 1"));
    row(QStringLiteral("not()"), QStringLiteral("empty ( ) at 4"));
    row(QStringLiteral("or user=bob"), QStringLiteral("\"or\" needs a term before it at 1"));
    row(QStringLiteral("user=bob or"), QStringLiteral("\"or\" needs a term after it at 10"));
    row(QStringLiteral("(a or)"), QStringLiteral("\"or\" needs a term after it at 4"));
    row(QStringLiteral("a or or b"), QStringLiteral("\"or\" needs a term before it at 6"));
    row(QStringLiteral("and x"), QStringLiteral("\"and\" needs a term before it at 1"));
    row(QStringLiteral("x and"), QStringLiteral("\"and\" needs a term after it at 3"));
    row(QStringLiteral("x and or y"), QStringLiteral("\"and\" needs a term after it at 3"));
    row(QStringLiteral("not"), QStringLiteral("\"not\" needs a term after it at 1"));
    row(QStringLiteral("x !"), QStringLiteral("\"!\" needs a term after it at 3"));
    row(QStringLiteral("(not)"), QStringLiteral("\"not\" needs a term after it at 2"));
    row(QString(40, u'(') + u'x' + QString(40, u')'),
        QStringLiteral("nested deeper than 32 levels at 33"));
    row(QStringLiteral("not ").repeated(40) + u'x',
        QStringLiteral("nested deeper than 32 levels at 129"));
    row(QStringLiteral("a ").repeated(201), QStringLiteral("more than 200 terms at 401"));
    row(QString(10001, u'a'), QStringLiteral("filter longer than 10000 characters at 10001"));
}

void TestRequestFilter::errors()
{
    QFETCH(QString, filter);
    QFETCH(QString, message);
    const auto parsedFilter = RequestFilter::parse(filter);
    QVERIFY(!parsedFilter);
    QCOMPARE(parsedFilter.error().message, message);
}

// Random bytes and random grammar fragments: parse() always returns, with a filter that can be
// evaluated and turned into SQL, or an error that points inside the text.
void TestRequestFilter::fuzzNeverCrashesOrHangs()
{
    static const char *const pieces[] = {
        "(",      ")",     " ",      "  ",    "not",  "not(", "!",       "or",   "and",
        "\"",     "\\",    "*",      "?",     "=",    "!=",   ">",       ">=",   "<",
        "<=",     "=>",    "status", "model", "user", "cost", "latency", "ttft", "cache",
        "stream", "error", "tokens", "5xx",   "2s",   "$0.5", "1k",      "hit",  "yes",
        "bob",    "gpt-*", "%",      "_",     "é",    "\t",   "-",       "1.5",  "ms"};
    QRandomGenerator random(20240611);
    QElapsedTimer timer;
    timer.start();
    int accepted = 0;
    for (int i = 0; i < 4000; ++i) {
        QString text;
        const int length = int(random.bounded(40));
        if (i % 2 == 0) {
            QByteArray bytes(length, '\0');
            for (char &b : bytes)
                b = char(random.bounded(256));
            text = i % 4 == 0 ? QString::fromLatin1(bytes) : QString::fromUtf8(bytes);
        } else {
            for (int k = 0; k < length; ++k)
                text += QString::fromUtf8(pieces[random.bounded(int(std::size(pieces)))]);
        }
        const auto filter = RequestFilter::parse(text);
        if (filter) {
            ++accepted;
            filter->matches(sample());
            filter->matches(RequestRecord{});
            const RequestFilter::Sql sql = filter->toSql();
            QVERIFY2(!sql.where.isEmpty(), qPrintable(text));
        } else {
            const int at = positionIn(filter.error().message);
            QVERIFY2(at >= 1 && at <= text.size() + 1,
                     qPrintable(text + QStringLiteral(" -> ") + filter.error().message));
        }
    }
    QVERIFY(accepted > 100); // the fragments reach past the first error
    // A generous bound: a few thousand parses take milliseconds; a hang would take forever.
    QVERIFY2(timer.elapsed() < 30000, qPrintable(QString::number(timer.elapsed())));

    // Worst cases for backtracking: many stars against a long text that nearly matches.
    RequestRecord r = sample();
    r.error = QString(5000, u'a');
    const RequestFilter stars =
        parsed(QStringLiteral("error=\"%1b\"").arg(QStringLiteral("*a").repeated(2000)));
    QElapsedTimer glob;
    glob.start();
    QVERIFY(!stars.matches(r));
    QVERIFY2(glob.elapsed() < 10000, qPrintable(QString::number(glob.elapsed())));
}

QTEST_GUILESS_MAIN(TestRequestFilter)
#include "tst_requestfilter.moc"
