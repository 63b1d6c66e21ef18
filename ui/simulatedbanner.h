#pragma once

#include <QLabel>

namespace tollgate::ui {

/// The notice on every page whose figures the built-in simulator may have made: hidden until
/// the gateway answers with the simulated provider.
class SimulatedBanner : public QLabel {
    Q_OBJECT
public:
    explicit SimulatedBanner(QWidget *parent = nullptr);
};

} // namespace tollgate::ui
