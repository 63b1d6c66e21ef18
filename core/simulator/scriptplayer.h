#pragma once

#include "simulator/responsescript.h"

#include <QBasicTimer>
#include <QElapsedTimer>
#include <QObject>

namespace tollgate::http {
class HttpExchange;
}

namespace tollgate::simulator {

/// Plays a ResponseScript on an exchange, each part when its time comes. A child of the
/// exchange, so it stops and goes when the client hangs up.
class ScriptPlayer : public QObject {
public:
    /// Plays `script` from now; a script whose parts are all due at once is answered before
    /// this returns.
    static void play(http::HttpExchange *exchange, ResponseScript script);

protected:
    void timerEvent(QTimerEvent *event) override;

private:
    ScriptPlayer(http::HttpExchange *exchange, ResponseScript script);
    /// Sends every part that is due, then waits for the next one or ends the response.
    void advance();

    http::HttpExchange *m_exchange;
    ResponseScript m_script;
    qsizetype m_next = 0;
    QElapsedTimer m_clock;
    QBasicTimer m_timer;
};

} // namespace tollgate::simulator
