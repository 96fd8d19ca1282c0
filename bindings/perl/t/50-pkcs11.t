# Signing through a SoftHSM2 token (tests/softhsm/make-token.sh, hermetic: SOFTHSM2_CONF points
# into a temporary directory): the object API and Mail::PEC::SMimeEngine with ENGINE 'pkcs11'.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PECTest;
use Mail::PEC;
use Mail::PEC::SMimeEngine qw(init sign verify getErrStr);

need_tool('softhsm2-util', '--version');
need_tool('pkcs11-tool', '--help');
need_tool('openssl', 'version');

my $tmp = tmpdir();
my $tok = make_token("$tmp/token");
unless (-f $tok->{module}) {
    BAIL_OUT("PKCS#11 module $tok->{module} missing (CI=true)") if ci();
    plan skip_all => "PKCS#11 module $tok->{module} not found";
}
$ENV{SOFTHSM2_CONF} = $tok->{conf};    # before the module is first initialised

my $cert = slurp($tok->{cert});

# first, while no session is logged in (a login holds for every session of the process)
my $e = do { local $@; eval { Mail::PEC::Signer->pkcs11($tok->{uri} =~ s/pin-source=[^;&]*/pin-value=0000/r, $tok->{module}, $cert, undef) }; $@ };
is($e && $e->code, 503, 'wrong PIN: pkcs11_pin_incorrect') or diag "$e";

my $signer = Mail::PEC::Signer->pkcs11($tok->{uri}, $tok->{module}, $cert, undef);
isa_ok($signer, 'Mail::PEC::Signer');
my $signed = $signer->sign_message(original_mail());
my $r = Mail::PEC->verify($signed, ca_file => $tok->{cert});
is_deeply([grep { $_ < 400 } @{ $r->reason_codes }], [], 'PKCS#11 signature is good')
    or diag explain $r->reasons;
is($r->verdict, 'valid', 'valid under the token certificate') or diag explain $r->reasons;
spew("$tmp/hsm.eml", $signed);
is(system("openssl cms -verify -in '$tmp/hsm.eml' -CAfile '$tok->{cert}' -out /dev/null >/dev/null 2>&1"),
   0, 'openssl cms -verify accepts the HSM signature');

# the certificate read from the token
my $s2 = Mail::PEC::Signer->pkcs11($tok->{uri}, $tok->{module}, undef, undef);
is(Mail::PEC->verify($s2->sign_message(original_mail()), ca_file => $tok->{cert})->verdict,
   'valid', 'certificate read from the token');

# building signed notices through the HSM
my $prov = Mail::PEC::Provider->new(name => 'PEC Test', domain => 'pec.example.it',
                                    certified_domains => ['pec.example.it']);
my $acc = $prov->build('accettazione', original => original_mail(), signer => $signer);
is(Mail::PEC->parse($acc)->kind, 'accettazione', 'acceptance built');
is(Mail::PEC->verify($acc, ca_file => $tok->{cert})->verdict, 'valid', 'signed by the HSM');

# errors
$e = do { local $@; eval { Mail::PEC::Signer->pkcs11('pkcs11:token=nope;object=provider;type=private?pin-value=1234', $tok->{module}, $cert, undef) }; $@ };
is($e && $e->code, 501, 'unknown token: pkcs11_token_not_found') or diag "$e";
$e = do { local $@; eval { Mail::PEC::Signer->pkcs11('not a uri', $tok->{module}, $cert, undef) }; $@ };
is($e && $e->code, 506, 'bad URI: pkcs11_uri') or diag "$e";
$e = do { local $@; eval { Mail::PEC::Signer->pkcs11($tok->{uri}, '/nonexistent/libpkcs11.so', $cert, undef) }; $@ };
is($e && $e->code, 500, 'missing module: pkcs11_module') or diag "$e";

# the drop-in engine
my $capath = make_capath("$tmp/capath", $tok->{cert});
is(init($capath, $tok->{cert}, $tok->{uri}, [], 'pkcs11', $tok->{module}), 0, 'init pkcs11')
    or diag getErrStr();
spew("$tmp/mail.txt", original_mail());
is(sign("$tmp/mail.txt", "$tmp/mail.signed"), 0, 'sign through the HSM') or diag getErrStr();
is(verify("$tmp/mail.signed", "$tmp/signer.pem", 0), 0, 'verify') or diag getErrStr();
is(system("openssl cms -verify -in '$tmp/mail.signed' -CAfile '$tok->{cert}' -out /dev/null >/dev/null 2>&1"),
   0, 'openssl agrees');
is(init($capath, $tok->{cert}, 'pkcs11:token=nope;type=private?pin-value=1', [], 'pkcs11', $tok->{module}), 1,
   'init pkcs11 with an unknown token: 1');
like(getErrStr(), qr/token/i, '... error text: ' . getErrStr());
is(init($capath, $tok->{cert}, undef, [], 'pkcs11', $tok->{module}), 1, 'init pkcs11 without KEY: 1');
is(init($capath, $tok->{cert}, $tok->{uri}, [], 'pkcs11', undef), 1,
   'init pkcs11 without module (and none in the URI): 1');
ok(length getErrStr(), '... error text: ' . getErrStr());

# OpenSSL engine names of OpenPEC configurations (chil: nCipher) map to PKCS#11 through the
# environment: module and URI template (%k is the KEY OpenPEC passes)
{
    local $ENV{PEC_SMIME_PKCS11_MODULE} = $tok->{module};
    local $ENV{PEC_SMIME_PKCS11_URI} =
        "pkcs11:token=pec-test;object=%k;type=private?pin-source=file:$tok->{dir}/pin.txt";
    is(init($capath, $tok->{cert}, 'provider', [], 'chil', '/opt/nfast/toolkits/hwcrhk/libnfhwcrhk.so'),
       0, "ENGINE 'chil' with KEY 'provider': PKCS#11 from the environment") or diag getErrStr();
    is(sign("$tmp/mail.txt", "$tmp/chil.signed"), 0, '... sign') or diag getErrStr();
    is(verify("$tmp/chil.signed", undef, 0), 0, '... verify') or diag getErrStr();
    is(system("openssl smime -verify -in '$tmp/chil.signed' -CAfile '$tok->{cert}' -out /dev/null >/dev/null 2>&1"),
       0, '... openssl agrees');
    is(init($capath, $tok->{cert}, 'no-such-key', [], 'chil', undef), 1, '... an unknown key label: 1');
    like(getErrStr(), qr/key|object/i, '... error text: ' . getErrStr());
}
{
    local $ENV{PEC_SMIME_PKCS11_MODULE};
    local $ENV{PEC_SMIME_PKCS11_URI};
    # init options instead of the environment; no template: KEY is the object label
    (my $pin_uri = "pin-source=file:$tok->{dir}/pin.txt");
    is(init($capath, $tok->{cert}, "pkcs11:token=pec-test;object=provider;type=private?$pin_uri",
            [], 'CHIL', undef, { pkcs11_module => $tok->{module} }),
       0, 'engine name is case-insensitive; module from the init option') or diag getErrStr();
    is(sign("$tmp/mail.txt", "$tmp/chil2.signed"), 0, '... sign') or diag getErrStr();
    is(init($capath, $tok->{cert}, 'provider', [], 'chil', undef,
            { pkcs11_module => $tok->{module},
              pkcs11_uri => "pkcs11:token=pec-test;object=%k;type=private?$pin_uri" }),
       0, 'URI template from the init option') or diag getErrStr();
    is(sign("$tmp/mail.txt", "$tmp/chil3.signed"), 0, '... sign') or diag getErrStr();
    is(init($capath, $tok->{cert}, 'provider', [], 'chil', undef), 1,
       'chil without any PKCS#11 configuration: 1');
    like(getErrStr(), qr/\AError to load engine: chil .*PEC_SMIME_PKCS11_MODULE/, '... says what to set');
}

done_testing;
