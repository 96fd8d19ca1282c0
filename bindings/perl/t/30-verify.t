# Mail::PEC->verify / Mail::PEC::Verifier on messages signed with the test PKI: valid,
# tampered, untrusted, expired, revoked (CRL), providers index.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PECTest;
use Mail::PEC;

need_tool('openssl', 'version');
my $tmp = tmpdir();
my $pki = make_pki("$tmp/pki");

my $signer = Mail::PEC::Signer->software(slurp("$pki/provider.key"), slurp("$pki/provider.pem"),
                                          slurp("$pki/chain.pem"));
isa_ok($signer, 'Mail::PEC::Signer');
my $t = time - 3600;
my $signed = $signer->sign_message(original_mail(), time => $t);
like($signed, qr{multipart/signed}, 'signed');

my $r = Mail::PEC->verify($signed, ca_file => "$pki/root.pem");
isa_ok($r, 'Mail::PEC::Report');
is($r->verdict, 'valid', 'valid') or diag explain $r;
is($r->{verdict_code}, 0, 'verdict code 0');
is_deeply($r->reasons, [], 'no reasons');
ok($r->is_valid, 'is_valid');
is($r->digest, 'sha256', 'sha256');
ok(!$r->weak_digest, 'not weak');
is($r->signing_time, $t, 'signing time');
is($r->revocation, 'not-checked', 'no CRL: not-checked');
is($r->signer->{email}, 'posta-certificata@pec.example.it', 'signer email');
like($r->signer->{subject}, qr/CN=Posta Certificata Example PEC S\.p\.A\./, 'signer subject');
is($r->signer->{sha1}, lc Mail::PEC::Digest->new('sha1')->add($r->signer->{der})->hexdigest,
   'signer sha1 is the certificate hash');
is(scalar @{ $r->chain }, 3, 'chain of three') or diag explain $r->chain;
ok(!defined $r->provider, 'no index: no provider');

# also with ca_pem and ca_path, and a reusable verifier
is(Mail::PEC->verify($signed, ca_pem => slurp("$pki/root.pem"))->verdict, 'valid', 'ca_pem');
# files of anchors are read by libpec (pec_core::open): PEM or DER alike
is(Mail::PEC->verify($signed, ca_file => "$pki/root.der")->verdict, 'valid', 'ca_file in DER');
is(Mail::PEC::Verifier->new->set_trust(ca_file => ["$pki/root.pem", "$pki/root.der"]), 1,
   'the same anchor in PEM and DER counts once');
my $no_cert = do { local $@; eval { Mail::PEC->verify($signed, ca_file => "$pki/root.crl.pem") }; $@ };
is($no_cert && $no_cert->code, 405, 'a ca_file without a certificate: bad_certificate');
my $capath = make_capath("$tmp/capath", "$pki/root.pem");
my $v = Mail::PEC::Verifier->new(ca_path => $capath);
is($v->verify($signed)->verdict, 'valid', 'ca_path');
is($v->verify($signed)->verdict, 'valid', 'verifier reused');

# the openssl CLI agrees
spew("$tmp/signed.eml", $signed);
is(system("openssl cms -verify -in '$tmp/signed.eml' -CAfile '$pki/root.pem' -out /dev/null >/dev/null 2>&1"),
   0, 'openssl cms -verify');

# tampered
(my $bad = $signed) =~ s/invio la richiesta/invio la richiestA/;
$r = Mail::PEC->verify($bad, ca_file => "$pki/root.pem");
is($r->verdict, 'invalid', 'tampered: invalid');
ok($r->has_reason('content-mismatch'), 'content-mismatch');
is($r->reason_codes->[0], Mail::PEC::Error::CONTENT_MISMATCH(), 'reason code');

# untrusted
$r = Mail::PEC->verify($signed, ca_file => "$pki/untrusted-root.pem");
is($r->verdict, 'invalid', 'other root: invalid');
ok($r->has_reason('untrusted-chain'), 'untrusted-chain');
$r = Mail::PEC->verify($signed);
ok($r->has_reason('untrusted-chain'), 'no anchors at all: untrusted-chain');

# evaluation time
$r = Mail::PEC->verify($signed, ca_file => "$pki/root.pem", at => time + 20 * 365 * 86400);
ok($r->has_reason('expired'), 'in twenty years: expired');
$r = Mail::PEC->verify($signed, ca_file => "$pki/root.pem", at => 'signing-time');
is($r->evaluated_at, $t, 'at signing-time');
my $e = do { local $@; eval { Mail::PEC->verify($signed, at => 'yesterday') }; $@ };
is($e->code, 208, 'bad at: invalid_time');

# revocation through CRLs (file names and contents)
my $revoked = Mail::PEC::Signer->software(slurp("$pki/revoked.key"), slurp("$pki/revoked.pem"),
                                           slurp("$pki/chain.pem"))->sign_message(original_mail());
$r = Mail::PEC->verify($revoked, ca_file => "$pki/root.pem", crl => ["$pki/pec-ca.crl", "$pki/root.crl.pem"]);
is($r->verdict, 'invalid', 'revoked: invalid');
ok($r->has_reason('revoked'), 'revoked');
is($r->revocation, 'revoked', 'revocation revoked');
$r = Mail::PEC::Verifier->new(ca_file => "$pki/root.pem")->set_crls("$pki/pec-ca.crl", slurp("$pki/root.crl.pem"));
is($r, 2, 'set_crls: a DER file and PEM contents');
$r = Mail::PEC->verify($signed, ca_file => "$pki/root.pem", crl => [slurp("$pki/crls.pem")]);
is($r->verdict, 'valid', 'good with CRLs') or diag explain $r->reasons;
is($r->revocation, 'good', 'revocation good');
$e = do { local $@; eval { Mail::PEC->verify($signed, crl => ["-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"]) }; $@ };
is($e && $e->code, 406, 'bad CRL: bad_crl');

# providers index
my $ldif = ldif_entry(name => 'Example PEC S.p.A.', mail_receipt => 'posta-certificata@pec.example.it',
                      domains => ['pec.example.it'], cert_pem => slurp("$pki/provider.pem"));
my $idx = Mail::PEC::Index->from_ldif($ldif);
$r = Mail::PEC->verify($signed, ca_file => "$pki/root.pem", index => $idx);
is($r->verdict, 'valid', 'valid with the index') or diag explain $r->reasons;
is($r->provider->{name}, 'Example PEC S.p.A.', 'provider from the index');
is($r->provider->{mail_receipt}, 'posta-certificata@pec.example.it', 'mail receipt');
my $other = Mail::PEC::Index->from_ldif(ldif_entry(name => 'Other PEC S.r.l.',
    mail_receipt => 'posta-certificata@pec.other.it', domains => ['pec.other.it'],
    cert_pem => slurp("$pki/provider2.pem")));
$r = Mail::PEC->verify($signed, ca_file => "$pki/root.pem", index => $other);
ok($r->has_reason('not-in-index'), 'signer not in the index');

done_testing;
