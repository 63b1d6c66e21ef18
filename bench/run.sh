#!/usr/bin/env bash
# Runs tollgate-bench against the mock upstream directly, through two tollgated processes and
# through an nginx reverse proxy, all on free loopback ports, and prints machine facts, the tables
# and the gateways' memory. Builds nothing.
#
# The two gateways differ only in their policy. `gateway` runs the full default policy path: the
# reference routes, the response cache (every request a miss, except in the hit phase) and an
# identified user (x-tollgate-user) on a plan with a requests_per_hour limit too high to refuse.
# `gateway-plain` switches routing, cache and limits off ("routes": [], cache disabled, no plan
# limits). Every target gets the same requests, x-tollgate-user header included, so the pair
# gateway - gateway-plain is the cost of the policy path itself.
#
#   bench/run.sh [BUILD_DIR] [--workers N] [--mock-threads N] [--nice N] [tollgate-bench options]
#
# BUILD_DIR defaults to ./build. --workers (default 1) sets each tollgated's I/O threads and
# nginx's worker_processes alike; --mock-threads (default 1) the mock's threads. --nice N runs all
# five processes (mock, both tollgated, nginx, client) at that niceness, e.g. -10 (as root) to keep
# other work on a shared machine from preempting them; it applies to every target alike.
# Everything else goes to tollgate-bench (--rate, --duration, --connections, --phases, --json
# FILE, ...).
set -euo pipefail

build=build
if [[ $# -gt 0 && $1 != -* ]]; then
    build=$1
    shift
fi
workers=1
mock_threads=1
niceness=0
bench_args=()
while [[ $# -gt 0 ]]; do
    case $1 in
    --workers) workers=$2; shift 2 ;;
    --mock-threads) mock_threads=$2; shift 2 ;;
    --nice) niceness=$2; shift 2 ;;
    *) bench_args+=("$1"); shift ;;
    esac
done
[[ $workers =~ ^[1-9][0-9]?$ ]] || { echo "run.sh: --workers must be 1-99" >&2; exit 2; }
[[ $mock_threads =~ ^[1-9][0-9]?$ ]] || { echo "run.sh: --mock-threads must be 1-99" >&2; exit 2; }
[[ $niceness =~ ^-?[0-9]+$ && $niceness -ge -20 && $niceness -le 19 ]] ||
    { echo "run.sh: --nice must be -20..19" >&2; exit 2; }
# `nice` replaces itself with the program (exec), so $! is still the server's own PID.
run=(nice -n "$niceness")

[[ -d $build ]] || { echo "run.sh: build directory $build does not exist" >&2; exit 2; }
build=$(cd "$build" && pwd)
bench=$build/bench/tollgate-bench
gateway=$build/app/tollgated/tollgated
mock=$build/tests/support/tollgate-mock-upstream
nginx=/usr/sbin/nginx
# nginx is the baseline, not a dependency of Tollgate: installed here, not by scripts/setup.sh.
if [[ ! -x $nginx ]]; then
    echo "run.sh: installing nginx-light for the baseline" >&2
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y \
        --no-install-recommends nginx-light
fi
for program in "$bench" "$gateway" "$mock" "$nginx"; do
    [[ -x $program ]] || { echo "run.sh: $program is missing (build it first)" >&2; exit 2; }
done

tmp=$(mktemp -d /tmp/tollgate-bench.XXXXXX)
mock_pid='' gateway_pid='' plain_pid='' nginx_pid=''

# Stops one process by its PID: TERM, up to 10 s to exit (tollgated drains), then KILL.
stop() {
    local pid=$1
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    stop "$nginx_pid"
    stop "$gateway_pid"
    stop "$plain_pid"
    stop "$mock_pid"
    if [[ $rc -ne 0 && -z ${TOLLGATE_BENCH_KEEP:-} ]]; then
        for log in "$tmp"/*.err "$tmp"/nginx-error.log; do
            [[ -s $log ]] && { echo "--- $log (tail)" >&2; tail -n 20 "$log" >&2; }
        done
    fi
    if [[ -n ${TOLLGATE_BENCH_KEEP:-} ]]; then
        echo "run.sh: kept $tmp" >&2
    else
        rm -rf "$tmp"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits (at most 10 s) for "listening on 127.0.0.1:PORT" in FILE and prints PORT.
listening_port() {
    local file=$1 pid=$2 line
    for _ in $(seq 200); do
        line=$(grep -m1 -o 'listening on 127\.0\.0\.1:[0-9]*' "$file" 2>/dev/null || true)
        if [[ -n $line ]]; then
            echo "${line##*:}"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "run.sh: $file: the server did not start" >&2
    return 1
}

# Waits (at most 10 s) until POST /v1/messages through URL answers 200.
wait_ready() {
    local url=$1
    for _ in $(seq 100); do
        if curl -sf -o /dev/null --max-time 1 -H 'content-type: application/json' \
            -H 'x-api-key: sk-ant-bench-not-a-real-key' -H 'anthropic-version: 2023-06-01' \
            -d '{"model":"claude-3-haiku-20240307","max_tokens":16,"messages":[{"role":"user","content":"ready?"}]}' \
            "$url/v1/messages"; then
            return 0
        fi
        sleep 0.1
    done
    echo "run.sh: $url is not answering" >&2
    return 1
}

memory() {
    awk '/^VmRSS|^VmHWM/ { printf "%s %s %s  ", $1, $2, $3 }' "/proc/$1/status"
}

"${run[@]}" "$mock" --listen 127.0.0.1:0 --threads "$mock_threads" --journal-limit 0 \
    >"$tmp/mock.out" 2>"$tmp/mock.err" &
mock_pid=$!
mock_port=$(listening_port "$tmp/mock.out" "$mock_pid")
upstream=http://127.0.0.1:$mock_port

# The full policy path: reference routes and cache by default; a plan whose limit never refuses.
cat >"$tmp/policy-full.json" <<'EOF'
{
  "plans": {"bench": {"requests_per_hour": 10000000}, "local": {}},
  "default_plan": "bench"
}
EOF
# Routing, cache and limits off: plain proxying through the same binary.
cat >"$tmp/policy-plain.json" <<'EOF'
{
  "routes": [],
  "cache": {"enabled": false},
  "plans": {"free": {}, "local": {}}
}
EOF

# Starts tollgated NAME with POLICY, its data directory in the temporary folder; sets started_pid.
start_gateway() {
    local name=$1 policy=$2
    mkdir -p "$tmp/data-$name"
    env -u ANTHROPIC_API_KEY -u OPENAI_API_KEY -u ANTHROPIC_API_KEY_FILE -u OPENAI_API_KEY_FILE \
        "${run[@]}" "$gateway" --config "$policy" --listen 127.0.0.1:0 --data-dir "$tmp/data-$name" \
        --anthropic-base-url "$upstream" --openai-base-url "$upstream" --workers "$workers" \
        >"$tmp/$name.out" 2>"$tmp/$name.err" &
    started_pid=$!
}

start_gateway gateway "$tmp/policy-full.json"
gateway_pid=$started_pid
gateway_port=$(listening_port "$tmp/gateway.out" "$gateway_pid")
start_gateway gateway-plain "$tmp/policy-plain.json"
plain_pid=$started_pid
plain_port=$(listening_port "$tmp/gateway-plain.out" "$plain_pid")

# nginx needs a concrete port: try a few random ones that nothing listens on.
nginx_port=''
for attempt in $(seq 10); do
    port=$((20000 + RANDOM % 40000))
    ss -Htln "sport = :$port" | grep -q . && continue
    mkdir -p "$tmp/nginx"
    cat >"$tmp/nginx.conf" <<EOF
# A plain reverse proxy to the mock: the reference the gateway's throughput is held against.
daemon off;
master_process on;
worker_processes $workers;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    # Never close a benchmark connection after N requests (the default is 1000).
    keepalive_requests 1000000;
    upstream mock {
        server 127.0.0.1:$mock_port;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
EOF
    "${run[@]}" "$nginx" -p "$tmp/" -c "$tmp/nginx.conf" -e "$tmp/nginx-error.log" \
        >"$tmp/nginx.out" 2>"$tmp/nginx.err" &
    nginx_pid=$!
    for _ in $(seq 50); do
        ss -Htln "sport = :$port" | grep -q . && break
        kill -0 "$nginx_pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$nginx_pid" 2>/dev/null && ss -Htln "sport = :$port" | grep -q .; then
        nginx_port=$port
        break
    fi
    stop "$nginx_pid"
    nginx_pid=''
done
[[ -n $nginx_port ]] || { echo "run.sh: nginx did not start" >&2; exit 1; }

wait_ready "$upstream"
wait_ready "http://127.0.0.1:$gateway_port"
wait_ready "http://127.0.0.1:$plain_port"
wait_ready "http://127.0.0.1:$nginx_port"

sleep 1
rss_idle=$(memory "$gateway_pid")
plain_rss_idle=$(memory "$plain_pid")

echo "# Tollgate benchmark run"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "- machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo), Linux $(uname -r)"
echo "- load before the run (uptime): $(uptime | sed 's/.*load average: //')"
echo "- software: Qt $(dpkg-query -W -f='${Version}' libqt6core6 2>/dev/null || echo '?'), $("$nginx" -v 2>&1 | sed 's/^nginx version: //'), $(g++ --version | head -n1)"
allocator=$(grep -q libjemalloc "/proc/$gateway_pid/maps" && echo jemalloc || echo "glibc malloc")
echo "- tollgated (both): --workers $workers, allocator $allocator; nginx: worker_processes $workers; mock: --threads $mock_threads; niceness of all five processes: $niceness"
echo "- policies: gateway $(tr -d '\n ' <"$tmp/policy-full.json"); gateway-plain $(tr -d '\n ' <"$tmp/policy-plain.json"); every request to every target carries x-tollgate-user: bench"
echo "- command: bench/run.sh $(printf '%q ' "$build" --workers "$workers" --mock-threads "$mock_threads" --nice "$niceness" "${bench_args[@]}")"
echo "- tollgated memory idle, before any benchmark traffic: gateway $rss_idle; gateway-plain $plain_rss_idle"
echo

# nginx's CPU is its master's and its workers' (children of the master, found by parent PID).
nginx_pids=$nginx_pid
for pid in $(ps -o pid= --ppid "$nginx_pid"); do nginx_pids+=",$pid"; done

rc=0
"${run[@]}" "$bench" --target "direct=$upstream" --target "gateway=http://127.0.0.1:$gateway_port" \
    --target "gateway-plain=http://127.0.0.1:$plain_port" \
    --target "nginx=http://127.0.0.1:$nginx_port" --cpu-pids "direct=$mock_pid" \
    --cpu-pids "gateway=$gateway_pid" --cpu-pids "gateway-plain=$plain_pid" \
    --cpu-pids "nginx=$nginx_pids" --header "x-tollgate-user: bench" \
    --pair gateway=gateway-plain --pair gateway-plain=nginx --hit-targets direct,gateway \
    "${bench_args[@]}" || rc=$?

echo
echo "- tollgated memory after the run: gateway $(memory "$gateway_pid"); gateway-plain $(memory "$plain_pid")"
echo "- load after the run (uptime): $(uptime | sed 's/.*load average: //')"
exit "$rc"
