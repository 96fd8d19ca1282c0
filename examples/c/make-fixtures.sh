#!/bin/sh
# Creates the test fixtures of the C examples and tests in directory $1 (made fresh):
# a test PKI (CA, provider signing certificate with its key, a second unrelated key, an empty
# CRL), a providers index (LDIF, and signed by the provider certificate as .p7m) listing the
# signing certificate, a provider file (TOML), an
# unsigned test message, and, when softhsm2-util is installed, a SoftHSM token holding the
# signing key (PIN 1234). Everything is generated with openssl; nothing is committed.
set -eu
out=${1:?usage: make-fixtures.sh DIR}
rm -rf "$out"
mkdir -p "$out"
cd "$out"

cat > ca.cnf <<'CNF'
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
C = IT
O = Example PEC S.p.A.
CN = Example PEC Test CA
[ v3_ca ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ v3_signer ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = emailProtection
subjectAltName = email:posta-certificata@pec.example.it
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ ca ]
default_ca = testca
[ testca ]
database = index.txt
crlnumber = crlnumber
default_md = sha256
default_crl_days = 3650
CNF

openssl req -x509 -new -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 \
    -config ca.cnf -extensions v3_ca -sha256 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -keyout signer.key -out signer.csr \
    -subj "/C=IT/O=Example PEC S.p.A./CN=posta-certificata@pec.example.it" 2>/dev/null
openssl x509 -req -in signer.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out signer.pem \
    -days 3650 -sha256 -extfile ca.cnf -extensions v3_signer 2>/dev/null
openssl x509 -in signer.pem -outform DER -out signer.der
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other.key 2>/dev/null
: > index.txt
echo 01 > crlnumber
openssl ca -config ca.cnf -gencrl -keyfile ca.key -cert ca.pem -out crl.pem 2>/dev/null
# the CA and the CRL as DER too (trust and CRL files are PEM or DER)
openssl x509 -in ca.pem -outform DER -out ca.der
openssl crl -in crl.pem -outform DER -out crl.der

sha1=$(openssl x509 -in signer.pem -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' | tr A-F a-f)
b64=$(base64 -w 0 signer.der)
other_sha1=$(openssl x509 -in ca.pem -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' | tr A-F a-f)
other_b64=$(openssl x509 -in ca.pem -outform DER | base64 -w 0)
cat > index.ldif <<LDIF
version: 1

dn: o=postacert
objectclass: top
objectclass: organization
o: postacert

dn: providerName=Example PEC S.p.A.,o=postacert
objectclass: top
objectclass: provider
providerName: Example PEC S.p.A.
providerCertificateHash: $sha1
providerCertificate;binary:: $b64
mailReceipt: posta-certificata@pec.example.it
managedDomains: pec.example.it
managedDomains: pec.cliente.example
description: Example PEC (test)

dn: providerName=Other PEC,o=postacert
objectclass: top
objectclass: provider
providerName: Other PEC
providerCertificateHash: $other_sha1
providerCertificate;binary:: $other_b64
mailReceipt: posta-certificata@pec.other.example
managedDomains: pec.other.example
LDIF
echo "$sha1" > signer.sha1
# the same index signed (.p7m, DER) by the provider certificate, which chains to the CA like
# every provider's: only a caller-named index signer makes it acceptable
openssl cms -sign -binary -nodetach -md sha256 -in index.ldif -signer signer.pem \
    -inkey signer.key -outform DER -out index.ldif.p7m

cat > provider.toml <<'TOML'
name = "Example PEC S.p.A."
domain = "pec.example.it"
certified_domains = ["pec.example.it", "pec.cliente.example"]
timezone = "Europe/Rome"
TOML

printf '%s\r\n' \
    'From: Mario Rossi <mario.rossi@pec.example.it>' \
    'To: Anna Bianchi <anna.bianchi@pec.cliente.example>' \
    'Cc: info@example.com' \
    'Subject: Fattura 42' \
    'Date: Mon, 25 Nov 2024 10:00:00 +0100' \
    'Message-ID: <client-42@pec.example.it>' \
    'MIME-Version: 1.0' \
    'Content-Type: text/plain; charset=utf-8' \
    '' \
    'In allegato la fattura.' > message.eml
printf 'From: mario.rossi@pec.example.it\r\nTo: x@pec.cliente.example\r\nBcc: nascosto@pec.cliente.example\r\nSubject: con Bcc\r\n\r\nbody\r\n' \
    > bad-original.eml

if command -v softhsm2-util >/dev/null 2>&1; then
    mkdir -p softhsm/tokens
    printf 'directories.tokendir = %s/softhsm/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
        "$PWD" > softhsm/softhsm2.conf
    openssl pkcs8 -topk8 -nocrypt -in signer.key -out signer.p8
    SOFTHSM2_CONF=$PWD/softhsm/softhsm2.conf softhsm2-util --init-token --free --label PEC \
        --pin 1234 --so-pin 5678 >/dev/null
    SOFTHSM2_CONF=$PWD/softhsm/softhsm2.conf softhsm2-util --import signer.p8 --token PEC \
        --label signer --id 01 --pin 1234 >/dev/null
    echo 1234 > pin.txt
fi
