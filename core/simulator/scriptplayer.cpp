#include "simulator/scriptplayer.h"

#include "http/httpexchange.h"

#include <QTimerEvent>

namespace tollgate::simulator {

void ScriptPlayer::play(http::HttpExchange *exchange, ResponseScript script)
{
    auto *player = new ScriptPlayer(exchange, std::move(script));
    player->advance();
}

ScriptPlayer::ScriptPlayer(http::HttpExchange *exchange, ResponseScript script)
    : QObject(exchange)
    , m_exchange(exchange)
    , m_script(std::move(script))
{
    m_clock.start();
}

void ScriptPlayer::timerEvent(QTimerEvent *event)
{
    if (event->timerId() != m_timer.timerId())
        return QObject::timerEvent(event);
    m_timer.stop();
    advance();
}

void ScriptPlayer::advance()
{
    if (m_exchange->isClientGone())
        return; // the exchange goes soon, and this player with it
    const qint64 now = m_clock.elapsed();
    if (!m_script.streamed) {
        const ResponseScript::Part &body = m_script.parts.constFirst();
        if (body.atMs > now) {
            m_timer.start(int(body.atMs - now), Qt::PreciseTimer, this);
            return;
        }
        m_exchange->respond(m_script.status, m_script.headers, body.bytes);
        return;
    }
    // The parts that are due leave in one chunk, as a provider's bytes would in one read.
    QByteArray due;
    while (m_next < m_script.parts.size() && m_script.parts.at(m_next).atMs <= now)
        due += m_script.parts.at(m_next++).bytes;
    if (!due.isEmpty()) {
        if (!m_exchange->isResponding())
            m_exchange->beginStream(m_script.status, m_script.headers);
        m_exchange->writeChunk(due);
    }
    if (m_next < m_script.parts.size()) {
        // Precise: a coarse timer may fire up to 5 % early, and the timing is what is simulated.
        m_timer.start(int(m_script.parts.at(m_next).atMs - now), Qt::PreciseTimer, this);
        return;
    }
    if (!m_exchange->isResponding())
        m_exchange->beginStream(m_script.status, m_script.headers);
    m_exchange->endStream();
}

} // namespace tollgate::simulator
