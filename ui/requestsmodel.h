#pragma once

#include "metering/requestfilter.h"
#include "metering/requestrecord.h"
#include "store/requestexport.h"
#include "store/requestlogreader.h"

#include <QAbstractTableModel>
#include <QHash>
#include <QSet>
#include <QThreadPool>

#include <deque>
#include <map>
#include <optional>
#include <vector>

namespace tollgate::ui {

/// The request log, newest first: the SQLite log read a page at a time on demand, under the
/// requests that finished since and are not written yet (the live tail, from the feed). Display
/// text under DisplayRole, the raw value under RawRole for copy and the detail pane.
///
/// A windowed model rather than canFetchMore()/fetchMore(): fetchMore only grows the model at
/// its end, so reaching the oldest of 1,000,000 rows would load all of them, and the scroll bar
/// would not tell how long the log is. Here rowCount() is the count of matching rows (counted off
/// the GUI thread), rows are read in blocks as the view asks for them, jumps deep into the log
/// read with an offset from the nearer end, and a bounded cache keeps the blocks last shown.
///
/// The SQLite part is a snapshot: the rows written up to a rowid when the filter was set. Rows
/// written later never shift its row numbers; until the next snapshot they show from the tail,
/// which drops every request the snapshot already holds (by id), so none shows twice. Once the
/// tail is long, a fold takes a new snapshot holding the written ones: the rows keep their
/// places (and the view its scroll position and selection) when the count stays the same.
class RequestsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        Time,
        User,
        Model,
        Status,
        LatencyMs,
        TtftMs,
        InputTokens,
        OutputTokens,
        CostUsd,
        Cache,
        Route,
        Plan,
        Retries,
        Endpoint,
        Id,
        ColumnCount
    };
    static constexpr int RawRole = Qt::UserRole + 1;
    /// Under StatusClassRole of the Status column: what the status pill's colour says.
    enum class StatusClass { None, Success, CacheHit, ClientError, Failure, Running };
    static constexpr int StatusClassRole = Qt::UserRole + 2;
    static StatusClass statusClass(const metering::RequestRecord &record);
    /// Rows read from SQLite at a time, and blocks kept.
    static constexpr int kBlockRows = 200;
    static constexpr int kCachedBlocks = 64;
    /// Unwritten rows kept in memory at most (without a log they are all there is).
    static constexpr int kMaxTailRows = 50000;
    /// Tail size at which the written ones fold into the SQLite part: a new snapshot, read and
    /// counted in the background while the rows stay as they are, then swapped in at once. At
    /// 5,000 requests a second that is one fold every 4 s.
    static constexpr int kFoldAfterTailRows = 20000;

    /// `log` reads the SQLite request log; without one only the live tail shows.
    explicit RequestsModel(std::optional<store::RequestLogReader> log, QObject *parent = nullptr);
    /// The SQLite log the rows come from; none without a data folder.
    const std::optional<store::RequestLogReader> &log() const { return m_log; }
    ~RequestsModel() override;

    /// One poll of the feed: the requests that `finished` (oldest first) go to the top, under the
    /// ones `running` (RunningRequests::snapshot(), when given) at `nowMs`, which show with the
    /// time they have been running until they finish.
    void update(QList<metering::RequestRecord> finished,
                const QList<metering::RequestRecord> *running, qint64 nowMs);
    /// Finished requests alone, the running ones left as they are.
    void append(const QList<metering::RequestRecord> &records);
    /// The row showing request `id` among the rows in memory; -1 when none does.
    int loadedRowOf(const QString &id) const;
    /// The rows a view shows, first to last (it tells on each paint): a fold reads their blocks
    /// with its new snapshot, so they show at once after it.
    void setRowsOnScreen(int first, int last);
    /// Whether the row is a request still running.
    bool isRunning(int row) const { return row >= 0 && row < int(m_running.size()); }
    /// Shows only the requests matching `filter` (and completed in [fromMs, toMs) when toMs >
    /// fromMs): a new snapshot.
    void setFilter(const metering::RequestFilter &filter, qint64 completedFromMs = 0,
                   qint64 completedToMs = 0);
    /// Takes a new snapshot with the same filter.
    void refresh();

    /// The row's request, or none while its block is being read.
    const metering::RequestRecord *record(int row) const;
    /// Matching rows; -1 while they are being counted.
    qint64 matchingCount() const { return m_storedCount < 0 ? -1 : m_storedCount + topRows(); }
    /// All rows of the snapshot and the tail; -1 while being counted.
    qint64 totalCount() const;
    /// Whether every read asked for has been answered (tests and the benchmark wait on it).
    bool isIdle() const;
    /// Whether `row` is in memory.
    bool isLoaded(int row) const { return record(row) != nullptr; }
    QString lastError() const { return m_lastError; }
    bool hasLog() const { return m_log.has_value(); }

    /// Writes the rows shown (the tail, then the snapshot, under the filter) to `path` off the
    /// GUI thread, a page at a time; exportFinished() tells how it went. `baseUrl` makes a HAR's
    /// request URLs absolute.
    void exportRows(const QString &path, store::requestexport::Format format,
                    const QString &baseUrl = {});

    static QVariant raw(const metering::RequestRecord &record, int column);
    static QString text(const metering::RequestRecord &record, int column);
    static QString columnName(int column);
    /// The column's name in settings, which stays when columns are added or moved.
    static QString columnKey(int column);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

Q_SIGNALS:
    /// matchingCount() or totalCount() changed.
    void countsChanged();
    /// Rows arrived from the feed at the top; a view scrolled down keeps its place with it.
    void rowsPrepended(int rows);
    /// An export ended: the rows written, or the problem.
    void exportFinished(const QString &path, qint64 rows, const QString &error);

private:
    /// A request and its cells' display text, each formatted the first time a view asks for it
    /// and kept: a repaint of rows already shown formats nothing again. A record never changes
    /// once it is in a row (a running request's next state is a new row).
    struct Row {
        metering::RequestRecord record;
        mutable QStringList text; // per column, null until asked; empty until the first
    };
    struct Block {
        std::vector<Row> rows;
        QList<qint64> rowIds;
        quint64 usedAt = 0;
    };
    struct Snapshot {
        qint64 upToRowId = 0;
        QSet<QString> recentIds; // built off the GUI thread: a fold's may hold 25,000
        // Whether the snapshot holds each of the tail's rows when it was taken (oldest first,
        // the first being the model's row number firstSeq): looked up off the GUI thread.
        quint64 firstSeq = 0;
        std::vector<bool> written;
        store::RequestLogReader::Page first;
        QString error;
    };
    struct Counts {
        qint64 matching = -1;
        qint64 total = -1;
        QString error;
    };
    /// Where block k starts, for k >= 1: any block is then one keyset read.
    using Cursors = std::map<qint64, store::RequestLogReader::PageCursor>;
    /// What a new snapshot replaces, to be freed off the GUI thread.
    struct Replaced {
        std::deque<Row> unwritten;
        QSet<QString> snapshotIds;
        QHash<qint64, Block> blocks;
        Cursors cursors;
    };
    struct BlockRead {
        qint64 block = 0;
        store::RequestLogReader::Page page;
        bool reversed = false;
        QString error;
    };
    /// How to read a block: from the nearest known start before it, or from the older end.
    struct BlockQuery {
        qint64 block = 0;
        std::optional<store::RequestLogReader::PageCursor> after;
        qint64 skip = 0;
        int limit = kBlockRows;
        bool oldestFirst = false;
    };
    /// A new snapshot of the same filter, counted and indexed, with the blocks of the rows on
    /// screen read already: what a fold swaps in.
    struct Fold {
        Snapshot snapshot;
        Counts counts;
        Cursors cursors;
        std::vector<BlockRead> blocks;
    };

    const Row *rowAt(int row) const;
    static const QString &cellText(const Row &row, int column);
    int tailSize() const { return int(m_tail.size()); }
    /// Rows above the stored ones: running, then the live tail.
    int topRows() const { return int(m_running.size()) + m_pending + tailSize(); }
    bool accepts(const metering::RequestRecord &record) const;
    /// Which of `running` the newest rows from the feed (and `finished`) show finished already.
    QSet<QString> finishedAmong(const QList<metering::RequestRecord> &running,
                                const QList<metering::RequestRecord> &finished) const;
    /// The rows `running` shows, newest first, filtered; `all` counts them unfiltered.
    std::vector<Row> runningRows(const QList<metering::RequestRecord> &running,
                                 const QList<metering::RequestRecord> &finished, qint64 nowMs,
                                 int *all) const;
    /// Lets the oldest rows from the feed go beyond kMaxTailRows.
    void dropOldest();
    store::RequestLogReader::Scope scope() const;
    void rebuildTail();
    /// The ids of the rows from the feed (oldest first), and the sequence number of the first.
    struct Unwritten {
        QStringList ids;
        std::vector<bool> shown; // in the tail: the filter accepts it
        quint64 firstSeq = 0;
    };
    Unwritten unwritten() const;
    /// Reads a snapshot of `log` as it is now, and which of the `unwritten` rows it holds; its
    /// ids cover those and the feed's next ones.
    static Snapshot readSnapshot(const store::RequestLogReader &log,
                                 const metering::RequestFilter &filter,
                                 store::RequestLogReader::Scope scope, const Unwritten &unwritten);
    static Counts countRows(const store::RequestLogReader &log,
                            const metering::RequestFilter &filter,
                            const store::RequestLogReader::Scope &scope);
    /// One walk over the matches in order (an index-only walk of 1,000,000 rows takes about
    /// 90 ms); empty when it fails.
    static Cursors readCursors(const store::RequestLogReader &log,
                               const metering::RequestFilter &filter,
                               const store::RequestLogReader::Scope &scope);
    void takeSnapshot();
    void applySnapshot(quint64 generation, Snapshot snapshot);
    /// Which rows from the feed `snapshot` holds (by m_unwritten's index).
    std::vector<bool> heldBy(const Snapshot &snapshot) const;
    /// Takes `snapshot`'s rows in place of the old snapshot's, and drops from the tail the
    /// requests it holds (`held`, from heldBy()).
    void adopt(const Snapshot &snapshot, const std::vector<bool> &held);
    /// Stored blocks a fold reads at most: those under the rows on screen.
    static constexpr int kBlocksReadWithAFold = 4;
    /// The model rows on screen, as the last paint told; none before one.
    std::optional<std::pair<int, int>> rowsOnScreen() const;
    /// The blocks of a new snapshot of `stored` rows that hold model `rows` when `top` rows are
    /// above it (give or take a few rows; those still above it need none), block 0 left out: it
    /// comes with the snapshot.
    static std::vector<qint64> blocksOf(std::pair<int, int> rows, int top, qint64 stored);
    void fold();
    void applyFold(quint64 generation, Fold fold);
    /// Rows of the tail that `held` drops.
    qint64 tailRowsHeld(const std::vector<bool> &held) const;

    static BlockQuery blockQuery(qint64 block, const Cursors &cursors, qint64 storedCount);
    static BlockRead readBlock(const store::RequestLogReader &log,
                               const metering::RequestFilter &filter,
                               const store::RequestLogReader::Scope &scope,
                               const BlockQuery &query);
    void storeBlock(qint64 block, const store::RequestLogReader::Page &page, bool reversed);
    void want(qint64 block) const;
    void readNextBlock();
    void applyBlock(quint64 generation, BlockRead read);
    void startCount();
    void applyCounts(quint64 generation, Counts counts);
    void applyBlockIndex(quint64 generation, Cursors cursors);
    void setStoredCount(qint64 count);

    std::optional<store::RequestLogReader> m_log;
    metering::RequestFilter m_filter;
    qint64 m_fromMs = 0;
    qint64 m_toMs = 0;
    quint64 m_generation = 0;

    // Requests from the feed that the snapshot does not hold, newest first: all of them, and
    // those the filter accepts (the rows on top), which point into the first (a deque's elements
    // stay where they are while it grows and shrinks at its ends).
    std::deque<Row> m_unwritten;
    // Rows ever put in m_unwritten. m_pushed - 1 - i numbers m_unwritten[i]: a fold captures the
    // rows by it, and until it is applied the deque changes only at its ends.
    quint64 m_pushed = 0;
    quint64 m_pushedAtFold = 0; // m_pushed when the last fold started
    std::deque<const Row *> m_tail;
    QSet<QString> m_snapshotIds; // the snapshot's newest ids: feed records to leave out
    // The rows a view showed last, counted from the first stored row (negative in the tail).
    std::optional<std::pair<int, int>> m_onScreen;
    std::vector<Row> m_running; // in flight, newest first, filtered
    int m_pending = 0;          // rows inserted under them, filled in by the same update()
    int m_runningAll = 0;       // in flight, unfiltered

    // The snapshot.
    bool m_snapshotReady = false;
    qint64 m_upToRowId = 0;
    qint64 m_storedCount = -1; // matching rows in the snapshot; -1 until counted
    qint64 m_storedTotal = -1; // all rows in the snapshot
    qint64 m_storedShown = 0;  // rows below the tail that rowCount() includes
    mutable QHash<qint64, Block> m_blocks;
    Cursors m_cursors;
    mutable quint64 m_useClock = 0;
    mutable std::vector<qint64> m_wanted; // blocks asked for, most recent last
    bool m_reading = false;
    bool m_snapshotting = false;
    bool m_folding = false;
    bool m_counting = false;
    bool m_countAgain = false;
    QString m_lastError;
    QThreadPool m_pool;
};

} // namespace tollgate::ui
