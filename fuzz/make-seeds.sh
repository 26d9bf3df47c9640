#!/usr/bin/env bash
# Makes the fuzz targets' fixtures (the list's and the members' keys and
# certificates, fuzz/fixtures/) and, with them, the seed corpus
# (fuzz/corpus/<target>/): real shapes as members' clients make them —
# plain posts, PGP/MIME and inline PGP from gpg, S/MIME from `openssl cms`
# and gpgsm, keys exported by gpg, certificates from openssl.
#
#   bash fuzz/make-seeds.sh
#
# Everything is made anew each time (new keys, so new seeds): run it only to
# change the seeds, and commit fixtures and corpus together. Seeds named
# regression-* (inputs that once failed) are kept. Needs gnupg,
# gpgsm and openssl (scripts/fuzz.sh does not run it: the seeds are
# committed).
set -euo pipefail
cd "$(dirname "$0")"

FIX=fixtures
C=corpus
work=$(mktemp -d)
cleanup() {
    gpgconf --homedir "$work/gpg" --kill all 2>/dev/null || true
    gpgconf --homedir "$work/gpgsm" --kill all 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# The seeds named regression-* are inputs that once failed (kept, though
# those that were encrypted to the old list key no longer decrypt).
rm -rf "$FIX"
[ -d "$C" ] && find "$C" -type f ! -name 'regression-*' -delete
mkdir -p "$FIX" "$work/gpg" "$work/gpgsm"
chmod 700 "$work/gpg" "$work/gpgsm"
for t in post_read openpgp_unwrap smime_unwrap member_keys decide; do
    mkdir -p "$C/$t"
done

# Every line ending CRLF, as mail carries it.
crlf() { sed -e 's/\r$//' -e 's/$/\r/'; }

G=(gpg --homedir "$work/gpg" --batch --yes --no-tty --pinentry-mode loopback
    --passphrase "" --trust-model always)

# Message headers from $1 with subject $2 and a Message-ID of $3.
head_of() {
    printf 'From: %s\r\nTo: list@example.org\r\nSubject: %s\r\nDate: Wed, 02 Dec 2026 21:04:05 +0000\r\nMessage-ID: <%s@example.org>\r\nMIME-Version: 1.0\r\n' \
        "$1" "$2" "$3"
}

# ---- OpenPGP keys ------------------------------------------------------------

"${G[@]}" --quick-gen-key "Fuzz List <list@example.org>" future-default default never
"${G[@]}" --quick-gen-key "Alice <alice@example.org>" future-default default never
"${G[@]}" --quick-gen-key "Bob <bob@example.org>" rsa3072 sign,cert never
bob_fpr=$("${G[@]}" --with-colons --list-keys bob@example.org | awk -F: '/^fpr:/ {print $10; exit}')
"${G[@]}" --quick-add-key "$bob_fpr" rsa3072 encr never
"${G[@]}" --quick-gen-key "Carol <carol@example.net>" future-default default never
# Refused by the key checks: expired at the targets' time (2030), SHA-1
# self-signatures, no encryption subkey.
"${G[@]}" --quick-gen-key "Old <old@example.org>" future-default default 1d
"${G[@]}" --cert-digest-algo SHA1 --quick-gen-key "Sha One <sha1@example.org>" rsa2048 default never
"${G[@]}" --quick-gen-key "Signer Only <signer@example.org>" ed25519 sign never

"${G[@]}" --armor --export-secret-keys list@example.org >"$FIX/list-openpgp-secret.asc"
"${G[@]}" --armor --export alice@example.org >"$FIX/alice-openpgp.asc"
"${G[@]}" --armor --export bob@example.org >"$FIX/bob-openpgp.asc"

# ---- X.509: an authority, the list, the members ---------------------------

x509_ext() { # name email usage
    cat >"$work/$1.ext" <<EOF
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, $3
extendedKeyUsage = emailProtection
subjectAltName = email:$2
subjectKeyIdentifier = hash
EOF
}
O() { openssl "$@" 2>/dev/null; }

O req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 36500 \
    -subj "/CN=Fuzz Authority" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$work/ca.key" -out "$FIX/ca.pem"

# An end entity issued by the authority (or itself with "self"): name email
# keyspec usage days [digest].
issue() {
    local name=$1 email=$2 keyspec=$3 usage=$4 days=$5 md=${6:-sha256}
    x509_ext "$name" "$email" "$usage"
    local newkey=(-newkey "$keyspec")
    [ "$keyspec" = ec ] && newkey+=(-pkeyopt ec_paramgen_curve:P-256)
    O req -new "${newkey[@]}" -nodes \
        -subj "/CN=${name^}/emailAddress=$email" -keyout "$work/$name.key" -out "$work/$name.csr"
    if [ "${7:-}" = self ]; then
        O x509 -req -in "$work/$name.csr" -signkey "$work/$name.key" -days "$days" -"$md" \
            -extfile "$work/$name.ext" -out "$work/$name.pem"
    else
        O x509 -req -in "$work/$name.csr" -CA "$FIX/ca.pem" -CAkey "$work/ca.key" -CAserial "$work/ca.srl" -CAcreateserial \
            -days "$days" -"$md" -extfile "$work/$name.ext" -out "$work/$name.pem"
    fi
}
issue list list@example.org ec keyAgreement 36500 sha256 self
issue alice alice@example.org ec keyAgreement 36500
issue bob bob@example.org rsa:2048 keyEncipherment 36500
issue carol carol@example.net ec keyAgreement 36500 sha256 self
issue expired old@example.org ec keyAgreement 1
issue weak weak@example.org rsa:1024 keyEncipherment 36500
issue sha1 sha1@example.org rsa:2048 keyEncipherment 36500 sha1
cat "$work/list.key" "$work/list.pem" >"$FIX/list-smime.pem"
cp "$work/alice.pem" "$FIX/alice-smime.pem"
cp "$work/bob.pem" "$FIX/bob-smime.pem"

# ---- Entities ------------------------------------------------------------------

printf 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\nHello list,\r\nthe meeting is on Thursday at eight.\r\n' >"$work/text.ent"
{
    printf 'Content-Type: multipart/mixed; boundary="mix"\r\n\r\n--mix\r\n'
    cat "$work/text.ent"
    printf '\r\n--mix\r\nContent-Type: application/octet-stream; name="notes.bin"\r\nContent-Disposition: attachment; filename="notes.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n\r\n--mix--\r\n'
} >"$work/mixed.ent"
# Protected headers inside (RFC 9788), as Thunderbird sends them.
printf 'Content-Type: text/plain; charset=utf-8; protected-headers="v1"\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe_from_inside?=\r\nFrom: alice@example.org\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe\r\n' >"$work/protected.ent"

# ---- Plain posts (every reader meets them) ---------------------------------

P="$C/post_read"
{ head_of alice@example.org "Thursday" plain1; printf '\r\nHello list,\r\nsee you.\r\n'; } >"$P/plain.eml"
{ head_of "Alice <alice@example.org>" "=?utf-8?q?Gr=C3=BC=C3=9Fe?=" plain2; cat "$work/mixed.ent"; } >"$P/attachment.eml"
{ printf 'Return-Path: <>\r\nFrom: MAILER-DAEMON@example.org\r\nTo: list@example.org\r\nSubject: Undelivered\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n--r\r\nContent-Type: text/plain\r\n\r\nIt bounced.\r\n--r\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; x@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n--r--\r\n'; } >"$P/bounce.eml"
{ head_of bob@example.org "Out of office" auto1; printf 'Auto-Submitted: auto-replied\r\n\r\nAway.\r\n'; } >"$P/auto-reply.eml"
{ printf 'From: a@example.org, "B, Jr." <b@example.org>\r\nFrom: c@example.org\r\nSender: d@example.org\r\nTo: list@example.org\r\nSubject: help\r\nList-Id: Fuzz <list.example.org>\r\nX-Loop: list@example.org\r\n\r\nbody\r\n'; } >"$P/several-from.eml"
{ head_of alice@example.org "unsubscribe" cmd1; printf '\r\n'; } >"$P/command.eml"
{ head_of bob@example.org "Re: [Fuzz] confirm unsubscribe 0123456789abcdef" cmd2; printf '\r\nyes\r\n'; } >"$P/confirm.eml"
printf 'From: alice@example.org\nSubject: bare LF and 8bit \xc3\xa4\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nsoft=\nbreak =E4\n' >"$P/lf-only.eml"
{ head_of alice@example.org "nested" nest1; printf 'Content-Type: multipart/mixed; boundary="a"\r\n\r\n--a\r\nContent-Type: multipart/alternative; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--b--\r\n--a\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@example.org\r\nSubject: inner\r\n\r\ninner body\r\n--a--\r\n'; } >"$P/nested.eml"

# ---- OpenPGP posts ---------------------------------------------------------------

# PGP/MIME multipart/signed around entity $2, signed by $1.
pgp_signed() {
    "${G[@]}" --armor --local-user "$1" --detach-sign --digest-algo SHA256 <"$2" >"$work/sig.asc"
    printf 'Content-Type: multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; boundary="s1"\r\n\r\n--s1\r\n'
    cat "$2"
    printf '\r\n--s1\r\nContent-Type: application/pgp-signature\r\n\r\n'
    crlf <"$work/sig.asc"
    printf '\r\n--s1--\r\n'
}
# PGP/MIME multipart/encrypted around the armored ciphertext in $1.
pgp_encrypted() {
    printf 'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="b1"\r\n\r\n--b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b1\r\nContent-Type: application/octet-stream\r\n\r\n'
    crlf <"$1"
    printf '\r\n--b1--\r\n'
}
gpg_out() { # output-file gpg-args... < input
    local out=$1
    shift
    "${G[@]}" --armor "$@" >"$out"
}

O_="$C/openpgp_unwrap"
{ head_of alice@example.org signed pgp1; pgp_signed alice@example.org "$work/text.ent"; } >"$O_/signed.eml"
{ head_of alice@example.org signed pgp2; pgp_signed alice@example.org "$work/mixed.ent"; } >"$O_/signed-attachment.eml"
{ head_of bob@example.org "not bob's" pgp3; pgp_signed alice@example.org "$work/text.ent"; } >"$O_/signed-not-the-sender.eml"
{ head_of carol@example.net signed pgp4; pgp_signed carol@example.net "$work/text.ent"; } >"$O_/signed-non-member.eml"
gpg_out "$work/c1" --local-user alice@example.org --sign --encrypt --recipient list@example.org <"$work/protected.ent"
{ head_of alice@example.org "..." pgp5; pgp_encrypted "$work/c1"; } >"$O_/signed-encrypted.eml"
gpg_out "$work/c2" --encrypt --recipient list@example.org <"$work/mixed.ent"
{ head_of alice@example.org "..." pgp6; pgp_encrypted "$work/c2"; } >"$O_/encrypted.eml"
pgp_signed alice@example.org "$work/text.ent" >"$work/signed.ent"
gpg_out "$work/c3" --encrypt --recipient list@example.org <"$work/signed.ent"
{ head_of alice@example.org "..." pgp7; pgp_encrypted "$work/c3"; } >"$O_/signed-then-encrypted.eml"
gpg_out "$work/c4" --encrypt --recipient carol@example.net <"$work/text.ent"
{ head_of alice@example.org "..." pgp8; pgp_encrypted "$work/c4"; } >"$O_/encrypted-other-key.eml"
gpg_out "$work/c5" --local-user bob@example.org --sign --encrypt --recipient list@example.org --recipient bob@example.org <"$work/text.ent"
{ head_of bob@example.org "..." pgp9; pgp_encrypted "$work/c5"; } >"$O_/rsa-signed-encrypted-two-recipients.eml"
gpg_out "$work/c6" --compress-algo zlib --local-user alice@example.org --sign --encrypt --recipient list@example.org <"$work/text.ent"
{ head_of alice@example.org "..." pgp10; pgp_encrypted "$work/c6"; } >"$O_/signed-encrypted-zlib.eml"
printf 'Hello list,\nthe meeting is on Thursday.\n' >"$work/text.txt"
gpg_out "$work/cs" --local-user alice@example.org --clearsign <"$work/text.txt"
{ head_of alice@example.org inline pgp11; printf 'Content-Type: text/plain; charset=utf-8\r\n\r\n'; crlf <"$work/cs"; } >"$O_/inline-clearsigned.eml"
{ head_of alice@example.org inline pgp12; printf 'Content-Type: text/plain; charset=utf-8\r\n\r\nText above the block.\r\n'; crlf <"$work/cs"; } >"$O_/inline-clearsigned-text-outside.eml"
gpg_out "$work/ie" --local-user alice@example.org --sign --encrypt --recipient list@example.org <"$work/text.txt"
{ head_of alice@example.org inline pgp13; printf '\r\n'; crlf <"$work/ie"; } >"$O_/inline-encrypted.eml"
{ head_of alice@example.org inline pgp14; printf 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n'; base64 -w 76 "$work/cs" | crlf; } >"$O_/inline-clearsigned-base64.eml"
# Symmetrically encrypted (no key packet for the list).
"${G[@]}" --armor --passphrase secret --symmetric <"$work/text.txt" >"$work/sym"
{ head_of alice@example.org "..." pgp15; pgp_encrypted "$work/sym"; } >"$O_/symmetric.eml"

# ---- S/MIME posts ----------------------------------------------------------------

# openssl's S/MIME output as an entity: CRLF, without its MIME-Version.
cms() { # args... < entity
    openssl cms -binary -crlfeol "$@" 2>/dev/null | crlf | sed '1{/^MIME-Version: 1.0\r$/d}'
}
S="$C/smime_unwrap"
sign_as() { # member entity [cms args...]
    local who=$1 ent=$2
    shift 2
    cms -sign -md sha256 -signer "$work/$who.pem" -inkey "$work/$who.key" "$@" <"$ent"
}
{ head_of alice@example.org signed sm1; sign_as alice "$work/text.ent"; } >"$S/signed.eml"
{ head_of alice@example.org signed sm2; sign_as alice "$work/mixed.ent" -nodetach; } >"$S/signed-opaque.eml"
{ head_of bob@example.org signed sm3; sign_as bob "$work/text.ent"; } >"$S/signed-rsa.eml"
{ head_of bob@example.org "not bob's" sm4; sign_as alice "$work/text.ent"; } >"$S/signed-not-the-sender.eml"
{ head_of carol@example.net signed sm5; sign_as carol "$work/text.ent"; } >"$S/signed-non-member.eml"
{ head_of bob@example.org signed sm6; cms -sign -md sha1 -signer "$work/bob.pem" -inkey "$work/bob.key" <"$work/text.ent"; } >"$S/signed-sha1.eml"
{ head_of alice@example.org signed sm7; cms -sign -md sha256 -signer "$work/alice.pem" -inkey "$work/alice.key" -signer "$work/bob.pem" -inkey "$work/bob.key" <"$work/text.ent"; } >"$S/signed-two-signers.eml"
{ head_of alice@example.org "..." sm8; cms -encrypt -aes256 "$work/list.pem" <"$work/text.ent"; } >"$S/encrypted-cbc-unsigned.eml"
sign_as alice "$work/protected.ent" >"$work/alice-signed.ent"
{ head_of alice@example.org "..." sm9; cms -encrypt -aes256 "$work/list.pem" <"$work/alice-signed.ent"; } >"$S/signed-then-encrypted-cbc.eml"
{ head_of alice@example.org "..." sm10; cms -encrypt -aes-256-gcm "$work/list.pem" <"$work/mixed.ent"; } >"$S/encrypted-gcm.eml"
sign_as alice "$work/text.ent" -nodetach >"$work/alice-opaque.ent"
{ head_of alice@example.org "..." sm11; cms -encrypt -aes-256-gcm "$work/list.pem" <"$work/alice-opaque.ent"; } >"$S/opaque-signed-then-encrypted-gcm.eml"
{ head_of alice@example.org "..." sm12; cms -encrypt -aes128 "$work/list.pem" "$work/bob.pem" <"$work/alice-signed.ent"; } >"$S/encrypted-two-recipients.eml"
{ head_of alice@example.org "..." sm13; cms -encrypt -aes256 "$work/bob.pem" <"$work/text.ent"; } >"$S/encrypted-other-key.eml"
{ head_of alice@example.org "..." sm14; cms -encrypt -des3 "$work/list.pem" <"$work/alice-signed.ent"; } >"$S/encrypted-3des.eml"

# gpgsm, as a member's client that uses it (bob: gpgsm takes no P-256 key
# and encrypts to no P-256 certificate, so it encrypts to bob himself).
GS=(gpgsm --homedir "$work/gpgsm" --batch --disable-dirmngr --disable-crl-checks
    --pinentry-mode loopback --passphrase-fd 0)
O pkcs12 -export -passout pass:member -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 \
    -inkey "$work/bob.key" -in "$work/bob.pem" -certfile "$FIX/ca.pem" -out "$work/bob.p12"
echo member | "${GS[@]}" --import "$work/bob.p12" 2>/dev/null
echo member | "${GS[@]}" --import "$FIX/ca.pem" 2>/dev/null
ca_sha1=$(openssl x509 -in "$FIX/ca.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
echo "$ca_sha1 S relax" >"$work/gpgsm/trustlist.txt"
gpgconf --homedir "$work/gpgsm" --reload gpg-agent 2>/dev/null || true
bob_sha1=$(openssl x509 -in "$work/bob.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
gpgsm_over() { # output args... (input: $work/gs.in)
    local out=$1
    shift
    echo member | "${GS[@]}" "$@" --output "$out" "$work/gs.in" 2>/dev/null
}
pkcs7_mime() { # smime-type blob
    printf 'Content-Type: application/pkcs7-mime; smime-type=%s; name="smime.p7m"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="smime.p7m"\r\n\r\n' "$1"
    base64 -w 76 "$2" | crlf
}
cp "$work/text.ent" "$work/gs.in"
gpgsm_over "$work/gs.sig" --local-user "$bob_sha1" --detach-sign
{
    head_of bob@example.org "signed by gpgsm" gs1
    printf 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256;\r\n boundary="gs"\r\n\r\nThis is an S/MIME signed message\r\n\r\n--gs\r\n'
    cat "$work/text.ent"
    printf '\r\n--gs\r\nContent-Type: application/pkcs7-signature; name="smime.p7s"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="smime.p7s"\r\n\r\n'
    base64 -w 76 "$work/gs.sig" | crlf
    printf '\r\n--gs--\r\n'
} >"$S/gpgsm-signed.eml"
gpgsm_over "$work/gs.p7m" --local-user "$bob_sha1" --sign
{ head_of bob@example.org "signed by gpgsm" gs2; pkcs7_mime signed-data "$work/gs.p7m"; } >"$S/gpgsm-signed-opaque.eml"
cp "$S/gpgsm-signed.eml" "$work/gs-signed.eml"
sed '1,/^Message-ID/d' "$work/gs-signed.eml" | sed '1{/^MIME-Version/d}' >"$work/gs.in"
gpgsm_over "$work/gs.enc" --recipient "$bob_sha1" --cipher-algo AES256 --encrypt
{ head_of bob@example.org "..." gs3; pkcs7_mime enveloped-data "$work/gs.enc"; } >"$S/gpgsm-signed-then-encrypted.eml"

# ---- Key and certificate files ---------------------------------------------------

K="$C/member_keys"
cp "$FIX/alice-openpgp.asc" "$K/alice.asc"
cp "$FIX/bob-openpgp.asc" "$K/bob-rsa.asc"
"${G[@]}" --export alice@example.org >"$K/alice.gpg"
"${G[@]}" --export alice@example.org bob@example.org carol@example.net >"$K/keyring.gpg"
"${G[@]}" --armor --export carol@example.net >"$K/carol.asc"
"${G[@]}" --armor --export old@example.org >"$K/expired.asc"
"${G[@]}" --armor --export sha1@example.org >"$K/sha1-self-signatures.asc"
"${G[@]}" --armor --export signer@example.org >"$K/no-encryption-subkey.asc"
"${G[@]}" --armor --export-secret-keys carol@example.net >"$K/secret-key.asc"
{ printf 'Here is my key:\n\n'; sed 's/^/> /' "$FIX/alice-openpgp.asc"; printf '\nand my certificate:\n'; cat "$work/alice.pem"; } >"$K/pasted-both.txt"
{ cat "$FIX/alice-openpgp.asc"; printf '\n%%%%next-file%%%%\n'; cat "$work/bob.pem" "$FIX/ca.pem"; } >"$K/two-files.txt"
cp "$work/alice.pem" "$K/alice.pem"
O x509 -in "$work/bob.pem" -outform DER -out "$K/bob.der"
O crl2pkcs7 -nocrl -certfile "$work/alice.pem" -certfile "$FIX/ca.pem" -out "$K/alice-with-chain.p7b"
O crl2pkcs7 -nocrl -certfile "$work/bob.pem" -outform DER -out "$K/bob.p7b.der"
cat "$work/alice.pem" "$FIX/ca.pem" >"$K/alice-with-authority.pem"
cp "$FIX/ca.pem" "$K/authority-only.pem"
cp "$work/carol.pem" "$K/self-signed.pem"
cp "$work/expired.pem" "$K/expired.pem"
cp "$work/weak.pem" "$K/rsa1024.pem"
cp "$work/sha1.pem" "$K/sha1-signed.pem"
cp "$work/alice.key" "$K/private-key.pem"
sed 's/CERTIFICATE/TRUSTED CERTIFICATE/' "$work/bob.pem" >"$K/trusted-certificate.pem"

# ---- decide: a scenario (settings, members, evidence) then a post -------------

D="$C/decide"
n=0
for post in "$P"/*.eml "$O_/signed.eml" "$O_/signed-encrypted.eml" "$S/signed.eml"; do
    for byte in 00 55 aa ff; do
        n=$((n + 1))
        { for _ in $(seq 32); do printf "\\x$byte"; done; cat "$post"; } >"$D/$(printf %02d $n)-$byte-$(basename "$post")"
    done
done

# The posts of each protocol are posts for the other reader too.
for f in "$O_"/*.eml; do cp "$f" "$P/pgp-$(basename "$f")"; done
for f in "$S"/*.eml; do cp "$f" "$P/smime-$(basename "$f")"; done
cp "$P"/plain.eml "$P"/attachment.eml "$O_/"
cp "$P"/plain.eml "$S/"

# The corpus of members' mail (test-data/messages, real clients' shapes made
# with keys of its own; the list's OpenPGP key is this fixture's when both
# were made together): seeds for every reader, as its test reads them all.
for f in ../test-data/messages/*.eml; do
    for t in "$P" "$O_" "$S"; do cp "$f" "$t/corpus-$(basename "$f")"; done
done

du -sh "$FIX" "$C"
for t in "$C"/*; do echo "$(ls "$t" | wc -l) seeds in $t"; done
