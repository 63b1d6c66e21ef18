#pragma once

#include <QByteArray>
#include <QString>

#include <optional>

namespace tollgate::bench {

/// One server the benchmark drives: a name for the table and a loopback address.
struct BenchTarget {
    QString name;
    quint16 port = 0;
    QByteArray hostHeader; ///< "127.0.0.1:PORT"

    /// Parses `name=http://127.0.0.1:PORT`. Only 127.0.0.1 is accepted: the benchmark never
    /// sends traffic off the machine.
    static std::optional<BenchTarget> parse(const QString &spec, QString *error);
};

} // namespace tollgate::bench
