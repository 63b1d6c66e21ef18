#include "requestbuilder.h"

namespace tollgate::bench {

RequestBuilder::RequestBuilder(Options options)
    : m_options(std::move(options))
{
}

QByteArray RequestBuilder::build(const BenchTarget &target, quint64 seq) const
{
    // The mock reads `[[mock:...]]` directives from the prompt, so the scenario survives any
    // gateway that drops unknown headers.
    const QByteArray directive =
        m_options.stream ? " [[mock:events=" + QByteArray::number(m_options.streamEvents) +
                               ",gap=" + QByteArray::number(m_options.streamGapMs) + "]]"
                         : QByteArray();
    QByteArray body;
    body.reserve(512);
    body += R"({"model":"claude-3-haiku-20240307","max_tokens":256,"temperature":0.2,)";
    if (m_options.stream)
        body += R"("stream":true,)";
    body += R"("system":"You are a concise assistant for a software team.",)"
            R"("messages":[{"role":"user","content":"Request )";
    body += QByteArray::number(m_options.repeat ? m_options.repeatSeq : seq);
    body += R"(: in two sentences, explain why HTTP keep-alive lowers request latency.)";
    body += directive;
    body += R"("}]})";

    QByteArray request;
    request.reserve(body.size() + 256);
    request += "POST /v1/messages HTTP/1.1\r\nhost: ";
    request += target.hostHeader;
    request += "\r\ncontent-type: application/json\r\n"
               "x-api-key: sk-ant-bench-not-a-real-key\r\n"
               "anthropic-version: 2023-06-01\r\n";
    if (m_options.stream)
        request += "accept: text/event-stream\r\n";
    request += m_options.extraHeaders;
    request += "content-length: ";
    request += QByteArray::number(body.size());
    request += "\r\n\r\n";
    request += body;
    return request;
}

QByteArray RequestBuilder::expectedMarker() const
{
    return m_options.stream ? QByteArrayLiteral("message_stop") : QByteArrayLiteral("\"usage\"");
}

} // namespace tollgate::bench
