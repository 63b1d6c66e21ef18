#!/usr/bin/env bash
# Starts the console under a virtual display (Xvfb) with the simulated provider, sends it a bounded
# burst of traffic, and saves a PNG of every page into DIR (default docs/screenshots).
#   [THEME=light|dark] scripts/screenshot.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/screenshots}
scripts/setup.sh xvfb xauth curl
scripts/build.sh default >/dev/null

work=$(mktemp -d)
console_pid=
cleanup() {
  [ -n "$console_pid" ] && kill "$console_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Settings of its own (default theme, first page), so the pictures do not depend on the user's.
export XDG_CONFIG_HOME="$work/config"
mkdir -p "$XDG_CONFIG_HOME/tollgate"
[ -n "${THEME:-}" ] && printf '[appearance]\ntheme=%s\n' "$THEME" >"$XDG_CONFIG_HOME/tollgate/console.conf"
# The console quits by itself once the pages are saved; the burst ends well before.
timeout 180 xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" \
  build/app/tollgate/tollgate --listen 127.0.0.1:0 --data-dir "$work/data" \
  --simulator on --simulator-latency-scale 0.3 --simulator-seed 7 \
  --screenshots "$out" --screenshots-after 20 >"$work/out" 2>"$work/err" &
console_pid=$!

port=
for _ in $(seq 1 100); do
  port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/out")
  [ -n "$port" ] && break
  kill -0 "$console_pid" 2>/dev/null || { cat "$work/err" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "screenshot: the console did not start" >&2; cat "$work/err" >&2; exit 1; }

# 160 requests, 8 at a time: both APIs, streamed and not, several users and models, and
# questions asked before, so the cache answers some.
ask() {
  local i=$1 users=(alice bob carol dave) topics=(budgets caching routing limits latency)
  local user=${users[$((i % 4))]} topic=${topics[$((i % 5))]} stream=$([ $((i % 3)) -eq 0 ] && echo true || echo false)
  if [ $((i % 4)) -eq 3 ]; then
    curl -s -o /dev/null --max-time 30 "http://127.0.0.1:$port/v1/chat/completions" \
      -H 'content-type: application/json' -H "x-tollgate-user: $user" \
      -d "{\"model\":\"gpt-4o-mini\",\"stream\":$stream,\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about $topic, part $((i % 30))\"}]}"
  else
    local models=(claude-3-haiku-20240307 claude-3-5-haiku-20241022 claude-sonnet-4-20250514)
    curl -s -o /dev/null --max-time 30 "http://127.0.0.1:$port/v1/messages" \
      -H 'content-type: application/json' -H 'anthropic-version: 2023-06-01' \
      -H "x-tollgate-user: $user" \
      -d "{\"model\":\"${models[$((i % 3))]}\",\"max_tokens\":300,\"stream\":$stream,\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about $topic, part $((i % 30))\"}]}"
  fi
}
export -f ask
export port
seq 1 160 | xargs -P 8 -I{} bash -c 'ask {}' || true

wait "$console_pid" || { echo "screenshot: the console failed" >&2; cat "$work/err" >&2; exit 1; }
console_pid=
cat "$work/out" | grep '^saved ' || true
