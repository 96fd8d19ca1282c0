use strict;
use warnings;
use Test::More;
use Mail::PEC;

# every croak is a Mail::PEC::Error with code, name, message; it stringifies to the message
my $e = do { local $@; eval { Mail::PEC->parse('') }; $@ };
isa_ok($e, 'Mail::PEC::Error');
is($e->code, 200, 'empty input: malformed_message');
is($e->name, 'malformed_message', 'name');
ok(length $e->message, 'message');
is("$e", $e->message, 'stringifies to the message');
is(0 + $e, 200, 'numifies to the code');

$e = do { local $@; eval { Mail::PEC->parse(undef) }; $@ };
is($e->code, 100, 'undef bytes: null_parameter');

$e = do { local $@; eval { Mail::PEC::Message::kind('not an object') }; $@ };
is($e->code, 103, 'wrong handle type: invalid_parameter');

$e = do { local $@; eval { Mail::PEC::Message::kind(bless \(my $x = 0), 'Mail::PEC::Message') }; $@ };
is($e->code, 103, 'released handle: invalid_parameter');

$e = do { local $@; eval { Mail::PEC::Signer->software('junk', 'junk', undef) }; $@ };
ok($e && ($e->code == 407 || $e->code == 405), 'bad key / certificate: ' . ($e ? $e->name : ''));

$e = do { local $@; eval { Mail::PEC::Signer->software(undef, undef, undef) }; $@ };
is($e->code, 100, 'undef key');

$e = do { local $@; eval { Mail::PEC::Provider->new(name => 'x') }; $@ };
is($e->code, 704, 'provider without domain: provider_config');

$e = do { local $@; eval { Mail::PEC::Provider->new(name => 'X', domain => 'pec.x.it', bogus => 1) }; $@ };
is($e->code, 103, 'unknown option');

# the fields are checked by libpec as a provider file is (pec_provider_from_fields)
for my $bad ([name => "A\nB", domain => 'pec.x.it'], [name => 'X', domain => 'pec x.it'],
             [name => 'X', domain => 'pec.x.it', certified_domains => ['pec.x.it', 'not a domain']],
             [name => 'X', domain => 'pec.x.it', certified_domains => [undef]],
             [name => 'X', domain => 'pec.x.it', timezone => 'Mars/Olympus']) {
    $e = do { local $@; eval { Mail::PEC::Provider->new(@$bad) }; $@ };
    is($e && $e->code, 704, "provider fields refused: @$bad[2 .. $#$bad]");
}
$e = do { local $@; eval { Mail::PEC::Provider->new(name => 'X', domain => 'pec.x.it', index => 'nope') }; $@ };
ok($e, 'index must be a Mail::PEC::Index');

my $prov = Mail::PEC::Provider->new(name => 'X', domain => 'pec.x.it', certified_domains => ['pec.x.it']);
$e = do { local $@; eval { $prov->build('nonsense', original => "From: a\@b.c\r\n\r\nx") }; $@ };
is($e->code, 700, 'unknown kind');
$e = do { local $@; eval { $prov->build('accettazione') }; $@ };
is($e->code, 701, 'missing original: missing_input');
$e = do { local $@; eval { $prov->build('accettazione', original => undef, error => 'bogus') }; $@ };
is($e->code, 103, 'bad error value: invalid_parameter');

$e = do { local $@; eval { Mail::PEC::Index->from_ldif("dn: x\nnot an attribute line\n") }; $@ };
is($e && $e->code, 600, 'bad ldif: ldif_malformed');

$e = do { local $@; eval { Mail::PEC::Digest->new('md2') }; $@ };
is($e->code, 304, 'unknown digest: unsupported_algorithm');

$e = do { local $@; eval { Mail::PEC->verify("From: a\@b.c\r\n\r\nbody", bogus => 1) }; $@ };
is($e->code, 103, 'unknown verify option');

$e = do { local $@; eval { Mail::PEC->verify("x", ca_file => '/nonexistent/ca.pem') }; $@ };
is($e->code, 105, 'missing ca_file: io');
$e = do { local $@; eval { Mail::PEC->verify("x", crl => ['/nonexistent/ca.crl']) }; $@ };
is($e->code, 105, 'missing crl file: io');

$e = do { local $@; eval { Mail::PEC::Certificate->info('not a certificate') }; $@ };
is($e->code, 405, 'bad certificate');

$e = do { local $@; eval { Mail::PEC->parse("Subject: \x{263a}\r\n\r\n") }; $@ };
is($e->code, 103, 'wide characters refused');

# an unsigned message verifies to "invalid", not an error
my $r = Mail::PEC->verify("From: a\@b.c\r\nSubject: x\r\n\r\nbody\r\n");
is($r->verdict, 'invalid', 'unsigned: invalid');
is_deeply($r->reasons, ['no-signature'], 'unsigned: no-signature');
is_deeply($r->reason_codes, [300], 'reason code');

done_testing;
