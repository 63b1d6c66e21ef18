#include "simulatedbanner.h"

namespace tollgate::ui {

SimulatedBanner::SimulatedBanner(QWidget *parent)
    : QLabel(parent)
{
    setText(tr("Simulated provider: no provider key is configured, so answers, costs and "
               "latencies come from Tollgate's built-in simulator. Add a key to use the real "
               "providers."));
    setWordWrap(true);
    setObjectName(QStringLiteral("simulatedBanner"));
    // The same amber on light and dark palettes: it must stand out on both.
    setStyleSheet(QStringLiteral(
        "QLabel { background: #fff4ce; color: #5c4400; padding: 8px; border-radius: 4px; }"));
    hide();
}

} // namespace tollgate::ui
