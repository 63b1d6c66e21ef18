#pragma once

#include "api/usage.h"
#include "simulator/answerplan.h"
#include "simulator/responsescript.h"
#include "simulator/simulatoroptions.h"

#include <QByteArray>
#include <QString>

namespace tollgate::http {
struct HttpRequest;
}

namespace tollgate::simulator {

/// Turns a provider request into a simulated response script, in the wire format of the API the
/// path belongs to: Anthropic Messages (with count_tokens), OpenAI Chat Completions, and both
/// APIs' model lists. Pure: the same options, request, sequence number and time give the same
/// script.
class ResponseSynthesizer {
public:
    explicit ResponseSynthesizer(SimulatorOptions options = {});

    /// The answer to `request`, the server's request number `sequence`; `nowSecs` is the Unix
    /// time OpenAI objects carry as `created`.
    ResponseScript respond(const http::HttpRequest &request, quint64 sequence,
                           qint64 nowSecs) const;
    /// Body of an error the HTTP layer answers by itself (malformed, too large, timed out).
    QByteArray errorBody(const QByteArray &path, int status, const QString &message) const;

    const SimulatorOptions &options() const { return m_options; }

private:
    ResponseScript generate(api::Flavor flavor, const http::HttpRequest &request, quint64 sequence,
                            qint64 nowSecs) const;
    ResponseScript countTokens(const http::HttpRequest &request, quint64 sequence) const;
    ResponseScript models(api::Flavor flavor, quint64 sequence) const;

    SimulatorOptions m_options;
};

} // namespace tollgate::simulator
