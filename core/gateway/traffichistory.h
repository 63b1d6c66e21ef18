#pragma once

#include "common/expected.h"

namespace tollgate::gateway {

struct GatewayContext;

/// Turns on the context's traffic series for a watching console and fills it with what the
/// request log holds of the last week, so cards and charts survive a restart. Every request is
/// counted once: those finished before the moment of turning on come from the log (flushed
/// first), later ones live. Reading a big log takes a while: call it off the GUI thread. Returns
/// how many requests came from the log; 0 when the series was already on or there is no log.
Expected<qint64> watchTraffic(GatewayContext &context);

} // namespace tollgate::gateway
