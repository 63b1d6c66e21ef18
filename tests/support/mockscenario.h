#pragma once

#include <QByteArray>
#include <QByteArrayView>

namespace tollgate::testsupport {

/// What one request asks the mock to do. Items come from the `x-mock-scenario` header and from
/// `[[mock:ITEMS]]` directives anywhere in the raw body, so clients whose headers a gateway drops
/// can still steer the mock through the prompt text.
struct MockScenario {
    int inputTokens = 11;
    int outputTokens = 7;
    int cacheWriteTokens = 0;
    int cacheReadTokens = 0;
    int events = 3;         ///< content deltas in a stream
    QByteArray servedModel; ///< empty: answer with the request's model
    bool tool = false;      ///< answer with a tool call instead of text
    int errorStatus = 0;    ///< 0: no injected error
    bool htmlError = false; ///< error body is an HTML proxy page
    QByteArray statusBody;  ///< error body sent verbatim instead of provider JSON
    int retryAfter = -1;    ///< -1: `retry-after: 7` on 429 only
    int slowMs = 0;         ///< delay before the response headers
    int gapMs = 0;          ///< delay between stream events
    int resetAfter = -1;    ///< -1: never; else abort the TCP connection after N events
    bool hang = false;      ///< never answer

    /// Header items first, then each body directive in order; a later item overrides.
    static MockScenario parse(QByteArrayView header, QByteArrayView body);
    /// Applies comma-separated `key=value` or bare `key` items; unknown keys are ignored.
    void apply(QByteArrayView items);

private:
    void applyItem(QByteArrayView key, QByteArrayView value);
    void applyNumber(QByteArrayView key, int value);
};

} // namespace tollgate::testsupport
