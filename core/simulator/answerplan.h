#pragma once

#include "simulator/simulatoroptions.h"

#include <QByteArrayView>
#include <QList>
#include <QString>
#include <QStringList>

namespace tollgate::simulator {

/// A failure the simulator plays instead of an answer, or in the middle of a stream.
enum class Fault { None, RateLimited, Overloaded, ServerError, BrokenStream };

/// How large a model is, guessed from its name: it sets time to first token and output speed.
enum class ModelSize { Small, Medium, Large };
ModelSize modelSize(const QString &model);

/// The parts of a request that shape its answer.
struct AnswerRequest {
    QString model;
    qint64 inputTokens = 0;
    int maxTokens = 0; ///< 0: the client set no limit
    bool stream = false;
    quint64 promptHash = 0; ///< the prompt's fingerprint: with the seed and model, picks the text
};

/// One simulated answer, decided before its first byte leaves: text, usage, timing and fault.
/// Times are milliseconds from the request's arrival, already multiplied by the latency scale.
struct AnswerPlan {
    QString text;            ///< starts with "[simulated]"
    QStringList pieces;      ///< the text as streaming deltas; joined they give `text`
    QList<qint64> pieceAtMs; ///< when each piece leaves
    qint64 outputTokens = 0;
    bool truncated = false; ///< the answer stopped at max_tokens
    qint64 firstTokenMs = 0;
    qint64 doneAtMs = 0; ///< when the whole answer is ready (a non-streamed body)
    Fault fault = Fault::None;
    qint64 faultAtMs = 0;      ///< when the error status, or the in-stream error, goes out
    int faultAfterPieces = 0;  ///< BrokenStream: pieces sent before the error event
    int retryAfterSeconds = 0; ///< RateLimited
    QString id;                ///< random part of the message id
};

/// Plans the answer to request number `sequence`. Pure: the text depends on the seed, the model
/// and the prompt only, so a replayed request reads the same; the fault, the timing jitter and
/// the id also depend on `sequence`.
AnswerPlan planAnswer(const AnswerRequest &request, const SimulatorOptions &options,
                      quint64 sequence);

/// Tokens in a text of `chars` characters at about four characters a token, rounded up.
qint64 tokensInText(qsizetype chars);

/// 64-bit FNV-1a of `bytes` continued from `hash`: stable across machines and runs, unlike
/// qHash, so that a seed reproduces the same text everywhere.
quint64 fingerprint(QByteArrayView bytes, quint64 hash = 0xcbf29ce484222325ULL);

} // namespace tollgate::simulator
