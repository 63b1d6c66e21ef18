#include "metering/requestfeed.h"

#include <algorithm>

namespace tollgate::metering {

void RequestFeed::setCapacity(int capacity)
{
    QMutexLocker lock(&m_mutex);
    capacity = std::max(0, capacity);
    m_capacity.store(capacity, std::memory_order_relaxed);
    while (m_ring.size() > size_t(capacity))
        m_ring.pop_front();
}

void RequestFeed::append(const RequestRecord &record)
{
    if (m_capacity.load(std::memory_order_relaxed) == 0)
        return;
    QMutexLocker lock(&m_mutex);
    const int capacity = m_capacity.load(std::memory_order_relaxed);
    if (capacity == 0)
        return;
    if (m_ring.size() >= size_t(capacity))
        m_ring.pop_front();
    m_ring.push_back(record);
    ++m_nextId;
}

RequestFeed::Batch RequestFeed::since(quint64 lastId, int maxRecords) const
{
    Batch batch;
    batch.lastId = lastId;
    QMutexLocker lock(&m_mutex);
    const quint64 newest = m_nextId - 1;
    if (lastId >= newest || maxRecords <= 0)
        return batch;
    const quint64 oldest = newest - m_ring.size() + 1; // id of m_ring.front()
    const quint64 first = std::max(lastId + 1, oldest);
    batch.lost = first - (lastId + 1);
    const quint64 count = std::min<quint64>(newest - first + 1, quint64(maxRecords));
    batch.records.reserve(qsizetype(count));
    const auto begin = m_ring.begin() + std::ptrdiff_t(first - oldest);
    for (auto it = begin; it != begin + std::ptrdiff_t(count); ++it)
        batch.records.append(*it);
    batch.lastId = first + count - 1;
    return batch;
}

quint64 RequestFeed::lastId() const
{
    QMutexLocker lock(&m_mutex);
    return m_nextId - 1;
}

} // namespace tollgate::metering
