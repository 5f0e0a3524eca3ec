#!/usr/bin/env bash
# Install axe-core (the accessibility rules engine of tests/e2e/test_accessibility.py) from the npm
# registry into node_modules/, as pinned by package-lock.json.
# Does nothing when node_modules/axe-core/axe.min.js is already there and not older than the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."

AXE=node_modules/axe-core/axe.min.js

if [ -f "$AXE" ] && { [ ! -f package-lock.json ] || [ ! "$AXE" -ot package-lock.json ]; }; then
    echo "install-axe.sh: axe-core $(node -p 'require("./node_modules/axe-core/package.json").version' 2>/dev/null || echo '(version unknown)') is installed"
    exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "install-axe.sh: npm is missing: install Node.js and npm (Debian: apt-get install nodejs npm) to get axe-core" >&2
    exit 1
fi

if [ -f package-lock.json ]; then
    echo "==> installing axe-core with npm ci (package-lock.json)"
    npm ci --no-audit --no-fund
else
    echo "==> installing axe-core with npm install (no package-lock.json yet)"
    npm install --no-audit --no-fund
fi

if [ ! -f "$AXE" ]; then
    echo "install-axe.sh: npm finished but $AXE is still missing" >&2
    exit 1
fi
# npm ci keeps the package's own file dates: mark the install as newer than the lock file it came from.
touch "$AXE"
echo "install-axe.sh: axe-core $(node -p 'require("./node_modules/axe-core/package.json").version') is installed"
