#include "consolesettings.h"

namespace tollgate::ui {

namespace {

const QString kTheme = QStringLiteral("appearance/theme");
const QString kGeometry = QStringLiteral("window/geometry");
const QString kPage = QStringLiteral("window/page");
const QString kHiddenRequestColumns = QStringLiteral("requests/hiddenColumns");

} // namespace

ConsoleSettings::ConsoleSettings(QObject *parent)
    : QObject(parent)
    , m_settings(QStringLiteral("tollgate"),
                 QStringLiteral("console")) // ~/.config/tollgate/console.conf
{
    m_debounce.setSingleShot(true);
    m_debounce.setInterval(500);
    connect(&m_debounce, &QTimer::timeout, this, &ConsoleSettings::sync);
}

ConsoleSettings::~ConsoleSettings()
{
    if (m_debounce.isActive())
        sync();
}

ConsoleSettings::Theme ConsoleSettings::theme() const
{
    const QString name = m_settings.value(kTheme).toString();
    if (name == QLatin1String("light"))
        return Theme::Light;
    if (name == QLatin1String("dark"))
        return Theme::Dark;
    return Theme::System;
}

void ConsoleSettings::setTheme(Theme theme)
{
    static const char *const names[] = {"system", "light", "dark"};
    set(kTheme, QLatin1String(names[int(theme)]));
}

QByteArray ConsoleSettings::windowGeometry() const
{
    return m_settings.value(kGeometry).toByteArray();
}

void ConsoleSettings::setWindowGeometry(const QByteArray &geometry)
{
    set(kGeometry, geometry);
}

int ConsoleSettings::page() const
{
    bool ok = false;
    const int page = m_settings.value(kPage).toInt(&ok);
    return ok ? page : -1;
}

void ConsoleSettings::setPage(int page)
{
    set(kPage, page);
}

QStringList ConsoleSettings::hiddenRequestColumns() const
{
    if (!m_settings.contains(kHiddenRequestColumns))
        return {QStringLiteral("plan"), QStringLiteral("retries"), QStringLiteral("endpoint"),
                QStringLiteral("id")};
    return m_settings.value(kHiddenRequestColumns).toStringList();
}

void ConsoleSettings::setHiddenRequestColumns(const QStringList &keys)
{
    set(kHiddenRequestColumns, keys);
}

void ConsoleSettings::sync()
{
    m_debounce.stop();
    m_settings.sync();
}

void ConsoleSettings::set(const QString &key, const QVariant &value)
{
    if (m_settings.value(key) == value)
        return;
    m_settings.setValue(key, value);
    m_debounce.start();
}

} // namespace tollgate::ui
