#include "resenddialog.h"

#include "format.h"

#include "store/requestexport.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QUrl>
#include <QVBoxLayout>

namespace tollgate::ui {

namespace {

// A stream may run for minutes; only silence this long gives up.
constexpr int kSilenceTimeoutMs = 300000;

// The message of an error answer in either API's shape ({"error": {"message": ...}}).
QString errorMessage(const QByteArray &body)
{
    const QJsonObject error =
        QJsonDocument::fromJson(body).object().value(QLatin1String("error")).toObject();
    return error.value(QLatin1String("message")).toString();
}

} // namespace

ResendDialog::ResendDialog(const metering::RequestRecord &record, store::CapturedExchange exchange,
                           const QString &baseUrl, QWidget *parent)
    : QDialog(parent)
    , m_flavor(record.flavor)
    , m_exchange(std::move(exchange))
    , m_baseUrl(baseUrl)
    , m_shownBody(store::requestexport::prettyBody(m_exchange.requestBody))
    , m_body(new QPlainTextEdit(m_shownBody, this))
    , m_key(new QLineEdit(this))
    , m_skipCache(new QCheckBox(tr("Ask the provider even if the cache holds the answer"), this))
    , m_outcome(new QLabel(this))
    , m_send(new QPushButton(tr("Send"), this))
    , m_cancel(new QPushButton(tr("Stop"), this))
    , m_showInLog(new QPushButton(tr("Show in the log"), this))
    , m_network(new QNetworkAccessManager(this))
{
    setWindowTitle(tr("Resend request %1").arg(record.id));
    auto *target =
        new QLabel(QStringLiteral("%1 %2%3").arg(QString::fromLatin1(m_exchange.method), m_baseUrl,
                                                 QString::fromLatin1(m_exchange.target)),
                   this);
    target->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_key->setEchoMode(QLineEdit::Password);
    m_key->setPlaceholderText(tr("only if the gateway or the provider needs the client's key"));
    auto *keyHint = new QLabel(tr("The client's key was not kept. Type one in when the gateway "
                                  "has gateway keys, or when the provider has no key of its own; "
                                  "it is used for this send and never stored."),
                               this);
    keyHint->setWordWrap(true);
    keyHint->setEnabled(false); // the palette's muted text
    m_outcome->setWordWrap(true);
    m_outcome->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_outcome->setObjectName(QStringLiteral("resendOutcome"));

    auto *form = new QFormLayout;
    form->addRow(tr("Request:"), target);
    form->addRow(tr("Body:"), m_body);
    form->addRow(tr("Key:"), m_key);
    form->addRow(QString(), keyHint);
    form->addRow(QString(), m_skipCache);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    // An action, not Accept: the answer shows here, and one may send again.
    buttons->addButton(m_send, QDialogButtonBox::ActionRole);
    buttons->addButton(m_cancel, QDialogButtonBox::ActionRole);
    buttons->addButton(m_showInLog, QDialogButtonBox::ActionRole);
    m_send->setDefault(true);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form, 1);
    layout->addWidget(m_outcome);
    layout->addWidget(buttons);
    resize(640, 560);

    connect(m_send, &QPushButton::clicked, this, &ResendDialog::send);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_cancel, &QPushButton::clicked, this, [this] {
        if (m_reply)
            m_reply->abort();
    });
    connect(m_showInLog, &QPushButton::clicked, this, [this] { Q_EMIT showRequest(m_sentId); });
    connect(m_body, &QPlainTextEdit::textChanged, this, &ResendDialog::updateWidgets);
    if (m_exchange.requestTruncated())
        showOutcome(tr("The captured body was cut at %1 of %2 bytes: complete it before sending.")
                        .arg(count(m_exchange.requestBody.size()))
                        .arg(count(m_exchange.requestBytes)),
                    true);
    updateWidgets();
}

QString ResendDialog::outcomeText() const
{
    return m_outcome->text();
}

std::optional<QByteArray> ResendDialog::editedBody() const
{
    const QString text = m_body->toPlainText();
    if (text == m_shownBody)
        return std::nullopt;
    return text.toUtf8();
}

void ResendDialog::updateWidgets()
{
    const bool sending = m_reply != nullptr;
    const bool whole = !m_exchange.requestTruncated() || editedBody().has_value();
    m_send->setEnabled(!sending && whole);
    m_cancel->setVisible(sending);
    m_showInLog->setVisible(!sending && !m_sentId.isEmpty());
}

void ResendDialog::send()
{
    if (m_reply)
        return;
    const auto request = store::repeatRequest(
        m_exchange, m_flavor, {m_key->text().toUtf8(), editedBody(), m_skipCache->isChecked()});
    if (!request) {
        showOutcome(request.error().message, true);
        Q_EMIT answered(0, QString(), request.error().message);
        return;
    }
    QNetworkRequest http(QUrl(m_baseUrl + QString::fromLatin1(request->target)));
    for (const auto &[name, value] : request->headers)
        http.setRawHeader(name, value);
    http.setTransferTimeout(kSilenceTimeoutMs);
    m_sentId.clear();
    m_clock.start();
    m_reply = m_network->sendCustomRequest(http, request->method, request->body);
    connect(m_reply, &QNetworkReply::finished, this, &ResendDialog::onReplyFinished);
    showOutcome(tr("Sending…"), false);
    updateWidgets();
}

void ResendDialog::onReplyFinished()
{
    QNetworkReply *reply = m_reply;
    m_reply = nullptr;
    reply->deleteLater();
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    m_sentId = QString::fromLatin1(reply->rawHeader("x-tollgate-request-id"));
    const QString took = milliseconds(double(m_clock.nsecsElapsed()) / 1e6);
    QString problem;
    if (reply->error() == QNetworkReply::OperationCanceledError)
        problem = tr("stopped; the gateway may have logged the request all the same");
    else if (status == 0)
        problem = tr("no answer from the gateway at %1: %2").arg(m_baseUrl, reply->errorString());
    else if (status >= 300)
        problem = errorMessage(reply->readAll());
    const QString head = status == 0
                             ? tr("Not sent")
                             : tr("HTTP %1 in %2, request %3").arg(status).arg(took, m_sentId);
    const QString text = problem.isEmpty() ? head : QStringLiteral("%1: %2").arg(head, problem);
    const bool failed = status == 0 || status >= 300;
    showOutcome(text, failed);
    updateWidgets();
    Q_EMIT answered(status, m_sentId, failed ? text : QString());
}

void ResendDialog::showOutcome(const QString &text, bool failed)
{
    m_outcome->setText(text);
    m_outcome->setStyleSheet(failed ? QStringLiteral("color: #c62828;") : QString());
}

} // namespace tollgate::ui
