# Mail::PEC::SMimeEngine: every function on good and bad input; signatures checked by the real
# `openssl cms -verify`.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Digest::SHA ();
use Digest::MD5 ();
use PECTest;
use Mail::PEC::SMimeEngine qw(&init &sign &verify &getFingerprint &getCertInfo &ossl_version
    &ossl_path &load_privk &getErrStr &digest);

need_tool('openssl', 'version');

my $tmp = tmpdir();
my $pki = make_pki("$tmp/pki");
my $capath = make_capath("$tmp/capath", "$pki/root.pem");
my $other_capath = make_capath("$tmp/other", "$pki/untrusted-root.pem");
my $mail = "$tmp/mail.txt";
spew($mail, original_mail());

sub openssl_verifies {
    my ($file, $cafile, @extra) = @_;
    return system("openssl cms -verify -in '$file' -CAfile '$cafile' @extra -out '$tmp/openssl.out' >/dev/null 2>&1") == 0;
}

sub pem_body {
    my ($pem) = @_;
    my ($b) = $pem =~ /-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----/s;
    $b //= '';
    $b =~ s/\s+//g;
    return $b;
}

# --- before init --------------------------------------------------------------------------
is(sign($mail, "$tmp/never"), 1, 'sign before init fails');
is(getErrStr(), 'init must be run correctly', '... with the original text');
is(verify($mail, undef, 0), 1, 'verify before init fails');
is(load_privk("$pki/provider.key", "$pki/provider.pem"), 1, 'load_privk before init fails');

# --- init on bad input --------------------------------------------------------------------
is(init(undef, undef, undef, undef, undef), 1, 'init with undef everywhere: 1, no crash');
like(getErrStr(), qr/CA path/, '... CA path error');
is(init(undef, undef, undef, undef, undef, undef), 1, 'six undef');
is(init("$tmp/nonexistent", "$pki/provider.pem", "$pki/provider.key", [], 'openssl'), 1,
    'missing CA path');
like(getErrStr(), qr/CA path: .*nonexistent/, '... names it');
is(init($capath, "$tmp/nonexistent.pem", "$pki/provider.key", [], 'openssl'), 1,
    'missing certificate');
like(getErrStr(), qr/certificate file/, '... error text');
is(init($capath, "$pki/provider.pem", "$tmp/nonexistent.key", [], 'openssl'), 1, 'missing key');
like(getErrStr(), qr/key file/, '... error text');
is(init($capath, "$pki/provider.pem", "$pki/provider2.key", [], 'openssl'), 1,
    'key not matching the certificate');
ok(length getErrStr(), '... error text: ' . getErrStr());
is(init($capath, "$pki/provider.pem", "$pki/provider.key", ["$tmp/nope.pem"], 'openssl'), 1,
    'missing chain certificate');
{
    local $ENV{PEC_SMIME_PKCS11_MODULE};
    is(init($capath, "$pki/provider.pem", "$pki/provider.key", [], 'chil', '/opt/nfast/lib.so'), 1,
        'OpenSSL engine chil without a PKCS#11 module configured: 1');
    like(getErrStr(), qr/\AError to load engine: chil \(no PKCS#11 module/, '... error text');
}
is(init($capath, "$pki/provider.pem", "$pki/provider.key", [], 'openssl', undef, { bogus => 1 }), 1,
    'unknown init option');
like(getErrStr(), qr/unknown option 'bogus'/, '... error text');
is(init($capath, "$pki/provider.pem", "$pki/provider.key", [undef], 'openssl'), 1,
    'undef in the chain list');
is(sign($mail, "$tmp/never"), 1, 'a failed init leaves the module uninitialised');

# --- init, sign, verify --------------------------------------------------------------------
is(init($capath, "$pki/provider.pem", "$pki/provider.key", "not an array", undef), 0,
    'init: OTHER_CERTS not an array, ENGINE undef');
is(getErrStr(), '', 'no error after success');
is(init($capath, "$pki/provider.pem", "$pki/provider.key", ["$pki/pec-ca.pem"], 'openssl'), 0,
    'init with the intermediate') or diag getErrStr();
is(init($capath, "$pki/provider.pem", "$pki/provider.rsa.key", ["$pki/pec-ca.pem"], 'openssl'), 0,
    'init again (PKCS#1 key)') or diag getErrStr();

my $signed = "$tmp/mail.signed";
is(sign($mail, $signed), 0, 'sign') or diag getErrStr();
my $out = slurp($signed);
like($out, qr{\AMIME-Version: 1\.0\nContent-Type: multipart/signed; protocol="application/x-pkcs7-signature"; micalg="sha-256"; boundary="----[0-9A-F]{32}"\n},
    'multipart/signed as SMIME_write_PKCS7 writes it');
like($out, qr/\n------[0-9A-F]{32}\nFrom: Mario Rossi/, 'the whole input, header included, is the signed part');
ok(openssl_verifies($signed, "$pki/root.pem"), 'openssl cms -verify accepts the signature');
ok(!openssl_verifies($signed, "$pki/untrusted-root.pem"), '... and refuses another root');

is(verify($signed, "$tmp/signer.pem", 0), 0, 'verify with the chain') or diag getErrStr();
is(getErrStr(), 'Verify Ok', 'Verify Ok');
is(pem_body(slurp("$tmp/signer.pem")), pem_body(slurp("$pki/provider.pem")),
    'signer certificate written as PEM');
ok(system("openssl x509 -in '$tmp/signer.pem' -noout >/dev/null 2>&1") == 0,
    '... which openssl reads');
is(verify($signed, undef, 1), 0, 'verify NOVERIFY, no signer file');
is(verify($signed, '', 0), 0, 'empty signer path: not written');

# tampered
(my $tampered = $out) =~ s/invio la richiesta/invio la RICHIESTA/;
isnt($tampered, $out, 'tampered copy differs');
spew("$tmp/tampered", $tampered);
is(verify("$tmp/tampered", undef, 0), 1, 'tampered message refused');
like(getErrStr(), qr/Verify failed: .*content-mismatch/, '... content-mismatch: ' . getErrStr());
is(verify("$tmp/tampered", undef, 1), 1, '... also with NOVERIFY');
ok(!openssl_verifies("$tmp/tampered", "$pki/root.pem"), '... and by openssl');

# not signed at all
is(verify($mail, undef, 0), 1, 'unsigned message refused');
like(getErrStr(), qr/no-signature/, '... no-signature');

# missing files
is(verify("$tmp/nonexistent", undef, 0), 1, 'missing signed file');
like(getErrStr(), qr/mail file: .*nonexistent/, '... error text');
is(sign("$tmp/nonexistent", "$tmp/x"), 1, 'missing input file');
like(getErrStr(), qr/access to file/, '... error text');
is(sign($mail, "$tmp/no/such/dir/out"), 1, 'unwritable output');
like(getErrStr(), qr/write signed file/, '... error text');
is(verify($signed, "$tmp/no/such/dir/signer.pem", 0), 1, 'unwritable signer file');

# undef arguments never crash
is(sign(undef, undef), 1, 'sign(undef, undef)');
is(sign($mail, undef), 1, 'sign(mail, undef)');
is(verify(undef, undef, undef), 1, 'verify(undef, undef, undef)');
is(verify(), 1, 'verify()');

# untrusted: a signer under another root
is(init($capath, "$pki/other-root.pem", "$pki/other-root.key", [], 'openssl'), 0,
    'init with an untrusted signer') or diag getErrStr();
is(sign($mail, "$tmp/untrusted.signed"), 0, 'sign');
ok(openssl_verifies("$tmp/untrusted.signed", "$pki/untrusted-root.pem"), 'openssl: valid under its root');
is(verify("$tmp/untrusted.signed", undef, 0), 1, 'untrusted chain refused');
like(getErrStr(), qr/untrusted-chain/, '... untrusted-chain');
is(verify("$tmp/untrusted.signed", "$tmp/untrusted-signer.pem", 1), 0, 'NOVERIFY accepts it');
is(pem_body(slurp("$tmp/untrusted-signer.pem")), pem_body(slurp("$pki/other-root.pem")),
    '... and writes its signer');

# expired signer certificate
is(init($capath, "$pki/expired.pem", "$pki/expired.key", ["$pki/pec-ca.pem"], 'openssl'), 0,
    'init with an expired certificate');
if (sign($mail, "$tmp/expired.signed") == 0) {
    is(verify("$tmp/expired.signed", undef, 0), 1, 'expired signer refused');
    like(getErrStr(), qr/expired/, '... expired');
    is(verify("$tmp/expired.signed", undef, 1), 0, 'NOVERIFY accepts it');
} else {
    pass('signing with an expired certificate is refused: ' . getErrStr());
}

# --- the structure of the original ------------------------------------------------------
# Crypt::SMimeEngine::sign was PKCS7_sign(signer, key, others, in, PKCS7_DETACHED) and
# SMIME_write_PKCS7(out, p7, in, PKCS7_DETACHED): what `openssl smime -sign` does with the same
# signer, key and -certfile. The outputs must be byte-identical except for the boundary and the
# base64 of the CMS.
sub mask {
    my ($m) = @_;
    my ($b) = $m =~ /boundary="----([0-9A-F]{32})"/ or return "no boundary\n$m";
    $m =~ s/\Q$b\E/BOUNDARY/g;
    $m =~ s{(filename="smime\.p7s"\n\n)[A-Za-z0-9+/=\n]+?(\n------BOUNDARY--\n\n)\z}{$1SIGNATURE$2}
        or return "no signature block\n$m";
    return $m;
}
sub content_of {
    my ($file) = @_;
    system("openssl smime -verify -noverify -in '$file' -out '$tmp/content.out' >/dev/null 2>&1") == 0
        or return undef;
    return slurp("$tmp/content.out");
}
is(init($capath, "$pki/provider.pem", "$pki/provider.key", ["$pki/pec-ca.pem"], 'openssl'), 0,
    'init for the structure comparison') or diag getErrStr();
my %inputs = (
    'CRLF mail'                 => original_mail(),
    'LF mail'                   => original_mail() =~ s/\r\n/\n/gr,
    'no final line end'         => "Subject: x\n\nhello\nworld",
    'CR runs before LF'         => "Subject: x\r\r\n\r\nbody \r\r\ntail\r\n",
    'line of 3000 bytes'        => "Subject: long\n\n" . ('a' x 3000) . "\n" . ('b' x 1022) . "\r\n" . ('c' x 1023) . "\n",
    'bare CR inside a line'     => "Subject: x\n\na\rb\n",
    'MIME multipart input'      => "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain\n\nhi\n--b1--\n",
);
for my $name (sort keys %inputs) {
    my $in = "$tmp/in-" . ($name =~ tr/a-zA-Z0-9/_/cr);
    spew($in, $inputs{$name});
    is(sign($in, "$in.ours"), 0, "$name: sign") or diag getErrStr();
    system("openssl smime -sign -signer '$pki/provider.pem' -inkey '$pki/provider.key' "
        . "-certfile '$pki/pec-ca.pem' -in '$in' -out '$in.openssl' 2>/dev/null") == 0
        or die "openssl smime -sign failed";
    my ($ours, $ref) = (slurp("$in.ours"), slurp("$in.openssl"));
    is(mask($ours), mask($ref), "$name: byte-identical to openssl smime -sign but boundary and CMS");
    is(content_of("$in.ours"), content_of("$in.openssl"), "$name: the same signed content");
    ok(openssl_verifies("$in.ours", "$pki/root.pem", '-binary'), "$name: openssl verifies ours");
    is(verify("$in.openssl", undef, 0), 0, "$name: we verify openssl's") or diag getErrStr();
    is(verify("$in.ours", undef, 0), 0, "$name: we verify ours") or diag getErrStr();
}
# the CMS: the same certificates embedded (the signer's and OTHER_CERTS / -certfile; the CLI
# adds them in another order than PKCS7_sign did, so compared as sets)
my $in0 = "$tmp/in-CRLF_mail";
my @certs = map {
    my $f = $_;
    join '|', sort grep { length } map { s/\s+//gr }
        `openssl smime -pk7out -in '$f' 2>/dev/null | openssl pkcs7 -print_certs -noout 2>/dev/null`;
} ("$in0.ours", "$in0.openssl");
ok(length $certs[0], 'certificates found in the CMS');
is($certs[0], $certs[1], 'the same certificates in the CMS as openssl embeds');
like(`openssl smime -pk7out -in '$in0.ours' 2>/dev/null | openssl cms -cmsout -inform PEM -print -noout 2>&1`,
    qr/digestAlgorithms:\s*\n\s*algorithm: sha256/, 'SHA-256 like openssl smime');

# --- the system CA store, as the original's X509_STORE_set_default_paths ------------------
is(init($other_capath, "$pki/provider.pem", "$pki/provider.key", ["$pki/pec-ca.pem"], 'openssl'), 0,
    'init with a CAPATH that does not hold our root');
is(sign($mail, "$tmp/sys.signed"), 0, 'sign');
{
    local $ENV{SSL_CERT_FILE} = "$pki/root.pem";    # the "system" store holds our root
    local $ENV{SSL_CERT_DIR};
    is(init($other_capath, "$pki/provider.pem", "$pki/provider.key", [], 'openssl'), 0, 'init');
    is(verify("$tmp/sys.signed", undef, 0), 0, 'trusted through the system store (SSL_CERT_FILE)')
        or diag getErrStr();
    is(init($other_capath, "$pki/provider.pem", "$pki/provider.key", [], 'openssl', undef,
            { system_ca => 0 }), 0, 'init, system_ca => 0');
    is(verify("$tmp/sys.signed", undef, 0), 1, '... then only CAPATH is trusted');
    local $ENV{PEC_SMIME_NO_SYSTEM_CA} = 1;
    is(init($other_capath, "$pki/provider.pem", "$pki/provider.key", [], 'openssl'), 0, 'init');
    is(verify("$tmp/sys.signed", undef, 0), 1, '... also with PEC_SMIME_NO_SYSTEM_CA=1');
}
{
    local $ENV{SSL_CERT_FILE} = "$tmp/nonexistent.pem";
    local $ENV{SSL_CERT_DIR} = "$tmp/nonexistent";
    is(init($other_capath, "$pki/provider.pem", "$pki/provider.key", [], 'openssl'), 0,
        'a missing system store is not an error');
}

# --- load_privk -----------------------------------------------------------------------------
is(init($capath, "$pki/provider.pem", "$pki/provider.key", ["$pki/pec-ca.pem"], 'openssl'), 0,
    'init');
is(load_privk("$pki/provider2.key", "$pki/provider2.pem"), 0, 'load_privk') or diag getErrStr();
is(sign($mail, "$tmp/p2.signed"), 0, 'sign with the new key');
is(verify("$tmp/p2.signed", "$tmp/p2.pem", 0), 0, 'verify');
is(pem_body(slurp("$tmp/p2.pem")), pem_body(slurp("$pki/provider2.pem")), 'new signer');
ok(openssl_verifies("$tmp/p2.signed", "$pki/root.pem"), 'openssl agrees');
is(load_privk("$tmp/nonexistent.key", "$pki/provider2.pem"), 1, 'load_privk: missing key');
is(load_privk("$pki/provider.key", undef), 1, 'load_privk: undef certificate');
is(load_privk(undef, undef), 1, 'load_privk(undef, undef)');
is(sign($mail, "$tmp/p2b.signed"), 0, 'a failed load_privk keeps the previous key');

# --- getFingerprint ------------------------------------------------------------------------
for my $alg (qw(sha1 sha256 md5)) {
    my $want = `openssl x509 -in '$pki/provider.pem' -noout -fingerprint -$alg`;
    $want =~ s/^.*=//;
    chomp $want;
    is(getFingerprint("$pki/provider.pem", $alg), $want, "getFingerprint $alg");
}
is(getFingerprint("$pki/provider.pem", 'SHA1'), getFingerprint("$pki/provider.pem", 'sha1'),
    'schema is case-insensitive');
ok(!defined getFingerprint("$pki/provider.pem", 'md2'), 'unknown schema: undef');
like(getErrStr(), qr/Unknown schema: md2/, '... error text');
ok(!defined getFingerprint("$tmp/nonexistent.pem", 'sha1'), 'missing certificate: undef');
like(getErrStr(), qr/certificate/, '... error text');
ok(!defined getFingerprint($mail, 'sha1'), 'not a certificate: undef');
ok(!defined getFingerprint(undef, undef), 'undef arguments: undef');

# --- digest --------------------------------------------------------------------------------
my $big = "$tmp/big.bin";
spew($big, join '', map { chr($_ % 251) } 0 .. 300_000);
my $data = slurp($big);
is(digest($big, 'sha1'), Digest::SHA::sha1_hex($data), 'digest sha1 (300 kB)');
is(digest($big, 'sha256'), Digest::SHA::sha256_hex($data), 'digest sha256');
is(digest($big, 'sha512'), Digest::SHA::sha512_hex($data), 'digest sha512');
is(digest($big, 'md5'), Digest::MD5::md5_hex($data), 'digest md5');
spew("$tmp/empty", '');
is(digest("$tmp/empty", 'sha256'), Digest::SHA::sha256_hex(''), 'digest of an empty file');
ok(!defined digest($big, 'whirlpool'), 'unknown digest: undef');
like(getErrStr(), qr/Unknown message digest: whirlpool/, '... error text');
ok(!defined digest("$tmp/nonexistent", 'sha1'), 'missing file: undef');
like(getErrStr(), qr/open file to hash/, '... error text');
ok(!defined digest(undef, undef), 'undef arguments: undef');

# --- getCertInfo ---------------------------------------------------------------------------
my $info = getCertInfo("$pki/provider.pem");
is(ref $info, 'HASH', 'getCertInfo returns a hash');
is_deeply([sort keys %$info], [sort qw(issuer subject serial startdate enddate v3_email)], 'keys');
sub openssl_field {
    my ($opt) = @_;
    my $v = `openssl x509 -in '$pki/provider.pem' -noout $opt`;
    chomp $v;
    $v =~ s/^[^=]*=\s*//;
    return $v;
}
# X509_NAME_print_ex(bio, name, 0, 0) (what Crypt::SMimeEngine called) is X509_NAME_print:
# the X509_NAME_oneline form with each "/X=" separator written as ", X="
sub x509_name_print {
    my ($oneline) = @_;
    $oneline =~ s{\A/}{};
    $oneline =~ s{/(?=[A-Z](?:=|[A-Z]=))}{, }g;
    return $oneline;
}
is($info->{subject}, x509_name_print(openssl_field('-subject -nameopt compat')),
    'subject as OpenSSL prints it');
is($info->{issuer}, x509_name_print(openssl_field('-issuer -nameopt compat')), 'issuer');
is($info->{serial}, openssl_field('-serial'), 'serial');
is($info->{startdate}, openssl_field('-startdate'), 'startdate');
is($info->{enddate}, openssl_field('-enddate'), 'enddate');
is($info->{v3_email}, 'posta-certificata@pec.example.it', 'v3_email');
is(getCertInfo("$pki/root.pem")->{v3_email}, '', 'no email: empty string');
ok(!defined getCertInfo("$tmp/nonexistent.pem"), 'missing certificate: undef');
like(getErrStr(), qr/certificate in/, '... error text');
ok(!defined getCertInfo($mail), 'not a certificate: undef');
ok(!defined getCertInfo(undef), 'undef: undef');

# --- versions ------------------------------------------------------------------------------
like(ossl_version(), qr/^libpec /, 'ossl_version');
like(ossl_path(), qr/^LIBPECDIR: "/, 'ossl_path');

done_testing;
