#pragma once

#include "api/usage.h"
#include "http/httpmessage.h"

#include <QList>
#include <QPair>
#include <QString>

#include <optional>

namespace tollgate::policy {

/// Caller hint `x-tollgate-priority`.
enum class Priority { Unspecified, Low, Medium, High };
/// Caller hint `x-tollgate-budget`.
enum class BudgetHint { Unspecified, Strict, Flexible };

/// Who a request is for, as the gateway established it.
struct Principal {
    QString user; ///< empty: the local owner (no deliberate identity)
    QString team;
    QString plan;    ///< resolved plan name (the default plan when the user named none)
    QString keyName; ///< gateway key that authenticated the request, empty when none
    bool localOwner = true;
};

/// What policy decisions look at: facts about one request, extracted once by the pipeline.
/// Decisions are pure functions of (features, state, policy, now).
struct RequestFeatures {
    api::Flavor flavor = api::Flavor::Anthropic;
    QString requestedModel;
    Priority priority = Priority::Unspecified;
    BudgetHint budget = BudgetHint::Unspecified;
    std::optional<double> complexity; ///< given by the caller (0..1), else estimated
    Principal principal;
    bool stream = false;
    int maxTokens = 0;
    // Inputs of the complexity estimate (see routing/complexity.h).
    qint64 promptChars = 0; ///< characters of text in system + messages
    int messageCount = 0;
    int toolCount = 0;
    int codeBlockCount = 0;   ///< ``` fences in the text
    int mathMarkerCount = 0;  ///< LaTeX / equation markers in the text
    http::HeaderList headers; ///< the client's headers, for header-matching rules
    /// Name and value of each string field of the body's `metadata` object, plus OpenAI's `user`
    /// as "user_id" (see api::ClientRequest::metadata), for metadata-matching rules.
    QList<QPair<QString, QString>> metadata;
};

} // namespace tollgate::policy
