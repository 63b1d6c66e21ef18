#include "mockcall.h"

namespace tollgate::testsupport {

QList<QByteArray> MockCall::textPieces() const
{
    if (scenario.events == 3)
        return {QByteArrayLiteral("Hello"), QByteArrayLiteral(" from"),
                QByteArrayLiteral(" mock.")};
    QList<QByteArray> pieces;
    pieces.reserve(scenario.events);
    for (int i = 1; i <= scenario.events; ++i)
        pieces.append('w' + QByteArray::number(i) + ' ');
    return pieces;
}

QList<QByteArray> MockCall::toolInputPieces() const
{
    const QByteArray input = toolInput();
    const qsizetype count = qBound(1, scenario.events, int(input.size()));
    QList<QByteArray> pieces;
    pieces.reserve(count);
    for (qsizetype i = 0; i < count; ++i) {
        const qsizetype from = input.size() * i / count;
        pieces.append(input.mid(from, input.size() * (i + 1) / count - from));
    }
    return pieces;
}

QByteArray jsonString(QByteArrayView text)
{
    static constexpr char hex[] = "0123456789abcdef";
    QByteArray out;
    out.reserve(text.size() + 2);
    out.append('"');
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\')
            out.append('\\').append(c);
        else if (c == '\n')
            out.append("\\n");
        else if (u < 0x20)
            out.append("\\u00").append(hex[u >> 4]).append(hex[u & 15]);
        else
            out.append(c);
    }
    out.append('"');
    return out;
}

} // namespace tollgate::testsupport
