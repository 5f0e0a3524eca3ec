#!/usr/bin/env bash
# One command runs every test: ruff, the dependency contract (import-linter), the migrations check,
# translations, unit and integration tests on PostgreSQL with a real Celery worker on Redis and a real Slurm
# cluster, and browser tests (with axe-core accessibility checks) in Debian's Chromium.
#   scripts/test.sh               everything
#   scripts/test.sh tests/accounts -k uscc     extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh --dev
scripts/install-chromium.sh
scripts/install-axe.sh
# What the local identity providers of the single sign-on tests need (xmlsec1 for the SAML IdP, ...).
scripts/install-sso.sh
# A real single-node Slurm cluster for the compute integration tests (installs Debian's packages once).
if [ "$(id -u)" = 0 ]; then
  # slurmrestd (JWT) runs the jobs people submit from the browser: required in CI, tried elsewhere.
  if [ "${CI:-}" = "true" ]; then SLURM_REST=1 deploy/slurm/slurm-up.sh; else deploy/slurm/slurm-up.sh; fi
  # The directory the cluster reads (slapd), this node reading it (nslcd) and an sshd taking keys from it.
  deploy/ldap/ldap-up.sh
else
  echo "!! not root: cannot start Slurm and the directory; their integration tests will be skipped (and fail in CI)" >&2
fi

# The settings are read with DEBUG on (so the start-up checks of production, such as the refusal of the fake
# cluster, let the tests start); pytest-django then runs the tests themselves with DEBUG off.
export DEBUG=true
export DATABASE_URL=${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/portal}
export TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/9}
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-memory://localhost/}

echo "==> ruff check and ruff format --check"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

echo "==> import-linter: the layers of docs/architecture.md hold"
.venv/bin/lint-imports --no-cache

echo "==> makemigrations --check"
.venv/bin/python manage.py makemigrations --check --dry-run

echo "==> pytest"
set +e
.venv/bin/python -m pytest -p no:cacheprovider "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
  echo "!! pytest collected no tests" >&2
fi
exit "$status"
