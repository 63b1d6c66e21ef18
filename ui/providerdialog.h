#pragma once

#include "policy/providers.h"

#include <QDialog>

class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;

namespace tollgate::ui {

/// Adds or edits one provider: its API, name, base URL and key. The key field is a password
/// field whose text goes to the keychain; without a keychain it gives way to the name of an
/// environment variable.
class ProviderDialog : public QDialog {
    Q_OBJECT
public:
    struct Values {
        policy::ProviderKind kind = policy::ProviderKind::Anthropic;
        QString name;
        QString baseUrl;
        QByteArray key;   ///< empty: no new key
        QString variable; ///< without a keychain: where the key comes from; empty: no key
    };

    /// `existing`: the provider to edit (its name stays), or nullptr to add one. `takenNames`
    /// are refused for a new provider. `keychainProblem` empty: keys go to the keychain.
    ProviderDialog(const policy::ProviderConfig *existing, QStringList takenNames,
                   QString keychainProblem, QWidget *parent = nullptr);

    Values values() const;

    QComboBox *kindBox() const { return m_kind; }
    QLineEdit *nameEdit() const { return m_name; }
    QLineEdit *baseUrlEdit() const { return m_baseUrl; }
    QLineEdit *keyEdit() const { return m_key; }
    QLineEdit *variableEdit() const { return m_variable; }
    QDialogButtonBox *buttons() const { return m_buttons; }
    /// The validation hint shown under the fields; empty when the values can be saved.
    QString hint() const;

private:
    void updateWidgets();
    static QString defaultUrl(policy::ProviderKind kind);

    bool m_adding;
    bool m_hasKeychain;
    QStringList m_takenNames;
    QComboBox *m_kind;
    QLineEdit *m_name;
    QLineEdit *m_baseUrl;
    QLineEdit *m_key;
    QLineEdit *m_variable;
    QLabel *m_hint;
    QDialogButtonBox *m_buttons;
    QString m_suggestedVariable; ///< what m_variable holds until edited by hand
};

} // namespace tollgate::ui
