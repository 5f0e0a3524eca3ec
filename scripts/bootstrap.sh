#!/usr/bin/env bash
# Creates .venv and installs the pinned dependencies (skipped when the lock files have not changed).
# Usage: scripts/bootstrap.sh [--dev]     (--dev adds the test tools)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
want_dev=0
[ "${1:-}" = "--dev" ] && want_dev=1

if [ ! -x .venv/bin/python ]; then
  echo "==> creating the virtual environment in .venv"
  "$PYTHON" -m venv .venv
fi

stamp=.venv/.installed
files=(requirements.txt)
[ "$want_dev" = 1 ] && files+=(requirements-dev.txt)
digest=$(cat "${files[@]}" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || ! grep -qx "$digest" "$stamp"; then
  echo "==> installing pinned dependencies (${files[*]})"
  .venv/bin/python -m pip install --quiet --upgrade pip
  # XStatic-Bootstrap is an sdist whose build needs pkg_resources, which setuptools 81 dropped.
  .venv/bin/python -m pip install --quiet "setuptools<81" wheel
  args=()
  for f in "${files[@]}"; do args+=(-r "$f"); done
  .venv/bin/python -m pip install --quiet --no-build-isolation "${args[@]}"
  echo "$digest" >> "$stamp"
fi

# Compiled translations (.mo) are built from the committed catalogues.
if ! command -v msgfmt >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing gettext (msgfmt) for the translations"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null
  else
    echo "!! msgfmt (gettext) is missing: install the 'gettext' package to get the Chinese translation" >&2
  fi
fi
if command -v msgfmt >/dev/null 2>&1 && [ -d locale ]; then
  DEBUG=true .venv/bin/python manage.py compilemessages --ignore=.venv --ignore=var -v0
fi
mkdir -p var
