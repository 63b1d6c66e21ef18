#include "connectpage.h"

#include <QApplication>
#include <QClipboard>
#include <QFontDatabase>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace tollgate::ui {

ConnectPage::ConnectPage(QWidget *parent)
    : QWidget(parent)
    , m_text(new QPlainTextEdit(this))
{
    m_text->setReadOnly(true);
    m_text->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    auto *copy = new QPushButton(tr("Copy all"), this);
    connect(copy, &QPushButton::clicked, this,
            [this] { QApplication::clipboard()->setText(m_text->toPlainText()); });
    auto *intro = new QLabel(
        tr("Point your tools at the gateway. Provider keys stay in Tollgate: the client's own key "
           "is passed on only when the gateway has none for that provider."),
        this);
    intro->setWordWrap(true);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(intro);
    layout->addWidget(m_text, 1);
    layout->addWidget(copy, 0, Qt::AlignRight);
    setBaseUrl({});
}

void ConnectPage::setBaseUrl(const QString &baseUrl)
{
    if (baseUrl.isEmpty()) {
        m_text->setPlainText(tr("The gateway is stopped: start it to get its address."));
        return;
    }
    m_text->setPlainText(
        QStringLiteral(
            "# Claude Code\n"
            "export ANTHROPIC_BASE_URL=%1\n"
            "claude\n"
            "\n"
            "# Anthropic SDKs (Python, TypeScript) read the same variable\n"
            "export ANTHROPIC_BASE_URL=%1\n"
            "\n"
            "# OpenAI SDKs\n"
            "export OPENAI_BASE_URL=%1/v1\n"
            "\n"
            "# curl\n"
            "curl %1/v1/messages \\\n"
            "  -H 'content-type: application/json' -H 'anthropic-version: 2023-06-01' \\\n"
            "  -d '{\"model\": \"claude-3-5-haiku-latest\", \"max_tokens\": 64,\n"
            "       \"messages\": [{\"role\": \"user\", \"content\": \"Hello\"}]}'\n"
            "\n"
            "# Prometheus metrics\n"
            "curl %1/metrics\n")
            .arg(baseUrl));
}

QString ConnectPage::snippets() const
{
    return m_text->toPlainText();
}

} // namespace tollgate::ui
