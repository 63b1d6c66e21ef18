#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QPair>

namespace tollgate::http {

/// Header fields in arrival order; names are lower-case.
using HeaderList = QList<QPair<QByteArray, QByteArray>>;

/// Value of the first header called `name` (lower-case), empty when absent.
QByteArray headerValue(const HeaderList &headers, QByteArrayView name);

/// `headers` with the value of every header that can carry a credential replaced by
/// "[redacted]": authorization, proxy-authorization, cookie, set-cookie, and any name holding
/// "key", "token", "secret", "auth", "password" or "session". For what is shown or stored.
HeaderList redactCredentials(HeaderList headers);

/// A parsed HTTP/1.1 request.
struct HttpRequest {
    QByteArray method;
    QByteArray path;  ///< target without the query
    QByteArray query; ///< after '?', empty when none
    HeaderList headers;
    QByteArray body;
    bool keepAlive = true;

    QByteArray header(QByteArrayView name) const { return headerValue(headers, name); }
};

/// Appends `text` lower-cased (ASCII) to `out`: how parsers store header names, which arrive in
/// one piece nearly always, so that piece becomes the name without a temporary.
void appendLowerCase(QByteArray &out, QByteArrayView text);
/// Appends `text` to `out`; the first piece is copied once, without QByteArray's growth logic.
void appendPiece(QByteArray &out, QByteArrayView text);

/// Reason phrase for a status code ("OK", "Too Many Requests", ...).
QByteArray reasonPhrase(int status);

} // namespace tollgate::http
