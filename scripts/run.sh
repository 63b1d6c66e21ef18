#!/usr/bin/env bash
# Installs what is missing, builds, and starts the console `tollgate` with its gateway on
# 127.0.0.1:8080 (override with --listen). Without provider keys (ANTHROPIC_API_KEY,
# OPENAI_API_KEY) the built-in simulated provider answers, clearly labelled; `--simulator off`
# forwards clients' own keys instead. Without a display it starts the headless `tollgated`.
# Extra arguments go to the program; see its --help.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh default
cat >&2 <<'MSG'
Point your tools at the gateway:
  export ANTHROPIC_BASE_URL=http://127.0.0.1:8080        # Claude Code, Anthropic SDKs
  export OPENAI_BASE_URL=http://127.0.0.1:8080/v1        # OpenAI SDKs
Metrics: http://127.0.0.1:8080/metrics
MSG
if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  exec "$PWD/build/app/tollgate/tollgate" "$@"
fi
echo "run: no display (DISPLAY/WAYLAND_DISPLAY unset): starting the headless gateway tollgated; Ctrl+C stops it" >&2
exec "$PWD/build/app/tollgated/tollgated" "$@"
