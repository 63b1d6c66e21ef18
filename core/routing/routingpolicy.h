#pragma once

#include "api/usage.h"
#include "common/expected.h"
#include "policy/requestfeatures.h"

#include <QByteArray>
#include <QJsonArray>
#include <QJsonValue>
#include <QLatin1String>
#include <QList>
#include <QPair>
#include <QString>
#include <QStringList>

#include <optional>

namespace tollgate::metering {
class PriceTable;
}

namespace tollgate::routing {

/// Where the request's budget stands; set by the budget guard before routing, so a rule can send
/// a downgraded caller to a cheaper chain.
enum class BudgetState { Ok, Downgraded };

/// The target that stands for the model the request named.
inline constexpr QLatin1String kRequestedTarget("$requested");

/// The pseudo-model that, in a `model` condition, stands for every router model (see
/// RoutingPolicy::routerModels).
inline constexpr QLatin1String kAutoModel("auto");

/// When a rule applies. Every condition that is set must hold; an empty match always holds. A
/// list condition holds when any of its entries does. Name patterns may use `*` and `?`.
struct RouteMatch {
    QList<policy::Priority> priorities;
    QList<policy::BudgetHint> budgets;
    std::optional<double> complexityAbove;  ///< holds when complexity > this
    std::optional<double> complexityAtMost; ///< holds when complexity <= this
    QStringList models; ///< patterns on the requested model or its canonical id; "auto" = router
    QStringList plans;  ///< patterns on Principal::plan
    QStringList users;  ///< patterns on Principal::user
    QStringList teams;  ///< patterns on Principal::team
    QStringList keys;   ///< patterns on Principal::keyName
    /// Lower-case header name and value patterns; an absent header never holds.
    QList<QPair<QByteArray, QStringList>> headers;
    /// Field name of the request body's metadata and value patterns (see
    /// RequestFeatures::metadata); an absent field never holds. "field.member" also reaches a
    /// member of a field that holds a JSON object as text (Claude Code's `user_id`).
    QList<QPair<QString, QStringList>> metadata;
    QList<BudgetState> budgetStates;
    QList<api::Flavor> apis; ///< the wire format the client speaks

    bool isEmpty() const;
};

/// A condition a rule's `match` may hold, as an editor offers it.
struct MatchCondition {
    enum class Form {
        Choices,       ///< one or more of `choices` (a name or a list)
        Patterns,      ///< one or more name patterns (a pattern or a list)
        Fraction,      ///< a number from 0 to 1
        NamedPatterns, ///< an object of names (headers, metadata fields) to patterns
    };
    QString key; ///< its member in `match`
    Form form;
    QStringList choices; ///< Choices: the names it takes
    QString label;       ///< a short title ("Priority hint")
    QString description; ///< when it holds
};

/// Every condition a match may hold, in the order docs/routing.md lists them.
const QList<MatchCondition> &matchConditions();

/// The `max_tokens` a matching request is sent with.
struct MaxTokensTransform {
    int defaultValue = 0; ///< for requests without max_tokens; 0: none
    int clamp = 0;        ///< upper bound; 0: none

    bool isEmpty() const { return defaultValue == 0 && clamp == 0; }
    /// `requested` is the request's max_tokens, 0 when it has none; 0 in the result means
    /// "leave it unset". A request without max_tokens under a clamp gets the clamp, or omitting
    /// the field would escape the cap.
    int apply(int requested) const;
};

/// One routing rule: a name for logs, when it applies, and where the request goes.
struct RouteRule {
    QString name;
    QString description; ///< free text for the policy editor; no effect on routing
    RouteMatch match;
    QStringList targets; ///< model ids, aliases or kRequestedTarget; primary first
    MaxTokensTransform maxTokens;
};

/// The routing section of the policy: ordered rules (first match wins) and the router models.
class RoutingPolicy {
public:
    /// No rules: every request keeps the model it named.
    RoutingPolicy() = default;
    explicit RoutingPolicy(QList<RouteRule> rules,
                           QStringList routerModels = defaultRouterModels());

    /// {"auto"}.
    static QStringList defaultRouterModels();

    /// The reference router of DESIGN.md as rules (see docs/routing.md):
    /// priority high → sonnet; budget strict → haiku; router model with complexity > 0.7 →
    /// sonnet; router model → haiku; anything else keeps its model. The first four hold only for
    /// Anthropic clients, since the gateway does not translate between wire formats.
    static RoutingPolicy reference(const QStringList &routerModels = defaultRouterModels());

    /// Parses the `routes` array of the policy document. Targets must be known to `prices` (id,
    /// alias or dated variant) or be "$requested". On failure the error's message lists every
    /// problem, one "path: message" per line; `validate` returns them one by one.
    static Expected<RoutingPolicy>
    fromJson(const QJsonValue &routes, const QString &path, const metering::PriceTable &prices,
             const QStringList &routerModels = defaultRouterModels());
    /// Every problem of `routes`, each with its JSON path, e.g.
    /// `routes[2].match.priority: expected one of low, medium, high`. Empty when valid.
    static QList<Error> validate(const QJsonValue &routes, const QString &path,
                                 const metering::PriceTable &prices,
                                 const QStringList &routerModels = defaultRouterModels());

    /// The rules in the format fromJson reads (for `check-config` and the policy editor).
    QJsonArray toJson() const;

    const QList<RouteRule> &rules() const { return m_rules; }
    /// Requested model names that ask the router to choose (e.g. "auto"); they are never sent
    /// upstream.
    const QStringList &routerModels() const { return m_routerModels; }
    bool isRouterModel(const QString &model) const { return m_routerModels.contains(model); }

private:
    QList<RouteRule> m_rules;
    QStringList m_routerModels = defaultRouterModels();
};

} // namespace tollgate::routing
