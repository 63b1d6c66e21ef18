#include "metering/requestfilter.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

namespace tollgate::metering {

// One node of a compiled filter. Every leaf has an in-memory test and an SQL twin that must give
// the same answer on every row, so each leaf is written with both halves side by side.
struct RequestFilter::Node {
    enum class Type { And, Or, Not, Glob, Compare, Failed };
    enum class Op { Eq, Ne, Gt, Ge, Lt, Le };

    struct TextColumn {
        const char *sql;
        QString (*get)(const RequestRecord &);
    };
    struct NumberColumn {
        const char *sql = nullptr;
        double (*get)(const RequestRecord &) = nullptr;
        // Negative in a record, NULL in the table (ttft without a first byte): no comparison holds.
        bool nullable = false;
    };

    Type type = Type::And; // an And without children matches everything
    std::vector<Node> children;
    std::vector<TextColumn> columns; // Glob: any of them
    QList<uint> glob;                // Glob: code points, ASCII folded to lower case
    QString like;                    // Glob: the same pattern for LIKE ... ESCAPE '\'
    NumberColumn number;             // Compare
    Op op = Op::Eq;                  // Compare
    double value = 0;                // Compare
};

namespace {

using Node = RequestFilter::Node;
using Op = Node::Op;
using TextColumn = Node::TextColumn;
using NumberColumn = Node::NumberColumn;

// Bounds that keep parsing, evaluation and SQLite (expression depth 1000, LIKE patterns of 50000
// bytes) well inside their limits whatever is typed or pasted.
constexpr int kMaxDepth = 32;
constexpr int kMaxTerms = 200;
constexpr int kMaxLength = 10000;

enum class Kind { Text, Status, Duration, Cost, Count, Cache, Stream, Error };

struct Field {
    const char *name;
    const char *alias; // nullptr when none
    Kind kind;
    std::vector<TextColumn> texts;
    NumberColumn number;
};

const TextColumn kId{"id", [](const RequestRecord &r) { return r.id; }};
const TextColumn kRequested{"requested_model",
                            [](const RequestRecord &r) { return r.requestedModel; }};
const TextColumn kUsed{"used_model", [](const RequestRecord &r) { return r.usedModel; }};
const TextColumn kUser{"user", [](const RequestRecord &r) { return r.user; }};
const TextColumn kEndpoint{"endpoint", [](const RequestRecord &r) { return r.endpoint; }};
const TextColumn kRoute{"route", [](const RequestRecord &r) { return r.route; }};
const TextColumn kPlan{"plan", [](const RequestRecord &r) { return r.plan; }};
const TextColumn kErrorText{"error", [](const RequestRecord &r) { return r.error; }};
const TextColumn kCacheStatus{"cache_status", [](const RequestRecord &r) { return r.cacheStatus; }};
const TextColumn kStatusText{"CAST(status AS TEXT)",
                             [](const RequestRecord &r) { return QString::number(r.status); }};

Field textField(const char *name, std::vector<TextColumn> columns, const char *alias = nullptr)
{
    return {name, alias, Kind::Text, std::move(columns), {}};
}

Field numberField(const char *name, Kind kind, NumberColumn column)
{
    return {name, nullptr, kind, {}, column};
}

double totalTokens(const RequestRecord &r)
{
    const api::Usage &u = r.usage;
    return double(u.inputTokens + u.outputTokens + u.cacheWriteTokens + u.cacheReadTokens);
}

// The fields in the order error messages list them.
const std::vector<Field> &fields()
{
    using R = const RequestRecord &;
    static const std::vector<Field> table{
        numberField("status", Kind::Status, {"status", [](R r) { return double(r.status); }}),
        textField("model", {kUsed, kRequested}),
        textField("requested", {kRequested}),
        textField("used", {kUsed}),
        textField("provider", {{"flavor", [](R r) { return r.flavor; }}}, "flavor"),
        textField("user", {kUser}),
        textField("plan", {kPlan}),
        textField("route", {kRoute}),
        textField("endpoint", {kEndpoint}, "path"),
        textField("id", {kId}),
        numberField("cost", Kind::Cost, {"cost_usd", [](R r) { return r.costUsd; }}),
        numberField("latency", Kind::Duration, {"latency_ms", [](R r) { return r.latencyMs; }}),
        numberField("ttft", Kind::Duration, {"ttft_ms", [](R r) { return r.ttftMs; }, true}),
        numberField("upstream", Kind::Duration, {"upstream_ms", [](R r) { return r.upstreamMs; }}),
        numberField("overhead", Kind::Duration, {"overhead_ms", [](R r) { return r.overheadMs; }}),
        numberField("queue", Kind::Duration, {"queue_ms", [](R r) { return r.queueMs; }, true}),
        numberField("connect", Kind::Duration,
                    {"connect_ms", [](R r) { return r.connectMs; }, true}),
        numberField("tokens", Kind::Count,
                    {"(input_tokens + output_tokens + cache_write_tokens + cache_read_tokens)",
                     totalTokens}),
        numberField("in", Kind::Count,
                    {"input_tokens", [](R r) { return double(r.usage.inputTokens); }}),
        numberField("out", Kind::Count,
                    {"output_tokens", [](R r) { return double(r.usage.outputTokens); }}),
        numberField("retries", Kind::Count, {"retries", [](R r) { return double(r.retries); }}),
        {"cache", nullptr, Kind::Cache, {kCacheStatus}, {}},
        numberField("stream", Kind::Stream, {"stream", [](R r) { return r.stream ? 1.0 : 0.0; }}),
        {"error", nullptr, Kind::Error, {kErrorText}, {}},
    };
    return table;
}

// What a bare word is looked for in.
const std::vector<TextColumn> &freeTextColumns()
{
    static const std::vector<TextColumn> columns{
        kId, kRequested, kUsed, kUser, kEndpoint, kRoute, kPlan, kErrorText, kStatusText};
    return columns;
}

const Field *findField(const QString &name)
{
    for (const Field &field : fields()) {
        if (name.compare(QLatin1String(field.name), Qt::CaseInsensitive) == 0 ||
            (field.alias && name.compare(QLatin1String(field.alias), Qt::CaseInsensitive) == 0))
            return &field;
    }
    return nullptr;
}

// SQLite's LIKE folds ASCII letters only; folding the same way here keeps memory and SQL equal.
QList<uint> folded(const QString &text)
{
    QList<uint> codePoints = text.toUcs4();
    for (uint &c : codePoints) {
        if (c >= 'A' && c <= 'Z')
            c += 'a' - 'A';
    }
    return codePoints;
}

// `*` any run, `?` one code point (as LIKE's `_` is one character). Backtracks only to the last
// star, so it is O(pattern x text) at worst, never exponential.
bool globMatches(const QList<uint> &pattern, const QList<uint> &text)
{
    qsizetype p = 0, t = 0, star = -1, resume = 0;
    while (t < text.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
            ++p;
            ++t;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            resume = t;
        } else if (star >= 0) {
            p = star + 1;
            t = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*')
        ++p;
    return p == pattern.size();
}

QString likePattern(const QString &glob)
{
    QString like;
    like.reserve(glob.size() + 8);
    for (const QChar c : glob) {
        if (c == u'*') {
            like += u'%';
        } else if (c == u'?') {
            like += u'_';
        } else {
            if (c == u'%' || c == u'_' || c == u'\\')
                like += u'\\';
            like += c;
        }
    }
    return like;
}

Node globNode(std::vector<TextColumn> columns, const QString &glob)
{
    Node node;
    node.type = Node::Type::Glob;
    node.columns = std::move(columns);
    node.glob = folded(glob);
    node.like = likePattern(glob);
    return node;
}

Node compareNode(const NumberColumn &column, Op op, double value)
{
    Node node;
    node.type = Node::Type::Compare;
    node.number = column;
    node.op = op;
    node.value = value;
    return node;
}

Node combined(Node::Type type, std::vector<Node> children)
{
    if (children.size() == 1)
        return std::move(children.front());
    Node node;
    node.type = type;
    node.children = std::move(children);
    return node;
}

Node negated(Node operand)
{
    Node node;
    node.type = Node::Type::Not;
    node.children.push_back(std::move(operand));
    return node;
}

// `field != value` is, for every field, exactly `not(field = value)`.
Node equalOrNot(Op op, Node equal)
{
    return op == Op::Ne ? negated(std::move(equal)) : equal;
}

bool isEverything(const Node &node)
{
    return node.type == Node::Type::And && node.children.empty();
}

std::optional<Op> operatorOf(const QString &text)
{
    static const std::pair<const char *, Op> known[] = {{"=", Op::Eq}, {"!=", Op::Ne},
                                                        {">", Op::Gt}, {">=", Op::Ge},
                                                        {"<", Op::Lt}, {"<=", Op::Le}};
    for (const auto &[spelling, op] : known) {
        if (text == QLatin1String(spelling))
            return op;
    }
    return std::nullopt;
}

// A plain decimal: digits, at most one point, an optional leading minus. No exponent, inf or nan,
// which SQLite would bind differently from how C++ compares.
std::optional<double> decimal(const QString &text)
{
    int digits = 0;
    int points = 0;
    for (qsizetype i = 0; i < text.size(); ++i) {
        const char16_t c = text[i].unicode();
        if (c == u'-' && i == 0)
            continue;
        if (c == u'.' && ++points == 1)
            continue;
        if (c < u'0' || c > u'9')
            return std::nullopt;
        ++digits;
    }
    bool ok = false;
    const double value = digits > 0 ? text.toDouble(&ok) : 0;
    if (!ok || !std::isfinite(value))
        return std::nullopt;
    return value;
}

// `text` without a case-insensitive `suffix`, or nothing when it does not end with it.
std::optional<QString> withoutSuffix(const QString &text, const char *suffix)
{
    if (!text.endsWith(QLatin1String(suffix), Qt::CaseInsensitive))
        return std::nullopt;
    return text.chopped(qsizetype(qstrlen(suffix)));
}

// A number with a unit suffix: the first suffix that fits, else the bare number times `bare`.
std::optional<double> scaled(const QString &text,
                             std::initializer_list<std::pair<const char *, double>> units,
                             double bare)
{
    for (const auto &[suffix, factor] : units) {
        if (const auto number = withoutSuffix(text, suffix)) {
            if (const auto value = decimal(*number))
                return *value * factor;
            return std::nullopt;
        }
    }
    if (const auto value = decimal(text))
        return *value * bare;
    return std::nullopt;
}

std::optional<bool> yesNo(const QString &text)
{
    const QString word = text.toLower();
    if (word == u"yes" || word == u"true" || word == u"1")
        return true;
    if (word == u"no" || word == u"false" || word == u"0")
        return false;
    return std::nullopt;
}

struct Value {
    QString text;
    bool quoted = false;
    int position = 0; // of its first character
};

class Parser {
public:
    explicit Parser(const QString &text)
        : m_text(text)
    {
    }

    Expected<Node> parse()
    {
        if (m_text.size() > kMaxLength)
            return fail(kMaxLength,
                        QStringLiteral("filter longer than %1 characters").arg(kMaxLength));
        Expected<Node> root = disjunction(0);
        if (!root)
            return root;
        skipSpace();
        if (!atEnd()) // only a `)` stops a disjunction early
            return fail(m_pos, QStringLiteral("unmatched )"));
        return root;
    }

private:
    using Result = Expected<Node>;

    Error fail(qsizetype pos, const QString &what, const QString &hint = {}) const
    {
        // Concatenated, not arg()-chained: `what` quotes user text, which may hold "%1".
        QString message = what + QStringLiteral(" at ") + QString::number(pos + 1);
        if (!hint.isEmpty())
            message += QStringLiteral("; ") + hint;
        return Error{message};
    }

    bool atEnd() const { return m_pos >= m_text.size(); }
    char16_t at(qsizetype pos) const { return pos < m_text.size() ? m_text[pos].unicode() : 0; }
    char16_t peek() const { return at(m_pos); }
    void skipSpace()
    {
        while (!atEnd() && m_text[m_pos].isSpace())
            ++m_pos;
    }

    bool isOperatorStart(qsizetype pos) const
    {
        const char16_t c = at(pos);
        return c == u'=' || c == u'<' || c == u'>' || (c == u'!' && at(pos + 1) == u'=');
    }
    bool isWordChar(qsizetype pos) const
    {
        const char16_t c = at(pos);
        return pos < m_text.size() && !m_text[pos].isSpace() && c != u'(' && c != u')' &&
               c != u'"' && !isOperatorStart(pos);
    }
    // A keyword stands alone: `or`, `and`, `not` followed by a space, a bracket, a quote or the
    // end.
    bool keywordAt(qsizetype pos, QLatin1String keyword) const
    {
        if (QStringView(m_text).mid(pos, keyword.size()).compare(keyword, Qt::CaseInsensitive) != 0)
            return false;
        const qsizetype after = pos + keyword.size();
        const char16_t c = at(after);
        return after >= m_text.size() || m_text[after].isSpace() || c == u'(' || c == u')' ||
               c == u'"';
    }
    // Where a term cannot start: the caller reports what is missing.
    bool atTermEnd() const
    {
        return atEnd() || peek() == u')' || keywordAt(m_pos, QLatin1String("or")) ||
               keywordAt(m_pos, QLatin1String("and"));
    }

    Result disjunction(int depth)
    {
        std::vector<Node> alternatives;
        qsizetype orPos = -1;
        for (;;) {
            Result conjunct = conjunction(depth);
            if (!conjunct)
                return conjunct;
            skipSpace();
            const bool orFollows = keywordAt(m_pos, QLatin1String("or"));
            if (isEverything(*conjunct) && orFollows)
                return fail(m_pos, QStringLiteral("\"or\" needs a term before it"));
            if (isEverything(*conjunct) && orPos >= 0)
                return fail(orPos, QStringLiteral("\"or\" needs a term after it"));
            alternatives.push_back(std::move(*conjunct));
            if (!orFollows)
                break;
            orPos = m_pos;
            m_pos += 2;
        }
        return combined(Node::Type::Or, std::move(alternatives));
    }

    Result conjunction(int depth)
    {
        std::vector<Node> terms;
        for (;;) {
            skipSpace();
            if (atEnd() || peek() == u')' || keywordAt(m_pos, QLatin1String("or")))
                break;
            if (keywordAt(m_pos, QLatin1String("and"))) {
                const qsizetype andPos = m_pos;
                m_pos += 3;
                skipSpace();
                if (terms.empty())
                    return fail(andPos, QStringLiteral("\"and\" needs a term before it"));
                if (atTermEnd())
                    return fail(andPos, QStringLiteral("\"and\" needs a term after it"));
                continue;
            }
            Result term = unary(depth);
            if (!term)
                return term;
            terms.push_back(std::move(*term));
        }
        if (terms.empty())
            return Node{};
        return combined(Node::Type::And, std::move(terms));
    }

    Result unary(int depth)
    {
        const qsizetype start = m_pos;
        if (depth >= kMaxDepth)
            return fail(start, QStringLiteral("nested deeper than %1 levels").arg(kMaxDepth));
        if (peek() == u'(')
            return group(depth);
        const bool bang = peek() == u'!' && !isOperatorStart(m_pos);
        if (bang || keywordAt(m_pos, QLatin1String("not"))) {
            m_pos += bang ? 1 : 3;
            skipSpace();
            if (atTermEnd())
                return fail(start, QStringLiteral("\"%1\" needs a term after it")
                                       .arg(bang ? QStringLiteral("!") : QStringLiteral("not")));
            Result operand = unary(depth + 1);
            if (!operand)
                return operand;
            return negated(std::move(*operand));
        }
        if (++m_terms > kMaxTerms)
            return fail(start, QStringLiteral("more than %1 terms").arg(kMaxTerms));
        if (peek() == u'"') {
            const Expected<Value> phrase = quoted();
            if (!phrase)
                return phrase.error();
            return freeText(phrase->text);
        }
        return term();
    }

    Result group(int depth)
    {
        const qsizetype open = m_pos++;
        Result inner = disjunction(depth + 1);
        if (!inner)
            return inner;
        skipSpace();
        if (atEnd())
            return fail(open, QStringLiteral("( without its )"));
        if (isEverything(*inner))
            return fail(open, QStringLiteral("empty ( )"));
        ++m_pos; // the `)`
        return inner;
    }

    Result term()
    {
        const qsizetype start = m_pos;
        while (isWordChar(m_pos))
            ++m_pos;
        const QString word = m_text.mid(start, m_pos - start);
        if (isOperatorStart(m_pos))
            return comparison(word, start);
        return freeText(word);
    }

    Result freeText(const QString &word) const
    {
        return globNode(freeTextColumns(), QStringLiteral("*%1*").arg(word));
    }

    Expected<Value> quoted()
    {
        const qsizetype open = m_pos++;
        Value value{{}, true, int(open)};
        while (!atEnd()) {
            char16_t c = m_text[m_pos++].unicode();
            if (c == u'"')
                return value;
            if (c == u'\\' && (peek() == u'"' || peek() == u'\\'))
                c = m_text[m_pos++].unicode();
            value.text += QChar(c);
        }
        return fail(open, QStringLiteral("unterminated quote"));
    }

    Expected<Value> value()
    {
        if (peek() == u'"')
            return quoted();
        const qsizetype start = m_pos;
        while (!atEnd() && !m_text[m_pos].isSpace() && peek() != u'(' && peek() != u')')
            ++m_pos;
        return Value{m_text.mid(start, m_pos - start), false, int(start)};
    }

    Result comparison(const QString &name, qsizetype start)
    {
        const qsizetype opPos = m_pos;
        while (!atEnd() && QStringView(u"=!<>").contains(m_text[m_pos]))
            ++m_pos;
        const QString opText = m_text.mid(opPos, m_pos - opPos);
        const std::optional<Op> op = operatorOf(opText);
        if (!op)
            return fail(opPos, QStringLiteral("unknown operator \"%1\"").arg(opText),
                        QStringLiteral("use =, !=, >, >=, < or <="));
        if (name.isEmpty())
            return fail(opPos, QStringLiteral("missing field before \"%1\"").arg(opText));
        const Field *field = findField(name);
        if (!field)
            return fail(start, QStringLiteral("unknown field \"%1\"").arg(name),
                        QStringLiteral("fields: ") +
                            RequestFilter::fieldNames().join(QStringLiteral(", ")));
        const Expected<Value> operand = value();
        if (!operand)
            return operand.error();
        if (!operand->quoted && operand->text.isEmpty())
            return fail(operand->position,
                        QStringLiteral("missing value after \"%1%2\"").arg(name, opText));
        return compile(*field, *op, opText, opPos, *operand);
    }

    Result compile(const Field &field, Op op, const QString &opText, qsizetype opPos,
                   const Value &value) const
    {
        const bool equality = op == Op::Eq || op == Op::Ne;
        const bool textual = field.kind == Kind::Text || field.kind == Kind::Cache ||
                             field.kind == Kind::Stream || field.kind == Kind::Error;
        if (textual && !equality)
            return fail(opPos,
                        QStringLiteral("%1 cannot be compared with %2")
                            .arg(QLatin1String(field.name), opText),
                        QStringLiteral("use = or !="));
        switch (field.kind) {
        case Kind::Text: return equalOrNot(op, globNode(field.texts, value.text));
        case Kind::Status: return status(field, op, value);
        case Kind::Duration:
            return number(field, op, value,
                          scaled(value.text, {{"ms", 1}, {"s", 1000}, {"m", 60000}}, 1),
                          QStringLiteral("a duration"), QStringLiteral("e.g. 250ms, 2s, 1m"));
        case Kind::Cost: {
            const QString amount = value.text.startsWith(u'$') ? value.text.mid(1) : value.text;
            return number(field, op, value, decimal(amount), QStringLiteral("a cost in USD"),
                          QStringLiteral("e.g. 0.05 or $1.50"));
        }
        case Kind::Count:
            return number(field, op, value, scaled(value.text, {{"k", 1e3}, {"m", 1e6}}, 1),
                          QStringLiteral("a number"), QStringLiteral("e.g. 500, 10k, 1m"));
        case Kind::Cache: return cache(field, op, value);
        case Kind::Stream: {
            const std::optional<bool> yes = yesNo(value.text);
            if (!yes)
                return fail(value.position,
                            QStringLiteral("\"%1\" is not yes or no").arg(value.text));
            return equalOrNot(op, compareNode(field.number, Op::Eq, *yes ? 1 : 0));
        }
        case Kind::Error: return errorText(field, op, value);
        }
        return fail(opPos, QStringLiteral("unsupported field"));
    }

    Result number(const Field &field, Op op, const Value &value, std::optional<double> parsed,
                  const QString &what, const QString &hint) const
    {
        if (!parsed)
            return fail(value.position, QStringLiteral("\"%1\" is not %2").arg(value.text, what),
                        hint);
        return equalOrNot(op, compareNode(field.number, op == Op::Ne ? Op::Eq : op, *parsed));
    }

    // A code (404) or a class (5xx, the range 500..599); an order compares with the whole range.
    Result status(const Field &field, Op op, const Value &value) const
    {
        const QString &text = value.text;
        double low = 0;
        double high = 0;
        if (text.size() == 3 && text[0] >= u'1' && text[0] <= u'5' &&
            text.mid(1).compare(QLatin1String("xx"), Qt::CaseInsensitive) == 0) {
            low = (text[0].unicode() - u'0') * 100;
            high = low + 99;
        } else if (const auto code = decimal(text);
                   code && text.size() <= 3 && !text.contains(u'.') && !text.contains(u'-')) {
            low = high = *code;
        } else {
            return fail(value.position, QStringLiteral("\"%1\" is not a status").arg(text),
                        QStringLiteral("e.g. 404 or 5xx"));
        }
        const NumberColumn &column = field.number;
        switch (op) {
        case Op::Gt: return compareNode(column, Op::Gt, high);
        case Op::Ge: return compareNode(column, Op::Ge, low);
        case Op::Lt: return compareNode(column, Op::Lt, low);
        case Op::Le: return compareNode(column, Op::Le, high);
        case Op::Eq:
        case Op::Ne: break;
        }
        Node inRange = low == high ? compareNode(column, Op::Eq, low)
                                   : combined(Node::Type::And, {compareNode(column, Op::Ge, low),
                                                                compareNode(column, Op::Le, high)});
        return equalOrNot(op, std::move(inRange));
    }

    Result cache(const Field &field, Op op, const Value &value) const
    {
        const QString outcome = value.text.toLower();
        if (outcome != u"hit" && outcome != u"miss" && outcome != u"bypass")
            return fail(value.position,
                        QStringLiteral("\"%1\" is not a cache status").arg(value.text),
                        QStringLiteral("use hit, miss or bypass"));
        return equalOrNot(op, globNode(field.texts, outcome));
    }

    // `error=yes|no` is failed(); any other value is text looked for inside the error message.
    // A quoted "yes" is text too.
    Result errorText(const Field &field, Op op, const Value &value) const
    {
        const std::optional<bool> yes = value.quoted || value.text == u"1" || value.text == u"0"
                                            ? std::nullopt
                                            : yesNo(value.text);
        if (!yes)
            return equalOrNot(op, globNode(field.texts, QStringLiteral("*%1*").arg(value.text)));
        Node failed;
        failed.type = Node::Type::Failed;
        const bool wantFailed = *yes == (op == Op::Eq);
        return wantFailed ? failed : negated(std::move(failed));
    }

    const QString &m_text;
    qsizetype m_pos = 0;
    int m_terms = 0;
};

bool compare(Op op, double left, double right)
{
    switch (op) {
    case Op::Eq: return left == right;
    case Op::Ne: return left != right;
    case Op::Gt: return left > right;
    case Op::Ge: return left >= right;
    case Op::Lt: return left < right;
    case Op::Le: return left <= right;
    }
    return false;
}

const char *sqlOperator(Op op)
{
    switch (op) {
    case Op::Eq: return "=";
    case Op::Ne: return "!=";
    case Op::Gt: return ">";
    case Op::Ge: return ">=";
    case Op::Lt: return "<";
    case Op::Le: return "<=";
    }
    return "=";
}

bool evaluate(const Node &node, const RequestRecord &record)
{
    switch (node.type) {
    case Node::Type::And:
        return std::all_of(node.children.begin(), node.children.end(),
                           [&](const Node &child) { return evaluate(child, record); });
    case Node::Type::Or:
        return std::any_of(node.children.begin(), node.children.end(),
                           [&](const Node &child) { return evaluate(child, record); });
    case Node::Type::Not: return !evaluate(node.children.front(), record);
    case Node::Type::Glob:
        return std::any_of(node.columns.begin(), node.columns.end(), [&](const TextColumn &c) {
            return globMatches(node.glob, folded(c.get(record)));
        });
    case Node::Type::Compare: {
        const double value = node.number.get(record);
        if (node.number.nullable && value < 0)
            return false;
        return compare(node.op, value, node.value);
    }
    case Node::Type::Failed: return record.failed();
    }
    return false;
}

// Every piece is two-valued (never NULL), so NOT in SQL means what `!` means in C++.
void appendSql(const Node &node, QString &sql, QVariantList &values)
{
    switch (node.type) {
    case Node::Type::And:
    case Node::Type::Or: {
        if (node.children.empty()) {
            sql += u'1';
            return;
        }
        const QLatin1String glue(node.type == Node::Type::And ? " AND " : " OR ");
        sql += u'(';
        for (size_t i = 0; i < node.children.size(); ++i) {
            if (i > 0)
                sql += glue;
            appendSql(node.children[i], sql, values);
        }
        sql += u')';
        return;
    }
    case Node::Type::Not:
        sql += QLatin1String("NOT ");
        appendSql(node.children.front(), sql, values);
        return;
    case Node::Type::Glob: {
        values.append(node.like);
        const QString parameter = QStringLiteral("?%1").arg(values.size());
        sql += u'(';
        for (size_t i = 0; i < node.columns.size(); ++i) {
            if (i > 0)
                sql += QLatin1String(" OR ");
            sql += QStringLiteral("%1 LIKE %2 ESCAPE '\\'")
                       .arg(QLatin1String(node.columns[i].sql), parameter);
        }
        sql += u')';
        return;
    }
    case Node::Type::Compare: {
        values.append(node.value);
        const QString test =
            QStringLiteral("%1 %2 ?%3")
                .arg(QLatin1String(node.number.sql), QLatin1String(sqlOperator(node.op)))
                .arg(values.size());
        sql += node.number.nullable ? QStringLiteral("(%1 IS NOT NULL AND %2)")
                                          .arg(QLatin1String(node.number.sql), test)
                                    : QStringLiteral("(%1)").arg(test);
        return;
    }
    case Node::Type::Failed: sql += QLatin1String("(status >= 400 OR error != '')"); return;
    }
}

} // namespace

RequestFilter::RequestFilter() = default;

Expected<RequestFilter> RequestFilter::parse(const QString &text)
{
    Expected<Node> root = Parser(text).parse();
    if (!root)
        return root.error();
    RequestFilter filter;
    filter.m_text = text;
    if (!isEverything(*root))
        filter.m_root = std::make_shared<const Node>(std::move(*root));
    return filter;
}

bool RequestFilter::matches(const RequestRecord &record) const
{
    return !m_root || evaluate(*m_root, record);
}

RequestFilter::Sql RequestFilter::toSql() const
{
    Sql sql;
    if (!m_root) {
        sql.where = QStringLiteral("1");
        return sql;
    }
    appendSql(*m_root, sql.where, sql.values);
    return sql;
}

QStringList RequestFilter::fieldNames()
{
    QStringList names;
    for (const Field &field : fields())
        names.append(QLatin1String(field.name));
    return names;
}

} // namespace tollgate::metering
