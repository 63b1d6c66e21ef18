#include "routing/complexity.h"

#include <algorithm>
#include <cmath>

namespace tollgate::routing {

namespace {

// Weights and saturation points of the formula documented in complexity.h and docs/routing.md;
// change both together.
constexpr double kLengthWeight = 0.30;
constexpr double kDepthWeight = 0.15;
constexpr double kToolsWeight = 0.15;
constexpr double kCodeWeight = 0.20;
constexpr double kMathWeight = 0.10;
constexpr double kOutputWeight = 0.10;

constexpr double kLengthFloorChars = 128;   // shorter prompts count as trivial
constexpr double kLengthDoublings = 8;      // 128 * 2^8 = 32,768 chars saturates
constexpr double kDepthSaturation = 15;     // messages beyond the first
constexpr double kToolsSaturation = 4;      // an agent with a handful of tools is already agentic
constexpr double kCodeSaturation = 4;       // fences, whether counted per block or per fence
constexpr double kMathSaturation = 6;       // markers
constexpr double kOutputFloorTokens = 1024; // the reference default asks for nothing special
constexpr double kOutputDoublings = 4;      // 1024 * 2^4 = 16,384 saturates

double unit(double value)
{
    // NaN (only from corrupt counters) counts as no signal rather than poisoning the sum.
    if (!(value > 0))
        return 0;
    return std::min(value, 1.0);
}

double logScaled(double value, double floor, double doublings)
{
    if (!(value > floor))
        return 0;
    return unit(std::log2(value / floor) / doublings);
}

} // namespace

double estimateComplexity(const policy::RequestFeatures &features)
{
    const double length =
        logScaled(double(features.promptChars), kLengthFloorChars, kLengthDoublings);
    const double depth = unit((double(features.messageCount) - 1) / kDepthSaturation);
    const double tools = unit(double(features.toolCount) / kToolsSaturation);
    const double code = unit(double(features.codeBlockCount) / kCodeSaturation);
    const double math = unit(double(features.mathMarkerCount) / kMathSaturation);
    const double output =
        logScaled(double(features.maxTokens), kOutputFloorTokens, kOutputDoublings);

    const double sum = kLengthWeight * length + kDepthWeight * depth + kToolsWeight * tools +
                       kCodeWeight * code + kMathWeight * math + kOutputWeight * output;
    // The weights sum to 1, but rounding may land a hair above it.
    return std::clamp(sum, 0.0, 1.0);
}

} // namespace tollgate::routing
