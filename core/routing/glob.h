#pragma once

#include <QStringView>

namespace tollgate::routing {

/// Whether `pattern` uses wildcards (`*` or `?`); a pattern without them is an exact name.
bool isGlob(QStringView pattern);

/// Matches `text` against a shell-style pattern: `*` is any run of characters (none included),
/// `?` exactly one, everything else is literal and case-sensitive. Unlike
/// QRegularExpression::fromWildcard, `*` also crosses '/', because model names ("openai/gpt-4o")
/// and header values (user agents) are not paths. No character classes: `[` in a model name is
/// literal.
bool globMatch(QStringView pattern, QStringView text);

} // namespace tollgate::routing
