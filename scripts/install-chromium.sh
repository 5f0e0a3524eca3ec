#!/usr/bin/env bash
# Install Debian's Chromium (and CJK fonts) for the Playwright end-to-end tests.
# Idempotent: does nothing but print the version when /usr/bin/chromium is already there.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "install-chromium.sh: not root and sudo is not available; cannot install chromium" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
updated=0
apt_update() {
    if [ "$updated" -eq 0 ]; then
        "${SUDO[@]}" apt-get update -q || {
            echo "install-chromium.sh: apt-get update failed" >&2
            return 1
        }
        updated=1
    fi
}

if [ ! -x "$CHROMIUM" ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "install-chromium.sh: $CHROMIUM is missing and apt-get is not available" >&2
        exit 1
    fi
    apt_update || exit 1
    if ! "${SUDO[@]}" apt-get install -y -q --no-install-recommends chromium; then
        echo "install-chromium.sh: apt-get install chromium failed" >&2
        exit 1
    fi
fi

if [ ! -x "$CHROMIUM" ]; then
    echo "install-chromium.sh: $CHROMIUM is still missing after installing the chromium package" >&2
    exit 1
fi

# Fonts so that Chinese pages render in screenshots; optional.
if command -v dpkg-query >/dev/null 2>&1 \
    && ! dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q "install ok installed"; then
    if apt_update && "${SUDO[@]}" apt-get install -y -q --no-install-recommends fonts-noto-cjk; then
        :
    else
        echo "install-chromium.sh: warning: could not install fonts-noto-cjk; Chinese text may render as boxes" >&2
    fi
fi

"$CHROMIUM" --version
