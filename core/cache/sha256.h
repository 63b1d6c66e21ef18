#pragma once

#include <QByteArray>
#include <QByteArrayView>

namespace tollgate::cache {

/// SHA-256 of `data` (32 raw bytes). Every request's cache key is one, over the whole canonical
/// request (often 100 KB for coding agents), so it goes through OpenSSL, which uses the CPU's
/// SHA instructions when there are any — about ten times faster than Qt 6.4's portable code.
QByteArray sha256(QByteArrayView data);

} // namespace tollgate::cache
