#pragma once

#include "common/expected.h"
#include "gateway/policydocument.h"
#include "gateway/policykeeper.h"
#include "gateway/providercheck.h"
#include "keychain.h"
#include "providerdialog.h"

#include <QWidget>

class QLabel;
class QPushButton;
class QTableWidget;
class QThread;

namespace tollgate::gateway {
class GatewayThread;
}

namespace tollgate::ui {

/// The running policy's providers: endpoints, where each key comes from (never the key) and
/// whether it resolved. Adding or editing a provider stores its key in the OS keychain and
/// applies a policy that names the keychain entry, live; "Test connection" asks the provider for
/// its model list off the GUI thread. Without a keychain the page says so, and keys come from
/// environment variables: it never stores a key anywhere else.
class ProvidersPage : public QWidget {
    Q_OBJECT
public:
    enum Column { Name, Kind, Endpoints, KeyFrom, KeyStatus, ColumnCount };

    ProvidersPage(gateway::GatewayThread &gateway, QWidget *parent = nullptr);
    ~ProvidersPage() override;

    /// Asks the keychain whether it answers (bounded) and shows the outcome; the page does this
    /// once by itself after it is created.
    void probeKeychain();
    bool hasKeychain() const { return m_keychainProblem.isEmpty(); }
    /// Why there is no keychain; empty when there is one.
    QString keychainProblem() const { return m_keychainProblem; }
    QString keychainNotice() const;

    /// Adds a provider (`replacing` empty) or changes the provider `replacing` and applies the
    /// policy. A key goes to the keychain; without one, `values.variable` names where it is.
    Expected<bool> saveProvider(const ProviderDialog::Values &values,
                                const QString &replacing = {});
    /// Removes an added provider (and its keychain entry); the two built-in ones go back to
    /// their defaults.
    Expected<bool> removeProvider(const QString &name);
    /// Starts a check of the provider; connectionTested() reports it.
    void testConnection(const QString &name);

    /// The console runs from the policy file `path` (--config), which it never writes: the page
    /// says that what changes here lasts until quit, and offers the providers as JSON for it,
    /// with the file's base URLs where only the start (command line, simulator) changed them.
    void setPolicyFile(const QString &path, const gateway::StartUrls &urls);
    /// {"providers": ...} as a policy file holds the running providers (keys only as
    /// references); what "Copy as JSON" puts on the clipboard.
    QByteArray providersJson() const;
    QPushButton *copyJsonButton() const { return m_copyJson; }
    QString policyFileNotice() const;

    /// Rereads the running policy into the table.
    void refresh();
    int rowCount() const;
    QString cell(int row, Column column) const;
    int rowOf(const QString &name) const;
    void selectProvider(const QString &name);
    QString selectedProvider() const;
    /// The last outcome shown under the table (a save, a removal or a test).
    QString outcomeText() const;

    QPushButton *addButton() const { return m_add; }
    QPushButton *editButton() const { return m_edit; }
    QPushButton *removeButton() const { return m_remove; }
    QPushButton *testButton() const { return m_test; }

protected:
    /// The policy may have changed elsewhere since the page was last shown.
    void showEvent(QShowEvent *event) override;

Q_SIGNALS:
    void connectionTested(const QString &name,
                          const tollgate::gateway::ProviderCheckResult &result);
    /// A provider change is in force.
    void policyApplied();

private:
    void updateWidgets();
    void openDialog(const QString &editing);
    Expected<bool> apply(gateway::PolicyDocument next);
    void showOutcome(const QString &text, bool problem);
    static bool isBuiltIn(const QString &name);

    gateway::GatewayThread &m_gateway;
    Keychain m_keychain;
    QString m_keychainProblem;
    bool m_probed = false;
    QLabel *m_notice;
    QLabel *m_fileNotice;
    gateway::StartUrls m_fileUrls;
    QPushButton *m_copyJson;
    QTableWidget *m_table;
    QPushButton *m_add;
    QPushButton *m_edit;
    QPushButton *m_remove;
    QPushButton *m_test;
    QLabel *m_outcome;
    QThread *m_checks; ///< where connection tests run, started on the first one
    QString m_testing; ///< the provider being tested; empty when none
};

} // namespace tollgate::ui
