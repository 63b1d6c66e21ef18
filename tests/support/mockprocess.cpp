#include "mockprocess.h"

#include "httptestclient.h"

#include <QJsonDocument>

namespace tollgate::testsupport {

bool MockProcess::start(const QStringList &extraArgs, int timeoutMs)
{
    QStringList args{QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0")};
    args += extraArgs;
    return GatewayProcess::start(program(), args, QProcessEnvironment::systemEnvironment(),
                                 timeoutMs);
}

QString MockProcess::program()
{
    const QString fromEnvironment = qEnvironmentVariable("TOLLGATE_MOCK_UPSTREAM");
    return fromEnvironment.isEmpty() ? QStringLiteral(TOLLGATE_MOCK_UPSTREAM_PATH)
                                     : fromEnvironment;
}

QJsonArray MockProcess::journal(int timeoutMs) const
{
    const HttpTestResponse response =
        HttpTestClient::send(port(), "GET", "/_mock/journal", {}, {}, timeoutMs);
    return QJsonDocument::fromJson(response.body).array();
}

bool MockProcess::resetJournal(int timeoutMs) const
{
    return HttpTestClient::send(port(), "POST", "/_mock/reset", {}, {}, timeoutMs).status == 200;
}

} // namespace tollgate::testsupport
