#include "mockrequest.h"

namespace tollgate::testsupport {

QByteArray headerValue(const MockHeaders &headers, QByteArrayView name)
{
    for (const auto &field : headers) {
        if (field.first == name)
            return field.second;
    }
    return {};
}

QByteArrayView MockRequest::path() const
{
    const QByteArrayView view(target);
    const qsizetype query = view.indexOf('?');
    return query < 0 ? view : view.first(query);
}

} // namespace tollgate::testsupport
