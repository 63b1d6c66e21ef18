#pragma once

#include "api/usage.h"
#include "common/expected.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QString>

namespace tollgate::cache {

/// One stored answer: a 2xx response as the provider sent it (whole body or SSE events), what it
/// used and when it expires. Immutable once stored and shared between workers as
/// `std::shared_ptr<const CachedResponse>`, so a hit copies nothing.
struct CachedResponse {
    api::Flavor flavor = api::Flavor::Anthropic;
    int status = 200;         ///< only 2xx are stored
    QByteArray contentType;   ///< as the provider sent it
    QByteArray body;          ///< body of a non-stream response; empty for a recorded stream
    QList<QByteArray> events; ///< raw bytes of each SSE event (with its blank line), in order
    api::Usage usage;         ///< what the original call used: a hit is metered as this, saved
    QString model;            ///< the model that served it
    qint64 createdAtMs = 0;
    qint64 expiresAtMs = 0; ///< first instant the entry is no longer served

    /// The entry was recorded from a stream (it holds events, not a body).
    bool isStream() const { return !events.isEmpty(); }
    bool isExpiredAt(qint64 nowMs) const { return nowMs >= expiresAtMs; }

    /// Memory the entry holds, for the byte-bounded LRU: payload bytes plus a fixed overhead per
    /// event and per entry, so many tiny events are not under-counted.
    qint64 sizeBytes() const;

    /// The response as a non-stream body. The stored body when there is one; otherwise the final
    /// message assembled from the events (Anthropic: message_start, content blocks with text,
    /// thinking, citations and tool input joined from input_json_delta, message_delta stop
    /// reason and usage; OpenAI: chunks joined into a chat.completion with content, refusal,
    /// tool_calls, finish_reason and the usage chunk). Empty when the events do not make a
    /// complete message: the caller then treats the entry as a miss.
    QByteArray toJsonBody() const;

    /// The response as SSE events. The stored events byte for byte when there are any (an OpenAI
    /// usage-only chunk is left out unless `includeUsageChunk`, as the live path hides it from a
    /// client that did not ask for it); otherwise a stream synthesized from the body with the
    /// event types and order of the real APIs (Anthropic: message_start, per block
    /// content_block_start / ping after the first / content_block_delta / content_block_stop,
    /// message_delta, message_stop; OpenAI: role chunk, content / tool call chunks, finish chunk,
    /// the usage chunk when `includeUsageChunk`, `data: [DONE]`). Empty when the body is not a
    /// message.
    QList<QByteArray> toSseEvents(bool includeUsageChunk) const;

    /// Content-type to answer with: the stored one when the stored kind is the one asked for.
    QByteArray contentTypeFor(bool stream) const;

    /// Self-describing binary form for the persistent tiers (SQLite now, Redis later). It starts
    /// with a magic and a format version; deserialize() refuses anything else.
    QByteArray serialize() const;
    static Expected<CachedResponse> deserialize(QByteArrayView bytes);
};

} // namespace tollgate::cache
