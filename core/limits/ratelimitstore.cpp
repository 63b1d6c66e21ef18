#include "limits/ratelimitstore.h"

namespace tollgate::limits {

QString RateLimitStore::keyFor(const policy::Principal &principal)
{
    // Limits belong to people, so two keys of one user share the user's counters; the prefixes
    // keep a user called "local" apart from the local owner.
    if (principal.localOwner)
        return QStringLiteral("local");
    if (!principal.user.isEmpty())
        return QStringLiteral("user:") + principal.user;
    if (!principal.keyName.isEmpty())
        return QStringLiteral("key:") + principal.keyName;
    return QStringLiteral("anonymous");
}

} // namespace tollgate::limits
