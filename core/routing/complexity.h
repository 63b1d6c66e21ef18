#pragma once

#include "policy/requestfeatures.h"

namespace tollgate::routing {

/// Estimates how demanding a request is, 0 (trivial) to 1 (hard), for callers that send no
/// `x-tollgate-complexity`. It runs on every routed request, so it reads only the counters the
/// pipeline already extracted (no text scanning here) and costs two logarithms.
///
/// The estimate is a weighted sum of six signals, each scaled to 0..1 and saturating, so that no
/// single signal can push a request over the reference threshold (0.7) on its own:
///
/// | signal  | weight | scaled value                                       | 1.0 reached at      |
/// |---------|--------|----------------------------------------------------|---------------------|
/// | length  | 0.30   | log2(promptChars / 128) / 8                        | 32,768 chars        |
/// | depth   | 0.15   | (messageCount - 1) / 15                            | 16 messages         |
/// | tools   | 0.15   | toolCount / 4                                      | 4 tools             |
/// | code    | 0.20   | codeBlockCount / 4                                 | 4 code fences       |
/// | math    | 0.10   | mathMarkerCount / 6                                | 6 math markers      |
/// | output  | 0.10   | log2(maxTokens / 1024) / 4                         | 16,384 max_tokens   |
///
/// Each value is clamped to 0..1, so prompts under 128 characters, a single message and the
/// default max_tokens of 1024 (or none) contribute nothing. Length and output are log-scaled
/// because doubling a long prompt says far less about difficulty than going from one line to a
/// page. The weights sum to 1. docs/routing.md explains the choice with examples.
double estimateComplexity(const policy::RequestFeatures &features);

} // namespace tollgate::routing
