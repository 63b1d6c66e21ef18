#pragma once

#include <QtGlobal>

namespace tollgate::api {

/// Which wire format a client speaks; errors and usage follow it.
enum class Flavor { Anthropic, OpenAI };

inline const char *flavorName(Flavor flavor)
{
    return flavor == Flavor::Anthropic ? "anthropic" : "openai";
}

/// Tokens of one request by kind. Input excludes cached tokens, so every kind is priced once.
struct Usage {
    qint64 inputTokens = 0;
    qint64 outputTokens = 0;
    qint64 cacheWriteTokens = 0;
    qint64 cacheReadTokens = 0;

    bool isEmpty() const
    {
        return inputTokens == 0 && outputTokens == 0 && cacheWriteTokens == 0 &&
               cacheReadTokens == 0;
    }
    bool operator==(const Usage &o) const
    {
        return inputTokens == o.inputTokens && outputTokens == o.outputTokens &&
               cacheWriteTokens == o.cacheWriteTokens && cacheReadTokens == o.cacheReadTokens;
    }
};

} // namespace tollgate::api
