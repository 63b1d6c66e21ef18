#pragma once

#include "gatewayprocess.h"
#include "httptestclient.h"

#include <QTemporaryDir>

#include <memory>

namespace tollgate::testsupport {

/// The real tollgated for an integration test: a data folder of its own, a policy file in it,
/// upstream base URLs, provider keys from the environment (none unless given), and helpers to
/// talk to it, reload its policy and inspect what it stored.
class TollgatedProcess : public GatewayProcess {
public:
    struct Options {
        /// Written to DATA/policy.json and passed with --config; empty: no --config.
        QByteArray policy;
        QString listen = QStringLiteral("127.0.0.1:0");
        QString anthropicBaseUrl; ///< --anthropic-base-url, unless empty
        QString openAiBaseUrl;    ///< --openai-base-url, unless empty
        QByteArray anthropicKey;  ///< ANTHROPIC_API_KEY, unless empty
        QByteArray openAiKey;     ///< OPENAI_API_KEY, unless empty
        QStringList extraArgs;    ///< e.g. {"--workers", "1"}
        /// Start on the previous run's data folder (its request log, spend and cache).
        bool keepDataDir = false;

        /// Both providers at these upstreams; the OpenAI one under /v1, as its SDK is given.
        static Options forUpstreams(const QUrl &anthropic, const QUrl &openAi);
    };

    /// What a run of tollgated that is expected to exit on its own left behind.
    struct Exit {
        bool exited = false; ///< false: it was still running at the deadline and was killed
        int code = -1;       ///< -1 after a crash or a kill
        QByteArray out;
        QByteArray err;
    };

    TollgatedProcess() = default;
    /// Stops the daemon before its data folder goes.
    ~TollgatedProcess() override;

    /// $TOLLGATED if set, else the tollgated this build produced.
    static QString program();
    /// The system environment without any provider key variable (ANTHROPIC_API_KEY, _FILE and
    /// the OpenAI ones), plus the keys given: a developer's own keys never reach a test run.
    static QProcessEnvironment environment(const QByteArray &anthropicKey = {},
                                           const QByteArray &openAiKey = {});
    /// Runs `tollgated ARGS` to its end (e.g. check-config, or flags it must refuse); kills it
    /// after timeoutMs.
    static Exit runToExit(const QStringList &args, const QProcessEnvironment &env = environment(),
                          int timeoutMs = 10000);
    /// `tollgated check-config FILE` on `policy` written to a temporary file, run to its end.
    static Exit checkConfig(const QByteArray &policy);

    /// Starts it and waits for its `listening on` line; false with failureReport() otherwise.
    bool start(const Options &options, int timeoutMs = 10000);

    QString dataDir() const;
    QString policyPath() const;
    /// DATA/requests.sqlite.
    QString requestLogPath() const;
    /// Every byte of every file in the data folder (databases, their WAL and shared memory):
    /// where a leaked secret would show.
    QByteArray dataBytes() const;
    /// Deletes the data folder (after stop()); the next start() makes a new one.
    void removeDataDir();

    /// Writes the policy aside and renames it over the running one, as editors and
    /// config-management tools do; the daemon's file watcher picks it up.
    bool replacePolicy(const QByteArray &policy);
    /// replacePolicy(), then waits until the daemon says `policy reloaded`.
    bool reloadPolicy(const QByteArray &policy, int timeoutMs = 5000);
    /// SIGHUP, then waits until the daemon says `policy reloaded` once more.
    bool reloadOnSignal(int timeoutMs = 3000);

    /// One request on a fresh connection to the gateway.
    HttpTestResponse send(const HttpTestRequest &request) const;
    /// The body of GET /metrics, or empty when it did not answer 200.
    QByteArray scrapeMetrics() const;

private:
    qsizetype reloadCount() const;

    std::unique_ptr<QTemporaryDir> m_dataDir;
};

} // namespace tollgate::testsupport
