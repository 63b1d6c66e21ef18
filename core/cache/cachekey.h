#pragma once

#include "api/canonicalobject.h"
#include "api/usage.h"

#include <QByteArray>
#include <QJsonObject>
#include <QString>

namespace tollgate::cache {

/// Version of the canonical form. It is hashed into every key, so changing what goes into a key
/// (or how it is spelled) must bump it: persisted entries then stop matching instead of answering
/// requests they were not recorded for.
inline constexpr const char *kCacheKeyVersion = "tollgate-cache-key/1";

/// True for a top-level request member that never changes the answer and so stays out of the
/// key: `stream`, `stream_options`, `metadata`, `user`, `safety_identifier`, and credential-like
/// names (containing `api_key`, `apikey`, `api-key`, `authorization`, `secret`, `password`,
/// `credential` or `access_token`, case-insensitive).
bool isExcludedFromKey(const QString &member);
/// The same for a member name in UTF-8.
bool isExcludedFromKey(QByteArrayView member);

/// The exact bytes a key is the hash of, for tests and for explaining a miss.
///
/// In: the key version, the API flavor, and every top-level member of `requestBody` except those
/// isExcludedFromKey() names — so model, system, messages, tools, tool_choice, temperature,
/// top_p, top_k, max_tokens / max_completion_tokens, stop / stop_sequences, response_format,
/// thinking, n, seed, logprobs, penalties, reasoning_effort and any member a provider adds later
/// (an unknown member can only split entries, never merge two different requests). `model` is
/// replaced by `routedModel` (when not empty), so requests that routing sends to the same model
/// share an entry whatever alias they named. Values nested inside members are kept whole
/// (including `cache_control` markers).
///
/// Canonical spelling: object keys sorted, no whitespace, strings escaped one way, numbers
/// normalized (1, 1.0 and 1e0 are the same; -0 is 0; non-integers in shortest round-trip form).
/// Nothing else is normalized: a missing `temperature` and `temperature: 1` are different keys.
///
/// Pass the body the gateway sends upstream (after defaults such as Anthropic `max_tokens` 1024
/// were filled in), so a request that relies on a default and one that spells it out agree.
QByteArray canonicalRequest(api::Flavor flavor, const QJsonObject &requestBody,
                            const QString &routedModel);
/// The same from the members the request parser already put in canonical spelling
/// (api::ClientRequest::canonical): the same bytes, without parsing the body again.
QByteArray canonicalRequest(api::Flavor flavor, const api::CanonicalObject &members,
                            const QString &routedModel);
/// The same from the body's JSON text: parsed with simdjson, or by Qt when simdjson refuses what
/// Qt tolerates.
QByteArray canonicalRequest(api::Flavor flavor, const QByteArray &requestBody,
                            const QString &routedModel);

/// The cache key of a request after routing: lower-case hex SHA-256 (64 characters) of
/// canonicalRequest(). Headers never take part, so credentials cannot reach a key.
QByteArray cacheKey(api::Flavor flavor, const QJsonObject &requestBody, const QString &routedModel);
/// The same key from canonical members; the pipeline's way, as the request parser made them.
QByteArray cacheKey(api::Flavor flavor, const api::CanonicalObject &members,
                    const QString &routedModel);
/// The same key from the body's JSON text (a body the router rewrote).
QByteArray cacheKey(api::Flavor flavor, const QByteArray &requestBody, const QString &routedModel);

} // namespace tollgate::cache
