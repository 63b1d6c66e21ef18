#pragma once

#include "http/upstreamcall.h"

#include <QHash>
#include <QList>
#include <QObject>
#include <QQueue>

namespace tollgate::http {

class UpstreamConnection;

/// Keep-alive connections to upstream hosts, owned by one worker thread. Unlike
/// QNetworkAccessManager it has no six-connection cap: up to maxConnectionsPerHost run at
/// once, further calls wait in order, and up to maxIdlePerHost idle connections are kept.
class UpstreamPool : public QObject {
    Q_OBJECT
public:
    struct Options {
        int maxConnectionsPerHost = 512;
        int maxIdlePerHost = 64;
        int idleCloseMs = 60000; ///< an idle pooled connection is closed after this
    };

    explicit UpstreamPool(Options options, QObject *parent = nullptr);
    ~UpstreamPool() override;

    /// Starts a call; the caller owns it (through `parent`).
    UpstreamCall *start(UpstreamRequest request, QObject *parent);

    int idleConnections() const;
    int activeConnections() const;

private:
    friend class UpstreamCall;
    friend class UpstreamConnection;
    struct Host {
        QList<UpstreamConnection *> idle;
        QQueue<QPointer<UpstreamCall>> waiting;
        int active = 0;
    };

    void acquire(UpstreamCall *call, bool fresh);
    void release(UpstreamCall *call, UpstreamConnection *connection, bool reusable);
    void serveWaiting(Host &host);
    void forget(UpstreamConnection *connection);
    /// Calls share connections only when they reach the same origin and trust the same CAs:
    /// a connection verified with extra CAs must not serve a request that does not trust them.
    static QString hostKey(const UpstreamRequest &request);

    Options m_options;
    QHash<QString, Host> m_hosts;
    QUrl m_lastUrl; ///< the origin of the last call, and its key
    QList<QSslCertificate> m_lastCaCertificates;
    QString m_lastKey;
};

} // namespace tollgate::http
