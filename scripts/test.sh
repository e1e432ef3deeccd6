#!/usr/bin/env bash
# The whole test suite: lint, types, the import contract, then pytest against real registries.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
echo "== ruff"
.venv/bin/ruff check src tests benchmarks scripts
.venv/bin/ruff format --check src tests benchmarks scripts
echo "== mypy --strict"
.venv/bin/mypy
echo "== import contract"
.venv/bin/lint-imports
echo "== pytest"
.venv/bin/pytest -q "$@"
