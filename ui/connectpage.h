#pragma once

#include <QWidget>

class QPlainTextEdit;

namespace tollgate::ui {

/// Copy-paste snippets that point Claude Code, the SDKs and curl at the running gateway.
class ConnectPage : public QWidget {
    Q_OBJECT
public:
    explicit ConnectPage(QWidget *parent = nullptr);

    /// The gateway's base URL, e.g. http://127.0.0.1:8080; empty while it is stopped.
    void setBaseUrl(const QString &baseUrl);
    QString snippets() const;

private:
    QPlainTextEdit *m_text;
};

} // namespace tollgate::ui
