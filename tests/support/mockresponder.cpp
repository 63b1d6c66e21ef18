#include "mockresponder.h"

#include "anthropicmock.h"
#include "mockcall.h"
#include "openaimock.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace tollgate::testsupport {

namespace {

constexpr int defaultRetryAfterSeconds = 7;

QByteArray firstToolName(const QJsonObject &root)
{
    const QJsonObject tool = root.value(QLatin1String("tools")).toArray().first().toObject();
    // Anthropic names the tool at the top level, OpenAI inside "function".
    QString name = tool.value(QLatin1String("name")).toString();
    if (name.isEmpty())
        name = tool.value(QLatin1String("function"))
                   .toObject()
                   .value(QLatin1String("name"))
                   .toString();
    return name.isEmpty() ? QByteArrayLiteral("get_weather") : name.toUtf8();
}

} // namespace

MockReply MockResponder::respond(const MockRequest &request, const QByteArray &requiredKey)
{
    const MockScenario scenario =
        MockScenario::parse(request.header("x-mock-scenario"), request.body);
    MockReply reply = answer(request, scenario, requiredKey);
    addRetryAfter(reply, scenario);
    reply.slowMs = scenario.slowMs;
    reply.gapMs = scenario.gapMs;
    reply.resetAfter = scenario.resetAfter;
    reply.hang = scenario.hang;
    return reply;
}

MockReply MockResponder::answer(const MockRequest &request, const MockScenario &scenario,
                                const QByteArray &requiredKey)
{
    const Provider provider = providerOf(request);
    if (!authorized(request, requiredKey))
        return error(provider, 401, "mock: invalid x-api-key", request.seq);
    if (scenario.errorStatus > 0)
        return injectedError(scenario, provider, request.seq);

    const QByteArrayView path = request.path();
    if (request.method == "GET" && path == "/v1/models") {
        return provider == Provider::Anthropic ? AnthropicMock::models(request.seq)
                                               : OpenAiMock::models(request.seq);
    }
    const bool completionPath = path == "/v1/messages" || path == "/v1/messages/count_tokens" ||
                                path == "/v1/chat/completions";
    if (request.method != "POST" || !completionPath) {
        return error(provider, 404,
                     "mock: no route for " + request.method + ' ' + path.toByteArray(),
                     request.seq);
    }
    return completion(request, scenario, provider);
}

MockReply MockResponder::completion(const MockRequest &request, const MockScenario &scenario,
                                    Provider provider)
{
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(request.body, &parseError);
    if (!document.isObject())
        return error(provider, 400, "mock: request body is not a JSON object", request.seq);
    const QJsonObject root = document.object();

    MockCall call;
    call.seq = request.seq;
    call.scenario = scenario;
    call.model = scenario.servedModel;
    if (call.model.isEmpty())
        call.model = root.value(QLatin1String("model")).toString().toUtf8();
    if (call.model.isEmpty())
        call.model = provider == Provider::Anthropic ? "claude-sonnet-4-20250514" : "gpt-4o";
    call.stream = root.value(QLatin1String("stream")).toBool();
    call.includeUsage = root.value(QLatin1String("stream_options"))
                            .toObject()
                            .value(QLatin1String("include_usage"))
                            .toBool();
    call.toolName = firstToolName(root);

    if (provider == Provider::OpenAi)
        return OpenAiMock::completion(call);
    return request.path().endsWith("/count_tokens") ? AnthropicMock::countTokens(call)
                                                    : AnthropicMock::message(call);
}

void MockResponder::addRetryAfter(MockReply &reply, const MockScenario &scenario)
{
    if (reply.status < 400)
        return;
    // Providers always pace a 429; for other statuses only when the scenario asks for it.
    const int seconds = scenario.retryAfter >= 0 ? scenario.retryAfter
                        : reply.status == 429    ? defaultRetryAfterSeconds
                                                 : -1;
    if (seconds >= 0)
        reply.headers.append({QByteArrayLiteral("retry-after"), QByteArray::number(seconds)});
}

MockReply MockResponder::injectedError(const MockScenario &scenario, Provider provider, quint64 seq)
{
    const int status = scenario.errorStatus;
    MockReply reply = error(provider, status, defaultMessage(status), seq);
    if (!scenario.statusBody.isEmpty()) {
        reply.body = scenario.statusBody;
        reply.contentType = scenario.statusBody.startsWith('<') ? "text/html" : "text/plain";
    } else if (scenario.htmlError) {
        reply.body = QByteArrayLiteral("<html>Bad gateway</html>");
        reply.contentType = "text/html";
    }
    return reply;
}

MockReply MockResponder::error(Provider provider, int status, QByteArrayView message, quint64 seq)
{
    return provider == Provider::Anthropic ? AnthropicMock::error(status, message, seq)
                                           : OpenAiMock::error(status, message, seq);
}

MockResponder::Provider MockResponder::providerOf(const MockRequest &request)
{
    const QByteArrayView path = request.path();
    if (path.startsWith("/v1/messages"))
        return Provider::Anthropic;
    if (path.startsWith("/v1/chat/"))
        return Provider::OpenAi;
    return request.header("anthropic-version").isEmpty() ? Provider::OpenAi : Provider::Anthropic;
}

bool MockResponder::authorized(const MockRequest &request, const QByteArray &requiredKey)
{
    if (requiredKey.isEmpty())
        return true;
    return request.header("x-api-key") == requiredKey ||
           request.header("authorization") == "Bearer " + requiredKey;
}

QByteArray MockResponder::defaultMessage(int status)
{
    switch (status) {
    case 429: return "mock: rate limit exceeded";
    case 529: return "mock: overloaded";
    default: return "mock: injected error " + QByteArray::number(status);
    }
}

} // namespace tollgate::testsupport
