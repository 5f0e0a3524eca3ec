#!/usr/bin/env bash
# The directory the test cluster reads, on this machine (Debian 12, as root), for the cluster-identity tests:
#   - slapd with its own cn=config and database under $STATE, listening on ldap://127.0.0.1:$LDAP_PORT (and an
#     ldapi socket for root), schemas core/cosine/nis/inetorgperson plus openssh-lpk (written here: Debian ships
#     none), the portal's subtree ou=portal (ou=people, ou=groups), a writer account fenced into that subtree by
#     ACLs and a reader account for the nodes, uniqueness of uid/uidNumber and cn/gidNumber;
#   - nslcd + libnss-ldapd so that this node (the Slurm controller and node of deploy/slurm) resolves the
#     portal's users and groups, with short timeouts and no cache (a change shows at once);
#   - a second sshd on 127.0.0.1:$SSH_PORT that takes each user's keys from the directory (AuthorizedKeysCommand).
# The connection facts are written to $STATE/ldap.env for the tests and the worker (docs/cluster-access.md).
# Idempotent: packages once, files rewritten only when they change (then that daemon restarts); bounded waits.
# deploy/ldap/ldap-down.sh stops it and restores /etc/nsswitch.conf and /etc/nslcd.conf.
#
# Environment: STATE (/var/lib/aicc-ldaplab) SUFFIX (dc=aicc,dc=example) LDAP_PORT (3890) SSH_PORT (2222)
#              UID_MIN (100000: nslcd ignores lower ids, as CLUSTER_UID_MIN) HOME_ROOT (/home) WAIT (30 s)
set -euo pipefail

STATE=${STATE:-/var/lib/aicc-ldaplab}
SUFFIX=${SUFFIX:-dc=aicc,dc=example}
LDAP_PORT=${LDAP_PORT:-3890}
SSH_PORT=${SSH_PORT:-2222}
UID_MIN=${UID_MIN:-100000}
HOME_ROOT=${HOME_ROOT:-/home}
WAIT=${WAIT:-30}

PORTAL=ou=portal,$SUFFIX
PEOPLE=ou=people,$PORTAL
GROUPS_DN=ou=groups,$PORTAL
SERVICES=ou=services,$SUFFIX
ROOT_DN=cn=admin,$SUFFIX
WRITER=cn=portal-writer,$SERVICES
READER=cn=cluster-reader,$SERVICES
URI=ldap://127.0.0.1:$LDAP_PORT
SOCKET_DIR=$STATE/run
LDAPI=ldapi://${SOCKET_DIR//\//%2F}%2Fldapi
SECRETS=$STATE/secrets
KEYS_USER=aicc-keys
# sshd refuses an AuthorizedKeysCommand under a writable directory such as /tmp: root-owned paths only.
KEYS_COMMAND=/usr/local/sbin/aicc-ldap-keys
# sshd names its PAM service after its program name: a symlink gives the lab sshd a service of its own.
LAB_SSHD=/usr/local/sbin/aicc-lab-sshd

[ "$(id -u)" = 0 ] || { echo "ldap-up.sh: must run as root" >&2; exit 1; }
say() { echo "==> ldap: $*"; }
changed=""

# until <what> <command...>: poll for at most $WAIT seconds.
until_ok() {
  local what=$1 deadline=$((SECONDS + WAIT)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { echo "ldap-up.sh: gave up waiting for $what after ${WAIT}s" >&2; return 1; }
    sleep 0.2
  done
}
# running <pidfile> <comm>: the pid in the file is alive (not a zombie) and is that program.
running() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$2" ] &&
    [ "$(awk '{print $3}' /proc/"$pid"/stat 2>/dev/null)" != Z ]
}
stop() {
  running "$1" "$2" || { rm -f "$1"; return 0; }
  local pid; pid=$(cat "$1"); kill "$pid"
  local deadline=$((SECONDS + WAIT))
  while running "$1" "$2" && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  running "$1" "$2" && kill -9 "$pid"
  rm -f "$1"
}
# write <path> <owner:group> <mode> < content: only when it differs (noted in $changed).
write() {
  local tmp; tmp=$(mktemp)
  cat >"$tmp"
  if [ -f "$1" ] && cmp -s "$tmp" "$1"; then rm -f "$tmp"; return 0; fi
  install -m "$3" -o "${2%:*}" -g "${2#*:}" "$tmp" "$1"; rm -f "$tmp"
  changed="$changed $1"
}

# --- packages -----------------------------------------------------------------------------------------------
need=()
for p in slapd ldap-utils nslcd libnss-ldapd openssh-server; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  # No Debian database for slapd (ours is under $STATE), and libnss-ldapd must not edit nsswitch.conf.
  debconf-set-selections <<EOF
slapd slapd/no_configuration boolean true
libnss-ldapd libnss-ldapd/nsswitch multiselect
nslcd nslcd/ldap-uris string $URI/
nslcd nslcd/ldap-base string $SUFFIX
EOF
  # Keep the packages' scripts from starting their daemons (the system sshd among them).
  made_policy=0
  [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null 2>&1 || true
  # --no-install-recommends: nslcd recommends nscd, whose cache would keep a removed user for ten minutes.
  status=0
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${need[@]}" >/tmp/aicc-ldap-apt.log 2>&1 || status=$?
  [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ $status = 0 ] || { tail -20 /tmp/aicc-ldap-apt.log >&2; exit $status; }
fi

# --- secrets and directories ------------------------------------------------------------------------------
install -d -m 755 "$STATE" "$STATE/etc" "$STATE/log"
install -d -m 711 "$SECRETS"
install -d -m 750 -o openldap -g openldap "$SOCKET_DIR" "$STATE/db"
getent passwd "$KEYS_USER" >/dev/null ||
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$KEYS_USER"
# A password per account, made once (no newline: ldapsearch -y sends the whole file), and its salted hash.
password() {
  [ -s "$SECRETS/$1" ] || { head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24 >"$SECRETS/$1"; chmod 600 "$SECRETS/$1"; }
  [ -s "$SECRETS/$1.hash" ] || slappasswd -n -T "$SECRETS/$1" >"$SECRETS/$1.hash"
  cat "$SECRETS/$1.hash"
}
ROOT_HASH=$(password admin)
WRITER_HASH=$(password writer)
READER_HASH=$(password reader)
install -m 400 -o "$KEYS_USER" -g root "$SECRETS/reader" "$SECRETS/reader-for-sshd"

# --- slapd ----------------------------------------------------------------------------------------------
{
  cat <<EOF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $SOCKET_DIR/slapd.pid

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: unique

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

EOF
  for schema in core cosine nis inetorgperson; do cat "/etc/ldap/schema/$schema.ldif"; echo; done
  # openssh-lpk: the OIDs and names sssd and the usual AuthorizedKeysCommand scripts know.
  cat <<'EOF'
dn: cn=openssh-lpk,cn=schema,cn=config
objectClass: olcSchemaConfig
cn: openssh-lpk
olcAttributeTypes: ( 1.3.6.1.4.1.24552.500.1.1.1.13 NAME 'sshPublicKey' DESC 'OpenSSH public key'
  EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 )
olcObjectClasses: ( 1.3.6.1.4.1.24552.500.1.1.2.0 NAME 'ldapPublicKey' DESC 'OpenSSH public keys'
  SUP top AUXILIARY MUST ( sshPublicKey $ uid ) )

EOF
  cat <<EOF
dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcAccess: {0}to dn.base="" by * read
olcAccess: {1}to dn.base="cn=Subschema" by * read

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth manage by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $SUFFIX
olcDbDirectory: $STATE/db
olcDbMaxSize: 268435456
olcRootDN: $ROOT_DN
olcRootPW: $ROOT_HASH
olcDbIndex: objectClass eq
olcDbIndex: uid,uidNumber,gidNumber,memberUid,cn eq
olcAccess: {0}to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth manage by * break
olcAccess: {1}to attrs=userPassword by anonymous auth by * none
olcAccess: {2}to dn.base="$PORTAL" by dn.exact="$WRITER" read by dn.exact="$READER" read by * none
olcAccess: {3}to dn.children="$PORTAL" by dn.exact="$WRITER" write by dn.exact="$READER" read by * none
olcAccess: {4}to * by * none

dn: olcOverlay={0}unique,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcUniqueConfig
olcOverlay: {0}unique
olcUniqueURI: ldap:///$PEOPLE?uid,uidNumber?sub
olcUniqueURI: ldap:///$GROUPS_DN?cn,gidNumber?sub
EOF
} | write "$STATE/etc/config.ldif" root:root 600

DC=${SUFFIX#dc=}; DC=${DC%%,*}
write "$STATE/etc/base.ldif" root:root 600 <<EOF
dn: $SUFFIX
objectClass: dcObject
objectClass: organization
dc: $DC
o: $DC

dn: $SERVICES
objectClass: organizationalUnit
ou: services

dn: $WRITER
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: portal-writer
description: the portal: writes below $PORTAL and nowhere else
userPassword: $WRITER_HASH

dn: $READER
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: cluster-reader
description: the nodes (nslcd) and sshd: read $PORTAL
userPassword: $READER_HASH

dn: $PORTAL
objectClass: organizationalUnit
ou: portal

dn: $PEOPLE
objectClass: organizationalUnit
ou: people

dn: $GROUPS_DN
objectClass: organizationalUnit
ou: groups
EOF

if [[ $changed == *config.ldif* ]] || [ ! -d "$STATE/slapd.d/cn=config" ]; then
  stop "$SOCKET_DIR/slapd.pid" slapd
  rm -rf "$STATE/slapd.d"; install -d -m 750 "$STATE/slapd.d"
  slapadd -n0 -F "$STATE/slapd.d" -l "$STATE/etc/config.ldif" >"$STATE/log/slapadd.log" 2>&1 ||
    { cat "$STATE/log/slapadd.log" >&2; rm -rf "$STATE/slapd.d" "$STATE/etc/config.ldif"; exit 1; }
fi
if [ ! -s "$STATE/db/data.mdb" ]; then
  slapadd -b "$SUFFIX" -F "$STATE/slapd.d" -l "$STATE/etc/base.ldif" >>"$STATE/log/slapadd.log" 2>&1 ||
    { cat "$STATE/log/slapadd.log" >&2; rm -f "$STATE/db/"*; exit 1; }
fi
chown -R openldap:openldap "$STATE/slapd.d" "$STATE/db"
answers() { ldapsearch -x -LLL -o nettimeout=2 -l 2 -H "$URI" -D "$READER" -y "$SECRETS/reader" -b "$PEOPLE" -s base dn; }
if ! running "$SOCKET_DIR/slapd.pid" slapd; then
  say "starting slapd on $URI"
  # -d 256: stay in the foreground and log each operation (there is no syslog here).
  setsid nohup /usr/sbin/slapd -d 256 -u openldap -g openldap -F "$STATE/slapd.d" -h "$URI/ $LDAPI" \
    </dev/null >>"$STATE/log/slapd.log" 2>&1 &
fi
until_ok "slapd" answers || { tail -20 "$STATE/log/slapd.log" >&2; exit 1; }

# --- the node reads users and groups from it: nslcd + nsswitch ---------------------------------------
install -d -m 755 "$STATE/backup"
[ -e "$STATE/backup/nslcd.conf" ] || [ ! -e /etc/nslcd.conf ] || cp -p /etc/nslcd.conf "$STATE/backup/nslcd.conf"
write /etc/nslcd.conf root:nslcd 640 <<EOF
# Written by deploy/ldap/ldap-up.sh (the original is in $STATE/backup).
uid nslcd
gid nslcd
uri $URI/
base passwd $PEOPLE
base group $GROUPS_DN
binddn $READER
bindpw $(cat "$SECRETS/reader")
# Fail fast: a hanging lookup blocks whoever asked (sshd, slurmd, ls -l).
bind_timelimit 1
timelimit 2
reconnect_sleeptime 1
reconnect_retrytime 2
# Local accounts (root, slurm, munge) never wait for the directory.
nss_initgroups_ignoreusers ALLLOCAL
nss_min_uid $UID_MIN
EOF
install -d -m 755 -o nslcd -g nslcd /run/nslcd
if [[ $changed == */etc/nslcd.conf* ]]; then stop /run/nslcd/nslcd.pid nslcd; fi
if ! running /run/nslcd/nslcd.pid nslcd; then
  say "starting nslcd"
  /usr/sbin/nslcd
fi
until_ok "nslcd" test -S /run/nslcd/socket
[ -e "$STATE/backup/nsswitch.conf" ] || cp -p /etc/nsswitch.conf "$STATE/backup/nsswitch.conf"
for db in passwd group; do
  grep -Eq "^$db:.*[[:space:]]ldap([[:space:]]|\$)" /etc/nsswitch.conf ||
    sed -i -E "s/^($db:.*[^[:space:]])[[:space:]]*\$/\\1 ldap/" /etc/nsswitch.conf
done

# --- sshd on 127.0.0.1:$SSH_PORT with keys from the directory -------------------------------------------
write "$KEYS_COMMAND" root:root 755 <<EOF
#!/bin/sh
# sshd's AuthorizedKeysCommand (written by deploy/ldap/ldap-up.sh): the sshPublicKey values of user \$1.
case \$1 in ''|-*|*[!a-z0-9_-]*) exit 0;; esac
timeout 8 ldapsearch -x -LLL -o ldif-wrap=no -o nettimeout=3 -l 5 -H '$URI' -D '$READER' \\
  -y '$SECRETS/reader-for-sshd' -b '$PEOPLE' \\
  "(&(objectClass=posixAccount)(objectClass=ldapPublicKey)(uid=\$1))" sshPublicKey |
while IFS= read -r line; do
  case \$line in
    'sshPublicKey: '*) printf '%s\n' "\${line#sshPublicKey: }";;
    'sshPublicKey:: '*) printf '%s' "\${line#sshPublicKey:: }" | base64 -d; echo;;
  esac
done
EOF
[ -L "$LAB_SSHD" ] || ln -sfn /usr/sbin/sshd "$LAB_SSHD"
write /etc/pam.d/aicc-lab-sshd root:root 644 <<EOF
# PAM service of the lab sshd (deploy/ldap/ldap-up.sh): a home from /etc/skel at the first login.
@include common-auth
@include common-account
session optional pam_mkhomedir.so skel=/etc/skel umask=0077
@include common-session
@include common-password
EOF
install -d -m 700 "$STATE/sshd"
install -d -m 755 /run/sshd
[ -s "$STATE/sshd/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C aicc-lab -f "$STATE/sshd/host_ed25519"
write "$STATE/sshd/sshd_config" root:root 600 <<EOF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $STATE/sshd/host_ed25519
PidFile $SOCKET_DIR/sshd.pid
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile none
AuthorizedKeysCommand $KEYS_COMMAND %u
AuthorizedKeysCommandUser $KEYS_USER
UsePAM yes
PrintMotd no
X11Forwarding no
LogLevel VERBOSE
EOF
"$LAB_SSHD" -t -f "$STATE/sshd/sshd_config"
if [[ $changed == *sshd_config* ]]; then stop "$SOCKET_DIR/sshd.pid" aicc-lab-sshd; fi
if ! running "$SOCKET_DIR/sshd.pid" aicc-lab-sshd; then
  say "starting sshd on 127.0.0.1:$SSH_PORT"
  "$LAB_SSHD" -f "$STATE/sshd/sshd_config" -E "$STATE/log/sshd.log"
fi
until_ok "sshd" bash -c "exec 3<>/dev/tcp/127.0.0.1/$SSH_PORT"

# --- what the tests and the worker need to know --------------------------------------------------------
write "$STATE/ldap.env" root:root 644 <<EOF
LDAP_URI=$URI
LDAP_SUFFIX=$SUFFIX
LDAP_PORTAL_DN=$PORTAL
LDAP_PEOPLE_DN=$PEOPLE
LDAP_GROUPS_DN=$GROUPS_DN
LDAP_WRITER_DN=$WRITER
LDAP_WRITER_PASSWORD_FILE=$SECRETS/writer
LDAP_READER_DN=$READER
LDAP_READER_PASSWORD_FILE=$SECRETS/reader
LDAP_LDAPI_URI=$LDAPI
LDAP_SSH_PORT=$SSH_PORT
LDAP_UID_MIN=$UID_MIN
LDAP_HOME_ROOT=$HOME_ROOT
EOF
say "up: $URI (portal subtree $PORTAL), nslcd, sshd 127.0.0.1:$SSH_PORT; facts in $STATE/ldap.env"
