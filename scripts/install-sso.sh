#!/usr/bin/env bash
# What the single sign-on tests need from Debian and npm (tests/sso/): Debian's xmlsec1, which pysaml2 (the
# local SAML identity provider of the tests) calls to sign its responses, and the npm package oidc-provider (the
# local OpenID Connect provider).
# Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    SUDO=(false)
fi

export DEBIAN_FRONTEND=noninteractive
updated=0
apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "install-sso.sh: apt-get is not available; cannot install $*" >&2
        return 1
    fi
    if [ "$updated" -eq 0 ]; then
        "${SUDO[@]}" apt-get update -q || { echo "install-sso.sh: apt-get update failed" >&2; return 1; }
        updated=1
    fi
    "${SUDO[@]}" apt-get install -y -q --no-install-recommends "$@"
}

# SAML (tests/sso/saml_idp.py): xmlsec1 signs the identity provider's assertions.
if [ ! -x /usr/bin/xmlsec1 ]; then
    apt_install xmlsec1 || { echo "install-sso.sh: could not install xmlsec1" >&2; exit 1; }
fi
/usr/bin/xmlsec1 --version

# OpenID Connect (tests/sso/oidc_idp.mjs): the npm package oidc-provider, pinned in package-lock.json beside
# axe-core (scripts/install-axe.sh installs both; this only makes sure it is there).
if [ ! -f node_modules/oidc-provider/package.json ]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "install-sso.sh: npm is missing: install Node.js and npm to get oidc-provider" >&2
        exit 1
    fi
    npm ci --no-audit --no-fund
fi
echo "install-sso.sh: oidc-provider $(node -p 'require("./node_modules/oidc-provider/package.json").version')"
