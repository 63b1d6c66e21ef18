#pragma once

#include "api/usage.h"

#include <QByteArray>

namespace tollgate::api {

/// Size and shape of a prompt: the inputs of the router's complexity estimate.
struct PromptStats {
    qint64 chars = 0; ///< text characters in system + messages
    int messages = 0;
    int tools = 0;
    int codeBlocks = 0;  ///< ``` fenced blocks (a pair of fences counts once)
    int mathMarkers = 0; ///< $$, \( \[, \frac, \sum, \int ...
};

/// Reads the stats from a Messages / Chat Completions body (text parts only; images and
/// documents count as nothing). Parses the body, so the pipeline calls it only when a
/// complexity estimate is needed.
PromptStats promptStats(Flavor flavor, const QByteArray &body);

/// The body with `model` replaced and, when `maxTokens` > 0, `max_tokens` set to it
/// (OpenAI: `max_completion_tokens` when the client used that).
QByteArray rewriteRequest(Flavor flavor, const QByteArray &body, const QString &model,
                          int maxTokens);

} // namespace tollgate::api
