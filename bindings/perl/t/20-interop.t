# The object API on the real PEC samples of ../shared/interop (skipped when absent, unless
# CI=true).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PECTest;
use Mail::PEC;

my $dir = interop_dir();
unless (-d $dir) {
    BAIL_OUT("interop samples missing at $dir (CI=true)") if ci();
    plan skip_all => "interop samples not found at $dir";
}

my %kind = (
    'OCA-l10n-italy/ACCETTAZIONE__IT03339130126_00009.xml.txt'              => 'accettazione',
    'OCA-l10n-italy/CONSEGNA__IT03339130126_00009.xml.txt'                  => 'avvenuta-consegna',
    'OCA-l10n-italy/POSTA_CERTIFICATA__Invio_File_7339338.txt'              => 'posta-certificata',
    'OCA-l10n-italy/POSTA_CERTIFICATA__Invio_File_7339338_base64.txt'       => 'posta-certificata',
    'OCA-l10n-italy/POSTA_CERTIFICATA__Ricevuta_di_consegna_6782414.txt'    => 'posta-certificata',
    'OCA-l10n-italy/POSTA_CERTIFICATA_mancata_consegna.txt'                 => 'posta-certificata',
    'go-pec/accettazione.eml'        => 'accettazione',
    'go-pec/consegna.eml'            => 'errore-consegna',
    'go-pec/email_2.eml'             => 'avvenuta-consegna',
    'go-pec/email_3.eml'             => 'posta-certificata',
    'java-pec-parser/accettazione.eml' => 'accettazione',
    'java-pec-parser/consegna.eml'   => 'errore-consegna',
);

for my $name (sort keys %kind) {
    my $path = "$dir/$name";
    next unless -f $path;
    my $bytes = slurp($path);
    my $m = eval { Mail::PEC->parse($bytes) };
    ok($m, "$name parses") or do { diag "$@"; next };
    isa_ok($m, 'Mail::PEC::Message');
    is($m->kind, $kind{$name}, "$name: kind");
    ok($m->is_pec, "$name: is_pec");
    is($m->bytes, $bytes, "$name: bytes kept exactly");
    my $d = $m->daticert;
    if ($name =~ /mancata_consegna/) {
        ok(!defined $d, "$name: no daticert.xml");
        next;
    }
    is(ref $d, 'HASH', "$name: daticert");
    is($d->{tipo}, $kind{$name}, "$name: daticert tipo");
    is(ref $d->{destinatari}, 'ARRAY', "$name: destinatari");
    ok(@{ $d->{destinatari} } >= 1, "$name: at least one recipient");
    like($_->{tipo}, qr/\A(?:certificato|esterno)\z/, "$name: recipient $_->{address} tipo")
        for @{ $d->{destinatari} };
    like($d->{data}{giorno}, qr{\A\d\d/\d\d/\d{4}\z}, "$name: data/giorno");
    like($d->{data}{ora}, qr/\A\d\d:\d\d:\d\d\z/, "$name: data/ora");
    ok(length $d->{gestore_emittente}, "$name: gestore_emittente");
    ok(length $d->{identificativo}, "$name: identificativo");
    is($m->identificativo, $d->{identificativo}, "$name: identificativo matches daticert");
    ok(exists $d->{$_}, "$name: key $_")
        for qw(errore mittente risposte oggetto msgid ricevuta consegna ricezione errore_esteso);
    ok(length $d->{mittente}, "$name: mittente");
    if ($kind{$name} eq 'posta-certificata' || $kind{$name} eq 'avvenuta-consegna'
        && ($d->{ricevuta} // 'completa') eq 'completa') {
        my $orig = $m->original;
        ok(defined $orig && length $orig, "$name: original (postacert.eml)");
        my $inner = eval { Mail::PEC->parse($orig) };
        ok($inner, "$name: the original parses as a message");
    }
}

# the Aruba receipts: valid at their signing time under Actalis; a changed byte is refused
my $actalis = '/etc/ssl/certs/Actalis_Authentication_Root_CA.pem';
for my $name ('OCA-l10n-italy/ACCETTAZIONE__IT03339130126_00009.xml.txt',
              'OCA-l10n-italy/CONSEGNA__IT03339130126_00009.xml.txt') {
    my $bytes = slurp("$dir/$name");
    my $m = Mail::PEC->parse($bytes);
    ok($m->signed, "$name: signed");
    my %trust = -f $actalis ? (ca_file => $actalis) : ();
    my $r = Mail::PEC->verify($bytes, %trust, at => 'signing-time');
    isa_ok($r, 'Mail::PEC::Report');
    is_deeply([grep { $_ < 400 } @{ $r->reason_codes }], [], "$name: signature good")
        or diag explain $r->reasons;
    is($r->digest, 'sha1', "$name: digest sha1");
    ok($r->weak_digest, "$name: weak digest flagged");
    like($r->signer->{subject}, qr/Aruba/i, "$name: signer subject $r->{signer}{subject}");
    is((gmtime $r->signing_time)[5] + 1900, 2018, "$name: signed in 2018");
    is($r->evaluated_at, $r->signing_time, "$name: evaluated at the signing time");
    if (-f $actalis) {
        is($r->verdict, 'valid', "$name: valid under Actalis at the signing time")
            or diag explain $r->reasons;
        ok(@{ $r->chain } >= 2, "$name: chain " . join(' <- ', @{ $r->chain }));
    }
    my $now = Mail::PEC->verify($bytes, %trust);
    ok($now->has_reason('expired'), "$name: expired today");

    (my $bad = $bytes) =~ s/accettat|consegnat/XXXXXXXX/;
    my $rb = Mail::PEC->verify($bad, %trust, at => 'signing-time');
    is($rb->verdict, 'invalid', "$name: changed byte refused");
    ok($rb->has_reason('content-mismatch'), "$name: content-mismatch");

    my $untrusted = Mail::PEC->verify($bytes, at => 'signing-time');
    ok($untrusted->has_reason('untrusted-chain'), "$name: no anchors: untrusted-chain");
}

# the edited SDI envelopes do not verify
for my $name ('OCA-l10n-italy/POSTA_CERTIFICATA__Invio_File_7339338.txt') {
    my $r = Mail::PEC->verify(slurp("$dir/$name"), at => 'signing-time');
    is($r->verdict, 'invalid', "$name: edited envelope refused");
}

done_testing;
