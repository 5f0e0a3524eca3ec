#!/usr/bin/env bash
# slurm-up.sh - a real single-node Slurm 22.05 cluster on this machine (Debian 12 `slurm-wlm` packages):
# munge, slurmdbd on MariaDB, slurmctld, slurmd with a count-only accelerator `npu:$NPU_COUNT` accounted
# as TRES gres/npu, two partitions shaped like the production center (the accelerator partition
# $ACCEL_PARTITION, default `npu`, and the CPU partition $CPU_PARTITION, default `cpu`, on the same node,
# each with its TRES billing weights), and optionally slurmrestd (JWT).
# The integration tests (tests/integration/test_slurm_backend.py) and CI run it before pytest.
#
# * Idempotent: safe to run again. Missing packages are installed (apt-get update first), running daemons
#   are left alone, configs are only rewritten when their content changes (then the daemons reconfigure).
# * No systemd needed: daemons are started directly; pid files live under $LAB/run, so slurm-down.sh
#   stops exactly them (never by process name).
# * Bounded waits: every readiness wait gives up after $READY_TIMEOUT seconds.
# * Self-healing: a slurmctld that is not registered with slurmdbd (it started while slurmdbd was down, and
#   then knows no new account) is restarted.
# * Everything the lab writes lives under $LAB, except the configs the Slurm tools read from their fixed
#   places (/etc/slurm/{slurm,gres,slurmdbd}.conf, /etc/slurm/jwt_hs256.key, /etc/munge/munge.key);
#   copies of the configs are kept in $LAB/etc.
#
# Usage (as root):  deploy/slurm/slurm-up.sh
# Environment:
#   LAB=/tmp/slurmlab      working directory (run/, log/, var/, jobs/, etc/)
#   CLUSTER=slurmlab       ClusterName in slurm.conf and in accounting
#   ACCEL_PARTITION=npu    the accelerator partition (the default one): billing 1 per card, and cores and
#                          memory bill as their share of the node's cards (docs/slurm.md)
#   CPU_PARTITION=cpu      the CPU partition: billing 1 per core, memory as its share of the node's cores
#                          (both partitions: DefaultTime 10 min, MaxTime 1 day)
#   NPU_COUNT=8            accelerator cards the node pretends to have (GRES npu, TRES gres/npu)
#   NODE_CPUS=8            cores the node pretends to have (SlurmdParameters=config_overrides), whatever the
#                          machine has: the billing weights, and how many test jobs run at once, do not
#                          depend on the CI machine
#   SLURM_REST=auto        slurmrestd: 0 = neither install nor start it; 1 = required (fail if it does not
#                          start); anything else = try, and only warn when it does not start
#   REST_PORT=6820         slurmrestd listens on 127.0.0.1:$REST_PORT
#   READY_TIMEOUT=60       seconds each readiness wait may take
#   SLURM_DB_PASS=...      password of the MariaDB user `slurm`
set -euo pipefail

LAB=${LAB:-/tmp/slurmlab}
CLUSTER=${CLUSTER:-slurmlab}
ACCEL_PARTITION=${ACCEL_PARTITION:-npu}
CPU_PARTITION=${CPU_PARTITION:-cpu}
NODE_CPUS=${NODE_CPUS:-8}
READY_TIMEOUT=${READY_TIMEOUT:-60}
REST_TIMEOUT=${REST_TIMEOUT:-15}
SLURM_DB_PASS=${SLURM_DB_PASS:-slurmlab-db-pw}
SLURM_REST=${SLURM_REST:-auto}
REST_PORT=${REST_PORT:-6820}
NPU_COUNT=${NPU_COUNT:-8}
NODE=$(hostname -s)
RUN=$LAB/run LOG=$LAB/log VAR=$LAB/var
PKGS=(munge slurmctld slurmd slurmdbd slurm-client slurm-wlm-jwt-plugin mariadb-server mariadb-client curl jq)
[ "$SLURM_REST" = 0 ] || PKGS+=(slurmrestd)

[ "$(id -u)" = 0 ] || { echo "slurm-up.sh: run as root" >&2; exit 1; }
mkdir -p "$LAB"

T0=$(date +%s.%N)
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }
log() { printf '[slurm-up %(%H:%M:%S)T] %s\n' -1 "$*"; }

# wait_for <description> <command...> : poll every 0.5 s, bounded by $WAIT (default READY_TIMEOUT)
wait_for() {
  local what=$1; shift
  local end=$(( $(date +%s) + ${WAIT:-$READY_TIMEOUT} ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$end" ]; then
      echo "TIMEOUT after ${WAIT:-$READY_TIMEOUT}s waiting for: $what" >&2
      return 1
    fi
    sleep 0.5
  done
  log "ready: $what"
}

# alive <pidfile> [expected comm] : true if the pid in the file is a live process (with that name)
alive() {
  local pf=$1 comm=${2:-} pid
  [ -s "$pf" ] || return 1
  pid=$(cat "$pf" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ -z "$comm" ] || [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$comm" ]
}

# stop_daemon <name> : stop the daemon whose pid is in $RUN/<name>.pid and wait (bounded) until it is gone
stop_daemon() {
  local pid; pid=$(cat "$RUN/$1.pid"); kill "$pid" 2>/dev/null || true
  wait_for "old $1 (pid $pid) to exit" bash -c "! kill -0 $pid"
}

# settle <name> <check> : a running daemon that does not pass <check> within 10 s (one still shutting down
# after a kill, or hung) is stopped, so that the caller starts it afresh
settle() {
  SETTLE_NAME=$1 SETTLE_CHECK=$2
  alive "$RUN/$1.pid" "$1" || return 0
  settled() { "$SETTLE_CHECK" || ! alive "$RUN/$SETTLE_NAME.pid" "$SETTLE_NAME"; }
  WAIT=10 wait_for "running $1 answering (or gone)" settled 2>/dev/null || true
  if alive "$RUN/$1.pid" "$1" && ! "$2" >/dev/null 2>&1; then
    log "$1 runs but does not answer -> stopping it"; stop_daemon "$1"
  fi
}

# show the end of a daemon's log when it does not come up
tail_log() { [ -f "$1" ] && { echo "--- last lines of $1:" >&2; tail -20 "$1" >&2; }; return 0; }

# ---------------------------------------------------------------- 1. install
T_INSTALL0=$(now)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  # keep the packages' postinst scripts from starting daemons (no systemd/runlevel here)
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; created_policy=1
  fi
  restore_policy() { if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; }
  export DEBIAN_FRONTEND=noninteractive
  APT_OPTS=(-o DPkg::Lock::Timeout=300)   # wait (bounded) if another apt/dpkg holds the lock
  updated=0
  for i in 1 2 3; do
    if apt-get "${APT_OPTS[@]}" update -qq >"$LAB/apt-update.log" 2>&1; then updated=1; break; fi
    log "apt-get update failed (attempt $i), retrying in 10 s"; sleep 10
  done
  [ "$updated" = 1 ] || { tail -20 "$LAB/apt-update.log" >&2; log "apt-get update failed; trying the install anyway"; }
  if ! apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends "${missing[@]}" \
      >"$LAB/apt-install.log" 2>&1; then
    restore_policy; tail -30 "$LAB/apt-install.log" >&2; echo "slurm-up.sh: apt-get install failed" >&2; exit 1
  fi
  restore_policy
else
  log "packages already installed"
fi
T_INSTALL1=$(now)

# ---------------------------------------------------------------- 2. users, dirs, keys
[ "$SLURM_REST" = 0 ] || getent passwd slurmrestd >/dev/null \
  || useradd -r -M -d /nonexistent -s /usr/sbin/nologin slurmrestd
install -d -m 755 "$LAB" "$LAB/etc" "$RUN" "$LOG" "$VAR"
install -d -m 755 -o slurm -g slurm "$VAR/slurmctld"
install -d -m 755 "$VAR/slurmd"
install -d -m 700 -o munge -g munge "$RUN/munge" "$LOG/munge"
install -d -m 755 -o mysql -g mysql "$RUN/mysql" "$LOG/mysql" /run/mysqld
install -d -m 755 -o munge -g munge /run/munge
install -d -m 1777 "$LAB/jobs"                     # working directory and output of test jobs
install -d -m 755 -o slurm -g slurm "$LOG/slurm"   # slurm daemons chdir() to their log directory

install -d -m 700 -o munge -g munge /etc/munge
if [ ! -s /etc/munge/munge.key ]; then
  mungekey --create --keyfile=/etc/munge/munge.key
fi
chown munge:munge /etc/munge/munge.key; chmod 600 /etc/munge/munge.key

install -d -m 755 /etc/slurm
if [ ! -s /etc/slurm/jwt_hs256.key ]; then
  dd if=/dev/urandom of=/etc/slurm/jwt_hs256.key bs=32 count=1 status=none
fi
chown slurm:slurm /etc/slurm/jwt_hs256.key; chmod 600 /etc/slurm/jwt_hs256.key

# ---------------------------------------------------------------- 3. configs
MEM=$(awk '/MemTotal/{m = int($2/1024 - 1024); if (m < 1024) m = int($2/1024/2); printf "%d", m}' /proc/meminfo)
# Billing weights (PriorityFlags=MAX_TRES: a job bills the largest of its weighted TRES on the node).
# Accelerator partition: a card is 1; a core is cards/cores and a GB of memory cards/GB, so a job taking a
# whole node's cores (or memory) bills as much as all its cards. CPU partition: a core is 1, a GB is
# cores/GB, and a card (this test node is in both partitions) its share of the cores.
weight() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.4g", a / b}'; }
MEM_GB=$(awk -v m="$MEM" 'BEGIN{printf "%.4f", m / 1024}')
ACCEL_WEIGHTS="CPU=$(weight "$NPU_COUNT" "$NODE_CPUS"),Mem=$(weight "$NPU_COUNT" "$MEM_GB")G,GRES/npu=1.0"
CPU_WEIGHTS="CPU=1.0,Mem=$(weight "$NODE_CPUS" "$MEM_GB")G,GRES/npu=$(weight "$NODE_CPUS" "$NPU_COUNT")"

changed_files=""
# put_file <dest> <owner:group> <mode> : content on stdin; records dest in changed_files if content differs
put_file() {
  local dest=$1 owner=$2 mode=$3 tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if [ -f "$dest" ] && cmp -s "$tmp" "$dest"; then rm -f "$tmp"; else
    install -m "$mode" -o "${owner%:*}" -g "${owner#*:}" "$tmp" "$dest"; rm -f "$tmp"
    changed_files="$changed_files $(basename "$dest")"
    log "wrote $dest"
  fi
  cp -p "$dest" "$LAB/etc/"
}

put_file /etc/slurm/slurm.conf root:root 644 <<EOF
# generated by deploy/slurm/slurm-up.sh (LAB=$LAB)
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
CredType=cred/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=/etc/slurm/jwt_hs256.key
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$VAR/slurmctld
SlurmdSpoolDir=$VAR/slurmd
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOG/slurm/slurmctld.log
SlurmdLogFile=$LOG/slurm/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# no cgroups needed
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
MinJobAge=300
SchedulerType=sched/backfill
# re-evaluate pending jobs quickly (e.g. after a limit change); default bf_interval=30
SchedulerParameters=bf_interval=5
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
# generic AI-accelerator resource, accounted as TRES gres/npu
GresTypes=npu
# accounting: limits (GrpTRESMins, GrpSubmitJobs) are enforced on associations
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
# billing (the weighted TRES the limits are set in) is always tracked; named here to say it matters
AccountingStorageTRES=gres/npu,billing
AccountingStorageEnforce=associations,limits,qos,safe
JobCompType=jobcomp/none
# GrpTRESMins needs priority/multifactor; no decay -> usage is a plain quota counter
PriorityType=priority/multifactor
PriorityDecayHalfLife=0
PriorityUsageResetPeriod=NONE
# billing = the largest weighted TRES of the job on its node, not their sum (docs/slurm.md)
PriorityFlags=MAX_TRES
# the node is declared with NODE_CPUS cores whatever the machine has (jobs here only sleep)
SlurmdParameters=config_overrides
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$NODE_CPUS Boards=1 SocketsPerBoard=1 CoresPerSocket=$NODE_CPUS ThreadsPerCore=1 RealMemory=$MEM Gres=npu:$NPU_COUNT State=UNKNOWN
PartitionName=$ACCEL_PARTITION Nodes=$NODE Default=YES DefaultTime=00:10:00 MaxTime=1-00:00:00 State=UP TRESBillingWeights=$ACCEL_WEIGHTS
PartitionName=$CPU_PARTITION Nodes=$NODE DefaultTime=00:10:00 MaxTime=1-00:00:00 State=UP TRESBillingWeights=$CPU_WEIGHTS
EOF

put_file /etc/slurm/gres.conf root:root 644 <<EOF
# generated by deploy/slurm/slurm-up.sh - count-only GRES, no device files
AutoDetect=off
NodeName=$NODE Name=npu Count=$NPU_COUNT
EOF

put_file /etc/slurm/slurmdbd.conf slurm:slurm 600 <<EOF
# generated by deploy/slurm/slurm-up.sh
AuthType=auth/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=/etc/slurm/jwt_hs256.key
DbdHost=localhost
DbdPort=6819
SlurmUser=slurm
PidFile=$RUN/slurmdbd.pid
LogFile=$LOG/slurm/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=localhost
StoragePort=3306
StorageUser=slurm
StoragePass=$SLURM_DB_PASS
StorageLoc=slurm_acct_db
EOF
T_CONF1=$(now)

# ---------------------------------------------------------------- 4. MariaDB
db_ok() { mariadb-admin --protocol=socket -uroot ping; }
if db_ok >/dev/null 2>&1; then
  log "MariaDB already answering (started by this script: $(alive "$RUN/mysql/mariadb.pid" && echo yes || echo no))"
else
  if [ ! -d /var/lib/mysql/mysql ]; then
    log "initialising MariaDB datadir"
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql >"$LOG/mysql/install-db.log" 2>&1
  fi
  log "starting MariaDB"
  start-stop-daemon --start --background --quiet --pidfile "$RUN/mysql/mariadb.pid" \
    --exec /usr/sbin/mariadbd -- --user=mysql --pid-file="$RUN/mysql/mariadb.pid" \
    --log-error="$LOG/mysql/mariadb.err" --innodb-lock-wait-timeout=900
  wait_for "MariaDB ping" db_ok || { tail_log "$LOG/mysql/mariadb.err"; exit 1; }
fi
mariadb -uroot <<SQL
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$SLURM_DB_PASS';
ALTER USER 'slurm'@'localhost' IDENTIFIED BY '$SLURM_DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
SQL
T_DB1=$(now)

# ---------------------------------------------------------------- 5. munge
munge_ok() { munge -n | unmunge; }
if munge_ok >/dev/null 2>&1; then
  log "munged already running"
else
  log "starting munged"
  start-stop-daemon --start --quiet --chuid munge --pidfile "$RUN/munge/munged.pid" \
    --exec /usr/sbin/munged -- --pid-file="$RUN/munge/munged.pid" --log-file="$LOG/munge/munged.log"
  wait_for "munge credential round-trip" munge_ok || { tail_log "$LOG/munge/munged.log"; exit 1; }
fi
T_MUNGE1=$(now)

# ---------------------------------------------------------------- 6. slurmdbd + cluster
dbd_ok() { timeout 10 sacctmgr -n -P show cluster format=cluster; }
if alive "$RUN/slurmdbd.pid" slurmdbd && [[ $changed_files == *slurmdbd.conf* ]]; then
  log "slurmdbd.conf changed -> restarting slurmdbd"
  stop_daemon slurmdbd
fi
settle slurmdbd dbd_ok
if ! alive "$RUN/slurmdbd.pid" slurmdbd; then
  log "starting slurmdbd"
  /usr/sbin/slurmdbd
fi
wait_for "slurmdbd answering sacctmgr" dbd_ok || { tail_log "$LOG/slurm/slurmdbd.log"; exit 1; }
if ! timeout 10 sacctmgr -n -P show cluster format=cluster | grep -qx "$CLUSTER"; then
  timeout 20 sacctmgr -i add cluster "$CLUSTER"
fi
T_DBD1=$(now)

# ---------------------------------------------------------------- 7. slurmctld
ctld_ok() { timeout 10 scontrol ping | grep -q 'is UP'; }
# Node and partition definitions change only with a restart in 22.05 (scontrol reconfigure keeps the old
# node); running jobs survive it (slurmctld saves its state, slurmstepd outlives slurmd).
conf_changed=0
[[ $changed_files == *slurm.conf* || $changed_files == *gres.conf* ]] && conf_changed=1
if alive "$RUN/slurmctld.pid" slurmctld && [ "$conf_changed" = 1 ]; then
  log "slurm.conf/gres.conf changed -> restarting slurmctld"
  stop_daemon slurmctld
fi
settle slurmctld ctld_ok
if alive "$RUN/slurmctld.pid" slurmctld; then
  log "slurmctld already running"
else
  log "starting slurmctld"
  /usr/sbin/slurmctld
fi
wait_for "slurmctld UP" ctld_ok || { tail_log "$LOG/slurm/slurmctld.log"; exit 1; }
# A slurmctld that started while slurmdbd was down never registers with it (22.05): it gets no association
# updates, and every new account is "Invalid account" for sbatch. slurmdbd then shows ControlPort 0.
registered() { [[ "$(timeout 10 sacctmgr -n -P show cluster "$CLUSTER" format=controlport)" =~ ^[1-9][0-9]*$ ]]; }
if ! WAIT=10 wait_for "slurmctld registered with slurmdbd" registered; then
  log "slurmctld is not registered with slurmdbd (started while slurmdbd was down?) -> restarting slurmctld"
  if alive "$RUN/slurmctld.pid" slurmctld; then stop_daemon slurmctld; fi
  /usr/sbin/slurmctld
  wait_for "slurmctld UP" ctld_ok || { tail_log "$LOG/slurm/slurmctld.log"; exit 1; }
  wait_for "slurmctld registered with slurmdbd" registered || { tail_log "$LOG/slurm/slurmctld.log"; exit 1; }
fi
T_CTLD1=$(now)

# ---------------------------------------------------------------- 8. slurmd
SLURMD_T0=""
node_ok() {   # node usable; if we just started slurmd, it must have registered since
  sinfo -h -n "$NODE" -o %t | grep -Eq '^(idle|mix|alloc)$' || return 1
  [ -z "$SLURMD_T0" ] && return 0
  local t; t=$(scontrol show node "$NODE" | sed -n 's/.*SlurmdStartTime=\([^ ]*\).*/\1/p')
  [ "$(date -d "$t" +%s 2>/dev/null || echo 0)" -ge $((SLURMD_T0 - 1)) ]
}
if alive "$RUN/slurmd.pid" slurmd && [ "$conf_changed" = 1 ]; then
  log "slurm.conf/gres.conf changed -> restarting slurmd"
  stop_daemon slurmd
fi
if alive "$RUN/slurmd.pid" slurmd; then
  log "slurmd already running"
else
  log "starting slurmd"
  SLURMD_T0=$(date +%s)
  /usr/sbin/slurmd
fi
if ! wait_for "node $NODE idle/mix/alloc" node_ok; then
  sinfo -N -l; scontrol show node "$NODE" | grep -E 'State|Reason' || true
  log "trying: scontrol update nodename=$NODE state=resume"
  scontrol update nodename="$NODE" state=resume || true
  wait_for "node $NODE idle/mix/alloc (after resume)" node_ok || { tail_log "$LOG/slurm/slurmd.log"; exit 1; }
fi
T_SLURMD1=$(now)

# ---------------------------------------------------------------- 9. slurmrestd (optional; JWT on 127.0.0.1)
# slurmrestd answers 401 without a token (200 with one); anything else on the port is not it
rest_ok() { [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$REST_PORT/openapi/v3")" =~ ^(200|401)$ ]]; }
rest_failed() {
  tail_log "$LOG/slurm/slurmrestd.log"
  if [ "$SLURM_REST" = 1 ]; then echo "slurm-up.sh: slurmrestd did not start (SLURM_REST=1)" >&2; exit 1; fi
  log "WARNING: slurmrestd did not start; continuing (the portal uses sacctmgr/sacct; SLURM_REST=1 makes this fatal)"
}
if [ "$SLURM_REST" = 0 ]; then
  log "slurmrestd skipped (SLURM_REST=0)"
elif alive "$RUN/slurmrestd.pid" slurmrestd; then
  log "slurmrestd already running"
elif [ ! -x /usr/sbin/slurmrestd ]; then
  rest_failed
else
  log "starting slurmrestd on 127.0.0.1:$REST_PORT"
  # slurmrestd refuses to run as root -> -u/-g drop to the unprivileged user slurmrestd;
  # SLURM_JWT=daemon: talk to slurmctld/slurmdbd with the caller's JWT, no munge
  if start-stop-daemon --start --background --make-pidfile --pidfile "$RUN/slurmrestd.pid" \
      --output "$LOG/slurm/slurmrestd.log" --startas /usr/bin/env -- SLURM_JWT=daemon \
      /usr/sbin/slurmrestd -a rest_auth/jwt -u slurmrestd -g slurmrestd "127.0.0.1:$REST_PORT"; then
    # wait (bounded by REST_TIMEOUT) for its answer; give up at once if it died (e.g. "Address already in use")
    rest_end=$(( $(date +%s) + REST_TIMEOUT ))
    while sleep 0.5; alive "$RUN/slurmrestd.pid" slurmrestd; do
      if rest_ok; then log "ready: slurmrestd listening on $REST_PORT"; break; fi
      [ "$(date +%s)" -lt "$rest_end" ] || break
    done
    alive "$RUN/slurmrestd.pid" slurmrestd && rest_ok || rest_failed
  else
    rest_failed
  fi
fi
T_END=$(now)

log "timings (s): install=$(secs "$T_INSTALL0" "$T_INSTALL1") configure=$(secs "$T_INSTALL1" "$T_CONF1")" \
    "mariadb=$(secs "$T_CONF1" "$T_DB1") munge=$(secs "$T_DB1" "$T_MUNGE1") slurmdbd=$(secs "$T_MUNGE1" "$T_DBD1")" \
    "slurmctld=$(secs "$T_DBD1" "$T_CTLD1") slurmd=$(secs "$T_CTLD1" "$T_SLURMD1") slurmrestd=$(secs "$T_SLURMD1" "$T_END")" \
    "start_total=$(secs "$T_INSTALL1" "$T_END") total=$(secs "$T0" "$T_END")"
log "cluster $CLUSTER up: partitions $ACCEL_PARTITION (billing $ACCEL_WEIGHTS) and $CPU_PARTITION" \
    "(billing $CPU_WEIGHTS), node $NODE with $NODE_CPUS cores and gres npu:$NPU_COUNT"
sinfo -N -o '%N %P %T %c %m %G'
