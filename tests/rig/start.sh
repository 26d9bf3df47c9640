#!/usr/bin/env bash
# Starts the Conclave mail rig: Dovecot (IMAP, LMTP), Postfix (submission
# and an inbound MX port) and a milter holding the header From to the login,
# running entirely from DIR and listening on 127.0.0.1 only. Nothing under
# /etc is changed; mail for any domain but conclave.test and the other local
# domains (RIG_OTHER_DOMAINS, default riseup.test posteo.test) is refused.
#
#   tests/rig/start.sh DIR      (run as root; see tests/rig/README.md)
#
# Ports come from RIG_IMAP_PORT, RIG_IMAPS_PORT, RIG_SUBMISSION_PORT,
# RIG_SMTPS_PORT, RIG_SMTP_PLAIN_PORT, RIG_GMAIL_PORT and RIG_MX_PORT
# (defaults 143, 993, 587, 465, 2525, 1587, 2526); the local domains beside
# conclave.test from RIG_OTHER_DOMAINS (space-separated names ending in
# .test; default "riseup.test posteo.test"). On success DIR/rig.env
# holds the contract (KEY=value lines) and the script exits 0 with the
# daemons running in the background. Mailboxes (DIR/mail), the certificates
# (DIR/tls) and the Postfix queue survive a restart.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
bash "$repo/scripts/install-deps.sh" test

die() { echo "rig: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root (Postfix's master and Dovecot's mail processes switch users)"

mkdir -p "$1"
DIR=$(cd "$1" && pwd)
case "$DIR" in *[[:space:]]*|*[\'\"\$\\]*) die "DIR must not contain spaces or quotes: $DIR" ;; esac

IMAP_PORT=${RIG_IMAP_PORT:-143}
IMAPS_PORT=${RIG_IMAPS_PORT:-993}
SUBMISSION_PORT=${RIG_SUBMISSION_PORT:-587}
SMTPS_PORT=${RIG_SMTPS_PORT:-465}
SMTP_PLAIN_PORT=${RIG_SMTP_PLAIN_PORT:-2525}
GMAIL_PORT=${RIG_GMAIL_PORT:-1587}
MX_PORT=${RIG_MX_PORT:-2526}
HOST=127.0.0.1
HOST_NOMOVE=127.0.0.2
HOST_NOUIDPLUS=127.0.0.3
# The plain SMTP port there offers no PIPELINING, as some small providers'
# servers do: Conclave then sends one command at a time. (Postfix takes a
# pipelined client even so; the engine's unit tests check that Conclave
# does not pipeline to a server that does not offer it.)
HOST_NOPIPELINING=127.0.0.2
DOMAIN=conclave.test
# More local domains, served exactly like conclave.test (accounts, LMTP
# delivery, the strict submission, the MX port): members at other providers.
OTHER_DOMAINS=${RIG_OTHER_DOMAINS-riseup.test posteo.test}
for d in $OTHER_DOMAINS; do
  case "$d" in
    "$DOMAIN") die "RIG_OTHER_DOMAINS must not name $DOMAIN" ;;
    *[!a-z0-9.-]*|.*|*..*|*.) die "RIG_OTHER_DOMAINS: bad domain name '$d' (lowercase letters, digits, dots, hyphens)" ;;
    *.test) ;;
    *) die "RIG_OTHER_DOMAINS: '$d' must end in .test (the rig must never look like a real domain)" ;;
  esac
done
OTHER_DOMAINS=$(echo $OTHER_DOMAINS)    # one space between names
ALL_DOMAINS="$DOMAIN${OTHER_DOMAINS:+ $OTHER_DOMAINS}"
PASSWORD=rig-password
# Mailbox files belong to an existing system user: Dovecot refuses root, and
# adding a user would change /etc.
MAIL_USER=mail
MAIL_UID=$(id -u $MAIL_USER)

# A rig already running here is stopped first.
if [ -e "$DIR/dovecot/run/master.pid" ] || [ -e "$DIR/postfix-queue/pid/master.pid" ] || [ -e "$DIR/milter/milter.pid" ]; then
  bash "$here/stop.sh" "$DIR"
fi
rm -f "$DIR/rig.env"

# The daemons' users must be able to reach their sockets and mailboxes here
# (mktemp -d makes 0700 folders).
chmod 0755 "$DIR"
setpriv --reuid=postfix --regid=postfix --clear-groups test -x "$DIR" \
  || die "$DIR is not reachable by the postfix user: use a folder whose parents are world-searchable (e.g. under /tmp)"

# Postfix: configuration in DIR/postfix, queue and data beside it (its
# start-up check wants everything under the configuration folder root-owned).
mkdir -p "$DIR/tls" "$DIR/dovecot" "$DIR/postfix" "$DIR/postfix-queue" "$DIR/postfix-data" "$DIR/mail" "$DIR/milter"
chown $MAIL_USER:$MAIL_USER "$DIR/mail"
chown postfix:postfix "$DIR/milter"         # the milter runs as postfix
chown postfix:postfix "$DIR/postfix-data"   # Postfix refuses to start otherwise
chown root:root "$DIR/postfix-queue"; chmod 0755 "$DIR/postfix-queue"

# --- TLS: a throwaway CA, a server certificate for localhost / 127.0.0.1 it
# signed, and an unrelated CA that signed nothing (for "untrusted" tests).
tls=$DIR/tls
make_ca() { # NAME CN
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$tls/$1.key" -out "$tls/$1.pem" -days 3650 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}
if ! { [ -s "$tls/ca.pem" ] && [ -s "$tls/other-ca.pem" ] && [ -s "$tls/server.pem" ] && [ -s "$tls/server.key" ] \
       && openssl verify -CAfile "$tls/ca.pem" "$tls/server.pem" >/dev/null 2>&1; }; then
  rm -f "$tls"/*
  make_ca ca "Conclave test rig CA"
  make_ca other-ca "Conclave unrelated CA"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$tls/server.key" -out "$tls/server.csr" -subj "/CN=localhost" 2>/dev/null
  cat >"$tls/server.ext" <<EOF
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
    -days 825 -extfile "$tls/server.ext" -out "$tls/server.pem" 2>/dev/null
  chmod 0600 "$tls"/*.key
fi
cp "$tls/ca.pem" "$DIR/ca.pem"
cp "$tls/other-ca.pem" "$DIR/other-ca.pem"

# --- Dovecot: IMAP (STARTTLS and implicit TLS), LMTP and SASL for Postfix.
# Any user at conclave.test or another rig domain logs in with the rig
# password (passwd-file keyed by the domain alone, one line per domain);
# anything else fails at once.
# Mailboxes: Maildir with LAYOUT=fs under DIR/mail/<domain>/<user>/, one
# folder per mailbox path: INBOX is .../INBOX/, "Conclave/Processed" is
# .../Conclave/Processed/ (each with cur/ new/ tmp/). Separator "/".
dc=$DIR/dovecot
mkdir -p "$dc/state"
for d in $ALL_DOMAINS; do echo "$d:{PLAIN}$PASSWORD"; done >"$dc/domains"
chmod 0644 "$dc/domains"
cat >"$dc/dovecot.conf" <<EOF
# Generated by tests/rig/start.sh; rewritten on every start.
instance_name = conclave-rig
base_dir = $dc/run
state_dir = $dc/state
log_path = $dc/dovecot.log
info_log_path = $dc/dovecot.log
protocols = imap lmtp
listen = $HOST
hostname = rig.$DOMAIN
postmaster_address = postmaster@$DOMAIN

ssl = yes
ssl_cert = <$tls/server.pem
ssl_key = <$tls/server.key
ssl_dh = </usr/share/dovecot/dh.pem

# Plain passwords without TLS are allowed: the app offers "no TLS" on loopback.
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %Lu
# No failure delay. Dovecot 2.3 still answers a failed login on its next
# 0.5 s timer tick (hard-coded; neither this nor the passdb field nodelay
# avoids it): a wrong password costs up to 0.5 s, without slowing others.
auth_failure_delay = 0
auth_verbose = yes
passdb {
  driver = passwd-file
  args = username_format=%d $dc/domains
}
userdb {
  driver = static
  args = uid=$MAIL_USER gid=$MAIL_USER home=$DIR/mail/%d/%n
}

first_valid_uid = $MAIL_UID
mail_location = maildir:$DIR/mail/%d/%n:LAYOUT=fs:INBOX=$DIR/mail/%d/%n/INBOX
mail_fsync = never
namespace inbox {
  inbox = yes
  separator = /
}

service imap-login {
  inet_listener imap {
    address = $HOST
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = $HOST
    port = $IMAPS_PORT
    ssl = yes
  }
  # The same mailboxes through servers of fewer abilities (plain IMAP only,
  # the certificate names 127.0.0.1): without MOVE, and without MOVE and
  # UIDPLUS, to test how Conclave files messages there.
  inet_listener imap_nomove {
    address = $HOST_NOMOVE
    port = $IMAP_PORT
  }
  inet_listener imap_nouidplus {
    address = $HOST_NOUIDPLUS
    port = $IMAP_PORT
  }
}
local $HOST_NOMOVE {
  protocol imap {
    imap_capability = IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE IDLE NAMESPACE CHILDREN UNSELECT UIDPLUS
  }
}
local $HOST_NOUIDPLUS {
  protocol imap {
    imap_capability = IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE IDLE NAMESPACE CHILDREN UNSELECT
  }
}
service lmtp {
  unix_listener $dc/lmtp {
    mode = 0600
    user = postfix
    group = postfix
  }
}
service auth {
  unix_listener $dc/auth-postfix {
    mode = 0600
    user = postfix
    group = postfix
  }
}
# No penalty for failed logins: wrong-password tests must not slow others.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
EOF

# --- Postfix: submission (587, STARTTLS required), smtps (465), a plain
# port (2525, AUTH without TLS) and a Gmail-like submission port (1587):
# only authenticated clients may send, and only as themselves (envelope
# sender: smtpd_sender_login_maps; header From: the milter, which refuses a
# foreign one, or on the Gmail port rewrites it). The MX port (2526) stands
# for mail from other servers: no AUTH, any sender, recipients in the rig's
# domains only. Mail to @conclave.test (and each of RIG_OTHER_DOMAINS) goes
# to Dovecot over LMTP; every other domain is refused at RCPT; no smtp
# client is defined.
pf=$DIR/postfix
milter_sock=$DIR/milter/from.sock
cat >"$pf/main.cf" <<EOF
# Generated by tests/rig/start.sh; rewritten on every start.
compatibility_level = 3.6
queue_directory = $DIR/postfix-queue
data_directory = $DIR/postfix-data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $pf/maillog
maillog_file_prefixes = $DIR
myhostname = rig.$DOMAIN
mydomain = $DOMAIN
myorigin = $DOMAIN
mydestination =
inet_interfaces = $HOST
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
relay_domains =
alias_maps =
alias_database =
local_recipient_maps =
local_transport = error:5.1.1 local delivery is off in the Conclave test rig
virtual_alias_maps =
virtual_mailbox_domains = $ALL_DOMAINS
virtual_mailbox_maps =
virtual_transport = lmtp:unix:$dc/lmtp
default_transport = error:5.7.1 the Conclave test rig delivers only to its own domains ($ALL_DOMAINS)
relay_transport = error:5.7.1 the Conclave test rig delivers only to its own domains ($ALL_DOMAINS)
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
biff = no
in_flow_delay = 0
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 30s
smtpd_banner = \$myhostname ESMTP Conclave test rig
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
smtpd_junk_command_limit = 1000
smtpd_tls_cert_file = $tls/server.pem
smtpd_tls_key_file = $tls/server.key
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = $dc/auth-postfix
smtpd_sasl_auth_enable = no
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = check_recipient_access regexp:$pf/recipient_access
# As Postfix 3.9 and later do by default (and providers that harden older
# ones): a client that pipelines where RFC 2920 does not let it, or where
# PIPELINING was not offered, is cut off; one that sends anything after
# DATA before the 354 is refused; a bare LF in a message (what SMTP
# smuggling hides behind) is refused.
smtpd_forbid_unauth_pipelining = yes
smtpd_data_restrictions = reject_unauth_pipelining
smtpd_forbid_bare_newline = reject
# Every client of the rig stands for one out on the internet, loopback too.
smtpd_forbid_bare_newline_exclusions =
# A login sends only as itself: every address is owned by the login of the
# same name (compared case-insensitively), and a client that logged in may
# not submit a bounce (MAIL FROM:<>). The MX port turns both off.
smtpd_sender_login_maps = regexp:$pf/sender_logins
smtpd_sender_restrictions = reject_sender_login_mismatch, check_sender_access regexp:$pf/sender_access
# The header From check (tests/rig/from_milter.py). No milter, no mail: a
# message is deferred (4xx), never let through unchecked.
smtpd_milters = unix:$milter_sock
milter_default_action = tempfail
milter_protocol = 6
milter_connect_macros = j {daemon_name} v
milter_mail_macros = i {auth_type} {auth_authen} {mail_addr}
# Chooses the milter's behaviour per port: "gmail" rewrites, others refuse.
milter_macro_daemon_name = strict
EOF
cat >"$pf/sender_logins" <<EOF
/^(.+)\$/  \${1}
EOF
cat >"$pf/sender_access" <<EOF
/^<>\$/  553 5.7.1 an account may not submit mail with the null sender MAIL FROM:<> (bounces come from servers, through the MX port)
EOF
# Recipients whose local part starts with defer- or refuse- get a temporary
# (4xx) or final (5xx) refusal, so tests can see retries and failures.
cat >"$pf/recipient_access" <<EOF
/^defer-/   450 4.2.0 the Conclave test rig defers mail to defer-* addresses
/^refuse-/  550 5.1.1 the Conclave test rig refuses mail to refuse-* addresses
EOF
cat >"$pf/master.cf" <<EOF
# Generated by tests/rig/start.sh; rewritten on every start.
# service type  private unpriv  chroot  wakeup  maxproc command + args
$HOST:$SUBMISSION_PORT inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
$HOST:$SMTPS_PORT inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
$HOST:$SMTP_PLAIN_PORT inet n - n - - smtpd
  -o syslog_name=postfix/plain
  -o smtpd_tls_security_level=none
  -o smtpd_tls_auth_only=no
  -o smtpd_sasl_auth_enable=yes
$HOST_NOPIPELINING:$SUBMISSION_PORT inet n - n - - smtpd
  -o syslog_name=postfix/submission-nopipelining
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_discard_ehlo_keywords=pipelining
$HOST_NOPIPELINING:$SMTP_PLAIN_PORT inet n - n - - smtpd
  -o syslog_name=postfix/nopipelining
  -o smtpd_tls_security_level=none
  -o smtpd_tls_auth_only=no
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_discard_ehlo_keywords=pipelining
$HOST:$GMAIL_PORT inet n - n - - smtpd
  -o syslog_name=postfix/gmail
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
  -o milter_macro_daemon_name=gmail
$HOST:$MX_PORT inet n - n - - smtpd
  -o syslog_name=postfix/mx
  -o smtpd_sasl_auth_enable=no
  -o smtpd_sender_restrictions=
  -o smtpd_relay_restrictions=reject_unauth_destination
  -o smtpd_milters=
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
# Postfix waits ~2 s on configuration files younger than ~2 s: backdate them.
touch -d '-1 minute' "$pf/main.cf" "$pf/master.cf" "$pf/recipient_access" "$pf/sender_logins" "$pf/sender_access"

# --- Start. Output goes to files: Dovecot keeps the standard error it was
# started with open, which would hang a caller reading this script's output;
# the milter would too. The milter runs as postfix (which must reach its
# socket), in a session of its own, with Debian's python (python3-milter).
rm -f "$milter_sock" "$DIR/milter/milter.pid"
setsid setpriv --reuid=postfix --regid=postfix --clear-groups \
  /usr/bin/python3 "$here/from_milter.py" "unix:$milter_sock" "$DIR/milter/milter.pid" \
  >>"$DIR/milter/milter.log" 2>&1 </dev/null &
dovecot -c "$dc/dovecot.conf" >"$dc/start.log" 2>&1 </dev/null \
  || { cat "$dc/start.log" "$dc/dovecot.log" >&2 2>/dev/null; die "dovecot did not start"; }
# Postfix's smtpd connects to the milter with each client (the port checks
# below too): let the milter listen first.
deadline=$((SECONDS + 20))
until [ -S "$milter_sock" ] && [ -s "$DIR/milter/milter.pid" ]; do
  [ $SECONDS -lt $deadline ] || { tail -n 30 "$DIR/milter/milter.log" >&2 2>/dev/null; die "the milter did not start"; }
  sleep 0.05
done
postfix -c "$pf" start >"$pf/start.log" 2>&1 </dev/null \
  || { cat "$pf/start.log" "$pf/maillog" >&2 2>/dev/null; die "postfix did not start"; }

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
for p in "$IMAP_PORT" "$IMAPS_PORT" "$SUBMISSION_PORT" "$SMTPS_PORT" "$SMTP_PLAIN_PORT" "$GMAIL_PORT" "$MX_PORT"; do
  until port_open "$p"; do
    [ $SECONDS -lt $deadline ] || { tail -n 30 "$dc/dovecot.log" "$pf/maillog" >&2 2>/dev/null; die "port $p did not open"; }
    sleep 0.1
  done
done
until [ -S "$dc/lmtp" ] && [ -S "$dc/auth-postfix" ]; do
  [ $SECONDS -lt $deadline ] || die "dovecot sockets did not appear"
  sleep 0.1
done

cat >"$DIR/rig.env.tmp" <<EOF
RIG_DIR=$DIR
RIG_HOST=$HOST
RIG_HOST_NOMOVE=$HOST_NOMOVE
RIG_HOST_NOUIDPLUS=$HOST_NOUIDPLUS
RIG_HOST_NOPIPELINING=$HOST_NOPIPELINING
RIG_IMAP_PORT=$IMAP_PORT
RIG_IMAPS_PORT=$IMAPS_PORT
RIG_SUBMISSION_PORT=$SUBMISSION_PORT
RIG_SMTPS_PORT=$SMTPS_PORT
RIG_SMTP_PLAIN_PORT=$SMTP_PLAIN_PORT
RIG_GMAIL_PORT=$GMAIL_PORT
RIG_MX_PORT=$MX_PORT
RIG_CA=$DIR/ca.pem
RIG_OTHER_CA=$DIR/other-ca.pem
RIG_DOMAIN=$DOMAIN
RIG_OTHER_DOMAINS="$OTHER_DOMAINS"
RIG_PASSWORD=$PASSWORD
RIG_MAIL_DIR=$DIR/mail
EOF
mv "$DIR/rig.env.tmp" "$DIR/rig.env"
echo "rig: running in $DIR (imap $IMAP_PORT, imaps $IMAPS_PORT, submission $SUBMISSION_PORT, smtps $SMTPS_PORT, plain smtp $SMTP_PLAIN_PORT, gmail-like $GMAIL_PORT, mx $MX_PORT; domains $ALL_DOMAINS)" >&2
