#include "mockjournal.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QMutexLocker>

namespace tollgate::testsupport {

QJsonObject JournalEntry::toJson() const
{
    QJsonObject headerObject;
    for (const auto &field : headers) {
        const QString name = QString::fromLatin1(field.first);
        const QString value = QString::fromUtf8(field.second);
        const auto existing = headerObject.constFind(name);
        // Repeated fields are folded the way RFC 9110 allows a recipient to combine them.
        headerObject.insert(name, existing == headerObject.constEnd()
                                      ? value
                                      : existing->toString() + QStringLiteral(", ") + value);
    }
    return QJsonObject{
        {QStringLiteral("seq"), qint64(seq)},
        {QStringLiteral("method"), QString::fromLatin1(method)},
        {QStringLiteral("path"), QString::fromUtf8(path)},
        {QStringLiteral("headers"), headerObject},
        {QStringLiteral("body"), QString::fromUtf8(body)},
        {QStringLiteral("completed"), completed},
        {QStringLiteral("client_closed"), clientClosed},
    };
}

quint64 MockJournal::record(const MockRequest &request)
{
    QMutexLocker locker(&m_mutex);
    const quint64 seq = ++m_lastSeq;
    if (m_limit <= 0)
        return seq;
    if (m_entries.size() >= m_limit)
        m_entries.removeFirst();
    JournalEntry &entry = m_entries.emplace_back();
    entry.seq = seq;
    entry.method = request.method;
    entry.path = request.target;
    entry.headers = request.headers;
    entry.body = request.body;
    return seq;
}

void MockJournal::markCompleted(quint64 seq)
{
    QMutexLocker locker(&m_mutex);
    if (JournalEntry *entry = find(seq))
        entry->completed = true;
}

void MockJournal::markClientClosed(quint64 seq)
{
    QMutexLocker locker(&m_mutex);
    if (JournalEntry *entry = find(seq))
        entry->clientClosed = true;
}

QList<JournalEntry> MockJournal::entries() const
{
    QMutexLocker locker(&m_mutex);
    return m_entries;
}

QByteArray MockJournal::toJson() const
{
    QJsonArray array;
    for (const JournalEntry &entry : entries())
        array.append(entry.toJson());
    return QJsonDocument(array).toJson(QJsonDocument::Compact);
}

void MockJournal::clear()
{
    QMutexLocker locker(&m_mutex);
    m_entries.clear();
}

void MockJournal::setLimit(int limit)
{
    QMutexLocker locker(&m_mutex);
    m_limit = limit;
    while (m_entries.size() > qMax(limit, 0))
        m_entries.removeFirst();
}

JournalEntry *MockJournal::find(quint64 seq)
{
    // Entries are appended in sequence order under the lock, so the sequence is an index.
    if (m_entries.isEmpty() || seq < m_entries.first().seq)
        return nullptr;
    const quint64 index = seq - m_entries.first().seq;
    return index < quint64(m_entries.size()) ? &m_entries[qsizetype(index)] : nullptr;
}

} // namespace tollgate::testsupport
