#include "http/deferreddelete.h"

#include <QPointer>

#include <vector>

namespace tollgate::http {

namespace {

struct Pending {
    int depth = 0;
    std::vector<QPointer<QObject>> objects;
};

// One list per thread: every worker's objects live and die on that worker.
Pending &pending()
{
    thread_local Pending state;
    return state;
}

} // namespace

DeferredDelete::Scope::Scope()
{
    ++pending().depth;
}

DeferredDelete::Scope::~Scope()
{
    Pending &state = pending();
    if (state.depth > 1) {
        --state.depth;
        return;
    }
    // Destructors may defer more deletions; they are taken in this same pass, still inside the
    // scope so that none of them falls back to deleteLater().
    while (!state.objects.empty()) {
        std::vector<QPointer<QObject>> objects;
        objects.swap(state.objects);
        for (const QPointer<QObject> &object : objects)
            delete object.data(); // null when something else deleted it first
    }
    --state.depth;
}

void DeferredDelete::later(QObject *object)
{
    if (!object)
        return;
    Pending &state = pending();
    if (state.depth == 0) {
        object->deleteLater();
        return;
    }
    state.objects.emplace_back(object);
}

} // namespace tollgate::http
