#!/usr/bin/env bash
# Installs what is missing, builds, and starts the gateway on 127.0.0.1:8080 (override with
# --listen). Extra arguments go to tollgated; see `tollgated --help`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh default
cat >&2 <<'MSG'
Point your tools at the gateway:
  export ANTHROPIC_BASE_URL=http://127.0.0.1:8080        # Claude Code, Anthropic SDKs
  export OPENAI_BASE_URL=http://127.0.0.1:8080/v1        # OpenAI SDKs
Metrics: http://127.0.0.1:8080/metrics   Stop: Ctrl+C
MSG
exec "$PWD/build/app/tollgated/tollgated" "$@"
