#include "mockscenario.h"

namespace tollgate::testsupport {

namespace {

constexpr QByteArrayView directiveOpen = "[[mock:";
constexpr QByteArrayView directiveClose = "]]";

// Values are percent-decoded so that a status_body can carry commas and spaces.
QByteArray decoded(QByteArrayView value)
{
    return QByteArray::fromPercentEncoding(value.toByteArray());
}

} // namespace

MockScenario MockScenario::parse(QByteArrayView header, QByteArrayView body)
{
    MockScenario scenario;
    scenario.apply(header);
    qsizetype from = 0;
    while ((from = body.indexOf(directiveOpen, from)) >= 0) {
        from += directiveOpen.size();
        const qsizetype end = body.indexOf(directiveClose, from);
        if (end < 0)
            break;
        scenario.apply(body.sliced(from, end - from));
        from = end + directiveClose.size();
    }
    return scenario;
}

void MockScenario::apply(QByteArrayView items)
{
    qsizetype start = 0;
    while (start <= items.size()) {
        qsizetype comma = items.indexOf(',', start);
        if (comma < 0)
            comma = items.size();
        const QByteArrayView item = items.sliced(start, comma - start).trimmed();
        const qsizetype equals = item.indexOf('=');
        if (equals < 0)
            applyItem(item, {});
        else
            applyItem(item.first(equals).trimmed(), item.sliced(equals + 1).trimmed());
        start = comma + 1;
    }
}

void MockScenario::applyItem(QByteArrayView key, QByteArrayView value)
{
    if (key == "tool")
        tool = true;
    else if (key == "hang")
        hang = true;
    else if (key == "html")
        htmlError = true;
    else if (key == "served_model")
        servedModel = decoded(value);
    else if (key == "status_body")
        statusBody = decoded(value);
    else {
        bool ok = false;
        const int number = value.toInt(&ok);
        if (ok && number >= 0)
            applyNumber(key, number);
    }
}

void MockScenario::applyNumber(QByteArrayView key, int value)
{
    static constexpr struct {
        QByteArrayView key;
        int MockScenario::*field;
    } fields[] = {
        {"in", &MockScenario::inputTokens},
        {"out", &MockScenario::outputTokens},
        {"cache_write", &MockScenario::cacheWriteTokens},
        {"cache_read", &MockScenario::cacheReadTokens},
        {"events", &MockScenario::events},
        {"error", &MockScenario::errorStatus},
        {"retry_after", &MockScenario::retryAfter},
        {"slow", &MockScenario::slowMs},
        {"gap", &MockScenario::gapMs},
        {"reset_after", &MockScenario::resetAfter},
    };
    for (const auto &field : fields) {
        if (field.key == key) {
            this->*field.field = value;
            return;
        }
    }
}

} // namespace tollgate::testsupport
