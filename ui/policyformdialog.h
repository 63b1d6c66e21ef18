#pragma once

#include <QDialog>
#include <QJsonValue>
#include <QStringList>

#include <functional>

class QLabel;
class QLayout;

namespace tollgate::ui {

/// Edits one policy value that is a structure (a rule's match, a budget's thresholds) as a form
/// instead of JSON text. The value goes back only on OK. The problems the core finds in it show
/// under the form as it changes, with the JSON it stands for, so the form and the file never
/// disagree about what was meant.
class PolicyFormDialog : public QDialog {
    Q_OBJECT
public:
    /// The problems of a candidate value, each as "where: what" within the value.
    using Checker = std::function<QStringList(const QJsonValue &value)>;

    explicit PolicyFormDialog(QWidget *parent = nullptr);

    /// The value the form stands for now.
    virtual QJsonValue value() const = 0;
    void setChecker(Checker checker);
    QString problemText() const;
    QString jsonText() const;

protected:
    /// Puts the form above the problems, the JSON and the buttons.
    void setForm(QLayout *form);
    /// The form calls this whenever it changes.
    void formChanged();

private:
    Checker m_checker;
    QLabel *m_problems;
    QLabel *m_json;
};

} // namespace tollgate::ui
