#pragma once

#include "common/expected.h"
#include "metering/requestfilter.h"
#include "metering/requestrecord.h"
#include "store/capturedexchange.h"

#include <QHash>
#include <QList>
#include <QString>
#include <QStringList>

#include <functional>
#include <optional>

namespace tollgate::store {

/// Reads the SQLite request log: pages, counts and ranges, each on a read-only connection of its
/// own (WAL readers never hold up the writer). Copyable and bound only to the file, so a console
/// may read on its own threads whatever happens to the RequestLog that writes it.
class RequestLogReader {
public:
    /// A place in the log in reading order: a page continues with the rows just past it.
    /// Keyset, not offset, so every page costs the same however deep the console scrolls.
    struct PageCursor {
        qint64 startedAtMs = 0;
        qint64 rowId = 0; ///< breaks ties between requests started in the same millisecond
    };
    struct Page {
        QList<metering::RequestRecord> records; ///< in reading order (newest first by default)
        QList<qint64> rowIds;                   ///< each record's rowid, in the same order
        std::optional<PageCursor> next;         ///< where the next page starts; none after the last
    };
    /// Which rows a read sees, besides the filter.
    struct Scope {
        /// A snapshot: only rows written up to this rowid (rowids grow with every write, so rows
        /// written later never shift the rows of a snapshot); 0 for every row.
        qint64 upToRowId = 0;
        /// When completedToMs > completedFromMs: only requests that completed
        /// (RequestRecord::completedAtMs) in [from, to), and started at most a day before.
        qint64 completedFromMs = 0;
        qint64 completedToMs = 0;
    };

    explicit RequestLogReader(QString path);
    QString path() const { return m_path; }

    /// The rowid of the newest row written (0 when the log is empty): a snapshot's upToRowId.
    Expected<qint64> lastRowId() const;
    /// Up to `limit` requests matching `filter` within `scope`, newest first (oldest first when
    /// `oldestFirst`), starting just past `after` and then skipping `skip` matches. Following
    /// `next` visits every match once, in order. `skip` costs a walk over the skipped rows (an
    /// index walk without a filter): it is how a view jumps deep into the log without a cursor.
    Expected<Page> page(const metering::RequestFilter &filter, const Scope &scope, int limit,
                        const std::optional<PageCursor> &after = std::nullopt, qint64 skip = 0,
                        bool oldestFirst = false) const;
    /// How many requests match `filter` within `scope`: a scan of the log when either narrows it.
    Expected<qint64> count(const metering::RequestFilter &filter, const Scope &scope) const;
    Expected<qint64> count(const metering::RequestFilter &filter) const
    {
        return count(filter, {});
    }
    /// Where each block of `blockRows` matches starts, newest first: what lets a view read any
    /// block of the log with one keyset page rather than a walk over an offset.
    struct BlockIndex {
        qint64 count = 0;              ///< matches in all
        QList<PageCursor> blockStarts; ///< [k - 1]: the cursor block k continues from
    };
    /// One walk over the matches in order (an index-only walk without a filter): the count and
    /// every block's start.
    Expected<BlockIndex> blockIndex(const metering::RequestFilter &filter, const Scope &scope,
                                    int blockRows) const;
    /// The request ids of the rows written after rowid `afterRowId`, up to `upToRowId`: what a
    /// view that shows unwritten requests from memory must now take from the log instead.
    Expected<QStringList> idsWritten(qint64 afterRowId, qint64 upToRowId) const;
    /// Reads back the requests that finished (start + latency) in [fromMs, toMs), oldest first,
    /// handing each to `visit`; returns how many. Requests that ran longer than a day are not
    /// found (the start-time index bounds the scan).
    Expected<qint64>
    readFinished(qint64 fromMs, qint64 toMs,
                 const std::function<void(const metering::RequestRecord &)> &visit) const;

    /// The requests started in [fromMs, toMs): how many, what they cost and what the cache
    /// saved, summed by SQLite over the start-time index (a month of a busy log in one query).
    struct Spend {
        qint64 requests = 0;
        double costUsd = 0;
        double savedUsd = 0;
    };
    Expected<Spend> spendBetween(qint64 fromMs, qint64 toMs) const;
    /// The exchange captured for request `id`, if any (capture off, or gone with retention).
    Expected<std::optional<CapturedExchange>> exchange(const QString &id) const;
    /// The exchanges captured for `ids` in one read, by id (ids without one are absent).
    Expected<QHash<QString, CapturedExchange>> exchanges(const QStringList &ids) const;

private:
    QString m_path;
};

} // namespace tollgate::store
