#pragma once

#include "common/expected.h"
#include "store/redisclient.h"

#include <QJsonObject>
#include <QList>
#include <QString>

namespace tollgate::store {

/// `state.redis`: the Redis that replicas share state through. Off while `url` is empty.
struct RedisSettings {
    /// redis://host:port/db. A password does not belong here (the policy is exported): name the
    /// variable that holds it in passwordEnv. The --redis flag may carry one.
    QString url;
    QString passwordEnv; ///< environment variable with the password; empty: none
    /// Before every key ("tollgate:" gives tollgate:rl:user:alice); empty keeps the reference
    /// layout rl:user:<user>.
    QString keyPrefix;
    int timeoutMs = 50;     ///< connect and each command; a lookup never waits longer
    bool rateLimits = true; ///< share rate-limit counters
    bool cache = true;      ///< share cached answers
    bool budgets = true;    ///< share budget spend

    bool enabled() const { return !url.isEmpty(); }
    /// Client options: the URL parsed and the password read from passwordEnv (which must then
    /// be set). Errors never contain the password.
    Expected<RedisClient::Options> clientOptions() const;
};

/// The `state` section of the policy document: where state shared by replicas lives. Without
/// it (the reference) every replica keeps its own, which is right for one process and the
/// desktop console. Read at start only: a reload keeps the running settings.
class StatePolicy {
public:
    static StatePolicy reference() { return {}; }

    /// Reads `state` from the whole policy document and ignores its other sections. The error
    /// is the first of validate()'s problems.
    static Expected<StatePolicy> fromJson(const QJsonObject &document);
    /// Every problem of `state`, each with its JSON path, e.g.
    /// `state.redis.timeout_ms: expected an integer from 1 to 10000`. Empty when valid.
    static QList<Error> validate(const QJsonObject &document);

    /// The effective section (the value of `state`), in the format fromJson() reads; the URL
    /// never shows a password.
    QJsonObject toJson() const;

    RedisSettings redis;

private:
    static StatePolicy parse(const QJsonObject &document, QList<Error> *problems);
};

} // namespace tollgate::store
