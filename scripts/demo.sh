#!/usr/bin/env bash
# One command runs the portal on the embedded default: SQLite, a real Celery worker and beat on a
# filesystem broker (no server needed), the fake cluster, mail printed to the console, demo data.
#   scripts/demo.sh            then open the printed URL; Ctrl-C stops everything.
#   PORT=9000 scripts/demo.sh  to use another port.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh

export DEBUG=${DEBUG:-true}
export DATABASE_URL=${DATABASE_URL:-sqlite:///$PWD/var/portal.sqlite3}
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-filesystem://localhost/}
export CELERY_BROKER_FOLDER=${CELERY_BROKER_FOLDER:-$PWD/var/broker}
export EMAIL_URL=${EMAIL_URL:-consolemail://}
# Text messages (sign-in codes by mobile number) are written to var/sms/messages.jsonl instead of being sent.
export SMS_BACKEND=${SMS_BACKEND:-accounts.sms.file.FileSmsBackend}
export SMS_BACKEND_OPTIONS=${SMS_BACKEND_OPTIONS:-"{\"directory\": \"$PWD/var/sms\"}"}
PORT=${PORT:-8000}
HOST=${HOST:-127.0.0.1}
export SITE_URL=${SITE_URL:-http://$HOST:$PORT}
mkdir -p var/log "$CELERY_BROKER_FOLDER/queue" "$CELERY_BROKER_FOLDER/processed"

echo "==> migrating the database"
.venv/bin/python manage.py migrate --noinput -v0
echo "==> loading demo data"
.venv/bin/python manage.py seed_demo --quiet

pids=()
cleanup() {
  trap - EXIT INT TERM
  echo
  echo "==> stopping the worker, beat and web server"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

echo "==> starting a Celery worker and Celery beat (logs in var/log/)"
.venv/bin/celery -A portal worker --loglevel=INFO --concurrency=2 >var/log/worker.log 2>&1 &
pids+=($!)
.venv/bin/celery -A portal beat --loglevel=INFO --schedule="$PWD/var/celerybeat-schedule" >var/log/beat.log 2>&1 &
pids+=($!)

.venv/bin/python manage.py runserver "$HOST:$PORT" --noreload >var/log/web.log 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do
  curl -fsS -o /dev/null "http://$HOST:$PORT/healthz" 2>/dev/null && break
  sleep 0.5
done

cat <<TXT

============================================================
 AI Computing Center portal (demo) is running:

   $SITE_URL/

 Worker, beat and web logs: var/log/   Mail is printed in var/log/worker.log
 Text messages (mobile sign-in codes): var/sms/messages.jsonl
TXT
.venv/bin/python manage.py seed_demo
echo "============================================================"
echo " Press Ctrl-C to stop."
wait "${pids[2]}"
