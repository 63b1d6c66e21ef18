#!/usr/bin/env bash
# Proves Claude Code works through a real tollgated: headless (`claude -p`), offline, against
# tollgate-mock-upstream, with its own key passing through. Not part of scripts/test.sh because
# Claude Code is a ~400 MB native binary (pinned by tests/claude-code/package-lock.json).
#
#   scripts/test-claude-code.sh [BUILD_DIR]        # BUILD_DIR or $TOLLGATE_BUILD_DIR, default build
#   TOLLGATE_CC_DEBUG=1 scripts/test-claude-code.sh   # also runs claude with --debug, shows its log
#
# Three runs against one gateway:
#   1. `claude -p "Say hello"` exactly as a user runs it (Claude Code's default model);
#   2. the same with a priced model, stream-json output and `x-tollgate-user` through
#      ANTHROPIC_CUSTOM_HEADERS: the gateway's cost must equal Claude Code's own;
#   3. a tool loop: the mock answers tool_use, Claude Code must send a tool_result back through
#      the gateway (it stops at --max-turns 2 because the mock keeps asking for the tool).
# Then tollgated is stopped with SIGTERM and its SQLite request log and output are checked.
# Prints one line per check and ends with "N passed, M failed"; exit 0 only when M is 0.
set -uo pipefail

readonly CLAUDE_TIMEOUT_S=120
readonly STARTUP_TIMEOUT_S=20
readonly STOP_TIMEOUT_S=15
readonly NPM_TIMEOUT_S=900
readonly BUILD_TIMEOUT_S=3600
readonly TEST_KEY=sk-ant-test-key
readonly PRICED_MODEL=claude-haiku-4-5
# The gateway sends an alias upstream as its canonical id, so the log names that id.
readonly PRICED_MODEL_ID=claude-haiku-4-5-20251001
readonly MOCK_ANSWER="Hello from mock."   # the mock streams "Hello", " from", " mock."

die() {
    echo "test-claude-code: $*" >&2
    exit 1
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) || die "cannot find the repository"
CC_DIR=$ROOT/tests/claude-code
BUILD_ARG=${1:-${TOLLGATE_BUILD_DIR:-build}}
[[ $BUILD_ARG = /* ]] || BUILD_ARG=$ROOT/$BUILD_ARG
BUILD_DIR=$BUILD_ARG

# ---- prerequisites: Debian packages, a built tree, Claude Code from the lock file ----------------

"$ROOT/scripts/setup.sh" || die "scripts/setup.sh failed"
for tool in node npm sqlite3 timeout; do
    command -v "$tool" >/dev/null || die "$tool is not on PATH"
done

TOLLGATED=$BUILD_DIR/app/tollgated/tollgated
MOCK=$BUILD_DIR/tests/support/tollgate-mock-upstream
if [[ ! -x $TOLLGATED || ! -x $MOCK ]]; then
    if [[ $BUILD_DIR == "$ROOT/build" ]]; then
        echo "test-claude-code: building with scripts/build.sh (no tollgated in $BUILD_DIR)"
        timeout "$BUILD_TIMEOUT_S" "$ROOT/scripts/build.sh" default || die "scripts/build.sh failed"
    else
        echo "test-claude-code: building tollgated and the mock in $BUILD_DIR"
        { cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
            timeout "$BUILD_TIMEOUT_S" cmake --build "$BUILD_DIR" \
                --target tollgated tollgate-mock-upstream; } || die "build failed in $BUILD_DIR"
    fi
fi
[[ -x $TOLLGATED ]] || die "no tollgated at $TOLLGATED"
[[ -x $MOCK ]] || die "no tollgate-mock-upstream at $MOCK"

if [[ ! -d $CC_DIR/node_modules || $CC_DIR/package-lock.json -nt $CC_DIR/node_modules ]]; then
    echo "test-claude-code: installing Claude Code from tests/claude-code/package-lock.json"
    # Never --omit=optional: the native binary is a platform optional dependency.
    timeout "$NPM_TIMEOUT_S" npm ci --prefix "$CC_DIR" --no-audit --no-fund ||
        die "npm ci --prefix tests/claude-code failed"
    touch "$CC_DIR/node_modules"
fi
CLAUDE=$CC_DIR/node_modules/.bin/claude
[[ -x $CLAUDE ]] || die "no claude at $CLAUDE (run: npm ci --prefix tests/claude-code)"
PINNED=$(node -p 'require(process.argv[1]).dependencies["@anthropic-ai/claude-code"]' \
    "$CC_DIR/package.json") || die "cannot read tests/claude-code/package.json"

# ---- processes -----------------------------------------------------------------------------------

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tollgate-claude-code.XXXXXX") || die "mktemp failed"
MOCK_PID=""
GATEWAY_PID=""

# Stops PID: SIGTERM, up to STOP_TIMEOUT_S, then SIGKILL. Returns the process's exit status
# (tollgated exits 0 once it has drained and flushed its log), 1 if it had to be killed.
stop() {
    local pid=$1 tries status=0
    [[ -n $pid ]] || return 0
    kill "$pid" 2>/dev/null || true
    for ((tries = 0; tries < STOP_TIMEOUT_S * 10; tries++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        return 1
    fi
    wait "$pid" 2>/dev/null || status=$?
    return "$status"
}

# shellcheck disable=SC2317  # runs from the EXIT trap
cleanup() {
    local status=$?
    stop "$GATEWAY_PID"
    stop "$MOCK_PID"
    if [[ -n ${TOLLGATE_CC_KEEP:-} ]]; then
        echo "test-claude-code: kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits for "listening on HOST:PORT" as the first stdout line of process PID; prints the URL.
wait_for_url() {
    local name=$1 pid=$2 out=$3 line="" tries
    for ((tries = 0; tries < STARTUP_TIMEOUT_S * 10; tries++)); do
        if [[ -s $out ]]; then
            IFS= read -r line <"$out" || true
            if [[ $line =~ ^listening\ on\ (.+):([0-9]+)$ ]]; then
                echo "http://${BASH_REMATCH[1]}:${BASH_REMATCH[2]}"
                return 0
            fi
        fi
        kill -0 "$pid" 2>/dev/null || { echo "test-claude-code: $name exited early" >&2; return 1; }
        sleep 0.1
    done
    echo "test-claude-code: $name did not listen within ${STARTUP_TIMEOUT_S} s" >&2
    return 1
}

show_logs() {
    local file
    for file in "$WORK"/mock.err "$WORK"/gateway.err "$WORK"/claude-*.err "$WORK"/home-*/.claude/debug/latest; do
        [[ -s $file ]] || continue
        echo "---- ${file#"$WORK"/} (last 30 lines) ----" >&2
        tail -n 30 "$file" >&2
    done
}

# ---- checks --------------------------------------------------------------------------------------

PASSED=0
FAILED=0
check() { # check DESCRIPTION COMMAND...
    local description=$1
    shift
    if "$@"; then
        echo "ok   - $description"
        PASSED=$((PASSED + 1))
    else
        echo "FAIL - $description"
        FAILED=$((FAILED + 1))
    fi
}

# js FILE EXPRESSION: prints EXPRESSION evaluated with j = the parsed JSON in FILE (a JSON array
# of lines if FILE is JSON Lines); exits non-zero when the expression is false, null or throws.
js() {
    timeout 20 node -e '
        const fs = require("fs");
        const text = fs.readFileSync(process.argv[1], "utf8");
        let j;
        try { j = JSON.parse(text); }
        catch { j = text.split("\n").filter(l => l.trim()).map(l => JSON.parse(l)); }
        const v = eval(process.argv[2]);
        if (v === false || v === null || v === undefined) process.exit(1);
        if (v !== true) console.log(typeof v === "string" ? v : JSON.stringify(v));
    ' "$1" "$2"
}
holds() { js "$1" "$2" >/dev/null 2>&1; }

fetch_to() { # fetch_to METHOD URL FILE
    timeout 20 node -e '
        fetch(process.argv[2], {method: process.argv[1]})
            .then(r => r.ok ? r.text() : Promise.reject(new Error("HTTP " + r.status)))
            .then(t => require("fs").writeFileSync(process.argv[3], t))
            .catch(e => { console.error(e.message); process.exit(1); });
    ' "$1" "$2" "$3"
}

# ---- start the mock and the gateway --------------------------------------------------------------

# No provider key and no client setting from the caller's environment may leak into this run.
while IFS= read -r variable; do
    unset "$variable"
done < <(compgen -e | grep -E '^(ANTHROPIC|OPENAI|CLAUDE)_')
mkdir -p "$WORK/data" "$WORK/gateway-home"

"$MOCK" --listen 127.0.0.1:0 >"$WORK/mock.out" 2>"$WORK/mock.err" &
MOCK_PID=$!
MOCK_URL=$(wait_for_url tollgate-mock-upstream "$MOCK_PID" "$WORK/mock.out") || { show_logs; exit 1; }

HOME=$WORK/gateway-home "$TOLLGATED" --listen 127.0.0.1:0 --data-dir "$WORK/data" \
    --anthropic-base-url "$MOCK_URL" --openai-base-url "$MOCK_URL" \
    >"$WORK/gateway.out" 2>"$WORK/gateway.err" &
GATEWAY_PID=$!
GATEWAY_URL=$(wait_for_url tollgated "$GATEWAY_PID" "$WORK/gateway.out") || { show_logs; exit 1; }

CC_VERSION=$(env -i PATH=/usr/bin:/bin HOME="$WORK" timeout 30 "$CLAUDE" --version 2>&1 | head -n 1)
echo "test-claude-code: Claude Code $CC_VERSION (pinned $PINNED), node $(node --version)"
echo "test-claude-code: mock at $MOCK_URL, tollgated at $GATEWAY_URL ($TOLLGATED)"
check "claude --version is the pinned $PINNED" test "${CC_VERSION%% *}" = "$PINNED"

# run_claude NAME [EXTRA_ENV=VALUE...] -- CLAUDE_ARGS...: one headless run with a throwaway HOME
# and a minimal environment (no proxies, no keys but the test key); journal saved per run.
run_claude() {
    local name=$1 extra=() rc
    shift
    while [[ $# -gt 0 && $1 != -- ]]; do extra+=("$1"); shift; done
    shift
    local home=$WORK/home-$name
    mkdir -p "$home/work"
    local debug=()
    [[ -n ${TOLLGATE_CC_DEBUG:-} ]] && debug=(--debug)
    fetch_to POST "$MOCK_URL/_mock/reset" /dev/null || echo "test-claude-code: journal reset failed" >&2
    (
        cd "$home/work" &&
            env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" USER="${USER:-tollgate}" \
                LANG=C.UTF-8 TMPDIR="$home" NO_PROXY=127.0.0.1,localhost \
                ANTHROPIC_BASE_URL="$GATEWAY_URL" ANTHROPIC_API_KEY="$TEST_KEY" \
                CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_TELEMETRY=1 \
                DISABLE_ERROR_REPORTING=1 DISABLE_AUTOUPDATER=1 "${extra[@]}" \
                timeout --kill-after=5 "$CLAUDE_TIMEOUT_S" "$CLAUDE" "$@" "${debug[@]}" \
                </dev/null >"$WORK/claude-$name.out" 2>"$WORK/claude-$name.err"
    )
    rc=$?
    echo "$rc" >"$WORK/claude-$name.rc"
    ((rc == 124 || rc == 137)) && echo "test-claude-code: claude ($name) ran over ${CLAUDE_TIMEOUT_S} s" >&2
    fetch_to GET "$MOCK_URL/_mock/journal" "$WORK/journal-$name.json" ||
        echo '[]' >"$WORK/journal-$name.json"
    if [[ -n ${TOLLGATE_CC_DEBUG:-} && -s $home/.claude/debug/latest ]]; then
        echo "---- claude --debug ($name) ----"
        grep -E 'API|ERROR|WARN|http' "$home/.claude/debug/latest" | head -n 40
    fi
    return 0
}
rc_of() { cat "$WORK/claude-$1.rc"; }

# Every request Claude Code sent went to /v1/messages, with its own key and Anthropic headers.
journal_checks() {
    local name=$1 journal=$WORK/journal-$1.json
    echo "test-claude-code: ($name) upstream saw: $(js "$journal" \
        'j.map(e => e.method + " " + e.path + " model=" + JSON.parse(e.body).model).join("; ")')"
    check "($name) the mock received requests through the gateway" holds "$journal" 'j.length > 0'
    check "($name) every request is POST /v1/messages (query string kept)" holds "$journal" \
        'j.every(e => e.method === "POST" && /^\/v1\/messages(\?|$)/.test(e.path))'
    check "($name) Claude Code's key passed through untouched (x-api-key or Bearer)" holds "$journal" \
        "j.every(e => e.headers['x-api-key'] === '$TEST_KEY' ||
                      e.headers['authorization'] === 'Bearer $TEST_KEY')"
    check "($name) anthropic-version and anthropic-beta (claude-code-*) forwarded" holds "$journal" \
        'j.every(e => e.headers["anthropic-version"] &&
                      /claude-code-/.test(e.headers["anthropic-beta"] || ""))'
    check "($name) Claude Code's user agent forwarded" holds "$journal" \
        'j.every(e => /^claude-cli\//.test(e.headers["user-agent"] || ""))'
    check "($name) no x-tollgate-* header reached the provider" holds "$journal" \
        'j.every(e => Object.keys(e.headers).every(h => !h.startsWith("x-tollgate-")))'
}

# ---- run 1: exactly what a user types ------------------------------------------------------------

run_claude default -- -p "Say hello"
check "(default) claude -p exits 0" test "$(rc_of default)" = 0
check "(default) prints the mock's answer \"$MOCK_ANSWER\"" \
    grep -qF "$MOCK_ANSWER" "$WORK/claude-default.out"
journal_checks default
DEFAULT_MODEL=$(js "$WORK/journal-default.json" 'JSON.parse(j[0].body).model' 2>/dev/null)
DEFAULT_MODEL=${DEFAULT_MODEL:-unknown}

# ---- run 2: a priced model, stream-json, a gateway user via ANTHROPIC_CUSTOM_HEADERS --------------

run_claude priced "ANTHROPIC_CUSTOM_HEADERS=x-tollgate-user: claude-code-priced" -- \
    -p "Say hello" --model "$PRICED_MODEL" --output-format stream-json --verbose
STREAM=$WORK/claude-priced.out
check "(priced) claude -p --output-format stream-json exits 0" test "$(rc_of priced)" = 0
check "(priced) init event names model $PRICED_MODEL" holds "$STREAM" \
    "j.some(e => e.type === 'system' && e.subtype === 'init' && e.model === '$PRICED_MODEL')"
check "(priced) the assistant message is the mock's (id msg_mock_*)" holds "$STREAM" \
    'j.some(e => e.type === "assistant" && /^msg_mock_/.test(e.message.id))'
check "(priced) result is a success with the mock's answer" holds "$STREAM" \
    "j.some(e => e.type === 'result' && e.subtype === 'success' && !e.is_error &&
                 e.result === '$MOCK_ANSWER')"
journal_checks priced
CC_COST=$(js "$STREAM" 'j.find(e => e.type === "result").total_cost_usd' 2>/dev/null)

# ---- run 3: a tool round trip (tool_use streamed as input_json_delta, tool_result sent back) -----

run_claude tools "ANTHROPIC_CUSTOM_HEADERS=x-tollgate-user: claude-code-tools" -- \
    -p "Say hello [[mock:tool]]" --model "$PRICED_MODEL" --max-turns 2 --output-format json
check "(tools) claude finished its tool loop (error_max_turns, no API error, exit 1)" holds \
    "$WORK/claude-tools.out" "$(rc_of tools) === 1 && j.subtype === 'error_max_turns' &&
                              !j.api_error_status && j.stop_reason === 'tool_use'"
check "(tools) a follow-up request carried the tool_result for toolu_mock_1" holds \
    "$WORK/journal-tools.json" \
    'j.some(e => JSON.parse(e.body).messages.some(m => Array.isArray(m.content) &&
                 m.content.some(c => c.type === "tool_result" && c.tool_use_id === "toolu_mock_1")))'
journal_checks tools

# ---- stop the gateway, then read its request log and its output ----------------------------------

stop "$GATEWAY_PID"
stopped=$?
GATEWAY_PID=""
check "tollgated exits 0 on SIGTERM within ${STOP_TIMEOUT_S} s" test "$stopped" = 0

DB=$WORK/data/requests.sqlite
sql() { timeout 20 sqlite3 -batch -noheader "$DB" "$1" 2>/dev/null; }
echo "test-claude-code: request log (user | model | status | stream | in | out | cost | priced):"
sql "SELECT '  ' || user || ' | ' || used_model || ' | ' || status || ' | ' || stream || ' | ' ||
            input_tokens || ' | ' || output_tokens || ' | ' || cost_usd || ' | ' || priced
     FROM requests ORDER BY started_at_ms"
journaled() { js "$WORK/journal-$1.json" 'String(j.length)' 2>/dev/null || echo 0; }
JOURNALED=$(($(journaled default) + $(journaled priced) + $(journaled tools)))
check "the request log has one row per upstream request ($JOURNALED)" \
    test "$(sql 'SELECT count(*) FROM requests')" = "$JOURNALED"
check "every row: /v1/messages, status 200, streamed, tokens > 0" \
    test "$(sql "SELECT count(*) FROM requests WHERE endpoint <> '/v1/messages' OR status <> 200
                 OR stream <> 1 OR input_tokens <= 0 OR output_tokens <= 0 OR error <> ''")" = 0
check "(default) rows name Claude Code's model $DEFAULT_MODEL" \
    test "$(sql "SELECT count(*) FROM requests WHERE requested_model = '$DEFAULT_MODEL'
                 AND used_model = '$DEFAULT_MODEL' AND user NOT LIKE 'claude-code-%'")" -ge 1
check "every priced row has cost > 0" \
    test "$(sql 'SELECT count(*) FROM requests WHERE priced = 1 AND cost_usd <= 0')" = 0
check "(priced) one row for user claude-code-priced, $PRICED_MODEL_ID, priced, cost > 0" \
    test "$(sql "SELECT count(*) FROM requests WHERE user = 'claude-code-priced'
                 AND requested_model = '$PRICED_MODEL' AND used_model = '$PRICED_MODEL_ID'
                 AND priced = 1 AND cost_usd > 0")" = 1
GW_COST=$(sql "SELECT cost_usd FROM requests WHERE user = 'claude-code-priced'")
check "(priced) gateway cost $GW_COST USD equals Claude Code's own ${CC_COST:-?} USD" \
    node -e 'process.exit(Math.abs(+process.argv[1] - +process.argv[2]) < 1e-9 &&
                          +process.argv[1] > 0 ? 0 : 1)' "${GW_COST:-0}" "${CC_COST:-nan}"
check "(tools) rows for user claude-code-tools match its upstream requests" \
    test "$(sql "SELECT count(*) FROM requests WHERE user = 'claude-code-tools'")" = \
    "$(journaled tools)"
if [[ $(sql "SELECT count(*) FROM requests WHERE priced = 0") != 0 ]]; then
    echo "note - unpriced (not in resources/prices.json, logged with cost 0):" \
        "$(sql "SELECT group_concat(DISTINCT used_model) FROM requests WHERE priced = 0")"
fi
absent() { ! grep -aqrF -- "$TEST_KEY" "$@"; }
check "the key $TEST_KEY is nowhere in tollgated's stdout/stderr" \
    absent "$WORK/gateway.out" "$WORK/gateway.err"
check "the key $TEST_KEY is nowhere in the data folder (requests.sqlite*)" absent "$WORK/data"

((FAILED == 0)) || show_logs
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
