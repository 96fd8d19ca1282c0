#!/bin/sh
# Creates a hermetic SoftHSM2 token holding an RSA-2048 key and its self-signed certificate.
#
# Usage: make-token.sh DIR [LABEL] [PIN] [SO_PIN]
#
# Everything is written under DIR (config, token store, key, certificate); nothing touches
# /etc/softhsm or /var/lib/softhsm. Afterwards:
#   export SOFTHSM2_CONF=DIR/softhsm2.conf
#   URI: pkcs11:token=LABEL;object=provider;id=%01;type=private?pin-source=file:DIR/pin.txt
set -eu

dir=${1:?usage: make-token.sh DIR [LABEL] [PIN] [SO_PIN]}
label=${2:-pec-test}
pin=${3:-1234}
so_pin=${4:-5678}
module=${PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

mkdir -p "$dir/tokens"
dir=$(cd "$dir" && pwd)
cat > "$dir/softhsm2.conf" <<CONF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
SOFTHSM2_CONF="$dir/softhsm2.conf"
export SOFTHSM2_CONF

softhsm2-util --init-token --free --label "$label" --pin "$pin" --so-pin "$so_pin" >/dev/null

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/key.pem" 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$dir/key.pem" -out "$dir/key.pk8"
openssl req -new -x509 -key "$dir/key.pem" -subj "/C=IT/O=PEC Test Provider/CN=pec-test" \
    -days 3650 -sha256 -out "$dir/cert.pem"
openssl x509 -in "$dir/cert.pem" -outform DER -out "$dir/cert.der"
openssl x509 -in "$dir/cert.pem" -pubkey -noout > "$dir/pub.pem"

softhsm2-util --import "$dir/key.pk8" --token "$label" --label provider --id 01 \
    --pin "$pin" >/dev/null
pkcs11-tool --module "$module" --token-label "$label" --login --pin "$pin" \
    --write-object "$dir/cert.der" --type cert --id 01 --label provider >/dev/null

printf '%s\n' "$pin" > "$dir/pin.txt"
chmod 600 "$dir/pin.txt" "$dir/key.pem" "$dir/key.pk8"
echo "SOFTHSM2_CONF=$dir/softhsm2.conf"
