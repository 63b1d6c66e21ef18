#include "api/promptstats.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

namespace tollgate::api {

namespace {

/// Text of a content value: a string, or the text parts of a content-block array.
QString contentText(const QJsonValue &content)
{
    if (content.isString())
        return content.toString();
    QString text;
    const QJsonArray blocks = content.toArray();
    for (const QJsonValue &block : blocks) {
        const QJsonObject object = block.toObject();
        if (object.value(u"type").toString() == QLatin1String("text"))
            text += object.value(u"text").toString();
    }
    return text;
}

void count(const QString &text, PromptStats &stats)
{
    static const QRegularExpression math(
        QStringLiteral(R"(\$\$|\\\(|\\\[|\\frac|\\sum|\\int|\\begin\{equation)"));
    stats.chars += text.size();
    stats.codeBlocks += int(text.count(QLatin1String("```")) / 2);
    stats.mathMarkers += int(text.count(math));
}

} // namespace

PromptStats promptStats(Flavor flavor, const QByteArray &body)
{
    PromptStats stats;
    const QJsonObject request = QJsonDocument::fromJson(body).object();
    if (flavor == Flavor::Anthropic)
        count(contentText(request.value(u"system")), stats);
    const QJsonArray messages = request.value(u"messages").toArray();
    stats.messages = int(messages.size());
    for (const QJsonValue &message : messages)
        count(contentText(message.toObject().value(u"content")), stats);
    stats.tools = int(request.value(u"tools").toArray().size());
    return stats;
}

QByteArray rewriteRequest(Flavor flavor, const QByteArray &body, const QString &model,
                          int maxTokens)
{
    QJsonObject request = QJsonDocument::fromJson(body).object();
    request.insert(QStringLiteral("model"), model);
    if (maxTokens > 0) {
        const bool completionTokens =
            flavor == Flavor::OpenAI && request.contains(u"max_completion_tokens");
        request.insert(completionTokens ? QStringLiteral("max_completion_tokens")
                                        : QStringLiteral("max_tokens"),
                       maxTokens);
    }
    return QJsonDocument(request).toJson(QJsonDocument::Compact);
}

} // namespace tollgate::api
