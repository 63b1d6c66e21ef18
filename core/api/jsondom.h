#pragma once

// Internal to the core: includes simdjson, which the core links privately.

#include <QByteArray>

#include <simdjson.h>

namespace tollgate::api {

/// Bodies up to this size reuse the thread's parser and its padded copy of the input; a larger one
/// gets a parser of its own, so one huge body does not pin many times its size in every worker
/// thread.
inline constexpr qsizetype kReusedJsonParserCapacity = 4 * 1024 * 1024;

/// The calling thread's DOM parser, reused across parses: one buffer per worker, no locks.
simdjson::dom::parser &threadJsonParser();

/// Parses `json` with simdjson's DOM parser and hands the root to `read`, which must not keep it,
/// nor parse on this thread itself: the thread's parser is reused by the next parse. Returns
/// simdjson's error when it refuses the text (then `read` is not called).
///
/// simdjson reads up to SIMDJSON_PADDING bytes past the input. A QByteArray grown by appends often
/// has that much spare capacity, and is then read in place; otherwise the parser copies it into a
/// padded buffer it keeps. (Qt 6.4 has no const data_ptr(); reading the free space neither
/// detaches nor writes.)
template <typename Read> simdjson::error_code readJsonDom(const QByteArray &json, Read &&read)
{
    const auto parse = [&](simdjson::dom::parser &parser) {
        const qsizetype spare = const_cast<QByteArray &>(json).data_ptr().freeSpaceAtEnd();
        const bool copy = spare < qsizetype(simdjson::SIMDJSON_PADDING);
        simdjson::dom::element root;
        if (const simdjson::error_code error =
                parser.parse(json.constData(), size_t(json.size()), copy).get(root))
            return error;
        read(root);
        return simdjson::SUCCESS;
    };
    if (json.size() > kReusedJsonParserCapacity) {
        simdjson::dom::parser parser;
        return parse(parser);
    }
    return parse(threadJsonParser());
}

} // namespace tollgate::api
