#pragma once

#include <QString>

namespace tollgate {

/// One CSV field (RFC 4180): a field with a separator, a quote or a line break is quoted, its
/// quotes doubled; any other field stays as it is.
inline QString csvField(QString text)
{
    if (!text.contains(QLatin1Char(',')) && !text.contains(QLatin1Char('"')) &&
        !text.contains(QLatin1Char('\n')) && !text.contains(QLatin1Char('\r')))
        return text;
    text.replace(QLatin1Char('"'), QLatin1String("\"\""));
    return QLatin1Char('"') + text + QLatin1Char('"');
}

} // namespace tollgate
