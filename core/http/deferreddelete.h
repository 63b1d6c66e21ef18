#pragma once

#include <QObject>

namespace tollgate::http {

/// Deletes objects once the event handler that finished with them has returned, without a trip
/// through the event loop: deleteLater() posts an event, which costs a wake-up of the loop (a
/// system call) for every request it is used for.
///
/// A Scope marks the extent of an event handler (socket readiness, a timer); what later() is given
/// inside it is deleted when the outermost Scope of the thread ends. Outside any Scope, later()
/// falls back to deleteLater().
class DeferredDelete {
public:
    class Scope {
    public:
        Scope();
        ~Scope();
        Scope(const Scope &) = delete;
        Scope &operator=(const Scope &) = delete;
    };

    /// Deletes `object` once nothing of the current handler is on the stack.
    static void later(QObject *object);
};

} // namespace tollgate::http
