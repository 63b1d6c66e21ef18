#pragma once

#include <QByteArray>
#include <QList>

namespace tollgate::store {

/// One Redis reply as a value, copied out of hiredis so that no hiredis memory outlives the
/// call that read it. An error reply (`-NOSCRIPT ...`, `-WRONGTYPE ...`) is a reply: the
/// command reached the server; only I/O problems are errors of the call itself.
struct RedisReply {
    enum class Type { Nil, Integer, String, Status, Error, Array };

    Type type = Type::Nil;
    qint64 integer = 0;
    QByteArray string; ///< the bytes of a String, Status or Error reply
    QList<RedisReply> elements;

    bool isError() const { return type == Type::Error; }
    bool isNil() const { return type == Type::Nil; }
    /// An error reply whose code (the first word) is `code`, e.g. "NOSCRIPT".
    bool isErrorCode(QByteArrayView code) const
    {
        return isError() && string.startsWith(code) &&
               (string.size() == code.size() || string.at(code.size()) == ' ');
    }
};

} // namespace tollgate::store
