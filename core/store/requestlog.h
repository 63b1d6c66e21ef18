#pragma once

#include "common/expected.h"
#include "metering/requestfilter.h"
#include "metering/requestrecord.h"
#include "store/capturedexchange.h"
#include "store/requestlogreader.h"

#include <QList>
#include <QString>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <variant>

namespace tollgate::store {

class SqliteWriter;

/// The SQLite request log: one writer thread, WAL, batched transactions, a bounded queue that
/// never blocks the request path, and retention by age and row count.
class RequestLog {
public:
    struct Options {
        QString path; ///< database file, created with its folder if missing
        /// records waiting to be written; beyond it they are dropped and counted
        int queueCapacity = 50000;
        int maxBatch = 1000;        ///< records per transaction
        int flushIntervalMs = 250;  ///< longest time a record waits before it is written
        int retentionDays = 30;     ///< rows older than this are deleted (<= 0: keep all ages)
        qint64 maxRows = 2'000'000; ///< oldest rows beyond this count are deleted (<= 0: no cap)
        int retentionIntervalMs = 60000; ///< how often retention runs
        /// Captured exchanges waiting to be written (each holds bodies); beyond it they are
        /// dropped and counted.
        int exchangeQueueCapacity = 2000;
        /// The captured bodies kept at most, in bytes; the oldest exchanges go first. Exchanges
        /// also leave with their requests (retention by age and row count).
        qint64 maxExchangeBytes = 256ll * 1024 * 1024;
    };

    static Expected<std::unique_ptr<RequestLog>> open(const Options &options);
    ~RequestLog(); ///< writes what is queued, then stops the writer

    /// Queues a record; returns false (and counts it as dropped) when the queue is full.
    bool append(metering::RequestRecord record);
    /// Queues a captured exchange, written with the records; returns false (and counts it as
    /// dropped) when its queue is full.
    bool appendExchange(CapturedExchange exchange);
    /// RequestLogReader::exchange().
    Expected<std::optional<CapturedExchange>> exchange(const QString &id) const;

    /// Blocks until every record queued before the call is committed.
    void flush();
    /// Runs retention now (also runs on its own timer); blocks until done.
    void enforceRetention();

    /// Reads the file this log writes, on connections of its own; the reader stays valid after
    /// the log is closed, so a view may keep it on another thread.
    RequestLogReader reader() const;

    using PageCursor = RequestLogReader::PageCursor;
    using Page = RequestLogReader::Page;
    /// RequestLogReader::readFinished() on this log's file.
    Expected<qint64>
    readFinished(qint64 fromMs, qint64 toMs,
                 const std::function<void(const metering::RequestRecord &)> &visit) const;
    /// RequestLogReader::page() over the whole log.
    Expected<Page> page(const metering::RequestFilter &filter, int limit,
                        const std::optional<PageCursor> &after = std::nullopt) const;
    /// RequestLogReader::count() over the whole log.
    Expected<qint64> count(const metering::RequestFilter &filter) const;

    using Spend = RequestLogReader::Spend;
    /// RequestLogReader::spendBetween() over the whole log.
    Expected<Spend> spendBetween(qint64 fromMs, qint64 toMs) const;

    /// Records lost: queue full, or (rarely) a failed write such as a full disk.
    quint64 dropped() const { return m_dropped.load(); }
    quint64 written() const { return m_written.load(); }
    /// Write transactions committed; with written() it shows how well appends are batched.
    quint64 transactions() const { return m_transactions.load(); }
    QString path() const { return m_options.path; }

private:
    explicit RequestLog(const Options &options);
    bool enqueue(std::variant<metering::RequestRecord, CapturedExchange> entry);
    struct Queue; // the records waiting for the writer
    Options m_options;
    std::unique_ptr<Queue> m_queue;
    std::unique_ptr<SqliteWriter> m_writer;
    std::atomic<quint64> m_dropped{0};
    std::atomic<quint64> m_written{0};
    std::atomic<quint64> m_transactions{0};
};

} // namespace tollgate::store
