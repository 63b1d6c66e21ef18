#pragma once

#include <QByteArray>
#include <QByteArrayView>

namespace tollgate::cache {

/// SHA-256 of `data` (32 raw bytes). Every request's cache key is one, over the whole canonical
/// request (a few hundred bytes for a script, often 100 KB for a coding agent). On CPUs with SHA
/// instructions it runs a short in-house loop over them; elsewhere it goes through OpenSSL.
QByteArray sha256(QByteArrayView data);

/// True when sha256() uses the CPU's SHA instructions directly.
bool sha256UsesCpuInstructions();
/// SHA-256 through OpenSSL: the fallback, and the reference tests hold the fast path against.
QByteArray sha256WithOpenSsl(QByteArrayView data);

} // namespace tollgate::cache
