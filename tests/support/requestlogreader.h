#pragma once

#include <QHash>
#include <QString>
#include <QVariantMap>

namespace tollgate::testsupport {

/// Every row of a gateway's request log (`requests.sqlite`), keyed by request id, columns by
/// name. False with a reason when the file cannot be read or two rows share an id.
bool readRequestLog(const QString &path, QHash<QString, QVariantMap> *rows, QString *error);

} // namespace tollgate::testsupport
