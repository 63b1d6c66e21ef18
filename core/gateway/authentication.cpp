#include "gateway/authentication.h"

#include <QCryptographicHash>
#include <QJsonDocument>
#include <QJsonObject>

namespace tollgate::gateway {

namespace {

QByteArray presentedKey(const http::HttpRequest &request)
{
    QByteArray key = request.header("x-api-key");
    if (key.isEmpty()) {
        const QByteArray authorization = request.header("authorization");
        if (authorization.toLower().startsWith("bearer "))
            key = authorization.mid(7).trimmed();
    }
    return key;
}

/// Applies the x-tollgate-user / x-tollgate-plan headers a trusted caller may send.
void applyTrustedHints(const http::HttpRequest &request, policy::Principal &principal)
{
    const QString user = QString::fromUtf8(request.header("x-tollgate-user")).trimmed();
    const QString plan = QString::fromUtf8(request.header("x-tollgate-plan")).trimmed();
    if (!user.isEmpty()) {
        principal.user = user;
        principal.localOwner = false;
    }
    if (!plan.isEmpty())
        principal.plan = plan;
}

} // namespace

Authentication authenticate(const QList<policy::GatewayKey> &keys, const http::HttpRequest &request,
                            bool fromLoopback)
{
    Authentication result;
    if (keys.isEmpty()) {
        // Without keys only loopback callers get here (non-loopback listening needs keys).
        if (fromLoopback)
            applyTrustedHints(request, result.principal);
        return result;
    }
    const QByteArray presented = presentedKey(request);
    if (presented.isEmpty()) {
        result.status = 401;
        result.error =
            QStringLiteral("missing gateway key: send it as x-api-key or Authorization: Bearer");
        return result;
    }
    const QByteArray hash = QCryptographicHash::hash(presented, QCryptographicHash::Sha256).toHex();
    auto key = std::find_if(keys.begin(), keys.end(),
                            [&](const policy::GatewayKey &k) { return k.sha256Hex == hash; });
    if (key == keys.end()) {
        result.status = 401;
        result.error = QStringLiteral("invalid gateway key");
        return result;
    }
    policy::Principal &principal = result.principal;
    principal.localOwner = false;
    principal.keyName = key->name;
    principal.user = key->user.isEmpty() ? key->name : key->user;
    principal.team = key->team;
    principal.plan = key->plan;
    if (key->trusted)
        applyTrustedHints(request, principal);
    return result;
}

QString attributionUser(const QString &rawUser)
{
    if (!rawUser.startsWith(QLatin1Char('{')))
        return rawUser;
    const QJsonObject object = QJsonDocument::fromJson(rawUser.toUtf8()).object();
    const QString account = object.value(u"account_uuid").toString();
    if (!account.isEmpty())
        return account;
    const QString device = object.value(u"device_id").toString();
    if (!device.isEmpty())
        return QStringLiteral("device:") + device.left(12);
    return rawUser;
}

} // namespace tollgate::gateway
