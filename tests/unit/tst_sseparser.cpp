#include "http/sseparser.h"

#include <QRandomGenerator>
#include <QTest>

using tollgate::http::SseEvent;
using tollgate::http::SseParser;

namespace {

// One comparable line per event, so QCOMPARE on lists shows which event differs and how.
QByteArray describe(const SseEvent &e)
{
    return "event=" + e.event.toPercentEncoding() + " data=" + e.data.toPercentEncoding() +
           " raw=" + e.raw.toPercentEncoding();
}

QList<QByteArray> describe(const QList<SseEvent> &events)
{
    QList<QByteArray> out;
    for (const SseEvent &e : events)
        out.append(describe(e));
    return out;
}

QByteArray ev(const QByteArray &event, const QByteArray &data, const QByteArray &raw)
{
    return describe(SseEvent{event, data, raw});
}

QList<SseEvent> feedInChunks(SseParser &parser, const QByteArray &input,
                             const QList<qsizetype> &sizes)
{
    QList<SseEvent> events;
    qsizetype at = 0;
    for (qsizetype i = 0; at < input.size(); ++i) {
        const qsizetype size = qMin(sizes.at(i % sizes.size()), input.size() - at);
        events.append(parser.feed(QByteArrayView(input).sliced(at, size)));
        at += size;
    }
    return events;
}

const QByteArray kAnthropicStream =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude\"}}\n"
    "\n"
    "event: ping\n"
    "data: {\"type\": \"ping\"}\n"
    "\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"Hi\"}}\n"
    "\n"
    "event: message_stop\n"
    "data: {\"type\":\"message_stop\"}\n"
    "\n";

} // namespace

class TestSseParser : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void chunkingNeverChangesEvents_data();
    void chunkingNeverChangesEvents();
    void crThenLfInNextChunkIsOneLineEnd();
    void blankLineCrWaitsForPossibleLf();
    void crOnlyStreamDispatchesWithoutWaiting();
    void partialEventIsKeptUntilItEnds();
    void emptyChunkDoesNothing();
    void rawBytesConcatenateToTheInput();
    void longLineInSmallChunks();
};

void TestSseParser::chunkingNeverChangesEvents_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QList<QByteArray>>("expected");

    QTest::newRow("lf") << QByteArray("event: a\ndata: x\n\n")
                        << QList<QByteArray>{ev("a", "x", "event: a\ndata: x\n\n")};
    QTest::newRow("crlf") << QByteArray("event: a\r\ndata: x\r\n\r\n")
                          << QList<QByteArray>{ev("a", "x", "event: a\r\ndata: x\r\n\r\n")};
    QTest::newRow("cr") << QByteArray("event: a\rdata: x\r\r")
                        << QList<QByteArray>{ev("a", "x", "event: a\rdata: x\r\r")};
    QTest::newRow("mixed endings")
        << QByteArray("data: a\r\ndata: b\ndata: c\r\n\r\n")
        << QList<QByteArray>{ev("", "a\nb\nc", "data: a\r\ndata: b\ndata: c\r\n\r\n")};
    QTest::newRow("multi-line data")
        << QByteArray("data: line1\ndata: line2\ndata:\ndata: line4\n\n")
        << QList<QByteArray>{
               ev("", "line1\nline2\n\nline4", "data: line1\ndata: line2\ndata:\ndata: line4\n\n")};
    QTest::newRow("no space, two spaces")
        << QByteArray("data:x\n\ndata:  y\n\n")
        << QList<QByteArray>{ev("", "x", "data:x\n\n"), ev("", " y", "data:  y\n\n")};
    QTest::newRow("field without colon")
        << QByteArray("data\n\n") << QList<QByteArray>{ev("", "", "data\n\n")};
    QTest::newRow("comments are relayed, not parsed")
        << QByteArray(": keep-alive\n\n:x\ndata: y\n: z\n\n")
        << QList<QByteArray>{ev("", "", ": keep-alive\n\n"), ev("", "y", ":x\ndata: y\n: z\n\n")};
    QTest::newRow("id and retry ignored")
        << QByteArray("id: 7\nretry: 100\nevent: e\ndata: d\n\n")
        << QList<QByteArray>{ev("e", "d", "id: 7\nretry: 100\nevent: e\ndata: d\n\n")};
    QTest::newRow("last event field wins")
        << QByteArray("event: a\nevent: b\ndata: d\n\n")
        << QList<QByteArray>{ev("b", "d", "event: a\nevent: b\ndata: d\n\n")};
    QTest::newRow("colon in value")
        << QByteArray("data: {\"a\":\"b:c\"}\n\n")
        << QList<QByteArray>{ev("", "{\"a\":\"b:c\"}", "data: {\"a\":\"b:c\"}\n\n")};
    QTest::newRow("openai done") << QByteArray("data: {\"x\":1}\n\ndata: [DONE]\n\n")
                                 << QList<QByteArray>{ev("", "{\"x\":1}", "data: {\"x\":1}\n\n"),
                                                      ev("", "[DONE]", "data: [DONE]\n\n")};
    QTest::newRow("anthropic stream")
        << kAnthropicStream
        << QList<QByteArray>{
               ev("message_start",
                  "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude\"}"
                  "}",
                  "event: message_start\ndata: "
                  "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude\"}}"
                  "\n\n"),
               ev("ping", "{\"type\": \"ping\"}", "event: ping\ndata: {\"type\": \"ping\"}\n\n"),
               ev("content_block_delta",
                  "{\"type\":\"content_block_delta\",\"delta\":{\"text\":\"Hi\"}}",
                  "event: content_block_delta\ndata: "
                  "{\"type\":\"content_block_delta\",\"delta\":{\"text\":\"Hi\"}}\n\n"),
               ev("message_stop", "{\"type\":\"message_stop\"}",
                  "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")};
    QTest::newRow("crlf anthropic stream")
        << QByteArray(kAnthropicStream).replace("\n", "\r\n")
        << QList<QByteArray>{
               ev("message_start",
                  "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude\"}"
                  "}",
                  "event: message_start\r\ndata: "
                  "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude\"}}"
                  "\r\n\r\n"),
               ev("ping", "{\"type\": \"ping\"}",
                  "event: ping\r\ndata: {\"type\": \"ping\"}\r\n\r\n"),
               ev("content_block_delta",
                  "{\"type\":\"content_block_delta\",\"delta\":{\"text\":\"Hi\"}}",
                  "event: content_block_delta\r\ndata: "
                  "{\"type\":\"content_block_delta\",\"delta\":{\"text\":\"Hi\"}}\r\n\r\n"),
               ev("message_stop", "{\"type\":\"message_stop\"}",
                  "event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n")};
    QTest::newRow("trailing partial event")
        << QByteArray("data: a\n\ndata: b\n") << QList<QByteArray>{ev("", "a", "data: a\n\n")};
}

void TestSseParser::chunkingNeverChangesEvents()
{
    QFETCH(QByteArray, input);
    QFETCH(QList<QByteArray>, expected);

    {
        SseParser whole;
        QCOMPARE(describe(whole.feed(input)), expected);
    }
    {
        SseParser byteAtATime;
        QCOMPARE(describe(feedInChunks(byteAtATime, input, {1})), expected);
    }
    for (qsizetype split = 1; split < input.size(); ++split) {
        SseParser parser;
        QList<SseEvent> events = parser.feed(QByteArrayView(input).first(split));
        events.append(parser.feed(QByteArrayView(input).sliced(split)));
        QVERIFY2(describe(events) == expected,
                 qPrintable(QStringLiteral("split at %1").arg(split)));
    }
    QRandomGenerator random(42); // fixed seed: reproducible failures
    for (int round = 0; round < 50; ++round) {
        QList<qsizetype> sizes;
        for (int i = 0; i < 16; ++i)
            sizes.append(random.bounded(1, 9));
        SseParser parser;
        QCOMPARE(describe(feedInChunks(parser, input, sizes)), expected);
    }
}

void TestSseParser::crThenLfInNextChunkIsOneLineEnd()
{
    // Were the LF taken as a blank line, the event would end early and split in two.
    SseParser parser;
    QVERIFY(parser.feed("data: a\r").isEmpty());
    QVERIFY(parser.feed("\ndata: b\r").isEmpty());
    QVERIFY(parser.feed("\n").isEmpty());
    const QList<SseEvent> events = parser.feed("\r\n");
    QCOMPARE(events.size(), 1);
    QCOMPARE(events[0].data, QByteArray("a\nb"));
    QCOMPARE(events[0].raw, QByteArray("data: a\r\ndata: b\r\n\r\n"));
    QVERIFY(!parser.hasPartialEvent());
}

void TestSseParser::blankLineCrWaitsForPossibleLf()
{
    SseParser parser;
    QVERIFY(parser.feed("data: x\r\n\r").isEmpty());
    QVERIFY(parser.hasPartialEvent());
    const QList<SseEvent> events = parser.feed("\ndata: y\r\n\r\n");
    QCOMPARE(describe(events),
             (QList<QByteArray>{ev("", "x", "data: x\r\n\r\n"), ev("", "y", "data: y\r\n\r\n")}));
    QVERIFY(!parser.hasPartialEvent());
}

void TestSseParser::crOnlyStreamDispatchesWithoutWaiting()
{
    // Once the stream has shown a bare CR, the last event must come out without more bytes.
    SseParser parser;
    QCOMPARE(describe(parser.feed("data: x\rdata: y\r\r")),
             QList<QByteArray>{ev("", "x\ny", "data: x\rdata: y\r\r")});
    QCOMPARE(describe(parser.feed("data: z\r\r")), QList<QByteArray>{ev("", "z", "data: z\r\r")});
    QVERIFY(!parser.hasPartialEvent());
}

void TestSseParser::partialEventIsKeptUntilItEnds()
{
    SseParser parser;
    QVERIFY(!parser.hasPartialEvent());
    QVERIFY(parser.feed("event: message_delta\nda").isEmpty());
    QVERIFY(parser.hasPartialEvent());
    QVERIFY(parser.feed("ta: {}\n").isEmpty());
    QVERIFY(parser.hasPartialEvent());
    const QList<SseEvent> events = parser.feed("\nevent: message_stop\n");
    QCOMPARE(describe(events),
             QList<QByteArray>{ev("message_delta", "{}", "event: message_delta\ndata: {}\n\n")});
    QVERIFY(parser.hasPartialEvent());
    QCOMPARE(parser.feed("\n").size(), 1);
    QVERIFY(!parser.hasPartialEvent());
}

void TestSseParser::emptyChunkDoesNothing()
{
    SseParser parser;
    QVERIFY(parser.feed(QByteArrayView()).isEmpty());
    QVERIFY(parser.feed("data: a\r").isEmpty());
    QVERIFY(parser.feed("").isEmpty());
    QCOMPARE(parser.feed("\n\r\n").size(), 1);
}

void TestSseParser::rawBytesConcatenateToTheInput()
{
    // The gateway relays and records raw bytes; together they must be the stream, byte for byte.
    const QByteArray input = kAnthropicStream + ": comment\r\n\r\n\ndata: x\r\rdata: y\n\n";
    SseParser parser;
    QByteArray relayed;
    for (const SseEvent &e : feedInChunks(parser, input, {3, 1, 7, 2}))
        relayed += e.raw;
    QCOMPARE(relayed, input);
    QVERIFY(!parser.hasPartialEvent());
}

void TestSseParser::longLineInSmallChunks()
{
    const QByteArray payload(200000, 'x');
    const QByteArray input = "data: " + payload + "\n\n";
    SseParser parser;
    const QList<SseEvent> events = feedInChunks(parser, input, {1000});
    QCOMPARE(events.size(), 1);
    QCOMPARE(events[0].data, payload);
    QCOMPARE(events[0].raw, input);
}

QTEST_GUILESS_MAIN(TestSseParser)
#include "tst_sseparser.moc"
