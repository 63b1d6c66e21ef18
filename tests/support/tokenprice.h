#pragma once

#include <QtGlobal>

namespace tollgate::testsupport {

/// A model's price in USD per million tokens. Tests keep their own copy of the reference prices
/// (resources/prices.json, DESIGN.md) so that a changed price table fails them.
struct TokenPrice {
    double input = 0;
    double output = 0;
    double cacheWrite = 0;
    double cacheRead = 0;

    double costUsd(qint64 inputTokens, qint64 outputTokens, qint64 cacheWriteTokens = 0,
                   qint64 cacheReadTokens = 0) const;

    static TokenPrice sonnet4() { return {3.00, 15.00, 3.75, 0.30}; }
    static TokenPrice haiku3() { return {0.25, 1.25, 0.30, 0.03}; }
    static TokenPrice gpt4o() { return {2.50, 10.00, 2.50, 1.25}; }
    static TokenPrice gpt4oMini() { return {0.15, 0.60, 0.15, 0.075}; }

    /// Equal but for the rounding of sums of products of doubles.
    static bool sameUsd(double actual, double expected);
};

} // namespace tollgate::testsupport
