#pragma once

#include "httptestclient.h"

namespace tollgate::testsupport {

/// The header fields each provider's clients send, for requests built in tests.
class ProviderHeaders {
public:
    /// content-type, anthropic-version and, unless empty, `x-api-key: KEY`.
    static HttpHeaders anthropic(const QByteArray &apiKey = {});
    /// content-type and, unless empty, `authorization: Bearer KEY`.
    static HttpHeaders openAi(const QByteArray &apiKey = {});
    /// `x-mock-scenario: ITEMS` (see README.md), or nothing when `items` is empty.
    static HttpHeaders scenario(const QByteArray &items);
};

} // namespace tollgate::testsupport
