#!/usr/bin/env bash
# Creates the test PKI of the pec repository in OUTDIR (see README.md next to this script).
#
#   tests/pki/make-pki.sh OUTDIR
#
# Needs only the openssl CLI (1.1.1 or 3.x; 3.0+ for the expired CRL's explicit dates) and
# GNU or BSD date. Keys are fresh on each run; names, serials, extensions and the fixed dates
# are always the same ("deterministic enough"). Takes well under 5 s.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
OUT=$1
mkdir -p "$OUT"
cd "$OUT"
OUT=$(pwd)
W="$OUT/work"
rm -rf "$W"
mkdir -p "$W"

# UTC timestamps for `openssl ca -startdate/-enddate` (YYYYMMDDHHMMSSZ).
stamp() { # stamp OFFSET_DAYS
    local off=$1 epoch
    epoch=$(( $(date -u +%s) + off * 86400 ))
    date -u -d "@$epoch" +%Y%m%d%H%M%SZ 2>/dev/null || date -u -r "$epoch" +%Y%m%d%H%M%SZ
}
NOW_MINUS_1Y=$(stamp -365)
NOW_PLUS_3Y=$(stamp 1095)
NOW_MINUS_1D=$(stamp -1)
NOW_PLUS_30D=$(stamp 30)

key() { # key NAME: RSA-2048, PKCS#8 PEM
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$OUT/$1.key" 2>/dev/null
}

# One `openssl ca` database per issuing CA.
cat > "$W/ca.cnf" <<'CNF'
[ ca ]
default_ca = ca_default

[ ca_default ]
dir = $ENV::CADIR
database = $dir/index.txt
serial = $dir/serial
crlnumber = $dir/crlnumber
new_certs_dir = $dir/new
default_md = sha256
policy = policy_anything
unique_subject = no
preserve = yes
email_in_dn = yes
copy_extensions = none
default_crl_days = 30

[ policy_anything ]
countryName = optional
stateOrProvinceName = optional
localityName = optional
organizationName = optional
organizationalUnitName = optional
commonName = optional
emailAddress = optional

[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = unused

[ root_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ pec_ca_ext ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
nameConstraints = critical, permitted;email:pec.example.it, permitted;email:.pec.example.it, permitted;email:pec.other.it
crlDistributionPoints = URI:http://crl.example.invalid/root.crl

# PEC provider signing certificate, spec section 7.2 (no basicConstraints).
[ provider_ext ]
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = emailProtection
subjectAltName = email:$ENV::SAN
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints = URI:$ENV::CRLDP

# The same with an extension nobody knows, marked critical (RFC 5280 4.2: must be refused).
[ unknown_critical_ext ]
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = emailProtection
subjectAltName = email:$ENV::SAN
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints = URI:$ENV::CRLDP
1.3.6.1.4.1.55555.1 = critical, ASN1:UTF8String:must be understood

[ crl_ext ]
authorityKeyIdentifier = keyid:always
CNF

newca() { # newca DIR
    mkdir -p "$W/$1/new"
    : > "$W/$1/index.txt"
    echo "unique_subject = no" > "$W/$1/index.txt.attr"
    echo "$2" > "$W/$1/serial"
    echo 01 > "$W/$1/crlnumber"
}

export SAN=unused CRLDP=unused CADIR

# issue DBDIR ISSUERNAME NAME SUBJECT EXT START END  -> $OUT/NAME.pem
issue() {
    local db=$1 issuer=$2 name=$3 subj=$4 ext=$5 start=$6 end=$7
    CADIR="$W/$db"
    openssl req -new -config "$W/ca.cnf" -key "$OUT/$name.key" -subj "$subj" -out "$W/$name.csr"
    openssl ca -batch -config "$W/ca.cnf" -cert "$OUT/$issuer.pem" -keyfile "$OUT/$issuer.key" \
        -in "$W/$name.csr" -out "$OUT/$name.pem" -extensions "$ext" -notext -preserveDN \
        -startdate "$start" -enddate "$end" 2>/dev/null
}

# selfsign DBDIR NAME SUBJECT
selfsign() {
    local db=$1 name=$2 subj=$3
    CADIR="$W/$db"
    openssl req -new -config "$W/ca.cnf" -key "$OUT/$name.key" -subj "$subj" -out "$W/$name.csr"
    openssl ca -batch -selfsign -config "$W/ca.cnf" -keyfile "$OUT/$name.key" \
        -in "$W/$name.csr" -out "$OUT/$name.pem" -extensions root_ext -notext -preserveDN \
        -startdate 20100101000000Z -enddate 20450101000000Z 2>/dev/null
}

for k in root pec-ca provider provider2 expired revoked untrusted-root other-root nc-violation; do
    key "$k" &
done
wait

PROVIDER_SUBJ="/C=IT/O=Example PEC S.p.A./CN=Posta Certificata Example PEC S.p.A."

newca root 1000
newca pec-ca 2000
newca untrusted-root 3000

selfsign root root "/C=IT/O=Example Trust Services/CN=Example Root CA"
selfsign untrusted-root untrusted-root "/C=IT/O=Untrusted Example/CN=Other Root CA"

issue root root pec-ca "/C=IT/O=Example Trust Services/CN=PEC CA" pec_ca_ext \
    20100101000000Z 20400101000000Z

export CRLDP=http://crl.example.invalid/pec-ca.crl
SAN=posta-certificata@pec.example.it \
    issue pec-ca pec-ca provider "$PROVIDER_SUBJ" provider_ext "$NOW_MINUS_1Y" "$NOW_PLUS_3Y"
SAN=posta-certificata@pec.other.it \
    issue pec-ca pec-ca provider2 "/C=IT/O=Other PEC S.r.l./CN=Posta Certificata Other PEC S.r.l." \
    provider_ext "$NOW_MINUS_1Y" "$NOW_PLUS_3Y"
SAN=posta-certificata@pec.example.it \
    issue pec-ca pec-ca expired "$PROVIDER_SUBJ" provider_ext 20150101000000Z 20160101000000Z
SAN=posta-certificata@pec.example.it \
    issue pec-ca pec-ca revoked "$PROVIDER_SUBJ" provider_ext "$NOW_MINUS_1Y" "$NOW_PLUS_3Y"
SAN=posta-certificata@evil.example.com \
    issue pec-ca pec-ca nc-violation "/C=IT/O=Evil PEC S.p.A./CN=Posta Certificata Evil PEC S.p.A." \
    provider_ext "$NOW_MINUS_1Y" "$NOW_PLUS_3Y"
cp "$OUT/provider.key" "$OUT/unknown-critical.key"
SAN=posta-certificata@pec.example.it \
    issue pec-ca pec-ca unknown-critical "$PROVIDER_SUBJ" unknown_critical_ext \
    "$NOW_MINUS_1Y" "$NOW_PLUS_3Y"
CRLDP=http://crl.example.invalid/untrusted-root.crl SAN=posta-certificata@pec.example.it \
    issue untrusted-root untrusted-root other-root "$PROVIDER_SUBJ" provider_ext \
    "$NOW_MINUS_1Y" "$NOW_PLUS_3Y"

# CRLs. pec-ca.crl revokes `revoked`; pec-ca-expired.crl is the same list, long expired.
CADIR="$W/pec-ca"
openssl ca -config "$W/ca.cnf" -cert "$OUT/pec-ca.pem" -keyfile "$OUT/pec-ca.key" \
    -revoke "$OUT/revoked.pem" -crl_reason keyCompromise 2>/dev/null
openssl ca -gencrl -config "$W/ca.cnf" -cert "$OUT/pec-ca.pem" -keyfile "$OUT/pec-ca.key" \
    -crlexts crl_ext -crl_lastupdate "$NOW_MINUS_1D" -crl_nextupdate "$NOW_PLUS_30D" \
    -out "$OUT/pec-ca.crl.pem" 2>/dev/null
openssl crl -in "$OUT/pec-ca.crl.pem" -outform DER -out "$OUT/pec-ca.crl"
openssl ca -gencrl -config "$W/ca.cnf" -cert "$OUT/pec-ca.pem" -keyfile "$OUT/pec-ca.key" \
    -crlexts crl_ext -crl_lastupdate 20200101000000Z -crl_nextupdate 20200201000000Z \
    -out "$OUT/pec-ca-expired.crl.pem" 2>/dev/null
CADIR="$W/root"
openssl ca -gencrl -config "$W/ca.cnf" -cert "$OUT/root.pem" -keyfile "$OUT/root.key" \
    -crlexts crl_ext -crl_lastupdate "$NOW_MINUS_1D" -crl_nextupdate "$NOW_PLUS_30D" \
    -out "$OUT/root.crl.pem" 2>/dev/null

# Derived files.
cp "$OUT/pec-ca.pem" "$OUT/chain.pem"
cat "$OUT/pec-ca.crl.pem" "$OUT/root.crl.pem" > "$OUT/crls.pem"
for c in root pec-ca provider provider2 expired revoked untrusted-root other-root nc-violation \
    unknown-critical; do
    openssl x509 -in "$OUT/$c.pem" -outform DER -out "$OUT/$c.der"
done
openssl rsa -in "$OUT/provider.key" -traditional -out "$OUT/provider.rsa.key" 2>/dev/null
openssl x509 -in "$OUT/revoked.pem" -noout -serial | sed 's/^serial=//' > "$OUT/revoked.serial"

rm -rf "$W"
