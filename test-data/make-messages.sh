#!/usr/bin/env bash
# Makes the corpus of members' mail (test-data/messages/*.eml) from the
# fixed test keys (test-data/keys/): each message as the list's mailbox
# receives it (CRLF), made by the tool its name says.
#
#   bash test-data/make-messages.sh              # the messages, from the keys
#   bash test-data/make-messages.sh --new-keys   # new keys first (then every
#                                                # message changes)
#
# What each file is and what reading it must give: messages/README.md and
# messages/expect.json. The crypto is made by real tools (rnp, neomutt with
# gpgme, gpg, gpgsm, openssl); where a client could not be run here
# (Thunderbird, Outlook, Apple Mail, Exchange) its MIME is assembled below
# the way that client writes it, and the README says so. Nothing is
# deterministic (keys and session keys are random, neomutt stamps the
# time): rerun only to change the corpus, and commit what it made.
#
# Needs: gnupg, gpgsm, rnp, neomutt, tmux, openssl, base64, python3.
set -euo pipefail
cd "$(dirname "$0")"

K=keys
M=messages
work=$(mktemp -d)
TMUX_SOCKET=conclave-corpus-$$
cleanup() {
    tmux -L "$TMUX_SOCKET" kill-server 2>/dev/null || true
    for h in "$work"/gpg-* "$work"/gpgsm-*; do
        [ -d "$h" ] && gpgconf --homedir "$h" --kill all 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

LIST=list@example.org

# Every line ending CRLF, as mail carries it.
crlf() { sed -e 's/\r$//' -e 's/$/\r/'; }
# Base64 in lines of $1 characters, CRLF.
b64() { base64 -w "${1:-76}" | crlf; }
# n random letters and digits (boundaries, message IDs).
rnd() { openssl rand -base64 96 | LC_ALL=C tr -dc 'A-Za-z0-9' | cut -c "1-$1"; }
hex() { openssl rand -hex 64 | tr 'a-f' 'A-F' | cut -c "1-$1"; }
uuid() { python3 -c 'import uuid; print(str(uuid.uuid4()).upper())'; }

gpg_in() { # home args...
    local home=$1
    shift
    gpg --homedir "$work/gpg-$home" --batch --yes --no-tty --pinentry-mode loopback \
        --passphrase "" "$@"
}
fpr_of() { # home address
    gpg_in "$1" --with-colons --list-keys "$2" 2>/dev/null | awk -F: '/^fpr:/ {print $10; exit}'
}

# ---- Keys ---------------------------------------------------------------------
#
# The list's OpenPGP key is the fuzz fixture's (fuzz/fixtures/), so that these
# messages are seeds the fuzz targets can decrypt. The members' secret keys
# are kept here: the corpus is made by signing as them.

new_keys() {
    mkdir -p "$K"
    rm -f "$K"/*.asc "$K"/*.pem "$K"/*.key
    cp ../fuzz/fixtures/list-openpgp-secret.asc "$K/list-openpgp-secret.asc"
    local h=keygen
    mkdir -m 700 "$work/gpg-$h"
    gpg_in $h --quick-gen-key "Alice <alice@example.org>" future-default default never
    gpg_in $h --quick-gen-key "Bob <bob@example.org>" rsa3072 sign,cert never
    gpg_in $h --quick-add-key "$(fpr_of $h bob@example.org)" rsa3072 encr never
    gpg_in $h --quick-gen-key "Carol <carol@example.net>" future-default default never
    for who in alice:alice@example.org bob:bob@example.org carol:carol@example.net; do
        gpg_in $h --armor --export "${who#*:}" >"$K/${who%%:*}-openpgp.asc"
        gpg_in $h --armor --export-secret-keys "${who#*:}" >"$K/${who%%:*}-openpgp-secret.asc"
    done

    # X.509: a test authority, the list and the members, RSA 2048 (what
    # gpgsm, Outlook and Apple Mail all take), valid for a hundred years.
    openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -sha256 \
        -subj "/O=Conclave Test/CN=Conclave Test Authority" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" \
        -keyout "$work/ca.key" -out "$K/ca.pem" 2>/dev/null
    for who in list:list@example.org:Conclave\ Test\ List alice:alice@example.org:Alice \
        bob:bob@example.org:Bob carol:carol@example.net:Carol; do
        IFS=: read -r name email cn <<<"$who"
        cat >"$work/$name.ext" <<EOF
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = emailProtection
subjectAltName = email:$email
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
        openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$cn/emailAddress=$email" \
            -keyout "$work/$name.key" -out "$work/$name.csr" 2>/dev/null
        openssl x509 -req -in "$work/$name.csr" -CA "$K/ca.pem" -CAkey "$work/ca.key" \
            -CAcreateserial -CAserial "$work/ca.srl" -days 36500 -sha256 \
            -extfile "$work/$name.ext" -out "$work/$name.pem" 2>/dev/null
    done
    cat "$work/list.key" "$work/list.pem" >"$K/list-smime.pem"
    for name in alice bob carol; do
        cp "$work/$name.pem" "$K/$name-smime.pem"
        cp "$work/$name.key" "$K/$name-smime.key"
    done
    gpgconf --homedir "$work/gpg-$h" --kill all 2>/dev/null || true
}

if [ "${1:-}" = --new-keys ] || [ ! -f "$K/alice-openpgp-secret.asc" ]; then
    new_keys
fi

# ---- Each sender's own tools, as on their machine ------------------------------

# A gpg home per sender: their own secret key, the list's public key
# (locally signed, as a member does once), and the other members' keys.
mkdir -m 700 "$work/gpg-list"
gpg_in list --import "$K/list-openpgp-secret.asc" 2>/dev/null
gpg_in list --armor --export "$LIST" >"$work/list-openpgp.asc"
for who in alice bob carol; do
    mkdir -m 700 "$work/gpg-$who"
    gpg_in $who --import "$K/$who-openpgp-secret.asc" "$K/alice-openpgp.asc" \
        "$K/bob-openpgp.asc" "$K/carol-openpgp.asc" "$work/list-openpgp.asc" 2>/dev/null
    own=$(gpg_in $who --with-colons --list-secret-keys | awk -F: '/^fpr:/ {print $10; exit}')
    echo "$own:6:" | gpg_in $who --import-ownertrust 2>/dev/null
    for other in "$LIST" alice@example.org bob@example.org carol@example.net; do
        gpg_in $who --default-key "$own" --quick-lsign-key "$(fpr_of $who "$other")" >/dev/null 2>&1 || true
    done
done
ALICE_FPR=$(fpr_of alice alice@example.org)
BOB_FPR=$(fpr_of bob bob@example.org)

# rnp (Thunderbird's OpenPGP library) with the same keys.
for who in alice carol; do
    mkdir -m 700 "$work/rnp-$who"
    rnpkeys --homedir "$work/rnp-$who" --import "$K/$who-openpgp-secret.asc" >/dev/null 2>&1
    for pub in "$work/list-openpgp.asc" "$K/alice-openpgp.asc" "$K/carol-openpgp.asc"; do
        rnpkeys --homedir "$work/rnp-$who" --import "$pub" >/dev/null 2>&1
    done
done
rnp_in() { # who args...
    local who=$1
    shift
    rnp --homedir "$work/rnp-$who" --notty --password "" "$@"
}

# gpgsm homes (neomutt's S/MIME goes through gpgme to gpgsm): the member's
# own key and certificate, the list's certificate, the authority trusted.
ca_sha1=$(openssl x509 -in "$K/ca.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
for who in alice bob; do
    home="$work/gpgsm-$who"
    mkdir -m 700 "$home"
    printf 'disable-crl-checks\ndisable-dirmngr\nvalidation-model chain\n' >"$home/gpgsm.conf"
    printf 'allow-loopback-pinentry\n' >"$home/gpg-agent.conf"
    echo "$ca_sha1 S relax" >"$home/trustlist.txt"
    # Without a password, so that the agent keeps the key unprotected and
    # neomutt signs without a pinentry.
    openssl pkcs12 -export -passout pass: -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES \
        -macalg sha1 -inkey "$K/$who-smime.key" -in "$K/$who-smime.pem" -certfile "$K/ca.pem" \
        -out "$work/$who.p12" 2>/dev/null
    openssl x509 -in "$K/list-smime.pem" -out "$work/list-cert.pem"
    for f in "$work/$who.p12" "$K/ca.pem" "$work/list-cert.pem"; do
        echo | gpgsm --homedir "$home" --batch --pinentry-mode loopback --passphrase-fd 0 \
            --import "$f" >/dev/null 2>&1
    done
done
cert_sha1() { openssl x509 -in "$1" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g'; }

# ---- What the members write -----------------------------------------------------

mkdir -p "$M"
rm -f "$M"/*.eml

# A short text file and a binary one, as attachments.
printf 'Agenda\r\n======\r\n\r\n1. Rent increase letter  \r\n2. From the last meeting: repairs\r\n.\r\n3. AOB\r\n' >"$work/agenda.txt"
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 3)' >"$work/data.bin"

# Text of each message: it names the file, so a test can tell them apart.
body() { # name
    printf 'Hello list,\n\nthe meeting is on Thursday at eight, in the back room.\n(%s)\n\nCheers\n' "$1"
}

# ---- Thunderbird ------------------------------------------------------------------
#
# Thunderbird 115+ (mimeEncrypt.sys.mjs): the OpenPGP data made by rnp as
# Thunderbird's RNP module calls it (AES-256, SHA-256, no AEAD, signed and
# encrypted in one OpenPGP message, also encrypted to the sender's own key);
# protected headers (multipart/mixed; protected-headers="v1") inside; the
# Subject "..." outside; an Autocrypt header with the sender's key.

tb_boundary() { printf -- '------------%s' "$(rnd 24)"; }

autocrypt() { # who address
    printf 'Autocrypt: addr=%s; keydata=\r\n' "$2"
    gpg_in "$1" --export-options export-minimal --export "$2" | base64 -w 72 | sed 's/^/ /' | crlf
}

tb_head() { # who address subject msgid
    printf 'Message-ID: <%s>\r\nDate: Wed, 2 Dec 2026 21:04:05 +0100\r\nMIME-Version: 1.0\r\nUser-Agent: Mozilla Thunderbird\r\nContent-Language: en-US\r\nTo: %s\r\nFrom: %s <%s>\r\n' \
        "$4" "$LIST" "${1^}" "$2"
    autocrypt "$1" "$2"
    printf 'Subject: %s\r\n' "$3"
}

# The protected-headers part: multipart/mixed with the headers, around entity $5.
tb_protected() { # who address subject msgid entity-file subject-first
    local b
    b=$(tb_boundary)
    printf 'Content-Type: multipart/mixed; boundary="%s";\r\n protected-headers="v1"\r\n' "$b"
    [ "$6" = yes ] && printf 'Subject: %s\r\n' "$3"
    printf 'From: %s <%s>\r\nTo: %s\r\nMessage-Id: <%s>\r\n' "${1^}" "$2" "$LIST" "$4"
    [ "$6" = yes ] || printf 'Subject: %s\r\n' "$3"
    printf '\r\n--%s\r\n' "$b"
    cat "$5"
    printf '\r\n--%s--\r\n' "$b"
}

tb_text() { # name -> text/plain entity
    printf 'Content-Type: text/plain; charset=UTF-8; format=flowed\r\nContent-Transfer-Encoding: 7bit\r\n\r\n'
    body "$1" | crlf
}

tb_with_attachments() { # name -> multipart/mixed entity with both attachments
    local b
    b=$(tb_boundary)
    printf 'Content-Type: multipart/mixed; boundary="%s"\r\n\r\nThis is a multi-part message in MIME format.\r\n--%s\r\n' "$b" "$b"
    tb_text "$1"
    printf '\r\n--%s\r\nContent-Type: text/plain; charset=UTF-8; name="agenda.txt"\r\nContent-Disposition: attachment; filename="agenda.txt"\r\nContent-Transfer-Encoding: base64\r\n\r\n' "$b"
    b64 72 <"$work/agenda.txt"
    printf '\r\n--%s\r\nContent-Type: application/octet-stream; name="data.bin"\r\nContent-Disposition: attachment; filename="data.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n' "$b"
    b64 72 <"$work/data.bin"
    printf '\r\n--%s--\r\n' "$b"
}

# Signed and encrypted by $1 to the list (and to themselves) with rnp.
tb_encrypted() { # who address subject entity-file out recipients...
    local who=$1 addr=$2 subject=$3 ent=$4 out=$5
    shift 5
    local msgid b r=()
    msgid="$(uuid | tr 'A-Z' 'a-z')@example.org"
    b=$(tb_boundary)
    tb_protected "$who" "$addr" "$subject" "$msgid" "$ent" yes >"$work/tb-inner"
    for x in "$@"; do r+=(-r "$x"); done
    rnp_in "$who" --sign --encrypt -u "$addr" "${r[@]}" --cipher AES256 --hash SHA256 \
        --armor --output - "$work/tb-inner" >"$work/tb-cipher"
    {
        tb_head "$who" "$addr" "..." "$msgid"
        printf 'Content-Type: multipart/encrypted;\r\n protocol="application/pgp-encrypted";\r\n boundary="%s"\r\n\r\n' "$b"
        printf 'This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n--%s\r\n' "$b"
        printf 'Content-Type: application/pgp-encrypted\r\nContent-Description: PGP/MIME version identification\r\n\r\nVersion: 1\r\n\r\n'
        printf -- '--%s\r\nContent-Type: application/octet-stream; name="encrypted.asc"\r\nContent-Description: OpenPGP encrypted message\r\nContent-Disposition: inline; filename="encrypted.asc"\r\n\r\n' "$b"
        crlf <"$work/tb-cipher"
        printf '\r\n--%s--\r\n' "$b"
    } >"$out"
}

tb_signed() { # who address subject entity-file out
    local who=$1 addr=$2 subject=$3 ent=$4 out=$5
    local msgid b
    msgid="$(uuid | tr 'A-Z' 'a-z')@example.org"
    b=$(tb_boundary)
    tb_protected "$who" "$addr" "$subject" "$msgid" "$ent" no >"$work/tb-inner"
    rnp_in "$who" --sign --detach -u "$addr" --hash SHA256 --armor --output - "$work/tb-inner" >"$work/tb-sig"
    {
        tb_head "$who" "$addr" "$subject" "$msgid"
        printf 'Content-Type: multipart/signed; micalg=pgp-sha256;\r\n protocol="application/pgp-signature";\r\n boundary="%s"\r\n\r\n' "$b"
        printf 'This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n--%s\r\n' "$b"
        cat "$work/tb-inner"
        printf '\r\n--%s\r\nContent-Type: application/pgp-signature; name="OpenPGP_signature.asc"\r\nContent-Description: OpenPGP digital signature\r\nContent-Disposition: attachment; filename="OpenPGP_signature.asc"\r\n\r\n' "$b"
        crlf <"$work/tb-sig"
        printf '\r\n--%s--\r\n' "$b"
    } >"$out"
}

n=thunderbird-pgpmime-signed-encrypted
tb_text $n >"$work/ent"
tb_encrypted alice alice@example.org "Thursday meeting" "$work/ent" "$M/$n.eml" "$LIST" alice@example.org

n=thunderbird-pgpmime-signed-encrypted-attachments
tb_with_attachments $n >"$work/ent"
tb_encrypted alice alice@example.org "Agenda for Thursday" "$work/ent" "$M/$n.eml" "$LIST" alice@example.org

n=thunderbird-pgpmime-signed
tb_text $n >"$work/ent"
tb_signed alice alice@example.org "Thursday meeting" "$work/ent" "$M/$n.eml"

n=thunderbird-pgpmime-signed-attachments
tb_with_attachments $n >"$work/ent"
tb_signed alice alice@example.org "Agenda for Thursday" "$work/ent" "$M/$n.eml"

# Refused: alice encrypted to carol's key (and her own), not the list's;
# and a non-member's signed post.
n=thunderbird-pgpmime-encrypted-to-other-key
tb_text $n >"$work/ent"
tb_encrypted alice alice@example.org "Thursday meeting" "$work/ent" "$M/$n.eml" carol@example.net alice@example.org

n=thunderbird-pgpmime-signed-non-member
tb_text $n >"$work/ent"
tb_signed carol carol@example.net "Thursday meeting" "$work/ent" "$M/$n.eml"

# ---- Exchange-mangled PGP/MIME ------------------------------------------------------
#
# Microsoft Exchange (and Outlook.com) turns a multipart/encrypted into a
# multipart/mixed: an empty text/plain part (or one with the company's
# footer), the version part as an attachment named "PGPMIME version(s)
# identification", and the armored data as "encrypted.asc", both base64.
# Thunderbird repairs it ("MS-Exchange mangled"); the shape here follows
# Thunderbird's test message alice-broken-exchange.eml and one seen on a
# public list archive (2019), around the Thunderbird post above.

exchange_mangled() { # out version-name version-bytes first-text
    local b
    b="_003_$(hex 8)$(hex 4)$(hex 4)$(hex 4)$(hex 12)exchangeexampleorg_"
    {
        printf 'From: Alice <alice@example.org>\r\nTo: "list@example.org" <list@example.org>\r\nSubject: ...\r\n'
        printf 'Thread-Topic: ...\r\nThread-Index: Ad%s==\r\n' "$(rnd 26)"
        printf 'Date: Wed, 2 Dec 2026 20:04:06 +0000\r\nMessage-ID: <%s@example.org>\r\n' "$(uuid | tr 'A-Z' 'a-z')"
        printf 'Accept-Language: en-US\r\nContent-Language: en-US\r\nX-MS-Has-Attach: yes\r\nX-MS-TNEF-Correlator:\r\n'
        printf 'Content-Type: multipart/mixed;\r\n\tboundary="%s"\r\nMIME-Version: 1.0\r\n\r\n' "$b"
        printf -- '--%s\r\nContent-Type: text/plain; charset="us-ascii"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n%s\r\n' "$b" "$4"
        printf -- '--%s\r\nContent-Type: application/pgp-encrypted; name="%s"\r\nContent-Description: PGP/MIME version identification\r\n' "$b" "$2"
        printf 'Content-Disposition: attachment; filename="%s";\r\n\tsize=%d; creation-date="Wed, 02 Dec 2026 20:04:05 GMT";\r\n\tmodification-date="Wed, 02 Dec 2026 20:04:05 GMT"\r\n' "$2" "$(printf "$3" | wc -c)"
        printf 'Content-ID: <%s@eurprd01.prod.exchangelabs.com>\r\nContent-Transfer-Encoding: base64\r\n\r\n' "$(hex 32)"
        printf "$3" | b64 76
        printf '\r\n--%s\r\nContent-Type: application/octet-stream; name="encrypted.asc"\r\nContent-Description: OpenPGP encrypted message.asc\r\n' "$b"
        printf 'Content-Disposition: attachment; filename="encrypted.asc"; size=%d;\r\n\tcreation-date="Wed, 02 Dec 2026 20:04:05 GMT";\r\n\tmodification-date="Wed, 02 Dec 2026 20:04:05 GMT"\r\n' "$(crlf <"$work/tb-cipher" | wc -c)"
        printf 'Content-ID: <%s@eurprd01.prod.exchangelabs.com>\r\nContent-Transfer-Encoding: base64\r\n\r\n' "$(hex 32)"
        crlf <"$work/tb-cipher" | b64 76
        printf '\r\n--%s--\r\n' "$b"
    } >"$1"
}
n=exchange-mangled-pgpmime
tb_text $n >"$work/ent"
tb_encrypted alice alice@example.org "Thursday meeting" "$work/ent" "$work/unused.eml" "$LIST" alice@example.org
exchange_mangled "$M/$n.eml" "PGPMIME version identification" 'Version: 1\r\n' ""

n=exchange-mangled-pgpmime-with-footer
tb_text $n >"$work/ent"
tb_encrypted alice alice@example.org "Thursday meeting" "$work/ent" "$work/unused.eml" "$LIST" alice@example.org
exchange_mangled "$M/$n.eml" "PGPMIME Versions Identification" 'Version: 1\r\r\n' \
    $'\r\n\r\nExample Tenants Association e.V.\r\nRegistered office: Berlin, VR 12345'

# The same mangling of a post encrypted to carol's key: still not for the list.
n=exchange-mangled-pgpmime-other-key
tb_text $n >"$work/ent"
tb_encrypted alice alice@example.org "Thursday meeting" "$work/ent" "$work/unused.eml" carol@example.net alice@example.org
exchange_mangled "$M/$n.eml" "PGPMIME version identification" 'Version: 1\r\n' ""

# ---- neomutt (real output, driven through tmux) -----------------------------------

cat >"$work/capture" <<EOF
#!/bin/sh
cat >"$work/neomutt-out.eml"
EOF
chmod +x "$work/capture"
mkdir -p "$work/Mail"
touch "$work/Mail/inbox"

nm_rc() { # who from-address key-settings...
    local who=$1 from=$2 name=${2%@*}
    shift 2
    cat <<EOF
set from = "${name^} <$from>"
set realname = "${name^}"
set use_from = yes
set hostname = "example.org"
set folder = "$work/Mail"
set spoolfile = "$work/Mail/inbox"
set record = ""
set postponed = "$work/Mail/postponed"
set copy = no
set editor = "true"
set abort_unmodified = no
set sendmail = "$work/capture"
set charset = "utf-8"
set send_charset = "us-ascii:utf-8"
set crypt_use_gpgme = yes
set crypt_autosign = no
set crypt_autoencrypt = no
set pgp_autoinline = no
EOF
    printf '%s\n' "$@"
}

# Starts neomutt with GNUPGHOME $1 and muttrc $2, answers its prompts, sends from the
# compose screen, and writes what reached "sendmail" to $3 (CRLF).
nm_send() { # gnupg-home rc out subject bodyfile [attachments...]
    local home=$1 rc=$2 out=$3 subject=$4 bodyfile=$5
    shift 5
    local cmd=(env "GNUPGHOME=$home" neomutt -n -F "$rc" -s "$subject" -i "$bodyfile")
    for a in "$@"; do cmd+=(-a "$a"); done
    cmd+=(-- "$LIST")
    rm -f "$work/neomutt-out.eml"
    tmux -L "$TMUX_SOCKET" new-session -d -x 160 -y 50 -s nm "${cmd[*]@Q}; sleep 2"
    local sent=no screen
    for _ in $(seq 300); do
        if ! tmux -L "$TMUX_SOCKET" has-session -t nm 2>/dev/null; then break; fi
        screen=$(tmux -L "$TMUX_SOCKET" capture-pane -p -t nm 2>/dev/null || true)
        if [ $sent = no ] && [[ $screen == *"NeoMutt: Compose"* ]]; then
            tmux -L "$TMUX_SOCKET" send-keys -t nm y
            sent=yes
        elif [[ $screen == *"([yes]/no)"* || $screen == *"([no]/yes)"* ]]; then
            echo "neomutt asks: $(grep -E 'yes|no' <<<"$screen" | tail -1)" >&2
            tmux -L "$TMUX_SOCKET" send-keys -t nm y
        elif [ $sent = no ] && [[ $(tail -n 3 <<<"$screen") =~ (To|Subject):\  ]]; then
            tmux -L "$TMUX_SOCKET" send-keys -t nm Enter
        fi
        sleep 0.2
    done
    tmux -L "$TMUX_SOCKET" kill-session -t nm 2>/dev/null || true
    [ -s "$work/neomutt-out.eml" ] || {
        printf '%s\n' "$screen" | grep -v '^$' >&2
        echo "neomutt sent nothing for $out" >&2
        exit 1
    }
    crlf <"$work/neomutt-out.eml" >"$out"
}

nm_pgp() { # who from key name settings...
    local who=$1 from=$2 key=$3 name=$4
    shift 4
    nm_rc "$who" "$from" "set pgp_default_key = \"$key\"" "$@" >"$work/rc"
    body "$name" >"$work/body.txt"
}

n=neomutt-pgpmime-signed
nm_pgp alice alice@example.org "$ALICE_FPR" $n "set crypt_autosign = yes"
nm_send "$work/gpg-alice" "$work/rc" "$M/$n.eml" "Thursday meeting" "$work/body.txt"

n=neomutt-pgpmime-signed-encrypted
nm_pgp alice alice@example.org "$ALICE_FPR" $n "set crypt_autosign = yes" "set crypt_autoencrypt = yes"
nm_send "$work/gpg-alice" "$work/rc" "$M/$n.eml" "Thursday meeting" "$work/body.txt"

n=neomutt-pgpmime-signed-encrypted-attachments
nm_pgp alice alice@example.org "$ALICE_FPR" $n "set crypt_autosign = yes" "set crypt_autoencrypt = yes"
nm_send "$work/gpg-alice" "$work/rc" "$M/$n.eml" "Agenda for Thursday" "$work/body.txt" "$work/agenda.txt" "$work/data.bin"

# Inline PGP ("traditional"): neomutt's gpgme backend does not write it, so
# these use neomutt's classic gpg commands (Debian's example gpg.rc).
GPG_RC=/usr/share/doc/neomutt/examples/gpg.rc
[ -f "$GPG_RC" ] || GPG_RC=/etc/neomuttrc.d/gpg.rc
n=neomutt-inline-signed
nm_pgp alice alice@example.org "$ALICE_FPR" $n "source $GPG_RC" "set crypt_use_gpgme = no" "set crypt_autosign = yes" "set pgp_autoinline = yes"
nm_send "$work/gpg-alice" "$work/rc" "$M/$n.eml" "Thursday meeting" "$work/body.txt"

n=neomutt-inline-signed-encrypted
nm_pgp alice alice@example.org "$ALICE_FPR" $n "source $GPG_RC" "set crypt_use_gpgme = no" "set crypt_autosign = yes" "set crypt_autoencrypt = yes" "set pgp_autoinline = yes"
nm_send "$work/gpg-alice" "$work/rc" "$M/$n.eml" "Thursday meeting" "$work/body.txt"

# Refused: bob's neomutt with alice's address as From (signed by bob).
n=neomutt-pgpmime-signed-by-bob-from-alice
nm_pgp bob alice@example.org "$BOB_FPR" $n "set crypt_autosign = yes"
nm_send "$work/gpg-bob" "$work/rc" "$M/$n.eml" "Thursday meeting" "$work/body.txt"

# A plain post, for both readers.
n=neomutt-plain
nm_pgp alice alice@example.org "$ALICE_FPR" $n
nm_send "$work/gpg-alice" "$work/rc" "$M/$n.eml" "Thursday meeting" "$work/body.txt"

# S/MIME through gpgme and gpgsm (bob's and alice's RSA certificates).
nm_smime() { # who from name settings...
    local who=$1 from=$2 name=$3
    shift 3
    local key
    key=$(cert_sha1 "$K/$who-smime.pem")
    nm_rc "$who" "$from" "set smime_is_default = yes" "set smime_default_key = \"0x$key\"" "$@" >"$work/rc"
    body "$name" >"$work/body.txt"
}

n=neomutt-gpgsm-smime-signed
nm_smime bob bob@example.org $n "set crypt_autosign = yes"
nm_send "$work/gpgsm-bob" "$work/rc" "$M/$n.eml" "Thursday meeting" "$work/body.txt"

n=neomutt-gpgsm-smime-signed-encrypted
nm_smime alice alice@example.org $n "set crypt_autosign = yes" "set crypt_autoencrypt = yes"
nm_send "$work/gpgsm-alice" "$work/rc" "$M/$n.eml" "Thursday meeting" "$work/body.txt"

# ---- gpg by hand ---------------------------------------------------------------------
#
# What a member without a mail plugin does: write the text, run gpg over it,
# paste the result into a plain mail (here: a plain text/plain message).

plain_head() { # from subject msgid
    printf 'From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: Wed, 02 Dec 2026 21:04:05 +0100\r\nMessage-ID: <%s@example.org>\r\nMIME-Version: 1.0\r\n' \
        "$1" "$LIST" "$2" "$3"
}

n=gpg-inline-clearsigned
body $n | gpg_in alice --local-user alice@example.org --clearsign --digest-algo SHA256 >"$work/cs"
{ plain_head "Alice <alice@example.org>" "Thursday meeting" "$(rnd 16)"; printf 'Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n'; crlf <"$work/cs"; } >"$M/$n.eml"

# Pasted into a client that sends quoted-printable (umlauts, long lines).
n=gpg-inline-clearsigned-quoted-printable
{ body $n; printf 'Gr\xc3\xbc\xc3\x9fe, and a long line that a client will wrap with a soft line break when it sends it as quoted-printable text.\n'; } |
    gpg_in alice --local-user alice@example.org --clearsign --digest-algo SHA256 >"$work/cs"
{
    plain_head "Alice <alice@example.org>" "Thursday meeting" "$(rnd 16)"
    printf 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
    python3 -c 'import quopri,sys; sys.stdout.buffer.write(quopri.encodestring(sys.stdin.buffer.read()))' <"$work/cs" | crlf
} >"$M/$n.eml"

n=gpg-inline-encrypted
body $n | gpg_in alice --local-user alice@example.org --sign --encrypt --armor -r "$LIST" -r alice@example.org >"$work/ie"
{ plain_head "Alice <alice@example.org>" "Thursday meeting" "$(rnd 16)"; printf 'Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n'; crlf <"$work/ie"; } >"$M/$n.eml"

# Refused: clearsigned by carol, who is no member.
n=gpg-inline-clearsigned-non-member
body $n | gpg_in carol --local-user carol@example.net --clearsign --digest-algo SHA256 >"$work/cs"
{ plain_head "Carol <carol@example.net>" "Thursday meeting" "$(rnd 16)"; printf 'Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n'; crlf <"$work/cs"; } >"$M/$n.eml"

# PGP/MIME by hand with an ASCII and a binary attachment, signed (the
# signature covers the exact bytes) and signed then encrypted.
hand_mixed() { # name
    printf 'Content-Type: multipart/mixed; boundary="mixed-1"\r\n\r\n--mixed-1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n'
    body "$1" | crlf
    printf '\r\n--mixed-1\r\nContent-Type: text/plain; charset=us-ascii; name="agenda.txt"\r\nContent-Disposition: attachment; filename="agenda.txt"\r\n\r\n'
    # 7bit as it is, trailing spaces and the line with a lone dot included.
    cat "$work/agenda.txt"
    printf '\r\n--mixed-1\r\nContent-Type: application/octet-stream; name="data.bin"\r\nContent-Disposition: attachment; filename="data.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    b64 76 <"$work/data.bin"
    printf '\r\n--mixed-1--\r\n'
}
hand_signed() { # who entity
    gpg_in "$1" --armor --detach-sign --digest-algo SHA256 <"$2" >"$work/sig.asc"
    printf 'Content-Type: multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; boundary="signed-1"\r\n\r\n--signed-1\r\n'
    cat "$2"
    printf '\r\n--signed-1\r\nContent-Type: application/pgp-signature; name="signature.asc"\r\n\r\n'
    crlf <"$work/sig.asc"
    printf '\r\n--signed-1--\r\n'
}
hand_encrypted() { # cipher-file
    printf 'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="encrypted-1"\r\n\r\n--encrypted-1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--encrypted-1\r\nContent-Type: application/octet-stream; name="encrypted.asc"\r\n\r\n'
    crlf <"$1"
    printf '\r\n--encrypted-1--\r\n'
}

n=gpg-pgpmime-signed-attachments
hand_mixed $n >"$work/ent"
{ plain_head "Alice <alice@example.org>" "Agenda for Thursday" "$(rnd 16)"; hand_signed alice "$work/ent"; } >"$M/$n.eml"

n=gpg-pgpmime-signed-then-encrypted-attachments
hand_mixed $n >"$work/ent"
hand_signed alice "$work/ent" >"$work/signed-ent"
gpg_in alice --armor --encrypt -r "$LIST" -r alice@example.org <"$work/signed-ent" >"$work/c"
{ plain_head "Alice <alice@example.org>" "..." "$(rnd 16)"; hand_encrypted "$work/c"; } >"$M/$n.eml"

# Not read as encrypted: the old "partitioned" way (the text encrypted
# inline, a file encrypted apart and attached): the post is a
# multipart/mixed at its root, which the list does not take apart.
n=gpg-inline-partitioned-attachment
body $n | gpg_in alice --local-user alice@example.org --sign --encrypt --armor -r "$LIST" >"$work/ie"
gpg_in alice --encrypt -r "$LIST" <"$work/data.bin" >"$work/data.bin.gpg"
{
    plain_head "Alice <alice@example.org>" "Thursday meeting" "$(rnd 16)"
    printf 'Content-Type: multipart/mixed; boundary="part-1"\r\n\r\n--part-1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n'
    crlf <"$work/ie"
    printf '\r\n--part-1\r\nContent-Type: application/octet-stream; name="data.bin.gpg"\r\nContent-Disposition: attachment; filename="data.bin.gpg"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    b64 76 <"$work/data.bin.gpg"
    printf '\r\n--part-1--\r\n'
} >"$M/$n.eml"

# ---- S/MIME: the CMS from openssl, the MIME as Outlook and Apple Mail write it -----

# CMS as Outlook and Apple Mail write it: BER with indefinite lengths, the
# signer's certificate and the authority's. openssl's -stream writes that
# for opaque signatures; a detached one it writes as DER, which
# ber_detached re-encodes the way Outlook's and Apple's look (ContentInfo,
# SignedData and an empty encapContentInfo of indefinite length).
ber_detached() {
    python3 -c '
import sys
d = sys.stdin.buffer.read()
def tlv(i):
    tag, n = d[i], d[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(d[i:i + k], "big")
        i += k
    return tag, i, i + n
def children(s, e):
    out, i = [], s
    while i < e:
        t, cs, ce = tlv(i)
        out.append((t, i, cs, ce))
        i = ce
    return out
indef = lambda tag, inner: bytes([tag, 0x80]) + inner + b"\0\0"
_, s, e = tlv(0)
oid, zero = children(s, e)
_, sd_s, sd_e = tlv(zero[2])
signed = b""
for n, (t, st, cs, ce) in enumerate(children(sd_s, sd_e)):
    signed += indef(t, d[cs:ce]) if n == 2 else d[st:ce]
sys.stdout.buffer.write(indef(0x30, d[oid[1]:oid[3]] + indef(0xA0, indef(0x30, signed))))
'
}
cms_sign() { # who entity-file digest [-nodetach]
    local args=(-sign -binary -outform DER -md "$3" -signer "$K/$1-smime.pem"
        -inkey "$K/$1-smime.key" -certfile "$K/ca.pem" -in "$2")
    if [ "${4:-}" = -nodetach ]; then
        openssl cms "${args[@]}" -nodetach -stream
    else
        openssl cms "${args[@]}" | ber_detached
    fi
}
cms_encrypt() { # cipher entity-file recipient-cert-files...
    local cipher=$1 ent=$2
    shift 2
    openssl cms -encrypt -binary -stream -outform DER "-$cipher" -in "$ent" "$@"
}

outlook_text() { # name -> multipart/alternative entity, CRLF
    local b="_000_$(hex 40)exchangeexampleorg_"
    printf 'Content-Type: multipart/alternative;\r\n\tboundary="%s"\r\n\r\n--%s\r\nContent-Type: text/plain; charset="us-ascii"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n' "$b" "$b"
    body "$1" | crlf
    printf '\r\n--%s\r\nContent-Type: text/html; charset="us-ascii"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n' "$b"
    printf '<html>\r\n<head>\r\n<meta http-equiv=3D"Content-Type" content=3D"text/html; charset=3Dus-ascii">\r\n</head>\r\n<body>\r\n<p>Hello list,</p>\r\n<p>the meeting is on Thursday at eight, in the back room.<br>(%s)</p>\r\n<p>Cheers</p>\r\n</body>\r\n</html>\r\n' "$1"
    printf '\r\n--%s--\r\n' "$b"
}
outlook_head() { # who address subject
    printf 'From: %s <%s>\r\nTo: "%s" <%s>\r\nSubject: %s\r\nThread-Topic: %s\r\nThread-Index: Ad%s==\r\n' \
        "${1^}" "$2" "$LIST" "$LIST" "$3" "$3" "$(rnd 26)"
    printf 'Date: Wed, 2 Dec 2026 20:04:05 +0000\r\nMessage-ID: <DB9PR01MB%s@DB9PR01MB%s.eurprd01.prod.exchangelabs.com>\r\n' "$(hex 12)" "$(hex 4)"
    printf 'Accept-Language: en-US\r\nContent-Language: en-US\r\nX-MS-Has-Attach: yes\r\nX-MS-TNEF-Correlator:\r\n'
}
outlook_p7m() { # media-type smime-type der-file (Outlook's part headers, base64)
    printf 'Content-Type: %s; smime-type=%s;\r\n\tname="smime.p7m"\r\nContent-Disposition: attachment;\r\n\tfilename="smime.p7m"\r\nContent-Transfer-Encoding: base64\r\n' "$1" "$2"
}
outlook_multipart_signed() { # who micalg digest entity-file
    local b
    b="----=_NextPart_000_$(hex 4)_01DC$(hex 4).$(hex 8)"
    cms_sign "$1" "$4" "$3" >"$work/sig.der"
    printf 'Content-Type: multipart/signed;\r\n\tprotocol="application/x-pkcs7-signature";\r\n\tmicalg=%s;\r\n\tboundary="%s"\r\nMIME-Version: 1.0\r\n\r\n' "$2" "$b"
    printf 'This is a multipart message in MIME format.\r\n\r\n--%s\r\n' "$b"
    cat "$4"
    printf '\r\n--%s\r\nContent-Type: application/pkcs7-signature;\r\n\tname="smime.p7s"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment;\r\n\tfilename="smime.p7s"\r\n\r\n' "$b"
    b64 76 <"$work/sig.der"
    printf '\r\n--%s--\r\n\r\n' "$b"
}

n=outlook-smime-opaque-signed
outlook_text $n >"$work/ent"
cms_sign alice "$work/ent" sha256 -nodetach >"$work/signed.der"
{
    outlook_head alice alice@example.org "Thursday meeting"
    outlook_p7m application/pkcs7-mime signed-data
    printf 'MIME-Version: 1.0\r\n\r\n'
    b64 76 <"$work/signed.der"
} >"$M/$n.eml"

n=outlook-smime-multipart-signed-sha256
outlook_text $n >"$work/ent"
{ outlook_head alice alice@example.org "Thursday meeting"; outlook_multipart_signed alice 2.16.840.1.101.3.4.2.1 sha256 "$work/ent"; } >"$M/$n.eml"

n=outlook-smime-multipart-signed-micalg-sha-256
outlook_text $n >"$work/ent"
{ outlook_head alice alice@example.org "Thursday meeting"; outlook_multipart_signed alice SHA-256 sha256 "$work/ent"; } >"$M/$n.eml"

# SHA-1 (older Outlook's default): the list does not count it.
n=outlook-smime-multipart-signed-sha1
outlook_text $n >"$work/ent"
{ outlook_head alice alice@example.org "Thursday meeting"; outlook_multipart_signed alice SHA1 sha1 "$work/ent"; } >"$M/$n.eml"

# Signed (opaque), then enveloped to the list and to the sender, with the
# legacy media type application/x-pkcs7-mime.
n=outlook-smime-signed-enveloped-x-pkcs7-mime
outlook_text $n >"$work/ent"
cms_sign alice "$work/ent" sha256 -nodetach >"$work/signed.der"
{ outlook_p7m application/pkcs7-mime signed-data; printf '\r\n'; b64 76 <"$work/signed.der"; } >"$work/signed-ent"
openssl x509 -in "$K/list-smime.pem" -out "$work/list-cert.pem"
cms_encrypt aes-256-cbc "$work/signed-ent" "$work/list-cert.pem" "$K/alice-smime.pem" >"$work/env.der"
{
    outlook_head alice alice@example.org "Thursday meeting"
    outlook_p7m application/x-pkcs7-mime enveloped-data
    printf 'MIME-Version: 1.0\r\n\r\n'
    b64 76 <"$work/env.der"
} >"$M/$n.eml"

# Refused: enveloped without a signature (AES-CBC, nothing protects it).
n=outlook-smime-enveloped-unsigned
outlook_text $n >"$work/ent"
cms_encrypt aes-256-cbc "$work/ent" "$work/list-cert.pem" "$K/alice-smime.pem" >"$work/env.der"
{ outlook_head alice alice@example.org "Thursday meeting"; outlook_p7m application/pkcs7-mime enveloped-data; printf 'MIME-Version: 1.0\r\n\r\n'; b64 76 <"$work/env.der"; } >"$M/$n.eml"

# Refused: enveloped for carol's certificate, not the list's.
n=outlook-smime-enveloped-to-other-cert
outlook_text $n >"$work/ent"
cms_sign alice "$work/ent" sha256 -nodetach >"$work/signed.der"
{ outlook_p7m application/pkcs7-mime signed-data; printf '\r\n'; b64 76 <"$work/signed.der"; } >"$work/signed-ent"
cms_encrypt aes-256-cbc "$work/signed-ent" "$K/carol-smime.pem" "$K/alice-smime.pem" >"$work/env.der"
{ outlook_head alice alice@example.org "Thursday meeting"; outlook_p7m application/pkcs7-mime enveloped-data; printf 'MIME-Version: 1.0\r\n\r\n'; b64 76 <"$work/env.der"; } >"$M/$n.eml"

# Refused as alice's: bob signed it, From says alice.
n=outlook-smime-signed-by-bob-from-alice
outlook_text $n >"$work/ent"
{ outlook_head alice alice@example.org "Thursday meeting"; outlook_multipart_signed bob 2.16.840.1.101.3.4.2.1 sha256 "$work/ent"; } >"$M/$n.eml"

apple_head() { # who address subject content-type-function [args]
    printf 'From: %s <%s>\r\n' "${1^}" "$2"
    "${@:4}"
    printf 'Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3826.500.181.1.5\\))\r\nSubject: %s\r\nMessage-Id: <%s@example.org>\r\nDate: Wed, 2 Dec 2026 22:04:05 +0100\r\nTo: %s\r\nX-Mailer: Apple Mail (2.3826.500.181.1.5)\r\n' \
        "$3" "$(uuid)" "$LIST"
}
apple_signed() { # who entity-file boundary -> the multipart/signed body (after its headers)
    cms_sign "$1" "$2" sha256 >"$work/sig.der"
    printf '\r\n--%s\r\n' "$3"
    cat "$2"
    printf '\r\n--%s\r\nContent-Disposition: attachment;\r\n\tfilename=smime.p7s\r\nContent-Type: application/pkcs7-signature;\r\n\tname=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n' "$3"
    b64 76 <"$work/sig.der"
    printf '\r\n--%s--\r\n' "$3"
}
apple_text() { # name
    printf 'Content-Transfer-Encoding: quoted-printable\r\nContent-Type: text/plain;\r\n\tcharset=utf-8\r\n\r\n'
    { body "$1"; printf 'Gr\xc3\xbc\xc3\x9fe \xe2\x80\x94 sent from my Mac, where the mail app wraps long lines with soft breaks.\n\n'; } |
        python3 -c 'import quopri,sys; sys.stdout.buffer.write(quopri.encodestring(sys.stdin.buffer.read()))' | crlf
}
apple_ct_enveloped() { printf 'Content-Type: application/pkcs7-mime;\r\n\tname=smime.p7m;\r\n\tsmime-type=enveloped-data\r\n'; }
apple_ct_signed() { printf 'Content-Type: multipart/signed;\r\n\tboundary="%s";\r\n\tprotocol="application/pkcs7-signature";\r\n\tmicalg=sha-256\r\n' "$1"; }

n=apple-mail-smime-signed
apple_text $n >"$work/ent"
b="Apple-Mail=_$(uuid)"
{ apple_head alice alice@example.org "Thursday meeting" apple_ct_signed "$b"; apple_signed alice "$work/ent" "$b"; } >"$M/$n.eml"

n=apple-mail-smime-signed-enveloped
apple_text $n >"$work/ent"
b="Apple-Mail=_$(uuid)"
{ apple_ct_signed "$b"; apple_signed alice "$work/ent" "$b"; } >"$work/signed-ent"
cms_encrypt aes-128-cbc "$work/signed-ent" "$work/list-cert.pem" "$K/alice-smime.pem" >"$work/env.der"
{
    apple_head alice alice@example.org "Thursday meeting" apple_ct_enveloped
    printf 'Content-Disposition: attachment;\r\n\tfilename=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    b64 76 <"$work/env.der"
} >"$M/$n.eml"

# Refused: signed by carol (a certificate from the same authority), no member.
n=apple-mail-smime-signed-non-member
apple_text $n >"$work/ent"
b="Apple-Mail=_$(uuid)"
{ apple_head carol carol@example.net "Thursday meeting" apple_ct_signed "$b"; apple_signed carol "$work/ent" "$b"; } >"$M/$n.eml"

# ---- The tools that made them ------------------------------------------------------
{
    echo "rnp: $(rnp --version 2>&1 | head -1)"
    echo "neomutt: $(neomutt -v 2>&1 | head -1)"
    echo "gpgme: $(dpkg-query -W -f '${Version}' libgpgme11 2>/dev/null || echo '?')"
    echo "gpg: $(gpg --version | head -1)"
    echo "gpgsm: $(gpgsm --version | head -1)"
    echo "openssl: $(openssl version)"
} >"$M/tools.txt"

ls "$M"/*.eml | wc -l
