#pragma once

#include "limits/admission.h"
#include "limits/planpolicy.h"
#include "policy/requestfeatures.h"

#include <QString>

namespace tollgate::limits {

/// Whether a request will hold a concurrent-stream slot while it runs.
enum class RequestKind { Plain, Stream };

/// Where rate-limit counters live: in memory for one process (RateLimiter), in Redis for
/// replicas that share limits (keys "rl:" + key, e.g. "rl:user:alice"). Every call may come from
/// any worker thread at once. Time is always an argument, never read inside, so decisions are
/// the same live, under a fake clock and when replaying the request log.
class RateLimitStore {
public:
    virtual ~RateLimitStore() = default;

    /// Decides one request under `plan` and, when it is allowed, counts it (a denied request
    /// counts against nothing). Token limits are checked against what charge() recorded.
    virtual Admission admit(const QString &key, const Plan &plan, qint64 nowMs,
                            RequestKind kind) = 0;
    /// Records a finished request's tokens against the plan's token-per-minute limits (usage is
    /// known only once the response is done; the next admission sees it).
    virtual void charge(const QString &key, const Plan &plan, qint64 inputTokens,
                        qint64 outputTokens, qint64 nowMs) = 0;
    /// Gives back the stream slot of an admission with holdsStreamSlot, once that stream ends.
    virtual void release(const QString &key) = 0;

    /// The counter key of a principal: "user:<user>" for an identified user (whichever key
    /// or header named them), "key:<name>" for a gateway key without a user, "local" for the
    /// local owner.
    static QString keyFor(const policy::Principal &principal);
};

} // namespace tollgate::limits
