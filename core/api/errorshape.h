#pragma once

#include "api/usage.h"

#include <QByteArray>
#include <QString>

namespace tollgate::api {

/// Anthropic error type for an HTTP status (400 invalid_request_error ... 529 overloaded_error).
QString anthropicErrorType(int status);
/// OpenAI error type for an HTTP status (invalid_request_error, authentication_error, ...).
QString openAiErrorType(int status);

/// A JSON error body in the caller's API shape:
/// Anthropic `{"type":"error","error":{"type":...,"message":...}}`,
/// OpenAI `{"error":{"message":...,"type":...,"param":null,"code":...}}`.
QByteArray errorBody(Flavor flavor, int status, const QString &message);

/// An in-stream error for a stream that already started: Anthropic `event: error` with the
/// same body shape; OpenAI has no error event, so a `data:` chunk carrying an error object.
QByteArray streamErrorEvent(Flavor flavor, int status, const QString &message);

/// An upstream error response in the caller's shape: kept as is when it already has that shape,
/// otherwise wrapped with a message naming the upstream status and a short excerpt of its body.
QByteArray normalizeUpstreamError(Flavor flavor, int status, const QByteArray &upstreamBody);

} // namespace tollgate::api
