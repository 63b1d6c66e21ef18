#pragma once

#include "benchtarget.h"

#include <QByteArray>

namespace tollgate::bench {

/// Builds the Anthropic Messages requests the benchmark sends. Every prompt carries its sequence
/// number, so no request is ever a cache hit and every target does the full work.
class RequestBuilder {
public:
    struct Options {
        bool stream = false;
        int streamEvents = 4; ///< content deltas the mock streams
        int streamGapMs = 2;  ///< mock delay between stream events
    };

    explicit RequestBuilder(Options options);

    QByteArray build(const BenchTarget &target, quint64 seq) const;
    /// A byte string every correct response body contains.
    QByteArray expectedMarker() const;
    bool streaming() const { return m_options.stream; }

private:
    Options m_options;
};

} // namespace tollgate::bench
