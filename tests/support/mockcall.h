#pragma once

#include "mockscenario.h"

#include <QByteArray>
#include <QList>

namespace tollgate::testsupport {

/// A well-formed completion request reduced to what shapes the mock's answer.
struct MockCall {
    quint64 seq = 0;  ///< makes ids unique: msg_mock_<seq>, req_mock_<seq>
    QByteArray model; ///< the served model, already resolved against the scenario
    bool stream = false;
    bool includeUsage = false; ///< OpenAI stream_options.include_usage
    QByteArray toolName = "get_weather";
    MockScenario scenario;

    /// "Hello", " from", " mock." for 3 events, else "w1 ", "w2 ", ...
    QList<QByteArray> textPieces() const;
    /// The tool input JSON cut into `events` fragments (at least one).
    QList<QByteArray> toolInputPieces() const;
    static QByteArray toolInput() { return QByteArrayLiteral(R"({"location":"Paris"})"); }
};

/// `text` as a JSON string literal, quotes included.
QByteArray jsonString(QByteArrayView text);

} // namespace tollgate::testsupport
