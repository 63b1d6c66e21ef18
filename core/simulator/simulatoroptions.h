#pragma once

#include <QtGlobal>

namespace tollgate::simulator {

/// How the simulated provider behaves. The defaults look like a real provider on an ordinary day:
/// sub-second first tokens, tens of tokens a second, a few percent of failed calls.
struct SimulatorOptions {
    /// The same seed and request give the same answer text; faults and timing also follow it.
    quint64 seed = 1;
    /// Multiplies every delay; 0 answers at once (tests), 2 plays a slow day.
    double latencyScale = 1.0;
    /// Share of generation requests (0..1) that fail: 429, overloaded, 500 or a broken stream.
    double errorRate = 0.03;
    /// Output speed of a mid-size model; small models run faster, large ones slower.
    double tokensPerSecond = 50;
};

} // namespace tollgate::simulator
