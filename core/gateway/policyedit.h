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
