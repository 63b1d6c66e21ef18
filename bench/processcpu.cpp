#include "processcpu.h"

#include <QByteArray>
#include <QFile>
#include <QList>

#include <unistd.h>

namespace tollgate::bench {

double ProcessCpu::seconds(const std::vector<int> &pids)
{
    static const long ticksPerSecond = ::sysconf(_SC_CLK_TCK);
    double total = 0;
    for (const int pid : pids) {
        QFile file(QStringLiteral("/proc/%1/stat").arg(pid));
        if (!file.open(QIODevice::ReadOnly))
            return -1;
        const QByteArray stat = file.readAll();
        // The command name may hold spaces and parentheses: fields count from the last ')'.
        const qsizetype close = stat.lastIndexOf(')');
        if (close < 0)
            return -1;
        const QList<QByteArray> fields = stat.mid(close + 2).split(' ');
        // After the name: state(0) ... utime(11) stime(12), i.e. fields 14 and 15 of proc(5).
        if (fields.size() < 13)
            return -1;
        total += double(fields[11].toLongLong() + fields[12].toLongLong());
    }
    return total / double(ticksPerSecond);
}

} // namespace tollgate::bench
