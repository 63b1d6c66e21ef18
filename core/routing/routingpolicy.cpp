#include "routing/routingpolicy.h"

#include "metering/pricetable.h"
#include "policy/policyfields.h"

#include <QHash>
#include <QJsonObject>
#include <QSet>

#include <cmath>
#include <utility>

namespace tollgate::routing {

namespace {

using policy::enumChoices;
using policy::EnumName;
using policy::enumName;
using policy::indexedPath;
using policy::memberPath;

const QString kReferenceSonnet = QStringLiteral("claude-sonnet-4-20250514");
const QString kReferenceHaiku = QStringLiteral("claude-3-haiku-20240307");

// The policy document spells enum values in lower case; these tables are the one place that
// maps them, for parsing and for toJson alike.
constexpr EnumName<policy::Priority> kPriorities[] = {{policy::Priority::Low, "low"},
                                                      {policy::Priority::Medium, "medium"},
                                                      {policy::Priority::High, "high"}};
constexpr EnumName<policy::BudgetHint> kBudgets[] = {{policy::BudgetHint::Strict, "strict"},
                                                     {policy::BudgetHint::Flexible, "flexible"}};
constexpr EnumName<BudgetState> kBudgetStates[] = {{BudgetState::Ok, "ok"},
                                                   {BudgetState::Downgraded, "downgraded"}};
constexpr EnumName<api::Flavor> kApis[] = {{api::Flavor::Anthropic, "anthropic"},
                                           {api::Flavor::OpenAI, "openai"}};

// Walks the JSON once and keeps going after a problem, so one pass reports all of them: an
// operator fixing a policy should not have to reload it once per mistake.
class Parser {
public:
    Parser(const metering::PriceTable &prices, const QStringList &routerModels)
        : m_prices(prices)
        , m_routerModels(routerModels)
    {
    }

    QList<RouteRule> parseRules(const QJsonValue &value, const QString &path)
    {
        QList<RouteRule> rules;
        if (!value.isArray()) {
            fail(path, QStringLiteral("expected an array of rules"));
            return rules;
        }
        const QJsonArray array = value.toArray();
        QSet<QString> names;
        for (qsizetype i = 0; i < array.size(); ++i) {
            const QString rulePath = indexedPath(path, i);
            RouteRule rule = parseRule(array.at(i), rulePath);
            if (!rule.name.isEmpty()) {
                if (names.contains(rule.name))
                    fail(memberPath(rulePath, QStringLiteral("name")),
                         QStringLiteral("duplicate rule name \"%1\"").arg(rule.name));
                names.insert(rule.name);
            }
            rules.append(std::move(rule));
        }
        return rules;
    }

    QList<Error> takeErrors() { return std::move(m_errors); }

private:
    void fail(const QString &path, const QString &message)
    {
        m_errors.append(Error(message, path));
    }

    // Calls `handle(key, value, path)` for each known key; unknown keys are errors, because a
    // misspelt condition ("priorty") would otherwise widen the rule to every request.
    template <typename Handler>
    bool forEachField(const QJsonValue &value, const QString &path, const QStringList &known,
                      const QString &unknownWhat, Handler handle)
    {
        if (!value.isObject()) {
            fail(path, QStringLiteral("expected an object"));
            return false;
        }
        const QJsonObject object = value.toObject();
        for (auto it = object.begin(); it != object.end(); ++it) {
            const QString childPath = memberPath(path, it.key());
            if (!known.contains(it.key()))
                fail(childPath, QStringLiteral("unknown %1").arg(unknownWhat));
            else
                handle(it.key(), it.value(), childPath);
        }
        return true;
    }

    RouteRule parseRule(const QJsonValue &value, const QString &path)
    {
        static const QStringList known = {QStringLiteral("name"), QStringLiteral("description"),
                                          QStringLiteral("match"), QStringLiteral("targets"),
                                          QStringLiteral("max_tokens")};
        RouteRule rule;
        const bool isObject = forEachField(
            value, path, known, QStringLiteral("field"),
            [&](const QString &key, const QJsonValue &field, const QString &fieldPath) {
                if (key == QLatin1String("name")) {
                    if (!field.isString() || field.toString().trimmed().isEmpty())
                        fail(fieldPath, QStringLiteral("expected a non-empty string"));
                    else
                        rule.name = field.toString();
                } else if (key == QLatin1String("description")) {
                    if (!field.isString())
                        fail(fieldPath, QStringLiteral("expected a string"));
                    else
                        rule.description = field.toString();
                } else if (key == QLatin1String("match")) {
                    rule.match = parseMatch(field, fieldPath);
                } else if (key == QLatin1String("targets")) {
                    rule.targets = parseTargets(field, fieldPath);
                } else if (key == QLatin1String("max_tokens")) {
                    rule.maxTokens = parseMaxTokens(field, fieldPath);
                }
            });
        if (!isObject)
            return rule;
        const QJsonObject object = value.toObject();
        // Logs and the x-tollgate-model story name the rule, so it must have a name.
        if (!object.contains(QLatin1String("name")))
            fail(memberPath(path, QStringLiteral("name")), QStringLiteral("required"));
        // A rule without targets would end the search (first match wins) with nowhere to go.
        if (!object.contains(QLatin1String("targets")))
            fail(memberPath(path, QStringLiteral("targets")), QStringLiteral("required"));
        return rule;
    }

    RouteMatch parseMatch(const QJsonValue &value, const QString &path)
    {
        static const QStringList known = [] {
            QStringList keys;
            for (const MatchCondition &condition : matchConditions())
                keys.append(condition.key);
            return keys;
        }();
        RouteMatch match;
        forEachField(value, path, known, QStringLiteral("condition"),
                     [&](const QString &key, const QJsonValue &field, const QString &fieldPath) {
                         if (key == QLatin1String("priority"))
                             match.priorities = enumList(field, fieldPath, kPriorities);
                         else if (key == QLatin1String("budget"))
                             match.budgets = enumList(field, fieldPath, kBudgets);
                         else if (key == QLatin1String("budget_state"))
                             match.budgetStates = enumList(field, fieldPath, kBudgetStates);
                         else if (key == QLatin1String("api"))
                             match.apis = enumList(field, fieldPath, kApis);
                         else if (key == QLatin1String("complexity_above"))
                             match.complexityAbove = unitNumber(field, fieldPath);
                         else if (key == QLatin1String("complexity_at_most"))
                             match.complexityAtMost = unitNumber(field, fieldPath);
                         else if (key == QLatin1String("model"))
                             match.models = patternList(field, fieldPath);
                         else if (key == QLatin1String("plan"))
                             match.plans = patternList(field, fieldPath);
                         else if (key == QLatin1String("user"))
                             match.users = patternList(field, fieldPath);
                         else if (key == QLatin1String("team"))
                             match.teams = patternList(field, fieldPath);
                         else if (key == QLatin1String("key"))
                             match.keys = patternList(field, fieldPath);
                         else if (key == QLatin1String("header"))
                             match.headers = headerPatterns(field, fieldPath);
                         else if (key == QLatin1String("metadata"))
                             match.metadata = metadataPatterns(field, fieldPath);
                     });
        if (match.complexityAbove && match.complexityAtMost &&
            *match.complexityAbove >= *match.complexityAtMost)
            fail(memberPath(path, QStringLiteral("complexity_above")),
                 QStringLiteral("must be less than complexity_at_most (%1), or the rule never "
                                "matches")
                     .arg(*match.complexityAtMost));
        return match;
    }

    // A string or a non-empty list of strings; `what` describes one entry in messages.
    QStringList stringList(const QJsonValue &value, const QString &path, const QString &expected)
    {
        QStringList list;
        auto take = [&](const QJsonValue &entry, const QString &entryPath) {
            if (!entry.isString() || entry.toString().isEmpty()) {
                fail(entryPath, expected);
                return;
            }
            list.append(entry.toString());
        };
        if (value.isString()) {
            take(value, path);
        } else if (value.isArray() && !value.toArray().isEmpty()) {
            const QJsonArray array = value.toArray();
            for (qsizetype i = 0; i < array.size(); ++i)
                take(array.at(i), indexedPath(path, i));
        } else {
            fail(path, expected + QStringLiteral(", or a non-empty list of them"));
        }
        return list;
    }

    QStringList patternList(const QJsonValue &value, const QString &path)
    {
        return stringList(value, path, QStringLiteral("expected a non-empty string"));
    }

    template <typename Enum, size_t N>
    QList<Enum> enumList(const QJsonValue &value, const QString &path,
                         const EnumName<Enum> (&table)[N])
    {
        const QString expected = QStringLiteral("expected one of ") + enumChoices(table);
        QList<Enum> result;
        auto take = [&](const QJsonValue &entry, const QString &entryPath) {
            const QString name = entry.toString();
            for (const auto &candidate : table) {
                if (entry.isString() && name == QLatin1String(candidate.name)) {
                    result.append(candidate.value);
                    return;
                }
            }
            fail(entryPath, expected);
        };
        if (value.isArray() && !value.toArray().isEmpty()) {
            const QJsonArray array = value.toArray();
            for (qsizetype i = 0; i < array.size(); ++i)
                take(array.at(i), indexedPath(path, i));
        } else {
            take(value, path);
        }
        return result;
    }

    std::optional<double> unitNumber(const QJsonValue &value, const QString &path)
    {
        const double number = value.toDouble(-1);
        if (!value.isDouble() || !std::isfinite(number) || number < 0 || number > 1) {
            fail(path, QStringLiteral("expected a number from 0 to 1"));
            return std::nullopt;
        }
        return number;
    }

    QList<QPair<QByteArray, QStringList>> headerPatterns(const QJsonValue &value,
                                                         const QString &path)
    {
        QList<QPair<QByteArray, QStringList>> headers;
        if (!value.isObject() || value.toObject().isEmpty()) {
            fail(path, QStringLiteral("expected an object of header name to value pattern"));
            return headers;
        }
        const QJsonObject object = value.toObject();
        for (auto it = object.begin(); it != object.end(); ++it) {
            const QString namePath = memberPath(path, it.key());
            const QString name = it.key().trimmed();
            bool token = !name.isEmpty();
            for (QChar c : name)
                token = token && c.unicode() > 0x20 && c.unicode() < 0x7f && c != QLatin1Char(':');
            if (!token) {
                fail(namePath, QStringLiteral("expected a header name"));
                continue;
            }
            // The parser hands over lower-case names; HTTP names are case-insensitive.
            headers.append({name.toLower().toLatin1(), patternList(it.value(), namePath)});
        }
        return headers;
    }

    QList<QPair<QString, QStringList>> metadataPatterns(const QJsonValue &value,
                                                        const QString &path)
    {
        QList<QPair<QString, QStringList>> fields;
        if (!value.isObject() || value.toObject().isEmpty()) {
            fail(path,
                 QStringLiteral("expected an object of metadata field name to value pattern"));
            return fields;
        }
        const QJsonObject object = value.toObject();
        for (auto it = object.begin(); it != object.end(); ++it) {
            const QString namePath = memberPath(path, it.key());
            // Field names are compared exactly, as JSON keys are: no trimming, no case folding.
            if (it.key().isEmpty()) {
                fail(namePath, QStringLiteral("expected a metadata field name"));
                continue;
            }
            fields.append({it.key(), patternList(it.value(), namePath)});
        }
        return fields;
    }

    QStringList parseTargets(const QJsonValue &value, const QString &path)
    {
        if (!value.isArray() || value.toArray().isEmpty()) {
            fail(path, QStringLiteral("expected a non-empty list of models"));
            return {};
        }
        QStringList targets;
        QHash<QString, qsizetype> seen; // canonical target -> index, to reject repeats
        const QJsonArray array = value.toArray();
        for (qsizetype i = 0; i < array.size(); ++i) {
            const QString entryPath = indexedPath(path, i);
            const QJsonValue entry = array.at(i);
            const QString name = entry.toString();
            if (!entry.isString() || name.isEmpty()) {
                fail(entryPath, QStringLiteral("expected a model name or \"$requested\""));
                continue;
            }
            QString canonical = name;
            if (name != kRequestedTarget) {
                if (m_routerModels.contains(name)) {
                    fail(entryPath,
                         QStringLiteral("\"%1\" is a router model, not an upstream model")
                             .arg(name));
                    continue;
                }
                const metering::ModelPrice *model = m_prices.find(name);
                if (!model) {
                    fail(entryPath,
                         QStringLiteral("unknown model \"%1\" (not in the price table)").arg(name));
                    continue;
                }
                if (model->id == name || model->aliases.contains(name))
                    canonical = model->id;
            }
            if (auto it = seen.constFind(canonical); it != seen.constEnd()) {
                fail(entryPath,
                     QStringLiteral("\"%1\" repeats %2").arg(name, indexedPath(path, *it)));
                continue;
            }
            seen.insert(canonical, i);
            targets.append(name);
        }
        return targets;
    }

    MaxTokensTransform parseMaxTokens(const QJsonValue &value, const QString &path)
    {
        static const QStringList known = {QStringLiteral("default"), QStringLiteral("clamp")};
        MaxTokensTransform transform;
        forEachField(value, path, known, QStringLiteral("field"),
                     [&](const QString &key, const QJsonValue &field, const QString &fieldPath) {
                         const double number = field.toDouble(-1);
                         if (!field.isDouble() || number < 1 || number > 2147483647.0 ||
                             std::floor(number) != number) {
                             fail(fieldPath, QStringLiteral("expected a positive integer"));
                             return;
                         }
                         if (key == QLatin1String("default"))
                             transform.defaultValue = int(number);
                         else
                             transform.clamp = int(number);
                     });
        if (transform.clamp > 0 && transform.defaultValue > transform.clamp)
            fail(memberPath(path, QStringLiteral("default")),
                 QStringLiteral("must not exceed clamp (%1)").arg(transform.clamp));
        return transform;
    }

    const metering::PriceTable &m_prices;
    const QStringList &m_routerModels;
    QList<Error> m_errors;
};

QJsonValue oneOrList(const QStringList &values)
{
    if (values.size() == 1)
        return values.first();
    return QJsonArray::fromStringList(values);
}

template <typename Enum, size_t N>
QJsonValue enumJson(const QList<Enum> &values, const EnumName<Enum> (&table)[N])
{
    QStringList names;
    for (Enum value : values)
        names.append(enumName(table, value));
    return oneOrList(names);
}

RouteRule rule(const QString &name, RouteMatch match, const QString &target,
               const QString &description)
{
    RouteRule rule;
    rule.name = name;
    rule.description = description;
    rule.match = std::move(match);
    rule.targets = QStringList{target};
    return rule;
}

} // namespace

const QList<MatchCondition> &matchConditions()
{
    using Form = MatchCondition::Form;
    static const QList<MatchCondition> conditions = {
        {QStringLiteral("priority"), Form::Choices, policy::enumNames(kPriorities),
         QStringLiteral("Priority hint"),
         QStringLiteral("the x-tollgate-priority hint is one of these")},
        {QStringLiteral("budget"), Form::Choices, policy::enumNames(kBudgets),
         QStringLiteral("Budget hint"),
         QStringLiteral("the x-tollgate-budget hint is one of these")},
        {QStringLiteral("complexity_above"),
         Form::Fraction,
         {},
         QStringLiteral("Complexity above"),
         QStringLiteral("the request's complexity (0-1) is greater than this")},
        {QStringLiteral("complexity_at_most"),
         Form::Fraction,
         {},
         QStringLiteral("Complexity at most"),
         QStringLiteral("the request's complexity (0-1) is at most this")},
        {QStringLiteral("model"),
         Form::Patterns,
         {},
         QStringLiteral("Model"),
         QStringLiteral("the requested model, or the price table's id for it, matches; auto "
                        "stands for every router model")},
        {QStringLiteral("plan"),
         Form::Patterns,
         {},
         QStringLiteral("Plan"),
         QStringLiteral("the caller's plan matches")},
        {QStringLiteral("user"),
         Form::Patterns,
         {},
         QStringLiteral("User"),
         QStringLiteral("the caller's user (gateway key or x-tollgate-user) matches")},
        {QStringLiteral("team"),
         Form::Patterns,
         {},
         QStringLiteral("Team"),
         QStringLiteral("the caller's team matches")},
        {QStringLiteral("key"),
         Form::Patterns,
         {},
         QStringLiteral("Gateway key"),
         QStringLiteral("the name of the gateway key that authenticated the request matches")},
        {QStringLiteral("header"),
         Form::NamedPatterns,
         {},
         QStringLiteral("Headers"),
         QStringLiteral("every named header is present and its value matches (names are "
                        "case-insensitive)")},
        {QStringLiteral("metadata"),
         Form::NamedPatterns,
         {},
         QStringLiteral("Metadata"),
         QStringLiteral("every named field of the body's metadata is present and its value "
                        "matches")},
        {QStringLiteral("budget_state"), Form::Choices, policy::enumNames(kBudgetStates),
         QStringLiteral("Budget state"),
         QStringLiteral("the budget guard's verdict for this request is one of these")},
        {QStringLiteral("api"), Form::Choices, policy::enumNames(kApis), QStringLiteral("API"),
         QStringLiteral("the client speaks this wire format")},
    };
    return conditions;
}

bool RouteMatch::isEmpty() const
{
    return priorities.isEmpty() && budgets.isEmpty() && !complexityAbove && !complexityAtMost &&
           models.isEmpty() && plans.isEmpty() && users.isEmpty() && teams.isEmpty() &&
           keys.isEmpty() && headers.isEmpty() && metadata.isEmpty() && budgetStates.isEmpty() &&
           apis.isEmpty();
}

int MaxTokensTransform::apply(int requested) const
{
    int value = requested > 0 ? requested : defaultValue;
    if (clamp > 0 && (value <= 0 || value > clamp))
        value = clamp;
    return value;
}

RoutingPolicy::RoutingPolicy(QList<RouteRule> rules, QStringList routerModels)
    : m_rules(std::move(rules))
    , m_routerModels(std::move(routerModels))
{
}

QStringList RoutingPolicy::defaultRouterModels()
{
    return {QString(kAutoModel)};
}

RoutingPolicy RoutingPolicy::reference(const QStringList &routerModels)
{
    // The hint rules hold for any Anthropic request; the complexity rules only for router models,
    // so a request naming a concrete model falls through to "requested" and keeps it. All of this
    // lives in match conditions rather than router code, so an operator can see and edit it.
    // `api` keeps OpenAI clients on their own provider: the gateway does not translate wire
    // formats, and a Claude model behind /v1/chat/completions would fail upstream.
    RouteMatch high;
    high.priorities = {policy::Priority::High};
    high.apis = {api::Flavor::Anthropic};
    RouteMatch strict;
    strict.budgets = {policy::BudgetHint::Strict};
    strict.apis = {api::Flavor::Anthropic};
    RouteMatch complex;
    complex.models = {QString(kAutoModel)};
    complex.complexityAbove = 0.7;
    complex.apis = {api::Flavor::Anthropic};
    RouteMatch simple;
    simple.models = {QString(kAutoModel)};
    simple.apis = {api::Flavor::Anthropic};

    return RoutingPolicy(
        {rule(QStringLiteral("priority-high"), high, kReferenceSonnet,
              QStringLiteral("Callers that ask for high priority get the stronger model.")),
         rule(QStringLiteral("budget-strict"), strict, kReferenceHaiku,
              QStringLiteral("Callers on a strict budget get the cheapest model.")),
         rule(QStringLiteral("auto-complex"), complex, kReferenceSonnet,
              QStringLiteral("Routed requests that look hard (complexity > 0.7).")),
         rule(QStringLiteral("auto-simple"), simple, kReferenceHaiku,
              QStringLiteral("All other routed requests.")),
         rule(QStringLiteral("requested"), RouteMatch(), QString(kRequestedTarget),
              QStringLiteral("A request naming a concrete model keeps it."))},
        routerModels);
}

QList<Error> RoutingPolicy::validate(const QJsonValue &routes, const QString &path,
                                     const metering::PriceTable &prices,
                                     const QStringList &routerModels)
{
    Parser parser(prices, routerModels);
    parser.parseRules(routes, path);
    return parser.takeErrors();
}

Expected<RoutingPolicy> RoutingPolicy::fromJson(const QJsonValue &routes, const QString &path,
                                                const metering::PriceTable &prices,
                                                const QStringList &routerModels)
{
    Parser parser(prices, routerModels);
    QList<RouteRule> rules = parser.parseRules(routes, path);
    const QList<Error> errors = parser.takeErrors();
    if (!errors.isEmpty()) {
        QStringList lines;
        for (const Error &error : errors)
            lines.append(error.toString());
        return Error(lines.join(QLatin1Char('\n')));
    }
    return RoutingPolicy(std::move(rules), routerModels);
}

QJsonArray RoutingPolicy::toJson() const
{
    QJsonArray array;
    for (const RouteRule &rule : m_rules) {
        const RouteMatch &m = rule.match;
        QJsonObject match;
        if (!m.priorities.isEmpty())
            match.insert(QStringLiteral("priority"), enumJson(m.priorities, kPriorities));
        if (!m.budgets.isEmpty())
            match.insert(QStringLiteral("budget"), enumJson(m.budgets, kBudgets));
        if (m.complexityAbove)
            match.insert(QStringLiteral("complexity_above"), *m.complexityAbove);
        if (m.complexityAtMost)
            match.insert(QStringLiteral("complexity_at_most"), *m.complexityAtMost);
        if (!m.models.isEmpty())
            match.insert(QStringLiteral("model"), oneOrList(m.models));
        if (!m.plans.isEmpty())
            match.insert(QStringLiteral("plan"), oneOrList(m.plans));
        if (!m.users.isEmpty())
            match.insert(QStringLiteral("user"), oneOrList(m.users));
        if (!m.teams.isEmpty())
            match.insert(QStringLiteral("team"), oneOrList(m.teams));
        if (!m.keys.isEmpty())
            match.insert(QStringLiteral("key"), oneOrList(m.keys));
        if (!m.headers.isEmpty()) {
            QJsonObject headers;
            for (const auto &header : m.headers)
                headers.insert(QString::fromLatin1(header.first), oneOrList(header.second));
            match.insert(QStringLiteral("header"), headers);
        }
        if (!m.metadata.isEmpty()) {
            QJsonObject metadata;
            for (const auto &field : m.metadata)
                metadata.insert(field.first, oneOrList(field.second));
            match.insert(QStringLiteral("metadata"), metadata);
        }
        if (!m.budgetStates.isEmpty())
            match.insert(QStringLiteral("budget_state"), enumJson(m.budgetStates, kBudgetStates));
        if (!m.apis.isEmpty())
            match.insert(QStringLiteral("api"), enumJson(m.apis, kApis));

        QJsonObject object;
        object.insert(QStringLiteral("name"), rule.name);
        if (!rule.description.isEmpty())
            object.insert(QStringLiteral("description"), rule.description);
        object.insert(QStringLiteral("match"), match);
        object.insert(QStringLiteral("targets"), QJsonArray::fromStringList(rule.targets));
        if (!rule.maxTokens.isEmpty()) {
            QJsonObject maxTokens;
            if (rule.maxTokens.defaultValue > 0)
                maxTokens.insert(QStringLiteral("default"), rule.maxTokens.defaultValue);
            if (rule.maxTokens.clamp > 0)
                maxTokens.insert(QStringLiteral("clamp"), rule.maxTokens.clamp);
            object.insert(QStringLiteral("max_tokens"), maxTokens);
        }
        array.append(object);
    }
    return array;
}

} // namespace tollgate::routing
