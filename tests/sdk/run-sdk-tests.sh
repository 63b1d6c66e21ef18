#!/usr/bin/env bash
# Runs the official Anthropic and OpenAI SDKs (tests/sdk/*.test.mjs) against a real tollgated that
# sits in front of tollgate-mock-upstream. Used by CTest (sdk_clients); runnable by hand:
#   tests/sdk/run-sdk-tests.sh build/app/tollgated/tollgated build/tests/support/tollgate-mock-upstream
# Exit code: the node test runner's (1 on a setup failure).
set -uo pipefail

readonly STARTUP_TIMEOUT_S=10
readonly NODE_TIMEOUT_S=90

die() {
    echo "run-sdk-tests: $*" >&2
    exit 1
}

[[ $# -eq 2 ]] || die "usage: $0 PATH/TO/tollgated PATH/TO/tollgate-mock-upstream"
SDK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) || die "cannot find the script's folder"
TOLLGATED=$(realpath -e "$1") || die "no tollgated at $1"
MOCK=$(realpath -e "$2") || die "no tollgate-mock-upstream at $2"
[[ -x $TOLLGATED ]] || die "$TOLLGATED is not executable"
[[ -x $MOCK ]] || die "$MOCK is not executable"
command -v node >/dev/null || die "node is not on PATH"

if [[ ! -d $SDK_DIR/node_modules/@anthropic-ai/sdk || ! -d $SDK_DIR/node_modules/openai ]]; then
    echo "run-sdk-tests: the SDKs are not installed in $SDK_DIR/node_modules." >&2
    echo "run-sdk-tests: install them from the lock file first:  npm ci --prefix tests/sdk" >&2
    exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tollgate-sdk.XXXXXX") || die "mktemp failed"
MOCK_PID=""
GATEWAY_PID=""

# shellcheck disable=SC2317  # stop and cleanup run from the EXIT trap
stop() {
    local pid=$1 tries
    [[ -n $pid ]] || return 0
    kill "$pid" 2>/dev/null || true
    # tollgated drains in-flight requests on SIGTERM; never let that outlive the test.
    for ((tries = 0; tries < 50; tries++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317
cleanup() {
    local status=$?
    stop "$GATEWAY_PID"
    stop "$MOCK_PID"
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show_logs() {
    local name
    for name in mock gateway; do
        if [[ -s $WORK/$name.err ]]; then
            echo "---- $name stderr (last 40 lines) ----" >&2
            tail -n 40 "$WORK/$name.err" >&2
        fi
    done
}

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
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "run-sdk-tests: $name exited before listening" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "run-sdk-tests: $name did not print its address within ${STARTUP_TIMEOUT_S} s" \
        "(first line: '${line}')" >&2
    return 1
}

# No provider key in this run: the SDKs' own credentials must pass through to the mock. No SDK
# setting from the caller's environment may leak in either.
while IFS= read -r variable; do
    unset "$variable"
done < <(compgen -e | grep -E '^(ANTHROPIC|OPENAI)_')

mkdir -p "$WORK/data" "$WORK/home"

"$MOCK" --listen 127.0.0.1:0 >"$WORK/mock.out" 2>"$WORK/mock.err" &
MOCK_PID=$!
MOCK_URL=$(wait_for_url tollgate-mock-upstream "$MOCK_PID" "$WORK/mock.out") || { show_logs; exit 1; }

# Errors go straight to the SDK (the SDKs' own retries are what these tests look at).
printf '%s\n' '{"version": 1, "retries": {"max_attempts": 1}}' >"$WORK/policy.json"
"$TOLLGATED" --listen 127.0.0.1:0 --data-dir "$WORK/data" --config "$WORK/policy.json" \
    --anthropic-base-url "$MOCK_URL" --openai-base-url "$MOCK_URL" \
    >"$WORK/gateway.out" 2>"$WORK/gateway.err" &
GATEWAY_PID=$!
TOLLGATE_URL=$(wait_for_url tollgated "$GATEWAY_PID" "$WORK/gateway.out") || { show_logs; exit 1; }

echo "run-sdk-tests: mock at $MOCK_URL, tollgated at $TOLLGATE_URL"
sdk_version() {
    sed -n 's/^  "version": "\(.*\)",$/\1/p' "$SDK_DIR/node_modules/$1/package.json"
}
echo "run-sdk-tests: node $(node --version), @anthropic-ai/sdk $(sdk_version @anthropic-ai/sdk)," \
    "openai $(sdk_version openai)"

(
    cd "$SDK_DIR" &&
        TOLLGATE_URL=$TOLLGATE_URL MOCK_URL=$MOCK_URL HOME=$WORK/home XDG_CONFIG_HOME=$WORK/home \
            timeout --kill-after=5 "$NODE_TIMEOUT_S" \
            node --test --test-reporter=spec anthropic.test.mjs openai.test.mjs cache.test.mjs
)
result=$?
if ((result != 0)); then
    ((result == 124)) && echo "run-sdk-tests: node --test ran over ${NODE_TIMEOUT_S} s" >&2
    show_logs
fi
exit "$result"
