# Issue 12: a signed (.p7m) providers index is accepted only when signed by a named index
# signer (finding 5); the report keys time_source, signed_scope, weaknesses and the message
# keys signed_scope, header_kind.
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

# the index, signed by the provider certificate (which chains to the root like provider2's)
my $ldif = ldif_entry(name => 'Example PEC S.p.A.', mail_receipt => 'posta-certificata@pec.example.it',
                      domains => ['pec.example.it'], cert_pem => slurp("$pki/provider.pem"));
spew("$tmp/index.ldif", $ldif);
is(system("openssl cms -sign -binary -nodetach -md sha256 -in '$tmp/index.ldif' "
          . "-signer '$pki/provider.pem' -inkey '$pki/provider.key' -certfile '$pki/chain.pem' "
          . "-outform DER -out '$tmp/index.ldif.p7m' >/dev/null 2>&1"), 0, 'openssl cms -sign');
my $p7m = slurp("$tmp/index.ldif.p7m");
my @anchors = (ca_file => "$pki/root.pem");

# the named signer (file name, PEM contents): loads
my $idx = Mail::PEC::Index->from_ldif($p7m, index_signers => ["$pki/provider.pem"], @anchors);
isa_ok($idx, 'Mail::PEC::Index');
is($idx->len, 1, 'one provider');
is($idx->lookup_domain('pec.example.it')->{name}, 'Example PEC S.p.A.', 'look-up');
$idx = Mail::PEC::Index->from_ldif_file("$tmp/index.ldif.p7m",
    index_signers => slurp("$pki/provider.pem"), @anchors);
is($idx->len, 1, 'from a .p7m file, the signer as contents');

# another provider's certificate named: refused, although it chains to the same root
my $e = do { local $@; eval {
    Mail::PEC::Index->from_ldif($p7m, index_signers => ["$pki/provider2.pem"], @anchors) }; $@ };
isa_ok($e, 'Mail::PEC::Error');
is($e && $e->code, 604, 'other signer: index_signature');
like($e && $e->message, qr/not a named index signer/, 'says why');

# no signer named: refused
for my $call (
    sub { Mail::PEC::Index->from_ldif($p7m, @anchors) },
    sub { Mail::PEC::Index->from_ldif_file("$tmp/index.ldif.p7m", @anchors) },
    sub { Mail::PEC::Index->from_ldif($p7m, index_signers => [], @anchors) },
) {
    my $err = do { local $@; eval { $call->() }; $@ };
    is($err && $err->code, 604, 'no index signer: index_signature');
    like($err && $err->message, qr/index signer/, 'names the missing index signer');
}

# named, no anchors: the signature is not valid
$e = do { local $@; eval {
    Mail::PEC::Index->from_ldif($p7m, index_signers => ["$pki/provider.pem"]) }; $@ };
is($e && $e->code, 604, 'no trust anchors: index_signature');
# argument errors
$e = do { local $@; eval { Mail::PEC::Index->from_ldif($p7m, index_signer => 'x') }; $@ };
is($e && $e->code, 103, 'unknown option');
$e = do { local $@; eval {
    Mail::PEC::Index->from_ldif($p7m, index_signers => ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"], @anchors) }; $@ };
is($e && $e->code, 405, 'a signer that is no certificate: bad_certificate') or diag explain $e;
$e = do { local $@; eval { Mail::PEC::Index->from_ldif_file("$tmp/missing.ldif") }; $@ };
is($e && $e->code, 105, 'missing file: io');
# plain LDIF needs no signer (bytes and file)
is(Mail::PEC::Index->from_ldif($ldif)->len, 1, 'plain LDIF');
is(Mail::PEC::Index->from_ldif_file("$tmp/index.ldif")->len, 1, 'plain LDIF file');

# the loaded index as trust list
my $signer = Mail::PEC::Signer->software(slurp("$pki/provider.key"), slurp("$pki/provider.pem"),
                                          slurp("$pki/chain.pem"));
my $t = time - 3600;
my $signed = $signer->sign_message(original_mail(), time => $t);
$idx = Mail::PEC::Index->from_ldif($p7m, index_signers => ["$pki/provider.pem"], @anchors);
my $r = Mail::PEC->verify($signed, @anchors, index => $idx);
is($r->verdict, 'valid', 'valid with the signed index') or diag explain $r->reasons;
is($r->provider->{name}, 'Example PEC S.p.A.', 'provider from the signed index');

# report keys
is($r->time_source, 'now', 'time_source now');
is($r->signed_scope, 'whole', 'signed_scope whole');
is_deeply($r->weaknesses, [], 'no weaknesses (SHA-256, RSA 2048)');
is(Mail::PEC->verify($signed, @anchors, at => time)->time_source, 'given', 'time_source given');
is(Mail::PEC->verify($signed, @anchors, at => 'signing-time')->time_source, 'signing-time-claimed',
   'time_source signing-time-claimed');
my $unsigned = Mail::PEC->verify(original_mail());
ok(!defined $unsigned->signed_scope, 'unsigned: no scope');
is(ref $unsigned->weaknesses, 'ARRAY', 'weaknesses is a list');

# message keys
my $m = Mail::PEC->parse($signed);
is($m->signed_scope, 'whole', 'message signed_scope');
ok(!defined $m->header_kind, 'no X-Ricevuta / X-Trasporto: no header_kind');
$m = Mail::PEC->parse(original_mail());
ok(!defined $m->signed_scope && !defined $m->header_kind, 'plain mail: undef');
my $interop = interop_dir() . '/OCA-l10n-italy/CONSEGNA__IT03339130126_00009.xml.txt';
SKIP: {
    unless (-f $interop) {
        BAIL_OUT("interop samples required when CI=true") if ci();
        skip 'interop samples not found', 2;
    }
    $m = Mail::PEC->parse(slurp($interop));
    is($m->header_kind, 'avvenuta-consegna', 'real receipt header_kind');
    is($m->signed_scope, 'whole', 'real receipt signed_scope');
}

done_testing;
