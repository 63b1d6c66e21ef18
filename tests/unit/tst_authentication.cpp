#include "gateway/authentication.h"

#include <QCryptographicHash>
#include <QTest>

using namespace tollgate;
using namespace tollgate::gateway;

class TestAuthentication : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void localOwnerWithoutHints();
    void loopbackCallerNamesUserAndPlan();
    void remoteCallerWithoutKeysIsNotTrusted();
    void keyNamesUserTeamAndPlan();
    void untrustedKeyCannotImpersonate();
    void trustedKeyMayNameOthers();
    void missingAndWrongKeysAreRefused();
    void bearerKeyIsAccepted();
    void attributionReadsClaudeCodeMetadata();

private:
    static http::HttpRequest request(const http::HeaderList &headers);
    static QList<policy::GatewayKey> keys();
};

http::HttpRequest TestAuthentication::request(const http::HeaderList &headers)
{
    http::HttpRequest r;
    r.method = "POST";
    r.path = "/v1/messages";
    r.headers = headers;
    return r;
}

QList<policy::GatewayKey> TestAuthentication::keys()
{
    const auto hash = [](const QByteArray &key) {
        return QCryptographicHash::hash(key, QCryptographicHash::Sha256).toHex();
    };
    policy::GatewayKey alice{QStringLiteral("alice-laptop"), hash("tg-alice"),
                             QStringLiteral("alice"),        QStringLiteral("pro"),
                             QStringLiteral("research"),     false};
    policy::GatewayKey service{QStringLiteral("batch"),      hash("tg-batch"), QString(),
                               QStringLiteral("enterprise"), QString(),        true};
    return {alice, service};
}

void TestAuthentication::localOwnerWithoutHints()
{
    const Authentication auth = authenticate({}, request({}), true);
    QCOMPARE(auth.status, 0);
    QVERIFY(auth.principal.localOwner);
    QVERIFY(auth.principal.user.isEmpty());
}

void TestAuthentication::loopbackCallerNamesUserAndPlan()
{
    const Authentication auth =
        authenticate({}, request({{"x-tollgate-user", "bob"}, {"x-tollgate-plan", "free"}}), true);
    QVERIFY(!auth.principal.localOwner);
    QCOMPARE(auth.principal.user, QStringLiteral("bob"));
    QCOMPARE(auth.principal.plan, QStringLiteral("free"));
}

void TestAuthentication::remoteCallerWithoutKeysIsNotTrusted()
{
    const Authentication auth = authenticate(
        {}, request({{"x-tollgate-user", "bob"}, {"x-tollgate-plan", "enterprise"}}), false);
    QVERIFY(auth.principal.plan.isEmpty());
    QVERIFY(auth.principal.user.isEmpty());
}

void TestAuthentication::keyNamesUserTeamAndPlan()
{
    const Authentication auth = authenticate(keys(), request({{"x-api-key", "tg-alice"}}), true);
    QCOMPARE(auth.status, 0);
    QCOMPARE(auth.principal.user, QStringLiteral("alice"));
    QCOMPARE(auth.principal.team, QStringLiteral("research"));
    QCOMPARE(auth.principal.plan, QStringLiteral("pro"));
    QCOMPARE(auth.principal.keyName, QStringLiteral("alice-laptop"));
    QVERIFY(!auth.principal.localOwner);
}

void TestAuthentication::untrustedKeyCannotImpersonate()
{
    const Authentication auth = authenticate(keys(),
                                             request({{"x-api-key", "tg-alice"},
                                                      {"x-tollgate-user", "mallory"},
                                                      {"x-tollgate-plan", "enterprise"}}),
                                             true);
    QCOMPARE(auth.principal.user, QStringLiteral("alice"));
    QCOMPARE(auth.principal.plan, QStringLiteral("pro"));
}

void TestAuthentication::trustedKeyMayNameOthers()
{
    const Authentication plain = authenticate(keys(), request({{"x-api-key", "tg-batch"}}), false);
    QCOMPARE(plain.principal.user, QStringLiteral("batch"));
    const Authentication named = authenticate(
        keys(), request({{"x-api-key", "tg-batch"}, {"x-tollgate-user", "carol"}}), false);
    QCOMPARE(named.principal.user, QStringLiteral("carol"));
    QCOMPARE(named.principal.plan, QStringLiteral("enterprise"));
}

void TestAuthentication::missingAndWrongKeysAreRefused()
{
    const Authentication missing = authenticate(keys(), request({}), true);
    QCOMPARE(missing.status, 401);
    QVERIFY(missing.error.contains(QLatin1String("missing gateway key")));
    const Authentication wrong = authenticate(keys(), request({{"x-api-key", "tg-eve"}}), true);
    QCOMPARE(wrong.status, 401);
    QVERIFY(!wrong.error.contains(QLatin1String("tg-eve")));
}

void TestAuthentication::bearerKeyIsAccepted()
{
    const Authentication auth =
        authenticate(keys(), request({{"authorization", "Bearer tg-alice"}}), true);
    QCOMPARE(auth.status, 0);
    QCOMPARE(auth.principal.user, QStringLiteral("alice"));
}

void TestAuthentication::attributionReadsClaudeCodeMetadata()
{
    QCOMPARE(attributionUser(QStringLiteral("user-42")), QStringLiteral("user-42"));
    QCOMPARE(attributionUser(QStringLiteral(
                 R"({"device_id":"2e71abcdef0123456789","account_uuid":"","session_id":"s"})")),
             QStringLiteral("device:2e71abcdef01"));
    QCOMPARE(attributionUser(
                 QStringLiteral(R"({"device_id":"2e71","account_uuid":"acc-9","session_id":"s"})")),
             QStringLiteral("acc-9"));
}

QTEST_GUILESS_MAIN(TestAuthentication)
#include "tst_authentication.moc"
