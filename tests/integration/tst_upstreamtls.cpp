// The upstream client over TLS against an in-test TLS server whose certificates come from a
// throwaway CA made with the openssl CLI: the chain and the host name are verified, SNI is sent,
// a policy's ca_file is trusted besides the system CAs, and a refused certificate fails as a
// Connect error that says TLS before any request byte leaves.

#include "http/upstreamconnection.h"
#include "http/upstreampool.h"
#include "httptestclient.h"
#include "policy/gatewayconfig.h"
#include "providerheaders.h"
#include "testchecks.h"
#include "tollgatedprocess.h"

#include <QFile>
#include <QProcess>
#include <QSet>
#include <QSignalSpy>
#include <QSslKey>
#include <QSslSocket>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

#include <memory>
#include <optional>

using namespace tollgate;
using namespace tollgate::http;
using namespace tollgate::testsupport;

namespace {

const QByteArray kAnswer =
    R"({"id":"msg_tls","type":"message","role":"assistant","model":"claude-3-haiku-20240307",)"
    R"("content":[{"type":"text","text":"over TLS"}],"stop_reason":"end_turn",)"
    R"("usage":{"input_tokens":3,"output_tokens":2}})";

const QByteArray kOpenSslConfig = R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[localhost]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
[wrong]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.tollgate.invalid
)";

/// The SNI host name of a TLS ClientHello: empty when the hello has none, nullopt while the
/// first record has not arrived whole. Parses only what a client hello must contain.
std::optional<QByteArray> serverNameOf(const QByteArray &hello)
{
    if (hello.size() < 5)
        return std::nullopt;
    const auto byte = [&](qsizetype at) { return at < hello.size() ? quint8(hello[at]) : 0; };
    const auto u16 = [&](qsizetype at) { return (byte(at) << 8) | byte(at + 1); };
    const qsizetype recordEnd = 5 + u16(3);
    if (hello.size() < recordEnd)
        return std::nullopt;
    if (byte(0) != 0x16 || byte(5) != 0x01) // handshake record holding a ClientHello
        return QByteArray();
    qsizetype at = 9 + 2 + 32; // record and handshake headers, version, random
    at += 1 + byte(at);        // session id
    at += 2 + u16(at);         // cipher suites
    at += 1 + byte(at);        // compression methods
    const qsizetype extensionsEnd = qMin(recordEnd, at + 2 + u16(at));
    at += 2;
    while (at + 4 <= extensionsEnd) {
        const int type = u16(at);
        const int length = u16(at + 2);
        at += 4;
        // server_name: list length (2), name type (1, 0 = host name), name length (2), name
        if (type == 0 && byte(at + 2) == 0)
            return hello.mid(at + 5, u16(at + 3));
        at += length;
    }
    return QByteArray();
}

/// A TLS server for tests speaking just enough HTTP/1.1: every request gets kAnswer with a
/// content-length on a kept-alive connection. It records connections, the SNI name of each
/// (read from the ClientHello before the handshake starts) and the requests that arrived.
class TlsTestServer : public QTcpServer {
public:
    QSslCertificate certificate;
    QSslKey key;
    int connections = 0;
    int handshakes = 0;
    QList<QByteArray> serverNames; ///< one per connection that sent a ClientHello
    QList<QByteArray> requests;    ///< request heads, in arrival order

protected:
    void incomingConnection(qintptr descriptor) override
    {
        auto *socket = new QSslSocket(this);
        if (!socket->setSocketDescriptor(descriptor)) {
            delete socket;
            return;
        }
        ++connections;
        socket->setLocalCertificate(certificate);
        socket->setPrivateKey(key);
        auto buffer = std::make_shared<QByteArray>();
        connect(socket, &QSslSocket::encrypted, this, [this] { ++handshakes; });
        connect(socket, &QSslSocket::disconnected, socket, &QObject::deleteLater);
        connect(socket, &QSslSocket::readyRead, this, [this, socket, buffer] {
            if (socket->mode() == QSslSocket::UnencryptedMode) {
                // Unencrypted, QSslSocket::peek leaves the bytes to the handshake.
                const auto name = serverNameOf(socket->peek(socket->bytesAvailable()));
                if (!name)
                    return;
                serverNames.append(*name);
                socket->startServerEncryption();
                return;
            }
            buffer->append(socket->readAll());
            qsizetype headEnd;
            while ((headEnd = buffer->indexOf("\r\n\r\n")) >= 0) {
                const QByteArray head = buffer->left(headEnd);
                qsizetype bodyBytes = 0;
                for (const QByteArray &line : head.split('\n')) {
                    if (line.toLower().startsWith("content-length:"))
                        bodyBytes = line.mid(15).trimmed().toLongLong();
                }
                if (buffer->size() < headEnd + 4 + bodyBytes)
                    return;
                buffer->remove(0, headEnd + 4 + bodyBytes);
                requests.append(head);
                socket->write("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                              "content-length: " +
                              QByteArray::number(kAnswer.size()) + "\r\n\r\n" + kAnswer);
            }
        });
    }
};

/// Runs the openssl CLI in `dir`; false with its output in `error` when it fails.
bool runOpenSsl(const QString &program, const QString &dir, const QStringList &args, QString *error)
{
    QProcess process;
    process.setWorkingDirectory(dir);
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(program, args);
    if (!process.waitForFinished(30000) || process.exitStatus() != QProcess::NormalExit ||
        process.exitCode() != 0) {
        *error = QStringLiteral("openssl %1 failed: %2")
                     .arg(args.join(QLatin1Char(' ')),
                          QString::fromLocal8Bit(process.readAll()) + process.errorString());
        return false;
    }
    return true;
}

QByteArray readFile(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

} // namespace

class TestUpstreamTls : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void refusesAnUntrustedCa();
    void trustsTheExtraCaAndSendsSni();
    void refusesACertificateForAnotherName();
    void verifiesAnIpAddressWithoutSni();
    void reusesOneTlsConnection();
    void neverSharesAConnectionAcrossTrust();
    void addsTheExtraCaToTheSystemOnes();
    void policyRejectsUnusableCaFiles_data();
    void policyRejectsUnusableCaFiles();
    void gatewayAnswers502InTheCallersShape();
    void gatewayTrustsThePolicyCaFile();

private:
    /// Serves `certificate` (localhost or wrong) on a fresh server.
    void serve(const QString &name);
    QUrl baseUrl(const QString &host = QStringLiteral("localhost")) const;
    UpstreamRequest messages(const QUrl &url, const QList<QSslCertificate> &extraCas) const;
    /// Waits until `call` finishes or fails; returns true when it finished.
    bool wait(UpstreamCall *call, int timeoutMs = 5000);
    /// The CA as applyPolicy loads it from `providers.anthropic.ca_file`.
    QList<QSslCertificate> policyCa() const;
    QString path(const QString &name) const { return m_pki.filePath(name); }
    bool startGateway(TollgatedProcess &gateway, const QByteArray &provider);
    HttpTestResponse postMessages(quint16 port);

    QTemporaryDir m_pki;
    std::unique_ptr<TlsTestServer> m_server;
};

void TestUpstreamTls::initTestCase()
{
    if (!QSslSocket::supportsSsl())
        QSKIP("Qt has no TLS backend here (QSslSocket::supportsSsl() is false)");
    QString openssl = QStringLiteral("/usr/bin/openssl");
    if (!QFile::exists(openssl))
        openssl = QStandardPaths::findExecutable(QStringLiteral("openssl"));
    if (openssl.isEmpty())
        QSKIP("the openssl CLI (/usr/bin/openssl) is missing: it makes this test's certificates");
    QVERIFY(m_pki.isValid());
    QFile config(path(QStringLiteral("pki.cnf")));
    QVERIFY(config.open(QIODevice::WriteOnly));
    config.write(kOpenSslConfig);
    config.close();

    const QStringList ecKey{
        QStringLiteral("-newkey"), QStringLiteral("ec"), QStringLiteral("-pkeyopt"),
        QStringLiteral("ec_paramgen_curve:prime256v1"), QStringLiteral("-nodes")};
    QString error;
    QVERIFY2(
        runOpenSsl(openssl, m_pki.path(),
                   QStringList{QStringLiteral("req"), QStringLiteral("-x509")} + ecKey +
                       QStringList{QStringLiteral("-keyout"), QStringLiteral("ca.key"),
                                   QStringLiteral("-out"), QStringLiteral("ca.pem"),
                                   QStringLiteral("-days"), QStringLiteral("2"),
                                   QStringLiteral("-subj"), QStringLiteral("/CN=Tollgate Test CA"),
                                   QStringLiteral("-config"), QStringLiteral("pki.cnf"),
                                   QStringLiteral("-extensions"), QStringLiteral("ca")},
                   &error),
        qPrintable(error));
    int serial = 2;
    for (const QString &name : {QStringLiteral("localhost"), QStringLiteral("wrong")}) {
        QVERIFY2(runOpenSsl(openssl, m_pki.path(),
                            QStringList{QStringLiteral("req"), QStringLiteral("-new")} + ecKey +
                                QStringList{QStringLiteral("-keyout"), name + ".key",
                                            QStringLiteral("-out"), name + ".csr",
                                            QStringLiteral("-subj"), "/CN=" + name,
                                            QStringLiteral("-config"), QStringLiteral("pki.cnf")},
                            &error),
                 qPrintable(error));
        QVERIFY2(
            runOpenSsl(openssl, m_pki.path(),
                       {QStringLiteral("x509"), QStringLiteral("-req"), QStringLiteral("-in"),
                        name + ".csr", QStringLiteral("-CA"), QStringLiteral("ca.pem"),
                        QStringLiteral("-CAkey"), QStringLiteral("ca.key"),
                        QStringLiteral("-set_serial"), QString::number(serial++),
                        QStringLiteral("-days"), QStringLiteral("2"), QStringLiteral("-extfile"),
                        QStringLiteral("pki.cnf"), QStringLiteral("-extensions"), name,
                        QStringLiteral("-out"), name + ".pem"},
                       &error),
            qPrintable(error));
    }
    QFile notPem(path(QStringLiteral("not-a-certificate.txt")));
    QVERIFY(notPem.open(QIODevice::WriteOnly));
    notPem.write("this is a certificate, honest\n");
}

void TestUpstreamTls::init()
{
    serve(QStringLiteral("localhost"));
}

void TestUpstreamTls::cleanup()
{
    m_server.reset();
}

void TestUpstreamTls::serve(const QString &name)
{
    m_server = std::make_unique<TlsTestServer>();
    m_server->certificate = QSslCertificate(readFile(path(name + ".pem")), QSsl::Pem);
    m_server->key = QSslKey(readFile(path(name + ".key")), QSsl::Ec, QSsl::Pem);
    QVERIFY(!m_server->certificate.isNull());
    QVERIFY(!m_server->key.isNull());
    QVERIFY(m_server->listen(QHostAddress::LocalHost, 0));
}

QUrl TestUpstreamTls::baseUrl(const QString &host) const
{
    QUrl url;
    url.setScheme(QStringLiteral("https"));
    url.setHost(host);
    url.setPort(m_server->serverPort());
    return url;
}

UpstreamRequest TestUpstreamTls::messages(const QUrl &url,
                                          const QList<QSslCertificate> &extraCas) const
{
    UpstreamRequest request;
    request.baseUrl = url;
    request.method = "POST";
    request.target = "/v1/messages";
    request.headers = {{"content-type", "application/json"}, {"x-api-key", "sk-must-not-leak"}};
    request.body = R"({"model":"claude-3-haiku-20240307","max_tokens":16,)"
                   R"("messages":[{"role":"user","content":"hi"}]})";
    request.timeouts.connectMs = 5000;
    request.extraCaCertificates = extraCas;
    return request;
}

bool TestUpstreamTls::wait(UpstreamCall *call, int timeoutMs)
{
    return waitForOutcome(call, &UpstreamCall::finished, &UpstreamCall::failed, timeoutMs);
}

QList<QSslCertificate> TestUpstreamTls::policyCa() const
{
    const QByteArray policy = R"({"providers": {"anthropic": {"ca_file": ")" +
                              path(QStringLiteral("ca.pem")).toUtf8() + R"("}}})";
    auto config = policy::applyPolicy(policy);
    if (!config) {
        qWarning("%s", qPrintable(config.error().toString()));
        return {};
    }
    const policy::ProviderConfig *anthropic =
        policy::findProvider(*config, QStringLiteral("anthropic"));
    return anthropic ? anthropic->extraCaCertificates : QList<QSslCertificate>();
}

void TestUpstreamTls::refusesAnUntrustedCa()
{
    UpstreamPool pool({8, 8, 60000});
    UpstreamCall *call = pool.start(messages(baseUrl(), {}), this);
    QSignalSpy failed(call, &UpstreamCall::failed);
    QVERIFY(!wait(call));
    QCOMPARE(failed.size(), 1);
    const auto error = failed.first().first().value<UpstreamError>();
    QCOMPARE(int(error.kind), int(UpstreamError::Kind::Connect));
    QVERIFY2(error.message.startsWith(QLatin1String("TLS error: ")), qPrintable(error.message));
    // Qt's reason for an unknown issuer, whatever its exact words in this Qt version.
    QVERIFY2(error.message.contains(QLatin1String("issuer"), Qt::CaseInsensitive) ||
                 error.message.contains(QLatin1String("verif"), Qt::CaseInsensitive),
             qPrintable(error.message));
    QVERIFY(!error.responseStarted);
    // sslErrors, errorOccurred and disconnected all follow the refusal: still one report.
    QTest::qWait(200);
    QCOMPARE(failed.size(), 1);
    QCOMPARE(pool.activeConnections(), 0);
    QCOMPARE(pool.idleConnections(), 0);
    // The handshake reached the server, but the request (and its key) never did.
    QCOMPARE(m_server->connections, 1);
    QVERIFY(m_server->requests.isEmpty());
    delete call;
}

void TestUpstreamTls::trustsTheExtraCaAndSendsSni()
{
    const QList<QSslCertificate> ca = policyCa();
    QCOMPARE(ca.size(), 1);
    UpstreamPool pool({8, 8, 60000});
    UpstreamCall *call = pool.start(messages(baseUrl(), ca), this);
    QByteArray body;
    connect(call, &UpstreamCall::bodyReceived, this, [&](const QByteArray &data) { body += data; });
    QVERIFY(wait(call));
    QCOMPARE(call->status(), 200);
    QCOMPARE(body, kAnswer);
    QCOMPARE(m_server->handshakes, 1);
    QCOMPARE(m_server->serverNames, QList<QByteArray>{"localhost"});
    QCOMPARE(m_server->requests.size(), 1);
    QVERIFY(m_server->requests.first().startsWith("POST /v1/messages HTTP/1.1\r\n"));
    delete call;
}

void TestUpstreamTls::refusesACertificateForAnotherName()
{
    serve(QStringLiteral("wrong"));
    UpstreamPool pool({8, 8, 60000});
    UpstreamCall *call = pool.start(messages(baseUrl(), policyCa()), this);
    QSignalSpy failed(call, &UpstreamCall::failed);
    QVERIFY(!wait(call));
    QCOMPARE(failed.size(), 1);
    const auto error = failed.first().first().value<UpstreamError>();
    QCOMPARE(int(error.kind), int(UpstreamError::Kind::Connect));
    QVERIFY2(error.message.startsWith(QLatin1String("TLS error: ")), qPrintable(error.message));
    QVERIFY2(error.message.contains(QLatin1String("host name"), Qt::CaseInsensitive),
             qPrintable(error.message));
    QTest::qWait(200);
    QCOMPARE(failed.size(), 1);
    QVERIFY(m_server->requests.isEmpty());
    delete call;
}

void TestUpstreamTls::verifiesAnIpAddressWithoutSni()
{
    // The certificate names IP:127.0.0.1; SNI carries host names only, never an address.
    UpstreamPool pool({8, 8, 60000});
    UpstreamCall *call =
        pool.start(messages(baseUrl(QStringLiteral("127.0.0.1")), policyCa()), this);
    QVERIFY(wait(call));
    QCOMPARE(call->status(), 200);
    QCOMPARE(m_server->serverNames, QList<QByteArray>{QByteArray()});
    delete call;
}

void TestUpstreamTls::reusesOneTlsConnection()
{
    UpstreamPool pool({8, 8, 60000});
    const QList<QSslCertificate> ca = policyCa();
    for (int i = 0; i < 2; ++i) {
        UpstreamCall *call = pool.start(messages(baseUrl(), ca), this);
        QVERIFY(wait(call));
        QCOMPARE(call->status(), 200);
        delete call;
        QCOMPARE(pool.idleConnections(), 1);
    }
    QCOMPARE(m_server->connections, 1);
    QCOMPARE(m_server->handshakes, 1);
    QCOMPARE(m_server->requests.size(), 2);
}

void TestUpstreamTls::neverSharesAConnectionAcrossTrust()
{
    // Two providers on one host, only one with the CA: a connection verified with the CA must
    // not carry the other's request, or that one would work only while a connection is idle.
    UpstreamPool pool({8, 8, 60000});
    UpstreamCall *trusted = pool.start(messages(baseUrl(), policyCa()), this);
    QVERIFY(wait(trusted));
    delete trusted;
    QCOMPARE(pool.idleConnections(), 1);
    UpstreamCall *untrusted = pool.start(messages(baseUrl(), {}), this);
    QSignalSpy failed(untrusted, &UpstreamCall::failed);
    QVERIFY(!wait(untrusted));
    QVERIFY(failed.first().first().value<UpstreamError>().message.startsWith(
        QLatin1String("TLS error: ")));
    QCOMPARE(m_server->connections, 2);
    QCOMPARE(m_server->requests.size(), 1);
    QCOMPARE(pool.idleConnections(), 1);
    delete untrusted;
}

void TestUpstreamTls::addsTheExtraCaToTheSystemOnes()
{
    // Qt reads the system CAs on demand only while a configuration names none; naming the extra
    // CA turns that off. The configuration must therefore name the system CAs as well.
    const QList<QSslCertificate> ca = policyCa();
    QCOMPARE(ca.size(), 1);
    const QSslConfiguration config = UpstreamConnection::tlsConfiguration(ca);
    const QList<QSslCertificate> trusted = config.caCertificates();
    const QSet<QSslCertificate> trustedSet(trusted.begin(), trusted.end());
    QVERIFY(trustedSet.contains(ca.first()));
    const QList<QSslCertificate> system = QSslConfiguration::systemCaCertificates();
    if (system.isEmpty())
        qWarning("this system has no CA certificates: only the extra CA could be checked");
    for (const QSslCertificate &certificate : system)
        QVERIFY2(trustedSet.contains(certificate), qPrintable(certificate.subjectDisplayName()));
    QCOMPARE(config.peerVerifyMode(), QSslSocket::VerifyPeer);
    QVERIFY(!config.testSslOption(QSsl::SslOptionDisableServerNameIndication));

    // Without an extra CA nothing is named: Qt's own on-demand system CAs stay in charge.
    const QSslConfiguration plain = UpstreamConnection::tlsConfiguration({});
    QCOMPARE(plain.caCertificates(), QSslConfiguration::defaultConfiguration().caCertificates());
    QCOMPARE(plain.peerVerifyMode(), QSslSocket::VerifyPeer);
}

void TestUpstreamTls::policyRejectsUnusableCaFiles_data()
{
    QTest::addColumn<QString>("file");
    QTest::newRow("missing") << QStringLiteral("no-such-ca.pem");
    QTest::newRow("not PEM") << QStringLiteral("not-a-certificate.txt");
    QTest::newRow("a key, not a certificate") << QStringLiteral("ca.key");
}

void TestUpstreamTls::policyRejectsUnusableCaFiles()
{
    QFETCH(QString, file);
    const QByteArray policy =
        R"({"providers": {"anthropic": {"ca_file": ")" + path(file).toUtf8() + R"("}}})";
    auto config = policy::applyPolicy(policy);
    QVERIFY(!config.ok());
    QCOMPARE(config.error().path, QStringLiteral("providers.anthropic.ca_file"));
    QVERIFY2(config.error().message.contains(file), qPrintable(config.error().message));
}

bool TestUpstreamTls::startGateway(TollgatedProcess &gateway, const QByteArray &provider)
{
    TollgatedProcess::Options options;
    options.policy = R"({"version": 1, "providers": {"anthropic": )" + provider + "}}";
    options.extraArgs = QStringList{QStringLiteral("--workers"), QStringLiteral("1")};
    const bool started = gateway.start(options);
    if (!started)
        qWarning("%s", qPrintable(gateway.failureReport()));
    return started;
}

HttpTestResponse TestUpstreamTls::postMessages(quint16 port)
{
    return HttpTestClient::send(port, "POST", "/v1/messages",
                                ProviderHeaders::anthropic("sk-ant-tls-test-client"),
                                R"({"model":"claude-3-haiku-20240307","max_tokens":16,)"
                                R"("messages":[{"role":"user","content":"hi"}]})");
}

void TestUpstreamTls::gatewayAnswers502InTheCallersShape()
{
    TollgatedProcess gateway;
    QVERIFY(startGateway(gateway, R"({"base_url": ")" + baseUrl().toString().toUtf8() + R"("})"));
    const HttpTestResponse response = postMessages(gateway.port());
    QCOMPARE(response.status, 502);
    const QJsonObject body = response.json();
    QCOMPARE(body.value(u"type").toString(), QStringLiteral("error"));
    const QString message = body.value(u"error").toObject().value(u"message").toString();
    QVERIFY2(message.contains(QLatin1String("TLS error: ")), qPrintable(message));
    QVERIFY(m_server->requests.isEmpty());
    QCOMPARE(gateway.stop(), 0);
}

void TestUpstreamTls::gatewayTrustsThePolicyCaFile()
{
    TollgatedProcess gateway;
    QVERIFY(startGateway(gateway, R"({"base_url": ")" + baseUrl().toString().toUtf8() +
                                      R"(", "ca_file": ")" +
                                      path(QStringLiteral("ca.pem")).toUtf8() + R"("})"));
    const HttpTestResponse response = postMessages(gateway.port());
    QCOMPARE(response.status, 200);
    QCOMPARE(response.json().value(u"id").toString(), QStringLiteral("msg_tls"));
    QCOMPARE(m_server->serverNames, QList<QByteArray>{"localhost"});
    QCOMPARE(m_server->requests.size(), 1);
    QCOMPARE(gateway.stop(), 0);
}

QTEST_GUILESS_MAIN(TestUpstreamTls)
#include "tst_upstreamtls.moc"
