#pragma once

#include "consolesettings.h"

namespace tollgate::ui {

/// Puts the application in the theme's palette (Fusion style, so light and dark look alike on
/// every desktop); System follows the platform's own palette.
void applyTheme(ConsoleSettings::Theme theme);

/// The style sheet of text that states a problem (an invalid value, a failed action).
inline constexpr const char *kProblemStyle = "color: #d9534f;";

} // namespace tollgate::ui
