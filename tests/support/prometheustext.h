#pragma once

#include <QByteArray>
#include <QString>

namespace tollgate::testsupport {

/// Reading and linting a /metrics scrape (Prometheus text exposition format).
class PrometheusText {
public:
    /// The value of the sample `series`, its name and labels exactly as rendered
    /// (`ai_requests_total{model="x",status="200"}`); NaN when absent or not a number.
    static double sample(const QByteArray &exposition, const QByteArray &series);
    /// /usr/bin/promtool, or empty when it is not installed (the test then skips the lint).
    static QString promtool();
    /// Runs `promtool check metrics` over the text: empty when it passes, else its findings.
    static QString lintProblem(const QByteArray &exposition);
};

} // namespace tollgate::testsupport
