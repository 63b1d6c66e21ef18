#pragma once

#include "common/expected.h"
#include "gateway/policydocument.h"

#include <QJsonObject>
#include <QStringList>

namespace tollgate::gateway {

/// The top-level sections a policy editor changes: routes, models and prices, plans, budgets,
/// alerts, cache, retries and breakers. The rest (gateway, providers, log, state) is the
/// server's own: how it listens, where its keys and data are, which it keeps across an apply.
const QStringList &editableSections();

/// The editable sections of `document`, every default filled in: what an editor starts from.
QJsonObject editablePolicy(const PolicyDocument &document);

/// The policy that results from putting the editable sections `edited` in force over `running`
/// (whose server settings, providers and resolved keys stay). Every problem comes back in
/// `problems` with its path, so an editor can show each one by its field.
Expected<PolicyDocument> editedPolicy(const QJsonObject &edited, const PolicyDocument &running,
                                      QList<Error> *problems = nullptr);

/// `edited` with plan `from` renamed `to` and every reference the editable sections make to it
/// following: default_plan and local_owner_plan (also when they are absent and mean it), a
/// rule's match.plan and a plan budget's scope. Patterns ("pro*") stay as written: they may
/// match other plans too. Refused when there is no plan `from` or `to` is empty or taken.
Expected<QJsonObject> withPlanRenamed(const QJsonObject &edited, const QString &from,
                                      const QString &to);

/// `edited` with model `from` renamed `to` in the price table, the rules' targets and
/// match.model, and model budgets' scopes. Refused as for plans.
Expected<QJsonObject> withModelRenamed(const QJsonObject &edited, const QString &from,
                                       const QString &to);

/// What a field of the edited policy may hold when that is a set known in advance or named
/// elsewhere in the document: the values an editor offers (in order), whether other text goes
/// too (a chain of targets, a pattern, a name the policy cannot know), or a yes/no.
struct FieldChoices {
    QList<QJsonValue> values;
    bool open = false;
    bool boolean = false;
    bool isEmpty() const { return values.isEmpty() && !boolean; }
};

/// The choices for the value at `path` in `edited` ("budgets[0].window", "routes[2].targets",
/// "routes[0].match.model", "budgets[1].actions[0].action", "default_plan",
/// "alerts.rules.x.enabled"): names from the sections' own tables, plans and models from
/// `edited`, providers from `running` (the server's own). Empty: any text.
FieldChoices fieldChoices(const QJsonObject &edited, const PolicyDocument &running,
                          const QString &path);

/// A policy file read for editing: its editable sections over the reference defaults (a
/// section the file leaves out is the reference one, as tollgated reads it), its models over
/// the built-in price table. `skipped` names the server sections the file had, left out.
Expected<QJsonObject> editablePolicyFromJson(const QByteArray &json,
                                             QStringList *skipped = nullptr);

/// The JSON a policy file holds for `edited`: its editable sections, indented, never a key
/// (the editable sections hold none).
QByteArray editablePolicyJson(const QJsonObject &edited);

/// Reads and writes policy files for editing (see editablePolicyFromJson / editablePolicyJson);
/// a file is replaced whole or not at all.
Expected<QJsonObject> readEditablePolicyFile(const QString &path, QStringList *skipped = nullptr);
Expected<bool> writeEditablePolicyFile(const QString &path, const QJsonObject &edited);

} // namespace tollgate::gateway
