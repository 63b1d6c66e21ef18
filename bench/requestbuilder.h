#pragma once

#include "benchtarget.h"

#include <QByteArray>

namespace tollgate::bench {

/// Builds the Anthropic Messages requests the benchmark sends. Every prompt carries its sequence
/// number, so no request is ever a cache hit and every target does the full work; in `repeat`
/// mode every request is the same one, so a gateway's cache answers all but the first.
class RequestBuilder {
public:
    struct Options {
        bool stream = false;
        int streamEvents = 4;    ///< content deltas the mock streams
        int streamGapMs = 2;     ///< mock delay between stream events
        bool repeat = false;     ///< send one request over and over (cache hits)
        quint64 repeatSeq = 0;   ///< the sequence number that request carries
        QByteArray extraHeaders; ///< "name: value\r\n" lines added to every request
    };

    explicit RequestBuilder(Options options);

    QByteArray build(const BenchTarget &target, quint64 seq) const;
    /// A byte string every correct response body contains.
    QByteArray expectedMarker() const;
    bool streaming() const { return m_options.stream; }
    bool repeats() const { return m_options.repeat; }

private:
    Options m_options;
};

} // namespace tollgate::bench
