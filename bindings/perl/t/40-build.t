# Mail::PEC::Provider builds every kind, signed with a software key; the results parse back
# to the right kind and verify (and openssl agrees on the signatures).
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
my $sender = Mail::PEC::Provider->new(
    name              => 'Example PEC S.p.A.',
    domain            => 'pec.example.it',
    certified_domains => ['pec.example.it', 'pec.ente.example.it'],
    timezone          => 'Europe/Rome');
is($sender->name, 'Example PEC S.p.A.', 'name');
is($sender->domain, 'pec.example.it', 'domain');
my $receiver = Mail::PEC::Provider->from_toml(<<'TOML');
name = "Ente PEC S.r.l."
domain = "pec.ente.example.it"
certified_domains = ["pec.example.it", "pec.ente.example.it"]
TOML
is($receiver->name, 'Ente PEC S.r.l.', 'from_toml');

my $original = original_mail();
my $time = '2024-11-25T10:00:00+01:00';
my $id = 'opec.20241125100000.42@pec.example.it';
my %common = (time => $time, signer => $signer);

my %built;
$built{accettazione} = $sender->build('accettazione', original => $original, identifier => $id, %common);
$built{'posta-certificata'} = $sender->build('posta-certificata', original => $original, identifier => $id, %common);
$built{'non-accettazione'} = $sender->build('non-accettazione', original => $original,
    error => 'altro', error_text => 'formal checks failed', %common);
my $env = $built{'posta-certificata'};
$built{'presa-in-carico'} = $receiver->build('presa-in-carico', envelope => $env,
    recipients => ['ufficio@pec.ente.example.it'], %common);
$built{'avvenuta-consegna'} = $receiver->build('avvenuta-consegna', envelope => $env,
    recipients => 'ufficio@pec.ente.example.it', %common);
$built{'errore-consegna'} = $receiver->build('errore-consegna', envelope => $env,
    recipients => 'ufficio@pec.ente.example.it', error => 'no-dest',
    error_text => '5.1.1 - utente inesistente', %common);
$built{'preavviso-errore-consegna'} = $sender->build('preavviso-errore-consegna', envelope => $env,
    recipients => 'ufficio@pec.ente.example.it', timeout => '12h', %common);
$built{'rilevazione-virus'} = $receiver->build('rilevazione-virus', envelope => $env,
    recipients => 'ufficio@pec.ente.example.it', %common);
$built{errore} = $receiver->build('errore', envelope => $original, %common);

is(scalar keys %built, 9, 'nine kinds built');
for my $kind (sort keys %built) {
    my $bytes = $built{$kind};
    my $m = Mail::PEC->parse($bytes);
    is($m->kind, $kind, "$kind: parses back");
    ok($m->signed, "$kind: signed");
    my $r = Mail::PEC->verify($bytes, ca_file => "$pki/root.pem");
    is($r->verdict, 'valid', "$kind: verifies") or diag explain $r->reasons;
    spew("$tmp/$kind.eml", $bytes);
    is(system("openssl cms -verify -in '$tmp/$kind.eml' -CAfile '$pki/root.pem' -out /dev/null >/dev/null 2>&1"),
       0, "$kind: openssl cms -verify");
    next if $kind eq 'errore';
    my $d = $m->daticert;
    is($d->{tipo}, $kind, "$kind: daticert tipo");
    is($d->{mittente}, 'mario.rossi@pec.example.it', "$kind: mittente");
    is($d->{data}{giorno}, '25/11/2024', "$kind: giorno");
    is($d->{data}{zona}, '+0100', "$kind: zona");
}
is(Mail::PEC->parse($built{accettazione})->identificativo, $id, 'acceptance carries the identifier');
is(Mail::PEC->parse($env)->identificativo, $id, 'so does the envelope');
my $carried = Mail::PEC->parse($env)->original;
like($carried, qr/\r\n\r\nBuongiorno,\r\ninvio la richiesta\.\r\n\z/, 'the envelope carries the original');
like($carried, qr/^Message-ID: <\Q$id\E>\r$/m, '... its Message-ID replaced by the PEC identifier');
like($carried, qr/^X-Riferimento-Message-ID: <a1b2c3\@client\.example>\r$/m, '... the client one kept');
is(Mail::PEC->parse($env)->msgid, '<a1b2c3@client.example>', 'msgid');
my $dc = Mail::PEC->parse($built{'avvenuta-consegna'})->daticert;
is($dc->{consegna}, 'ufficio@pec.ente.example.it', 'delivery: consegna');
is($dc->{ricevuta}, 'completa', 'delivery: completa');
is_deeply(Mail::PEC->parse($built{'presa-in-carico'})->daticert->{ricezione},
    ['ufficio@pec.ente.example.it'], 'take-charge: ricezione');
is(Mail::PEC->parse($built{'errore-consegna'})->daticert->{errore}, 'no-dest', 'non-delivery: errore');
ok(Mail::PEC->parse($built{'rilevazione-virus'})->security_error || 1, 'virus notice parses');

# unsigned builds, receipt types, epoch times
my $unsigned = $sender->build('accettazione', original => $original, time => 1732525200);
ok(!Mail::PEC->parse($unsigned)->signed, 'without a signer: unsigned');
my $signed = $signer->sign_message($unsigned);
is(Mail::PEC->verify($signed, ca_file => "$pki/root.pem")->verdict, 'valid', 'signed afterwards');
my $brief = $receiver->build('avvenuta-consegna', envelope => $env,
    recipients => 'ufficio@pec.ente.example.it', receipt_type => 'breve', %common);
is(Mail::PEC->parse($brief)->daticert->{ricevuta}, 'breve', 'brief receipt');
my @hp = Mail::PEC->parse($brief)->hash_parts;
ok(scalar @hp >= 0, 'hash_parts: ' . scalar @hp);

# the index classifies recipients
my $idx = Mail::PEC::Index->from_ldif(ldif_entry(name => 'Ente PEC S.r.l.',
    mail_receipt => 'posta-certificata@pec.ente.example.it', domains => ['pec.ente.example.it'],
    cert_pem => slurp("$pki/provider2.pem")));
is($idx->len, 1, 'index len');
ok($idx->is_certified('x@pec.ente.example.it'), 'is_certified');
ok(!$idx->is_certified('x@gmail.com'), 'not certified');
my $rec = $idx->lookup_domain('PEC.ENTE.example.it');
is($rec->{name}, 'Ente PEC S.r.l.', 'lookup_domain');
is_deeply($rec->{domains}, ['pec.ente.example.it'], 'domains');
is($idx->lookup_name('ente pec s.r.l.')->{mail_receipt}, 'posta-certificata@pec.ente.example.it',
   'lookup_name');
ok(!defined $idx->lookup_domain('nowhere.example'), 'unknown domain: undef');
ok(!defined $idx->lookup_cert_hash('0' x 40), 'unknown hash: undef');
my $p2 = Mail::PEC::Provider->new(name => 'Example PEC S.p.A.', domain => 'pec.example.it',
                                  index => $idx);
my $env2 = $p2->build('posta-certificata', original => original_mail(to => 'a@pec.ente.example.it, b@gmail.com'),
                      time => $time);
my %tipo = map { $_->{address} => $_->{tipo} } @{ Mail::PEC->parse($env2)->daticert->{destinatari} };
is_deeply(\%tipo, { 'a@pec.ente.example.it' => 'certificato', 'b@gmail.com' => 'esterno' },
    'recipients classified by the index');

# LDAP: an unreachable server is a timely ldap_connect error
my $e = do { local $@; eval { Mail::PEC::Index->from_ldap('ldap://127.0.0.1:1', timeout => 2) }; $@ };
ok($e && ($e->code == 601 || $e->code == 602), 'unreachable LDAP: ' . ($e ? $e->name : 'no error'));

done_testing;
