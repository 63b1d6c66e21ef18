#include "requestsmodel.h"

#include <QBrush>
#include <QColor>
#include <QDateTime>
#include <QSaveFile>

#include <algorithm>
#include <iterator>
#include <memory>
#include <utility>

namespace tollgate::ui {

namespace {

// Beyond the rows the tail holds, the newest ids of a snapshot that a feed record may still
// repeat: a record reaches the feed and the log within a second of each other, far fewer rows
// apart than this.
constexpr qint64 kRecentIds = 5000;
// Blocks asked for and not read yet; while the scroll bar is dragged only the latest matter.
constexpr size_t kMaxWanted = 12;

QString millisecondsText(double ms)
{
    if (ms < 0)
        return QStringLiteral("–");
    return ms < 10 ? QString::number(ms, 'f', 1) : QString::number(qRound64(ms));
}

} // namespace

RequestsModel::RequestsModel(std::optional<store::RequestLogReader> log, QObject *parent)
    : QAbstractTableModel(parent)
    , m_log(std::move(log))
{
    // Reads run on two threads of the model's own: a block read (1–7 ms) never waits behind a
    // count (up to 0.4 s over 1,000,000 rows), and the GUI thread waits on neither.
    m_pool.setMaxThreadCount(2);
    takeSnapshot();
}

RequestsModel::~RequestsModel()
{
    // Reads post their answers to this object: let the running ones finish while it exists.
    m_pool.clear();
    m_pool.waitForDone();
}

bool RequestsModel::accepts(const metering::RequestRecord &record) const
{
    if (m_toMs > m_fromMs) {
        const qint64 completed = record.completedAtMs();
        if (completed < m_fromMs || completed >= m_toMs)
            return false;
    }
    return m_filter.matches(record);
}

store::RequestLogReader::Scope RequestsModel::scope() const
{
    store::RequestLogReader::Scope scope;
    scope.upToRowId = m_upToRowId;
    scope.completedFromMs = m_fromMs;
    scope.completedToMs = m_toMs;
    return scope;
}

void RequestsModel::append(const QList<metering::RequestRecord> &records)
{
    update(records, nullptr, 0);
}

void RequestsModel::update(QList<metering::RequestRecord> finished,
                           const QList<metering::RequestRecord> *running, qint64 nowMs)
{
    // Oldest first, as they go on top, and whether the filter shows them. They are moved into
    // their rows: when the list is the caller's to give (the feed's), nothing is copied.
    std::vector<std::pair<metering::RequestRecord *, bool>> arriving;
    int added = 0;
    for (metering::RequestRecord &record : finished) {
        if (m_snapshotIds.contains(record.id))
            continue; // the snapshot has it already
        const bool shown = accepts(record);
        arriving.emplace_back(&record, shown);
        added += shown;
    }
    int runningAll = m_runningAll;
    std::vector<Row> nextRunning =
        running ? runningRows(*running, finished, nowMs, &runningAll) : std::vector<Row>();
    const int before = int(m_running.size());
    const int after = running ? int(nextRunning.size()) : before;

    // One structural change a tick, at the top: every row below moves by `net` (a table view
    // pays for each insertion or removal with a pass over all its rows: 1,000,000 in a big
    // log). It happens under the running rows and leaves the rows around it as they were, as
    // the model contract asks; then the rows on top (running, then just finished) are filled in
    // and repainted.
    const int net = after + added - before;
    const auto apply = [&] {
        for (const auto &[record, shown] : arriving) {
            m_unwritten.push_front({std::move(*record), {}});
            ++m_pushed;
            if (shown)
                m_tail.push_front(&m_unwritten.front());
        }
        if (running)
            m_running = std::move(nextRunning);
        m_runningAll = runningAll;
    };
    const bool countsMoved = net != 0 || !arriving.empty() || runningAll != m_runningAll;
    if (!running && added > 0) {
        beginInsertRows({}, before, before + added - 1);
        apply();
        endInsertRows();
    } else if (net > 0) {
        beginInsertRows({}, before, before + net - 1);
        m_pending = net;
        endInsertRows();
        m_pending = 0;
        apply();
    } else if (net < 0) {
        beginRemoveRows({}, before + net, before - 1);
        m_running.resize(size_t(before + net));
        endRemoveRows();
        apply();
    } else {
        apply();
    }
    const int changed = running ? after + added : 0;
    if (changed > 0)
        Q_EMIT dataChanged(index(0, 0), index(changed - 1, ColumnCount - 1));
    if (net != 0)
        Q_EMIT rowsPrepended(net);
    dropOldest();
    if (countsMoved)
        Q_EMIT countsChanged();
    // Counted in rows arrived since the last fold, not rows held: rows the log never writes
    // (it dropped them, or fell behind) stay in the tail, and must not start a fold every tick.
    if (m_log && m_pushed - m_pushedAtFold >= quint64(kFoldAfterTailRows) && m_storedCount >= 0 &&
        !m_snapshotting && !m_folding)
        fold();
}

void RequestsModel::dropOldest()
{
    // Beyond the cap the oldest unwritten rows leave (with a log they are in SQLite by now and
    // the next snapshot brings them back). Those the filter shows are the bottom of the tail.
    const size_t excess =
        m_unwritten.size() > size_t(kMaxTailRows) ? m_unwritten.size() - size_t(kMaxTailRows) : 0;
    size_t shown = 0;
    for (size_t i = 0; i < excess && shown < m_tail.size(); ++i) {
        if (m_tail[m_tail.size() - 1 - shown] == &m_unwritten[m_unwritten.size() - 1 - i])
            ++shown;
    }
    if (shown > 0)
        beginRemoveRows({}, topRows() - int(shown), topRows() - 1);
    m_tail.resize(m_tail.size() - shown);
    m_unwritten.resize(m_unwritten.size() - excess);
    if (shown > 0) {
        endRemoveRows();
        Q_EMIT rowsPrepended(-int(shown)); // above the stored rows: a view there moves up
        Q_EMIT countsChanged();
    }
}

std::vector<RequestsModel::Row>
RequestsModel::runningRows(const QList<metering::RequestRecord> &running,
                           const QList<metering::RequestRecord> &finished, qint64 nowMs,
                           int *all) const
{
    const QSet<QString> done = finishedAmong(running, finished);
    std::vector<Row> shown;
    *all = 0;
    for (auto it = running.crbegin(); it != running.crend(); ++it) {
        if (done.contains(it->id) || m_snapshotIds.contains(it->id))
            continue;
        ++*all;
        Row row{*it, {}};
        row.record.latencyMs = double(std::max<qint64>(0, nowMs - row.record.startedAtMs));
        if (accepts(row.record))
            shown.push_back(std::move(row));
    }
    return shown;
}

QSet<QString> RequestsModel::finishedAmong(const QList<metering::RequestRecord> &running,
                                           const QList<metering::RequestRecord> &finished) const
{
    // A request that finished may still be in the snapshot of the running ones for a moment:
    // the feed's record (arriving with it, or just before) is the one to show. It is among the
    // newest. The running ones are few and the newest many (a tick's worth at thousands a
    // second): look the newest up among the running, not the other way round.
    QSet<QString> done;
    if (running.isEmpty())
        return done;
    QSet<QString> runningIds;
    for (const metering::RequestRecord &record : running)
        runningIds.insert(record.id);
    for (const metering::RequestRecord &record : finished) {
        if (runningIds.contains(record.id))
            done.insert(record.id);
    }
    const size_t recent = std::min<size_t>(m_unwritten.size(), 2000);
    for (size_t i = 0; i < recent && done.size() < runningIds.size(); ++i) {
        if (runningIds.contains(m_unwritten[i].record.id))
            done.insert(m_unwritten[i].record.id);
    }
    return done;
}

void RequestsModel::setFilter(const metering::RequestFilter &filter, qint64 completedFromMs,
                              qint64 completedToMs)
{
    m_filter = filter;
    m_fromMs = completedFromMs;
    m_toMs = completedToMs;
    takeSnapshot();
}

void RequestsModel::refresh()
{
    takeSnapshot();
}

void RequestsModel::rebuildTail()
{
    m_tail.clear();
    for (const Row &row : m_unwritten) {
        if (accepts(row.record))
            m_tail.push_back(&row);
    }
}

void RequestsModel::takeSnapshot()
{
    // Until the snapshot is read the model shows the tail alone; the blocks of the old snapshot
    // mean nothing under the new one.
    beginResetModel();
    ++m_generation;
    m_blocks.clear();
    m_cursors.clear();
    m_wanted.clear();
    m_onScreen.reset();
    m_storedCount = -1;
    m_storedTotal = -1;
    m_storedShown = 0;
    m_snapshotReady = false;
    rebuildTail();
    endResetModel();
    Q_EMIT countsChanged();
    if (!m_log) {
        m_storedCount = 0;
        m_storedTotal = 0;
        m_snapshotReady = true;
        Q_EMIT countsChanged();
        return;
    }
    m_snapshotting = true;
    m_folding = false; // a fold under the old filter is void
    const quint64 generation = m_generation;
    const store::RequestLogReader log = *m_log;
    const metering::RequestFilter filter = m_filter;
    const store::RequestLogReader::Scope scope = this->scope();
    m_pool.start([this, generation, log, filter, scope, feedRows = unwritten()] {
        Snapshot snapshot = readSnapshot(log, filter, scope, feedRows);
        QMetaObject::invokeMethod(
            this,
            [this, generation, snapshot = std::move(snapshot)]() mutable {
                applySnapshot(generation, std::move(snapshot));
            },
            Qt::QueuedConnection);
    });
}

RequestsModel::Snapshot RequestsModel::readSnapshot(const store::RequestLogReader &log,
                                                    const metering::RequestFilter &filter,
                                                    store::RequestLogReader::Scope scope,
                                                    const Unwritten &unwritten)
{
    Snapshot snapshot;
    const auto last = log.lastRowId();
    if (!last) {
        snapshot.error = last.error().message;
        return snapshot;
    }
    snapshot.upToRowId = *last;
    scope.upToRowId = *last;
    const qint64 idsFrom = std::max<qint64>(0, *last - unwritten.ids.size() - kRecentIds);
    const auto ids = log.idsWritten(idsFrom, *last);
    const auto first = log.page(filter, scope, kBlockRows);
    if (ids && first) {
        snapshot.recentIds = QSet<QString>(ids->begin(), ids->end());
        snapshot.firstSeq = unwritten.firstSeq;
        snapshot.written.reserve(size_t(unwritten.ids.size()));
        for (const QString &id : unwritten.ids)
            snapshot.written.push_back(snapshot.recentIds.contains(id));
        snapshot.first = *first;
    } else {
        snapshot.error = ids ? first.error().message : ids.error().message;
    }
    return snapshot;
}

RequestsModel::Counts RequestsModel::countRows(const store::RequestLogReader &log,
                                               const metering::RequestFilter &filter,
                                               const store::RequestLogReader::Scope &scope)
{
    Counts counts;
    const bool narrowed = !filter.matchesAll() || scope.completedToMs > scope.completedFromMs;
    store::RequestLogReader::Scope all;
    all.upToRowId = scope.upToRowId;
    const auto total = log.count(metering::RequestFilter(), all);
    const auto matching = narrowed ? log.count(filter, scope) : total;
    if (total && matching) {
        counts.total = *total;
        counts.matching = *matching;
    } else {
        counts.error = total ? matching.error().message : total.error().message;
    }
    return counts;
}

void RequestsModel::applySnapshot(quint64 generation, Snapshot snapshot)
{
    if (generation != m_generation)
        return;
    m_snapshotting = false;
    if (!snapshot.error.isEmpty()) {
        m_lastError = snapshot.error;
        m_storedCount = 0;
        m_storedTotal = 0;
        m_snapshotReady = true;
        Q_EMIT countsChanged();
        return;
    }
    const std::vector<bool> held = heldBy(snapshot);
    beginResetModel();
    adopt(snapshot, held);
    // Until counted, the rows shown are those read, and a block more when there are more.
    const qint64 read = snapshot.first.records.size();
    if (!snapshot.first.next) {
        m_storedCount = read;
        m_storedShown = read;
    } else {
        m_storedShown = read;
    }
    endResetModel();
    Q_EMIT countsChanged();
    startCount();
    readNextBlock();
}

RequestsModel::Unwritten RequestsModel::unwritten() const
{
    Unwritten unwritten;
    unwritten.firstSeq = m_pushed - m_unwritten.size();
    unwritten.ids.reserve(qsizetype(m_unwritten.size()));
    unwritten.shown.resize(m_unwritten.size());
    // The tail is the shown rows of m_unwritten, in the same order.
    auto tail = m_tail.crbegin();
    for (auto it = m_unwritten.crbegin(); it != m_unwritten.crend(); ++it) {
        unwritten.ids.append(it->record.id);
        if (tail != m_tail.crend() && *tail == &*it) {
            unwritten.shown[size_t(unwritten.ids.size() - 1)] = true;
            ++tail;
        }
    }
    return unwritten;
}

std::vector<bool> RequestsModel::heldBy(const Snapshot &snapshot) const
{
    std::vector<bool> held(m_unwritten.size());
    for (size_t i = 0; i < m_unwritten.size(); ++i) {
        const quint64 seq = m_pushed - 1 - i;
        const quint64 asked = seq - snapshot.firstSeq; // wraps for rows older than the ask
        held[i] = seq >= snapshot.firstSeq && asked < snapshot.written.size()
                      ? snapshot.written[asked]
                      : snapshot.recentIds.contains(m_unwritten[i].record.id);
    }
    return held;
}

qint64 RequestsModel::tailRowsHeld(const std::vector<bool> &held) const
{
    // The tail is the filtered subsequence of m_unwritten, in the same order.
    qint64 rows = 0;
    auto tail = m_tail.cbegin();
    for (size_t i = 0; i < m_unwritten.size() && tail != m_tail.cend(); ++i) {
        if (*tail == &m_unwritten[i]) {
            rows += held[i];
            ++tail;
        }
    }
    return rows;
}

void RequestsModel::adopt(const Snapshot &snapshot, const std::vector<bool> &held)
{
    m_upToRowId = snapshot.upToRowId;
    m_snapshotReady = true;
    m_wanted.clear();
    m_onScreen.reset(); // the next paint tells again
    // The feed's records that are in the snapshot now come from it. What the snapshot replaces
    // (after a fold 20,000 rows from the feed and their ids, and up to 12,800 rows read) is
    // freed on a pool thread: that takes milliseconds.
    std::deque<Row> kept;
    for (size_t i = 0; i < m_unwritten.size(); ++i) {
        if (!held[i])
            kept.push_back(std::move(m_unwritten[i]));
    }
    auto replaced =
        std::make_shared<Replaced>(Replaced{std::move(m_unwritten), std::move(m_snapshotIds),
                                            std::move(m_blocks), std::move(m_cursors)});
    m_pool.start([replaced = std::move(replaced)] {});
    m_blocks.clear();
    m_cursors.clear();
    m_unwritten = std::move(kept);
    m_snapshotIds = snapshot.recentIds;
    rebuildTail();
    storeBlock(0, snapshot.first, false);
}

void RequestsModel::setRowsOnScreen(int first, int last)
{
    // Kept from the first stored row (negative in the tail): a view scrolled down moves with the
    // rows arriving on top, and so does that.
    if (first < 0 || last < first)
        m_onScreen.reset();
    else
        m_onScreen = {first - topRows(), last - topRows()};
}

std::optional<std::pair<int, int>> RequestsModel::rowsOnScreen() const
{
    if (!m_onScreen)
        return std::nullopt;
    return std::pair{topRows() + m_onScreen->first, topRows() + m_onScreen->second};
}

std::vector<qint64> RequestsModel::blocksOf(std::pair<int, int> rows, int top, qint64 stored)
{
    // 20 rows either side: the rows moving in from the tail are in order of completion, the
    // snapshot's in order of start, so a row can land a few places from where it was. Rows
    // left in the tail need no block, and block 0 comes with the snapshot.
    constexpr int kNear = 20;
    const qint64 first = std::max<qint64>(1, (rows.first - top - kNear) / kBlockRows);
    const qint64 last = std::min<qint64>(
        (rows.second - top + kNear) / kBlockRows,
        std::min<qint64>((stored - 1) / kBlockRows, first + kBlocksReadWithAFold - 1));
    std::vector<qint64> blocks;
    for (qint64 block = first; block <= last; ++block)
        blocks.push_back(block);
    return blocks;
}

void RequestsModel::fold()
{
    m_folding = true;
    m_pushedAtFold = m_pushed;
    const quint64 generation = m_generation;
    const store::RequestLogReader log = *m_log;
    const metering::RequestFilter filter = m_filter;
    const store::RequestLogReader::Scope scope = this->scope();
    m_pool.start([this, generation, log, filter, scope, feedRows = unwritten(),
                  onScreen = rowsOnScreen(), above = int(m_running.size()) + m_pending] {
        Fold fold;
        fold.snapshot = readSnapshot(log, filter, scope, feedRows);
        if (fold.snapshot.error.isEmpty()) {
            store::RequestLogReader::Scope folded = scope;
            folded.upToRowId = fold.snapshot.upToRowId;
            fold.counts = countRows(log, filter, folded);
            if (fold.counts.error.isEmpty())
                fold.cursors = readCursors(log, filter, folded);
            if (onScreen && fold.counts.error.isEmpty()) {
                // Where those rows are in the new snapshot: under the rows it leaves on top.
                int top = above;
                for (size_t i = 0; i < feedRows.shown.size(); ++i)
                    top += feedRows.shown[i] && !fold.snapshot.written[i];
                for (const qint64 block : blocksOf(*onScreen, top, fold.counts.matching)) {
                    fold.blocks.push_back(
                        readBlock(log, filter, folded,
                                  blockQuery(block, fold.cursors, fold.counts.matching)));
                }
            }
        }
        QMetaObject::invokeMethod(
            this,
            [this, generation, fold = std::move(fold)]() mutable {
                applyFold(generation, std::move(fold));
            },
            Qt::QueuedConnection);
    });
}

void RequestsModel::applyFold(quint64 generation, Fold fold)
{
    if (generation != m_generation)
        return; // a new filter took a snapshot of its own meanwhile
    m_folding = false;
    const QString error = fold.snapshot.error.isEmpty() ? fold.counts.error : fold.snapshot.error;
    if (!error.isEmpty()) {
        m_lastError = error; // the rows stay as they are; the next rows from the feed try again
        return;
    }
    // The rows' places: the old snapshot's rows keep theirs, and so, nearly, do the ones moving
    // from the tail into the new snapshot (the tail is in order of completion, the log in order
    // of start). When the count stays, every row keeps its number, but a selected or current
    // row showing another request now follows its request where it is in memory.
    const std::vector<bool> held = heldBy(fold.snapshot);
    const bool inPlace = fold.counts.matching - m_storedShown == tailRowsHeld(held);
    QModelIndexList persistent;
    QStringList persistentIds;
    if (inPlace) {
        // After the announcement: views (a selection model) add their persistent indexes then.
        Q_EMIT layoutAboutToBeChanged();
        persistent = persistentIndexList();
        for (const QModelIndex &index : std::as_const(persistent)) {
            const metering::RequestRecord *shown = record(index.row());
            persistentIds.append(shown ? shown->id : QString());
        }
    } else {
        beginResetModel();
    }
    ++m_generation; // reads under the old snapshot are void
    adopt(fold.snapshot, held);
    m_storedTotal = fold.counts.total;
    m_storedCount = fold.counts.matching;
    m_storedShown = fold.counts.matching;
    m_cursors = std::move(fold.cursors);
    for (const BlockRead &read : fold.blocks) {
        if (read.error.isEmpty())
            storeBlock(read.block, read.page, read.reversed);
        else
            m_lastError = read.error; // read again when shown
    }
    if (inPlace) {
        QModelIndexList moved;
        for (qsizetype i = 0; i < persistent.size(); ++i) {
            const QModelIndex &index = persistent.at(i);
            const metering::RequestRecord *shown = record(index.row());
            const int found =
                persistentIds.at(i).isEmpty() || (shown && shown->id == persistentIds.at(i))
                    ? -1
                    : loadedRowOf(persistentIds.at(i));
            moved.append(found < 0 ? index : this->index(found, index.column()));
        }
        changePersistentIndexList(persistent, moved);
        Q_EMIT layoutChanged();
    } else {
        endResetModel();
    }
    Q_EMIT countsChanged();
    readNextBlock();
}

int RequestsModel::loadedRowOf(const QString &id) const
{
    for (int row = 0; row < topRows(); ++row) {
        const Row *shown = rowAt(row);
        if (shown && shown->record.id == id)
            return row;
    }
    for (auto it = m_blocks.cbegin(); it != m_blocks.cend(); ++it) {
        for (size_t i = 0; i < it->rows.size(); ++i) {
            if (it->rows[i].record.id == id)
                return topRows() + int(it.key() * kBlockRows + qint64(i));
        }
    }
    return -1;
}

void RequestsModel::storeBlock(qint64 block, const store::RequestLogReader::Page &page,
                               bool reversed)
{
    Block stored;
    stored.rows.reserve(size_t(page.records.size()));
    for (const metering::RequestRecord &record : page.records)
        stored.rows.push_back({record, {}});
    stored.rowIds = page.rowIds;
    if (reversed) {
        std::reverse(stored.rows.begin(), stored.rows.end());
        std::reverse(stored.rowIds.begin(), stored.rowIds.end());
    }
    stored.usedAt = ++m_useClock;
    // A full block tells where the next one starts: the cheap keyset read for scrolling on.
    if (stored.rows.size() == size_t(kBlockRows))
        m_cursors[block + 1] = {stored.rows.back().record.startedAtMs, stored.rowIds.constLast()};
    m_blocks.insert(block, std::move(stored));
    if (m_blocks.size() > kCachedBlocks) {
        auto oldest = m_blocks.begin();
        for (auto it = m_blocks.begin(); it != m_blocks.end(); ++it) {
            if (it->usedAt < oldest->usedAt)
                oldest = it;
        }
        m_blocks.erase(oldest);
    }
}

void RequestsModel::want(qint64 block) const
{
    auto found = std::find(m_wanted.begin(), m_wanted.end(), block);
    if (found != m_wanted.end())
        m_wanted.erase(found);
    m_wanted.push_back(block);
    if (m_wanted.size() > kMaxWanted)
        m_wanted.erase(m_wanted.begin());
    if (!m_reading) {
        // From a const data(): the read starts on the next turn of the event loop.
        auto *self = const_cast<RequestsModel *>(this);
        self->m_reading = true;
        QMetaObject::invokeMethod(
            self,
            [self] {
                self->m_reading = false;
                self->readNextBlock();
            },
            Qt::QueuedConnection);
    }
}

RequestsModel::BlockQuery RequestsModel::blockQuery(qint64 block, const Cursors &cursors,
                                                    qint64 storedCount)
{
    // The nearest start known at or before the block, or a walk from the older end when that is
    // shorter (only once the count tells where the end is).
    BlockQuery query;
    query.block = block;
    query.skip = block * kBlockRows;
    auto known = cursors.upper_bound(block);
    if (known != cursors.begin()) {
        --known;
        query.after = known->second;
        query.skip = (block - known->first) * kBlockRows;
    }
    if (storedCount >= 0) {
        const qint64 fromEnd = storedCount - (block + 1) * kBlockRows;
        if (std::max<qint64>(0, fromEnd) < query.skip) {
            query.oldestFirst = true;
            query.after.reset();
            query.skip = std::max<qint64>(0, fromEnd);
            query.limit = int(std::min<qint64>(kBlockRows, storedCount - block * kBlockRows));
        }
    }
    return query;
}

RequestsModel::BlockRead RequestsModel::readBlock(const store::RequestLogReader &log,
                                                  const metering::RequestFilter &filter,
                                                  const store::RequestLogReader::Scope &scope,
                                                  const BlockQuery &query)
{
    BlockRead read;
    read.block = query.block;
    read.reversed = query.oldestFirst;
    const auto page = log.page(filter, scope, std::max(1, query.limit), query.after, query.skip,
                               query.oldestFirst);
    if (page)
        read.page = *page;
    else
        read.error = page.error().message;
    return read;
}

void RequestsModel::readNextBlock()
{
    if (m_reading || !m_log || !m_snapshotReady)
        return;
    qint64 block = -1;
    while (!m_wanted.empty() && block < 0) {
        const qint64 candidate = m_wanted.back();
        m_wanted.pop_back();
        if (!m_blocks.contains(candidate) && candidate * kBlockRows < m_storedShown)
            block = candidate;
    }
    if (block < 0)
        return;

    const BlockQuery query = blockQuery(block, m_cursors, m_storedCount);
    m_reading = true;
    const quint64 generation = m_generation;
    const store::RequestLogReader log = *m_log;
    const metering::RequestFilter filter = m_filter;
    const store::RequestLogReader::Scope scope = this->scope();
    m_pool.start([=] {
        BlockRead read = readBlock(log, filter, scope, query);
        QMetaObject::invokeMethod(
            this,
            [this, generation, read = std::move(read)]() mutable {
                applyBlock(generation, std::move(read));
            },
            Qt::QueuedConnection);
    });
}

void RequestsModel::applyBlock(quint64 generation, BlockRead read)
{
    m_reading = false;
    if (generation == m_generation) {
        if (!read.error.isEmpty()) {
            m_lastError = read.error;
        } else {
            storeBlock(read.block, read.page, read.reversed);
            const int first = topRows() + int(read.block * kBlockRows);
            const int last = std::min(rowCount() - 1, first + int(read.page.records.size()) - 1);
            if (last >= first)
                Q_EMIT dataChanged(index(first, 0), index(last, ColumnCount - 1));
        }
    }
    readNextBlock();
}

void RequestsModel::startCount()
{
    if (m_counting) {
        m_countAgain = true;
        return;
    }
    m_counting = true;
    m_countAgain = false;
    const quint64 generation = m_generation;
    const store::RequestLogReader log = *m_log;
    const metering::RequestFilter filter = m_filter;
    const store::RequestLogReader::Scope scope = this->scope();
    m_pool.start([=] {
        const Counts counts = countRows(log, filter, scope);
        QMetaObject::invokeMethod(
            this, [this, generation, counts] { applyCounts(generation, counts); },
            Qt::QueuedConnection);
        // Then where every block starts: from then on any block, however deep, is one read.
        Cursors cursors = counts.error.isEmpty() ? readCursors(log, filter, scope) : Cursors();
        QMetaObject::invokeMethod(
            this,
            [this, generation, cursors = std::move(cursors)]() mutable {
                applyBlockIndex(generation, std::move(cursors));
            },
            Qt::QueuedConnection);
    });
}

void RequestsModel::applyCounts(quint64 generation, Counts counts)
{
    if (generation != m_generation)
        return;
    if (!counts.error.isEmpty()) {
        m_lastError = counts.error;
        return;
    }
    m_storedTotal = counts.total;
    setStoredCount(counts.matching);
    readNextBlock();
}

RequestsModel::Cursors RequestsModel::readCursors(const store::RequestLogReader &log,
                                                  const metering::RequestFilter &filter,
                                                  const store::RequestLogReader::Scope &scope)
{
    Cursors cursors;
    const auto index = log.blockIndex(filter, scope, kBlockRows);
    for (qsizetype k = 0; index && k < index->blockStarts.size(); ++k)
        cursors.emplace_hint(cursors.end(), k + 1, index->blockStarts.at(k));
    return cursors;
}

void RequestsModel::applyBlockIndex(quint64 generation, Cursors cursors)
{
    m_counting = false;
    if (generation != m_generation) {
        // A newer snapshot wants its own count; only the latest one runs.
        if (m_countAgain)
            startCount();
        return;
    }
    // The walk holds every cursor the blocks read so far have found, and the rest.
    if (!cursors.empty())
        m_cursors = std::move(cursors);
}

void RequestsModel::setStoredCount(qint64 count)
{
    m_storedCount = count;
    if (count > m_storedShown) {
        const int first = topRows() + int(m_storedShown);
        beginInsertRows({}, first, topRows() + int(count) - 1);
        m_storedShown = count;
        endInsertRows();
    } else if (count < m_storedShown) {
        beginRemoveRows({}, topRows() + int(count), topRows() + int(m_storedShown) - 1);
        m_storedShown = count;
        endRemoveRows();
    }
    Q_EMIT countsChanged();
}

void RequestsModel::exportRows(const QString &path, store::requestexport::Format format,
                               const QString &baseUrl)
{
    if (!m_snapshotReady) {
        // Its snapshot is being taken: which rows it holds is not known yet.
        QMetaObject::invokeMethod(
            this,
            [this, path] {
                Q_EMIT exportFinished(path, 0, tr("the log is still being read; try again"));
            },
            Qt::QueuedConnection);
        return;
    }
    QList<metering::RequestRecord> newer;
    newer.reserve(tailSize());
    for (const Row *row : m_tail)
        newer.append(row->record);
    const std::optional<store::RequestLogReader> log = m_log;
    const metering::RequestFilter filter = m_filter;
    const store::RequestLogReader::Scope scope = this->scope();
    m_pool.start([=] {
        QSaveFile file(path);
        QString error;
        qint64 rows = 0;
        if (!file.open(QIODevice::WriteOnly)) {
            error = file.errorString();
        } else {
            const auto written = store::requestexport::write(file, format, log, filter, scope,
                                                             newer, {}, 1000, baseUrl);
            if (!written) {
                error = written.error().message;
                file.cancelWriting();
            } else if (!file.commit()) {
                error = file.errorString();
            } else {
                rows = *written;
            }
        }
        QMetaObject::invokeMethod(
            this, [this, path, rows, error] { Q_EMIT exportFinished(path, rows, error); },
            Qt::QueuedConnection);
    });
}

qint64 RequestsModel::totalCount() const
{
    return m_storedTotal < 0 ? -1 : m_storedTotal + qint64(m_unwritten.size()) + m_runningAll;
}

bool RequestsModel::isIdle() const
{
    return m_snapshotReady && !m_snapshotting && !m_folding && !m_reading && !m_counting &&
           m_wanted.empty();
}

const metering::RequestRecord *RequestsModel::record(int row) const
{
    const Row *found = rowAt(row);
    return found ? &found->record : nullptr;
}

const RequestsModel::Row *RequestsModel::rowAt(int row) const
{
    if (row < 0 || row >= rowCount())
        return nullptr;
    const int running = int(m_running.size());
    if (row < running)
        return &m_running[size_t(row)];
    if (row < running + m_pending)
        return nullptr; // inserted, filled in before the tick ends
    if (row < topRows())
        return m_tail[size_t(row - running - m_pending)];
    const qint64 stored = row - topRows();
    const qint64 blockIndex = stored / kBlockRows;
    auto found = m_blocks.find(blockIndex);
    if (found == m_blocks.end()) {
        want(blockIndex);
        return nullptr;
    }
    const size_t offset = size_t(stored % kBlockRows);
    if (offset >= found->rows.size())
        return nullptr;
    found->usedAt = ++m_useClock;
    return &found->rows[offset];
}

int RequestsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(topRows() + m_storedShown);
}

int RequestsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant RequestsModel::raw(const metering::RequestRecord &r, int column)
{
    switch (column) {
    case Time: return r.startedAtMs;
    case User: return r.user;
    case Model: return r.usedModel.isEmpty() ? r.requestedModel : r.usedModel;
    case Status: return r.status;
    case LatencyMs: return r.latencyMs;
    case TtftMs: return r.ttftMs;
    case InputTokens: return qlonglong(r.usage.inputTokens);
    case OutputTokens: return qlonglong(r.usage.outputTokens);
    case CostUsd: return r.costUsd;
    case Cache: return r.cacheStatus;
    case Route: return r.route;
    case Plan: return r.plan;
    case Retries: return r.retries;
    case Endpoint: return r.endpoint;
    case Id: return r.id;
    default: return {};
    }
}

QString RequestsModel::text(const metering::RequestRecord &r, int column)
{
    switch (column) {
    case Time:
        return QDateTime::fromMSecsSinceEpoch(r.startedAtMs)
            .toString(QStringLiteral("HH:mm:ss.zzz"));
    case User: return r.user.isEmpty() ? QStringLiteral("(local)") : r.user;
    case Model:
        // "asked → served" when routing or a fallback changed the model.
        if (!r.usedModel.isEmpty() && r.usedModel != r.requestedModel)
            return r.requestedModel + QStringLiteral(" → ") + r.usedModel;
        return r.requestedModel;
    case Status: return r.status == 0 ? QStringLiteral("–") : QString::number(r.status);
    case LatencyMs: return millisecondsText(r.latencyMs);
    case TtftMs: return millisecondsText(r.ttftMs);
    case InputTokens: return QString::number(r.usage.inputTokens);
    case OutputTokens: return QString::number(r.usage.outputTokens);
    case CostUsd: return QStringLiteral("$") + QString::number(r.costUsd, 'f', 5);
    case Cache: return r.cacheStatus;
    case Route: return r.route;
    case Plan: return r.plan;
    case Retries: return QString::number(r.retries);
    case Endpoint: return r.endpoint;
    case Id: return r.id;
    default: return {};
    }
}

QVariant RequestsModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const Row *row = rowAt(index.row());
    if (!row)
        return role == Qt::DisplayRole && index.column() == 0 ? QVariant(QStringLiteral("…"))
                                                              : QVariant();
    const metering::RequestRecord *r = &row->record;
    const bool running = isRunning(index.row());
    if (running && index.column() == Status) {
        if (role == Qt::DisplayRole)
            return QStringLiteral("…");
        if (role == StatusClassRole)
            return int(StatusClass::Running);
        if (role == Qt::ToolTipRole)
            return tr("running for %1 ms").arg(qRound64(r->latencyMs));
    }
    switch (role) {
    case Qt::DisplayRole: return cellText(*row, index.column());
    case RawRole: return raw(*r, index.column());
    case Qt::ToolTipRole: return r->error.isEmpty() ? QVariant() : QVariant(r->error);
    case StatusClassRole:
        return index.column() == Status ? QVariant(int(statusClass(*r))) : QVariant();
    case Qt::TextAlignmentRole:
        if ((index.column() >= LatencyMs && index.column() <= CostUsd) || index.column() == Retries)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    default: return {};
    }
}

const QString &RequestsModel::cellText(const Row &row, int column)
{
    if (row.text.isEmpty())
        row.text.resize(ColumnCount);
    QString &cell = row.text[column];
    if (cell.isNull())
        cell = text(row.record, column);
    return cell;
}

RequestsModel::StatusClass RequestsModel::statusClass(const metering::RequestRecord &r)
{
    // As the metrics count it: an error text fails a 200 too (a stream cut short).
    if (r.failed())
        return r.status >= 400 && r.status < 500 ? StatusClass::ClientError : StatusClass::Failure;
    if (r.cacheStatus == QLatin1String("hit"))
        return StatusClass::CacheHit;
    return r.status >= 200 && r.status < 400 ? StatusClass::Success : StatusClass::None;
}

QString RequestsModel::columnName(int column)
{
    switch (column) {
    case Time: return tr("Time");
    case User: return tr("User");
    case Model: return tr("Model");
    case Status: return tr("Status");
    case LatencyMs: return tr("Latency ms");
    case TtftMs: return tr("TTFT ms");
    case InputTokens: return tr("In");
    case OutputTokens: return tr("Out");
    case CostUsd: return tr("Cost");
    case Cache: return tr("Cache");
    case Route: return tr("Route");
    case Plan: return tr("Plan");
    case Retries: return tr("Retries");
    case Endpoint: return tr("Endpoint");
    case Id: return tr("Request id");
    default: return {};
    }
}

QString RequestsModel::columnKey(int column)
{
    static const char *const keys[] = {"time",  "user", "model",   "status",   "latency",
                                       "ttft",  "in",   "out",     "cost",     "cache",
                                       "route", "plan", "retries", "endpoint", "id"};
    static_assert(std::size(keys) == ColumnCount);
    return column >= 0 && column < ColumnCount ? QLatin1String(keys[column]) : QString();
}

QVariant RequestsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    return columnName(section);
}

} // namespace tollgate::ui
