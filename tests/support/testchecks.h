#pragma once

#include <QElapsedTimer>
#include <QSignalSpy>
#include <QtTest/QTest>

namespace tollgate::testsupport {

/// Waits (running the event loop) until `sender` emits `done` or `failed`, or timeoutMs pass;
/// true only when `done` came. For objects that end with one of two signals, such as a call.
template <typename Sender, typename Done, typename Failed>
bool waitForOutcome(Sender *sender, Done done, Failed failed, int timeoutMs = 5000)
{
    QSignalSpy doneSpy(sender, done);
    QSignalSpy failedSpy(sender, failed);
    QElapsedTimer clock;
    clock.start();
    while (doneSpy.isEmpty() && failedSpy.isEmpty() && clock.elapsed() < timeoutMs)
        QTest::qWait(5);
    return !doneSpy.isEmpty();
}

/// QVERIFY that `problem` (an expression giving a QString, e.g. a checker's result or a failed
/// start's report) is empty, printing it otherwise.
#define VERIFY_NO_PROBLEM(problem)                                                                 \
    do {                                                                                           \
        const QString problem_ = (problem);                                                        \
        QVERIFY2(problem_.isEmpty(), qPrintable(problem_));                                        \
    } while (false)

} // namespace tollgate::testsupport
