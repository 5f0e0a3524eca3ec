#!/usr/bin/env bash
# Undo deploy/ldap/ldap-up.sh: the node stops reading the directory (nsswitch.conf and nslcd.conf restored),
# then the lab sshd, nslcd and slapd stop (by their pid files, each checked against its program name). The
# directory's data and secrets stay in $STATE, so ldap-up.sh brings the same directory back; PURGE=1 deletes them.
set -uo pipefail
STATE=${STATE:-/var/lib/aicc-ldaplab}
[ "$(id -u)" = 0 ] || { echo "ldap-down.sh: must run as root" >&2; exit 1; }

stop() {
  local pid; pid=$(cat "$1" 2>/dev/null) || return 0
  if [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$2" ]; then
    kill "$pid"
    for _ in $(seq 100); do [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$2" ] && [ "$(awk '{print $3}' /proc/"$pid"/stat 2>/dev/null)" != Z ] || break; sleep 0.1; done
  fi
  rm -f "$1"
}

[ -f "$STATE/backup/nsswitch.conf" ] && cp -p "$STATE/backup/nsswitch.conf" /etc/nsswitch.conf && rm -f "$STATE/backup/nsswitch.conf"
stop "$STATE/run/sshd.pid" aicc-lab-sshd
stop /run/nslcd/nslcd.pid nslcd
stop "$STATE/run/slapd.pid" slapd
[ -f "$STATE/backup/nslcd.conf" ] && cp -p "$STATE/backup/nslcd.conf" /etc/nslcd.conf && rm -f "$STATE/backup/nslcd.conf"
rm -f /etc/pam.d/aicc-lab-sshd /usr/local/sbin/aicc-lab-sshd /usr/local/sbin/aicc-ldap-keys
[ "${PURGE:-0}" = 1 ] && rm -rf "$STATE"
echo "==> ldap: down"
