#!/usr/bin/env bash
# Installs everything ferry and its tests need, idempotently: Debian packages (the CNCF
# distribution registry, skopeo, htpasswd, the PostgreSQL server the tests start, the Chromium
# the browser tests drive and a CJK font so zh-CN pages render in it), a virtualenv in .venv, and
# ferry itself with its development tools (Playwright among them: it drives Debian's Chromium,
# so `playwright install` is never run). Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  docker-registry skopeo apache2-utils openssl ca-certificates postgresql curl
  chromium fonts-noto-cjk
)
missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.ferry-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "bootstrap: installing ferry and its development tools into .venv"
  .venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'
  touch "$stamp"
fi
# Byte-compile ferry once so every command starts fast even with PYTHONDONTWRITEBYTECODE set.
.venv/bin/python -m compileall -q src >/dev/null
