#pragma once

#include "metering/requestrecord.h"

#include <QString>

namespace tollgate::bench {

/// Request i of a generated request log: newer for smaller i, 2 ms apart, ending at `newestMs`,
/// with a spread of models, users, statuses, tokens and costs.
metering::RequestRecord generatedRequest(qint64 i, qint64 newestMs);

/// The request log's file in a data folder.
QString requestLogPath(const QString &dataDir);

/// Writes `rows` generated requests into the request log of `dataDir`, oldest first, unless it
/// holds exactly that many already; false (with a message on stderr) when it holds others or
/// cannot be written.
bool writeGeneratedLog(const QString &dataDir, qint64 rows);

} // namespace tollgate::bench
