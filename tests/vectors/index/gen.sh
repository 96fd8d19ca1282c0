#!/bin/sh
# Regenerates providers.ldif from fresh self-signed certificates (test data only).
# Usage: sh gen.sh   (needs openssl; writes certificates under ./certs)
set -eu
cd "$(dirname "$0")"
mkdir -p certs
mk() { # name cn
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "certs/$1.key" -out "certs/$1.pem" \
    -days 7300 -subj "/C=IT/O=$2/CN=$2" -addext "subjectAltName=email:posta-certificata@$3" 2>/dev/null
  openssl x509 -in "certs/$1.pem" -outform DER -out "certs/$1.der"
}
mk alfa1 "Alfa PEC 2024" pec.alfa.example
mk alfa2 "Alfa PEC 2026" pec.alfa.example
mk beta "Beta Posta Certificata" beta-pec.example
mk betaunit "Beta PEC Ambiente Due" beta2-pec.example
mk gamma "Gamma PEC" gamma.example
b64() { base64 -w0 "certs/$1.der"; }
sha() { openssl x509 -in "certs/$1.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g'; }
fold76() { fold -w 76 | sed '2,$s/^/ /'; }
{
printf 'version: 1\n\n'
printf '# Providers index test vector (pec-core tests).\n# This comment is\n  folded over two lines.\n'
printf 'dn: o=postacert\nobjectclass: top\nobjectclass: organization\nobjectClass: LDIFLocationURLObject\no: postacert\nLDIFLocationURL: https://index.example/indice.ldif.p7m\ndescription: Indice dei gestori di posta certificata (test)\n\n'
# alfa: two certificates (rollover), upper-case first hash, folded base64
printf 'dn: providerName=Alfa PEC,o=postacert\nobjectclass: top\nobjectclass: provider\nproviderName: Alfa PEC\n'
printf 'providerCertificateHash: %s\n' "$(sha alfa1 | tr a-f A-F)"
printf 'providerCertificate;binary:: %s\n' "$(b64 alfa1)" | fold76
printf 'providerCertificateHash: %s\n' "$(sha alfa2 | tr A-F a-f)"
printf 'providerCertificate;binary:: %s\n' "$(b64 alfa2)" | fold76
printf 'mailReceipt: takecharge@pec.alfa.example\nLDIFLocationURL: https://pec.alfa.example/alfa.ldif.p7m\n'
printf 'managedDomains: pec.alfa.example\nmanagedDomains: PEC.Cliente-Uno.example\nmanagedDomains: legal.alfa.example\n'
printf 'description:: %s\n\n' "$(printf 'Società Alfa S.p.A. — gestore' | base64 -w0)"
# beta main environment, dn given as base64
printf 'dn:: %s\nobjectClass: top\nOBJECTCLASS: Provider\nproviderName: Beta Posta Certificata\n' "$(printf 'providerName=Beta Posta Certificata,o=postacert' | base64 -w0)"
printf 'providerCertificateHash: %s\n' "$(sha beta)"
printf 'providerCertificate;binary:: %s\n' "$(b64 beta)" | fold76
printf 'mailReceipt: ricevute@beta-pec.example\nLDIFLocationURL: https://beta-pec.example/beta.ldif.p7m\nmanagedDomains: beta-pec.example\n\n'
# beta secondary environment
printf 'dn: providerUnit=Ambiente Due,providerName=Beta Posta Certificata,o=postacert\nobjectclass: top\nobjectclass: provider\nproviderName: Beta Posta Certificata\nproviderUnit: Ambiente Due\n'
printf 'providerCertificateHash: %s\n' "$(sha betaunit)"
printf 'providerCertificate;binary:: %s\n' "$(b64 betaunit)" | fold76
printf 'mailReceipt: ricevute@beta2-pec.example\nmanagedDomains: beta2-pec.example\n\n'
# gamma: plain providerCertificate:: (no ;binary option), trailing comment
printf 'dn: providerName=Gamma PEC,o=postacert\nobjectclass: top\nobjectclass: provider\nproviderName: Gamma PEC\n'
printf 'providerCertificateHash: %s\n' "$(sha gamma)"
printf 'providerCertificate:: %s\n' "$(b64 gamma)" | fold76
printf 'mailReceipt: takecharge@gamma.example\nmanagedDomains: gamma.example\nmanagedDomains: pec.gamma.example\n'
printf '# end of index\n'
} > providers.ldif
for n in alfa1 alfa2 beta betaunit gamma; do sha "$n" | tr A-F a-f > "certs/$n.sha1"; done
rm -f certs/*.key certs/*.pem
