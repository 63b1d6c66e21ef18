#pragma once

#include "api/canonicalobject.h"
#include "api/usage.h"
#include "common/expected.h"

#include <QByteArray>
#include <QList>
#include <QPair>
#include <QString>

#include <optional>

namespace tollgate::api {

/// Gateway defaults applied when a client leaves a field out.
struct RequestDefaults {
    int maxTokens = 1024;
};

/// What the gateway needs to know about a client's JSON request, and the body to send upstream.
struct ClientRequest {
    QString model;
    bool stream = false;
    /// The client asked for the OpenAI usage chunk itself (`stream_options.include_usage`).
    bool clientWantsUsageChunk = false;
    int maxTokens = 0;
    bool maxTokensDefaulted = false;
    /// Anthropic `metadata.user_id` or OpenAI `user`, empty when absent.
    QString user;
    /// The string members of the body's `metadata` object (the first 64 members; the last of
    /// repeated keys), then, for OpenAI, `user` as "user_id". Other value types are left out.
    QList<QPair<QString, QString>> metadata;
    /// Body to forward: the client's bytes unchanged unless a default had to be filled in or
    /// OpenAI streaming usage had to be requested.
    QByteArray upstreamBody;
    /// The members of upstreamBody in canonical spelling, made from the parse above so that the
    /// cache key needs no second parse; nullopt when only Qt's parser accepted the body.
    std::optional<CanonicalObject> canonical;
};

/// Parses and normalizes a Messages (Anthropic) or Chat Completions (OpenAI) request body.
/// Errors are worded for the client and carry the JSON path of the offending field.
Expected<ClientRequest> parseClientRequest(Flavor flavor, const QByteArray &body,
                                           const RequestDefaults &defaults = {});

/// Parses a count_tokens request: only the model is needed.
Expected<QString> parseCountTokensModel(const QByteArray &body);

} // namespace tollgate::api
