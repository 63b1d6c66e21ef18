#pragma once

#include "common/expected.h"
#include "http/requestparser.h"
#include "http/serverconnection.h"
#include "http/upstreamcall.h"
#include "policy/providers.h"

#include <QByteArray>
#include <QHostAddress>
#include <QList>
#include <QSslCertificate>
#include <QString>
#include <QUrl>

namespace tollgate::policy {

/// A virtual key: callers present it instead of a provider key; it names a user, team and plan
/// and is never forwarded. Only its SHA-256 is kept. A trusted key (a team's own service, say)
/// may name other users and plans with x-tollgate-user / x-tollgate-plan.
struct GatewayKey {
    QString name;
    QByteArray sha256Hex;
    QString user;
    QString plan;
    QString team;
    bool trusted = false;
};

/// Everything the gateway process needs to run, with the reference defaults.
struct GatewayConfig {
    QHostAddress listenAddress = QHostAddress::LocalHost;
    quint16 listenPort = 8080;
    int workers = 0; ///< 0: one per core
    http::RequestLimits limits;
    http::ConnectionTimeouts clientTimeouts;
    int drainTimeoutMs = 30000;
    int defaultMaxTokens = 1024;
    int maxConnectionsPerHost = 512;
    int maxIdleConnectionsPerHost = 64;
    QList<ProviderConfig> providers = defaultProviders();
    QList<GatewayKey> gatewayKeys;
    QString dataDir; ///< empty: no request log
    int logRetentionDays = 30;
    qint64 logMaxRows = 2'000'000;
};

/// Applies a policy document (JSON) on top of `base`. Unknown keys and wrong types are errors
/// with their JSON path, e.g. `gateway.listen: expected "host:port"`.
/// `otherSections` names top-level keys that other parts read (routes, plans, ...): skipped here.
/// One problem comes back with its path; several as one line each, and in `problems`.
Expected<GatewayConfig> applyPolicy(const QByteArray &json, GatewayConfig base = {},
                                    const QStringList &otherSections = {},
                                    QList<Error> *problems = nullptr);

/// Parses "host:port" or "[v6]:port"; the host must be an IP address or "localhost".
Expected<QPair<QHostAddress, quint16>> parseListenAddress(const QString &text);

/// The provider called `name`, for changing it in place (flags, tests); nullptr when none.
ProviderConfig *findProvider(GatewayConfig &config, const QString &name);

/// Validates a provider base URL (http or https, with a host); a trailing "/v1" is dropped
/// because the gateway forwards paths that already start with /v1.
Expected<QUrl> parseBaseUrl(const QString &text);

/// Reads the CA certificates of a PEM file; an unreadable file or one without a certificate is
/// an error, so a mistyped path never silently leaves a private CA untrusted.
Expected<QList<QSslCertificate>> loadCaFile(const QString &path);

/// The problem that keeps this configuration from serving, or an empty string. A non-loopback
/// address needs gateway keys, or anyone on the network could spend the provider key.
QString servingProblem(const GatewayConfig &config);

} // namespace tollgate::policy
