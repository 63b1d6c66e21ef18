#include "tokenprice.h"

namespace tollgate::testsupport {

double TokenPrice::costUsd(qint64 inputTokens, qint64 outputTokens, qint64 cacheWriteTokens,
                           qint64 cacheReadTokens) const
{
    return (double(inputTokens) * input + double(outputTokens) * output +
            double(cacheWriteTokens) * cacheWrite + double(cacheReadTokens) * cacheRead) /
           1e6;
}

bool TokenPrice::sameUsd(double actual, double expected)
{
    return qAbs(actual - expected) <= 1e-12 + 1e-9 * qAbs(expected);
}

} // namespace tollgate::testsupport
