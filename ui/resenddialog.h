#pragma once

#include "metering/requestrecord.h"
#include "store/capturedexchange.h"

#include <QDialog>
#include <QElapsedTimer>
#include <QPointer>

class QCheckBox;
class QLabel;
class QLineEdit;
class QNetworkAccessManager;
class QNetworkReply;
class QPlainTextEdit;
class QPushButton;

namespace tollgate::ui {

/// Sends a captured request again through this gateway, its body editable. The client's key was
/// never kept, so one may be typed in; only the dialog holds it, and it is stored nowhere.
/// The answer lands in the request log like any other; the dialog says how it went and can show
/// it there.
class ResendDialog : public QDialog {
    Q_OBJECT
public:
    ResendDialog(const metering::RequestRecord &record, store::CapturedExchange exchange,
                 const QString &baseUrl, QWidget *parent = nullptr);

    QPlainTextEdit *body() const { return m_body; }
    QLineEdit *key() const { return m_key; }
    QCheckBox *skipCache() const { return m_skipCache; }
    QPushButton *sendButton() const { return m_send; }
    /// How the last send went, as the dialog shows it.
    QString outcomeText() const;

    /// Sends the request as the dialog's fields say; answered() tells how it went.
    void send();

Q_SIGNALS:
    /// The gateway answered `status` (0: no answer) under the id `requestId` (empty when none);
    /// `problem` says what went wrong, empty on a 2xx.
    void answered(int status, const QString &requestId, const QString &problem);
    /// The user asked to see the resent request in the log.
    void showRequest(const QString &requestId);

private:
    void onReplyFinished();
    void showOutcome(const QString &text, bool failed);
    /// The body to send: the captured bytes while the text is as shown, else the edited text.
    std::optional<QByteArray> editedBody() const;
    void updateWidgets();

    QString m_flavor;
    store::CapturedExchange m_exchange;
    QString m_baseUrl;
    QString m_shownBody; // the body as first shown, to tell an edit
    QPlainTextEdit *m_body;
    QLineEdit *m_key;
    QCheckBox *m_skipCache;
    QLabel *m_outcome;
    QPushButton *m_send;
    QPushButton *m_cancel;
    QPushButton *m_showInLog;
    QNetworkAccessManager *m_network;
    QPointer<QNetworkReply> m_reply;
    QElapsedTimer m_clock;
    QString m_sentId; // the id the gateway gave the resent request
};

} // namespace tollgate::ui
