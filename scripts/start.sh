#!/usr/bin/env bash
# Installs everything, then starts the ferry service on its embedded defaults: the API (Harbor's
# /api/v2.0) on http://127.0.0.1:8080, SQLite and the secret key in ~/.local/share/ferry, and a
# managed local registry (docker-registry) on 127.0.0.1:5000. It prints the URL and, on the first
# start, the generated admin password. Extra arguments go to `ferry serve` (see --help).
# `bash scripts/start.sh demo` instead runs the copy-engine demo (two registries and `ferry sync`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
if [ "${1:-}" = "demo" ]; then
  shift
  exec .venv/bin/python scripts/demo.py "$@"
fi
exec .venv/bin/ferry serve "$@"
