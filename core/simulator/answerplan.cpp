#include "simulator/answerplan.h"

#include <QtMath>

#include <algorithm>
#include <array>

namespace tollgate::simulator {

namespace {

/// splitmix64: small, fast and the same everywhere; std:: distributions are not specified
/// bit for bit, and a seed must give the same answers on every platform.
class Random {
public:
    explicit Random(quint64 state)
        : m_state(state)
    {
    }

    quint64 next()
    {
        quint64 z = (m_state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    /// In [0, 1).
    double unit() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
    double between(double low, double high) { return low + (high - low) * unit(); }
    /// In [0, n); n > 0.
    int below(int n) { return int(next() % quint64(n)); }

private:
    quint64 m_state;
};

// Generic prose: sentences are made of a subject, a verb phrase, an object and an optional tail,
// so a few dozen fragments give thousands of different sentences that read naturally enough for
// a request log or a chart tooltip.
constexpr std::array kSubjects = {
    "The first step",         "A practical approach", "In most cases the answer",
    "The simplest option",    "A careful review",     "The main trade-off",
    "One useful pattern",     "A small experiment",   "The existing setup",
    "A clear summary",        "The underlying idea",  "Each part of the problem",
    "A good starting point",  "The safest choice",    "A second look",
    "The rest of the design",
};
constexpr std::array kVerbs = {
    "depends on",         "starts with",     "comes down to",          "benefits from",
    "usually rests on",   "tends to favour", "can be checked against", "works best with",
    "should account for", "builds on",       "leads naturally to",     "is easier with",
};
constexpr std::array kObjects = {
    "the constraints you described",
    "a short list of priorities",
    "the data you already have",
    "a simple baseline",
    "clear and measurable goals",
    "the edge cases",
    "a quick prototype",
    "the cost of each option",
    "a second opinion",
    "the context of the request",
    "small, reversible changes",
    "the details that matter most",
    "a plain explanation",
    "the examples you gave",
};
constexpr std::array kTails = {
    "",
    "",
    "",
    ", so it is worth writing them down",
    " before anything else",
    ", which keeps the result predictable",
    " in practice",
    ", as a rule of thumb",
    ", and the rest follows from there",
};

// Says plainly, right after the marker, that no model wrote the answer.
constexpr const char *kDisclaimer =
    "[simulated] This reply comes from Tollgate's built-in simulator; no model was called.";

template <size_t N> const char *pick(Random &random, const std::array<const char *, N> &list)
{
    return list[size_t(random.below(int(N)))];
}

QString sentence(Random &random)
{
    QString text = QString::fromLatin1(pick(random, kSubjects)) + QLatin1Char(' ') +
                   QLatin1String(pick(random, kVerbs)) + QLatin1Char(' ') +
                   QLatin1String(pick(random, kObjects)) + QLatin1String(pick(random, kTails)) +
                   QLatin1Char('.');
    return text;
}

struct Prose {
    QString text;
    QStringList pieces;
    bool truncated = false;
};

/// Whole sentences until the answer reaches `target` tokens, cut at a word when it would pass
/// `limit`. The disclaimer's first word, the marker, is always there, even past a tiny limit.
Prose writeProse(Random &random, qint64 target, qint64 limit)
{
    Prose prose;
    QStringList words;
    int sentencesInParagraph = 0;
    int paragraphLength = 3 + random.below(3);
    const auto addSentence = [&](const QString &text) {
        const QStringList parts = text.split(QLatin1Char(' '));
        for (qsizetype i = 0; i < parts.size(); ++i) {
            QString word = parts.at(i);
            if (!prose.text.isEmpty()) {
                const bool newParagraph = i == 0 && sentencesInParagraph == 0;
                word.prepend(newParagraph ? QStringLiteral("\n\n") : QStringLiteral(" "));
            }
            if (!prose.text.isEmpty() && tokensInText(prose.text.size() + word.size()) > limit) {
                prose.truncated = true;
                return false;
            }
            prose.text += word;
            words.append(word);
        }
        return true;
    };
    bool more = addSentence(QString::fromLatin1(kDisclaimer));
    sentencesInParagraph = 1;
    while (more && tokensInText(prose.text.size()) < target) {
        if (sentencesInParagraph == paragraphLength) {
            sentencesInParagraph = 0;
            paragraphLength = 3 + random.below(3);
        }
        more = addSentence(sentence(random));
        ++sentencesInParagraph;
    }
    // Deltas of one to three words, as providers stream a few tokens at a time.
    for (qsizetype i = 0; i < words.size();) {
        const qsizetype take = qMin<qsizetype>(1 + random.below(3), words.size() - i);
        QString piece;
        for (qsizetype j = 0; j < take; ++j)
            piece += words.at(i + j);
        prose.pieces.append(piece);
        i += take;
    }
    return prose;
}

qint64 scaled(double ms, double scale)
{
    return qMax<qint64>(0, qRound64(ms * scale));
}

} // namespace

ModelSize modelSize(const QString &model)
{
    const QString name = model.toLower();
    static const std::array small = {"haiku", "mini", "nano", "flash", "small", "lite"};
    static const std::array large = {"opus", "o1", "o3", "gpt-5", "large", "ultra"};
    for (const char *word : small) {
        if (name.contains(QLatin1String(word)))
            return ModelSize::Small;
    }
    for (const char *word : large) {
        if (name.contains(QLatin1String(word)))
            return ModelSize::Large;
    }
    return ModelSize::Medium;
}

qint64 tokensInText(qsizetype chars)
{
    return (qint64(chars) + 3) / 4;
}

quint64 fingerprint(QByteArrayView bytes, quint64 hash)
{
    for (const char c : bytes) {
        hash ^= quint8(c);
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

AnswerPlan planAnswer(const AnswerRequest &request, const SimulatorOptions &options,
                      quint64 sequence)
{
    AnswerPlan plan;
    const double scale = qMax(0.0, options.latencyScale);

    // The text: seed, model and prompt only.
    Random textRandom(fingerprint(request.model.toUtf8(), options.seed ^ request.promptHash));
    // Longer prompts get longer answers, within what chat answers usually run to.
    const double natural = qBound(60.0, 120.0 + 0.3 * double(request.inputTokens), 800.0);
    const qint64 target = qRound64(natural * textRandom.between(0.6, 1.4));
    const qint64 limit = request.maxTokens > 0 ? request.maxTokens : 4096;
    Prose prose = writeProse(textRandom, target, limit);
    plan.text = std::move(prose.text);
    plan.pieces = std::move(prose.pieces);
    plan.truncated = prose.truncated;
    // A provider that stops at max_tokens has produced exactly that many.
    plan.outputTokens = plan.truncated ? limit : qMin(limit, tokensInText(plan.text.size()));

    // Timing, fault and id: this request's turn.
    Random random(options.seed * 0x9e3779b97f4a7c15ULL + sequence);
    const ModelSize size = modelSize(request.model);
    const double firstTokenBase = size == ModelSize::Small    ? random.between(300, 500)
                                  : size == ModelSize::Medium ? random.between(400, 700)
                                                              : random.between(600, 900);
    const double speedFactor = size == ModelSize::Small    ? 1.6
                               : size == ModelSize::Medium ? 1.0
                                                           : 0.55;
    const double tokensPerSecond =
        qMax(1.0, options.tokensPerSecond) * speedFactor * random.between(0.85, 1.15);
    const double msPerToken = 1000.0 / tokensPerSecond;
    plan.firstTokenMs = scaled(firstTokenBase, scale);
    qsizetype charsBefore = 0;
    for (const QString &piece : std::as_const(plan.pieces)) {
        plan.pieceAtMs.append(plan.firstTokenMs +
                              scaled(double(tokensInText(charsBefore)) * msPerToken, scale));
        charsBefore += piece.size();
    }
    plan.doneAtMs = plan.firstTokenMs + scaled(double(plan.outputTokens) * msPerToken, scale);

    const double faultDraw = random.unit();
    const double kindDraw = random.unit();
    if (faultDraw < options.errorRate) {
        if (kindDraw < 0.4) {
            plan.fault = Fault::RateLimited;
            plan.retryAfterSeconds = 1 + random.below(3);
            plan.faultAtMs = scaled(random.between(40, 120), scale);
        } else if (kindDraw < 0.8 || !request.stream || plan.pieces.size() < 2) {
            plan.fault = kindDraw < 0.65 ? Fault::Overloaded : Fault::ServerError;
            plan.faultAtMs = scaled(firstTokenBase * random.between(0.3, 1.0), scale);
        } else {
            plan.fault = Fault::BrokenStream;
            plan.faultAfterPieces = 1 + random.below(int(plan.pieces.size()) - 1);
            plan.faultAtMs = plan.pieceAtMs.at(plan.faultAfterPieces);
        }
    }
    plan.id = QString::number(random.next(), 16).rightJustified(16, QLatin1Char('0'));
    return plan;
}

} // namespace tollgate::simulator
