#include "theme.h"

#include <QApplication>
#include <QPalette>
#include <QStyle>
#include <QStyleFactory>

namespace tollgate::ui {

namespace {

QPalette darkPalette()
{
    const QColor window(0x2b, 0x2d, 0x31);
    const QColor base(0x1e, 0x1f, 0x22);
    const QColor text(0xe6, 0xe6, 0xe6);
    const QColor accent(0x3d, 0x8b, 0xfd);
    QPalette palette;
    palette.setColor(QPalette::Window, window);
    palette.setColor(QPalette::WindowText, text);
    palette.setColor(QPalette::Base, base);
    palette.setColor(QPalette::AlternateBase, window);
    palette.setColor(QPalette::ToolTipBase, base);
    palette.setColor(QPalette::ToolTipText, text);
    palette.setColor(QPalette::Text, text);
    palette.setColor(QPalette::Button, window);
    palette.setColor(QPalette::ButtonText, text);
    palette.setColor(QPalette::BrightText, Qt::red);
    palette.setColor(QPalette::Link, accent);
    palette.setColor(QPalette::Highlight, accent);
    palette.setColor(QPalette::HighlightedText, Qt::white);
    palette.setColor(QPalette::Mid, QColor(0x9a, 0x9c, 0xa1));
    palette.setColor(QPalette::PlaceholderText, QColor(0x8a, 0x8c, 0x91));
    for (QPalette::ColorRole role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
        palette.setColor(QPalette::Disabled, role, QColor(0x80, 0x80, 0x80));
    return palette;
}

} // namespace

void applyTheme(ConsoleSettings::Theme theme)
{
    // The platform's style, remembered before the first switch to Fusion.
    static const QString platformStyle = QApplication::style()->name();
    const bool system = theme == ConsoleSettings::Theme::System;
    QApplication::setStyle(
        QStyleFactory::create(system ? platformStyle : QStringLiteral("Fusion")));
    QApplication::setPalette(theme == ConsoleSettings::Theme::Dark
                                 ? darkPalette()
                                 : QApplication::style()->standardPalette());
}

} // namespace tollgate::ui
