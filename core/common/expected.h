#pragma once

#include <QString>

#include <optional>
#include <utility>
#include <variant>

namespace tollgate {

/// An error as a value: what went wrong, with an optional path into the input that caused it.
struct Error {
    Error(QString message_ = {}, QString path_ = {})
        : message(std::move(message_))
        , path(std::move(path_))
    {
    }

    QString message;
    QString path;

    QString toString() const
    {
        return path.isEmpty() ? message : path + QStringLiteral(": ") + message;
    }
};

/// A value or the reason there is none (C++17 stand-in for std::expected).
template <typename T> class Expected {
public:
    Expected(T value)
        : m_state(std::move(value))
    {
    }
    Expected(Error error)
        : m_state(std::move(error))
    {
    }

    bool ok() const { return std::holds_alternative<T>(m_state); }
    explicit operator bool() const { return ok(); }

    T &value() { return std::get<T>(m_state); }
    const T &value() const { return std::get<T>(m_state); }
    T &operator*() { return value(); }
    const T &operator*() const { return value(); }
    T *operator->() { return &value(); }
    const T *operator->() const { return &value(); }

    const Error &error() const { return std::get<Error>(m_state); }

private:
    std::variant<T, Error> m_state;
};

} // namespace tollgate
