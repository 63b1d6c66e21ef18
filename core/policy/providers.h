#pragma once

#include "api/usage.h"
#include "common/expected.h"
#include "http/upstreamcall.h"

#include <QByteArray>
#include <QJsonValue>
#include <QList>
#include <QSslCertificate>
#include <QString>
#include <QUrl>

#include <functional>

namespace tollgate::policy {

/// The API a provider speaks. The gateway does not translate between wire formats, so a provider
/// serves only clients of its own format.
enum class ProviderKind { Anthropic, OpenAI, OpenAICompatible };

/// "anthropic", "openai", "openai-compatible": the spelling of the policy document.
QString providerKindName(ProviderKind kind);
api::Flavor flavorOf(ProviderKind kind);

/// Where a provider key comes from. The key itself is never part of a policy document, so a
/// document can be exported, diffed and shown without leaking it.
struct KeyReference {
    enum class Source {
        Environment, ///< a variable, or a file named by <variable>_FILE (Kubernetes Secrets)
        File,        ///< a file holding the key
        Keychain,    ///< an entry of the OS keychain (the console reads it)
        None,        ///< never a provider key: clients' own keys pass through
    };
    Source source = Source::None;
    QString name;        ///< variable name, file path or keychain entry
    bool stated = false; ///< written in the policy: a missing key is then an error

    /// {"env": NAME} | {"file": PATH} | {"keychain": ENTRY} | "none".
    QJsonValue toJson() const;
};

/// How the gateway reaches one provider: its API, its endpoints in order of preference (regional
/// failover moves to the next one), where its key comes from and its timeouts.
struct ProviderConfig {
    QString name;
    ProviderKind kind = ProviderKind::Anthropic;
    QList<QUrl> baseUrls;
    KeyReference key;
    QByteArray apiKey; ///< resolved from `key`; empty: pass the client's key through
    QString keySource; ///< the variable or file the key was read from
    http::UpstreamTimeouts timeouts;
    /// From `ca_file`: trusted for https besides the system CAs.
    QList<QSslCertificate> extraCaCertificates;
    QString caFile; ///< the path `extraCaCertificates` came from, for check-config

    api::Flavor flavor() const { return flavorOf(kind); }
};

/// The reference providers: Anthropic and OpenAI at their public endpoints, keys from
/// ANTHROPIC_API_KEY and OPENAI_API_KEY.
QList<ProviderConfig> defaultProviders();

/// Whether `name` can name a provider: a-z, 0-9, '.', '_' and '-', starting with a letter or digit.
bool isProviderName(const QString &name);

/// The header fields that carry a provider key upstream: `x-api-key` for the Anthropic API,
/// `Authorization: Bearer` for the OpenAI API.
http::HeaderList providerKeyHeaders(api::Flavor flavor, const QByteArray &apiKey);

/// The provider called `name`, or nullptr.
const ProviderConfig *findProvider(const QList<ProviderConfig> &providers, const QString &name);

/// The provider for requests of `flavor` whose model names no provider of that format: the one
/// named like the format ("anthropic", "openai") when it speaks it, else the first that does.
const ProviderConfig *defaultProviderFor(const QList<ProviderConfig> &providers,
                                         api::Flavor flavor);

/// Reads a keychain entry; the console supplies one, tollgated has none.
using KeychainReader = std::function<Expected<QByteArray>(const QString &entry)>;

/// Fills each provider's apiKey from its reference. A reference written in the policy that
/// yields no key is a problem (with its path); the implicit default variables may be unset.
/// Messages name the variable or file, never the key.
QList<Error> resolveProviderKeys(QList<ProviderConfig> &providers,
                                 const KeychainReader &keychain = {});

/// One line for the start-up summary: endpoints and where the key came from (never the key).
QString describeProvider(const ProviderConfig &provider);

} // namespace tollgate::policy
