#pragma once

#include <QByteArray>
#include <QObject>
#include <QSettings>
#include <QStringList>
#include <QTimer>

namespace tollgate::ui {

/// The console's own settings (never a key: those live in the keychain), typed, and written a
/// moment after the last change so that dragging a window does not write on every pixel.
class ConsoleSettings : public QObject {
    Q_OBJECT
public:
    enum class Theme { System, Light, Dark };

    explicit ConsoleSettings(QObject *parent = nullptr);
    /// Writes what is pending.
    ~ConsoleSettings() override;

    Theme theme() const;
    void setTheme(Theme theme);
    QByteArray windowGeometry() const;
    void setWindowGeometry(const QByteArray &geometry);
    int page() const; ///< -1 when none was saved
    void setPage(int page);

    /// The request log's hidden columns, by RequestsModel::columnKey(); the rarer ones by
    /// default.
    QStringList hiddenRequestColumns() const;
    void setHiddenRequestColumns(const QStringList &keys);

    /// Writes pending changes now.
    void sync();

private:
    void set(const QString &key, const QVariant &value);

    QSettings m_settings;
    QTimer m_debounce;
};

} // namespace tollgate::ui
