#include "providerheaders.h"

namespace tollgate::testsupport {

HttpHeaders ProviderHeaders::anthropic(const QByteArray &apiKey)
{
    HttpHeaders headers{{"content-type", "application/json"}, {"anthropic-version", "2023-06-01"}};
    if (!apiKey.isEmpty())
        headers.append({"x-api-key", apiKey});
    return headers;
}

HttpHeaders ProviderHeaders::openAi(const QByteArray &apiKey)
{
    HttpHeaders headers{{"content-type", "application/json"}};
    if (!apiKey.isEmpty())
        headers.append({"authorization", "Bearer " + apiKey});
    return headers;
}

HttpHeaders ProviderHeaders::scenario(const QByteArray &items)
{
    if (items.isEmpty())
        return {};
    return {{"x-mock-scenario", items}};
}

} // namespace tollgate::testsupport
