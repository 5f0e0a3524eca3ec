#!/usr/bin/env bash
# slurm-down.sh - stop exactly the daemons deploy/slurm/slurm-up.sh started, using the pid files under
# $LAB/run (never by process name). Remaining jobs are cancelled first so that no slurmstepd or job
# processes are left behind. A MariaDB that slurm-up.sh found already running is left alone (it has no
# pid file of ours). Configs, packages and the accounting database are kept: slurm-up.sh starts again
# from them in a few seconds.
#
# Usage (as root):  deploy/slurm/slurm-down.sh        env: LAB (default /tmp/slurmlab), STOP_TIMEOUT (30)
set -uo pipefail

LAB=${LAB:-/tmp/slurmlab}
RUN=$LAB/run
STOP_TIMEOUT=${STOP_TIMEOUT:-30}
log() { printf '[slurm-down %(%H:%M:%S)T] %s\n' -1 "$*"; }

[ "$(id -u)" = 0 ] || { echo "slurm-down.sh: run as root" >&2; exit 1; }
T0=$(date +%s.%N)

# stop_pidfile <pidfile> <expected comm>
stop_pidfile() {
  local pf=$1 comm=$2 pid i
  if [ ! -s "$pf" ]; then log "$comm: no pid file ($pf)"; return 0; fi
  pid=$(cat "$pf")
  if ! kill -0 "$pid" 2>/dev/null; then log "$comm: pid $pid not running"; rm -f "$pf"; return 0; fi
  if [ "$(cat /proc/"$pid"/comm 2>/dev/null)" != "$comm" ]; then
    log "$comm: pid $pid is '$(cat /proc/"$pid"/comm 2>/dev/null)', not $comm - leaving it alone"; rm -f "$pf"; return 0
  fi
  log "$comm: SIGTERM pid $pid"
  kill -TERM "$pid"
  for ((i = 0; i < STOP_TIMEOUT * 2; i++)); do
    kill -0 "$pid" 2>/dev/null || { log "$comm: stopped"; rm -f "$pf"; return 0; }
    sleep 0.5
  done
  log "$comm: still alive after ${STOP_TIMEOUT}s -> SIGKILL pid $pid"
  kill -KILL "$pid" 2>/dev/null; sleep 0.5; rm -f "$pf"
}

# 1. cancel remaining jobs (only if our slurmctld is up) and wait (bounded) for them to go
if [ -s "$RUN/slurmctld.pid" ] && kill -0 "$(cat "$RUN/slurmctld.pid")" 2>/dev/null \
   && timeout 10 scontrol ping 2>/dev/null | grep -q 'is UP'; then
  jobs=$(timeout 10 squeue -h -o %i 2>/dev/null | tr '\n' ' ')
  if [ -n "${jobs// /}" ]; then
    log "cancelling jobs: $jobs"
    # shellcheck disable=SC2086
    timeout 20 scancel $jobs
    for ((i = 0; i < STOP_TIMEOUT * 2; i++)); do
      [ -z "$(timeout 10 squeue -h -t R,CG -o %i 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
fi

# 2. daemons, in reverse start order
stop_pidfile "$RUN/slurmrestd.pid"       slurmrestd
stop_pidfile "$RUN/slurmd.pid"           slurmd
stop_pidfile "$RUN/slurmctld.pid"        slurmctld
stop_pidfile "$RUN/slurmdbd.pid"         slurmdbd
stop_pidfile "$RUN/munge/munged.pid"     munged
stop_pidfile "$RUN/mysql/mariadb.pid"    mariadbd
log "done in $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')s"
