#pragma once

#include "api/usage.h"
#include "http/sseparser.h"

#include <QByteArray>
#include <QJsonObject>
#include <QString>

namespace tollgate::api {

/// Usage and served model read from a whole (non-streamed) response body.
struct ResponseSummary {
    Usage usage;
    QString model;
};
ResponseSummary summarizeResponse(Flavor flavor, const QJsonObject &body);
/// The same from the body's bytes, read with simdjson (Qt when simdjson refuses what Qt
/// tolerates); a body that is not a JSON object gives an empty summary.
ResponseSummary summarizeResponse(Flavor flavor, const QByteArray &body);

/// Follows a streamed response event by event and keeps its usage, model and end state.
///
/// Anthropic: `message_start` carries the model and input/cache usage, `message_delta` the
/// cumulative output tokens, `message_stop` ends the stream, `error` reports a failure.
/// OpenAI: chunks carry the model; the usage chunk (when `stream_options.include_usage`) the
/// tokens; `data: [DONE]` ends the stream.
class StreamMeter {
public:
    explicit StreamMeter(Flavor flavor)
        : m_flavor(flavor)
    {
    }

    void onEvent(const http::SseEvent &event);

    Usage usage() const { return m_usage; }
    QString model() const { return m_model; }
    /// The stream reached its terminal event (message_stop / [DONE]).
    bool completed() const { return m_completed; }
    /// Error message carried by an in-stream error event, empty when none.
    QString errorMessage() const { return m_error; }
    /// An OpenAI chunk with usage and no choices: the gateway hides it when the client did not
    /// ask for usage itself.
    static bool isOpenAiUsageOnlyChunk(const http::SseEvent &event);

private:
    Flavor m_flavor;
    Usage m_usage;
    QString m_model;
    QString m_error;
    bool m_completed = false;
};

} // namespace tollgate::api
