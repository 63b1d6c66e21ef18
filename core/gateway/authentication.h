#pragma once

#include "http/httpmessage.h"
#include "policy/gatewayconfig.h"
#include "policy/requestfeatures.h"

namespace tollgate::gateway {

/// Who a request is for, or why it is refused (status 401 with a message for the client).
struct Authentication {
    policy::Principal principal;
    int status = 0; ///< 0: accepted
    QString error;
};

/// Establishes the principal of a request. With gateway keys, the presented key names the user,
/// team and plan; only a trusted key may name others through x-tollgate-user/-plan. Without
/// keys, a loopback caller is trusted with those headers, and a request without
/// x-tollgate-user belongs to the local owner. Never forwards, logs or returns the key.
Authentication authenticate(const QList<policy::GatewayKey> &keys, const http::HttpRequest &request,
                            bool fromLoopback);

/// The user to record for attribution from Anthropic `metadata.user_id` / OpenAI `user`.
/// Claude Code sends a JSON object there; its account (or a short device id) is used.
QString attributionUser(const QString &rawUser);

} // namespace tollgate::gateway
