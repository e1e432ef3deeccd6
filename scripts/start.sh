#!/usr/bin/env bash
# Installs everything, then shows ferry's main job: it starts two local registries, fills the
# first with demo images and syncs them into the second with `ferry sync`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python scripts/demo.py "$@"
