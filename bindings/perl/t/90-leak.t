# Sign and verify in a long loop: the resident set size must not grow (a leak of one message
# per iteration would add hundreds of megabytes). RSS from /proc/self/status, measured after a
# warm-up. PEC_LEAK_ITERATIONS overrides the count (default 100000).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes ();
use PECTest;
use Mail::PEC;
use Mail::PEC::SMimeEngine qw(init sign verify getErrStr getCertInfo getFingerprint digest);

plan skip_all => '/proc/self/status not available' unless defined rss_kb();
need_tool('openssl', 'version');

my $n = $ENV{PEC_LEAK_ITERATIONS} || 100_000;
my $tmp = tmpdir();
my $pki = make_pki("$tmp/pki");
my $signer = Mail::PEC::Signer->software(slurp("$pki/provider.key"), slurp("$pki/provider.pem"),
                                          slurp("$pki/chain.pem"));
my $verifier = Mail::PEC::Verifier->new(ca_file => "$pki/root.pem");
my $mail = original_mail();

my $bad = 0;
my $round = sub {
    my $signed = $signer->sign_message($mail);
    my $r = $verifier->verify($signed);
    $bad++ unless $r->{verdict} eq 'valid';
    my $m = Mail::PEC->parse($signed);
    $bad++ unless $m->signed;
    eval { Mail::PEC->parse('') };    # an error object per round
};

$round->() for 1 .. 2000;    # warm-up: allocator pools, caches
my $before = rss_kb();
my $t0 = Time::HiRes::time();
$round->() for 1 .. $n;
my $secs = Time::HiRes::time() - $t0;
my $after = rss_kb();
is($bad, 0, "$n sign + verify + parse rounds all valid");
my $growth = $after - $before;
diag(sprintf '%d rounds in %.1f s (%.0f us each); RSS %d kB -> %d kB (%+d kB)',
     $n, $secs, 1e6 * $secs / $n, $before, $after, $growth);
cmp_ok($growth, '<', 4096, 'RSS growth under 4 MB');

# the drop-in engine: init again and again, sign and verify files
spew("$tmp/mail.txt", $mail);
my $capath = make_capath("$tmp/capath", "$pki/root.pem");
my $m = int($n / 20) || 1;
my $engine_bad = 0;
my $engine_round = sub {
    my ($i) = @_;
    if ($i % 100 == 0) {
        $engine_bad++ if init($capath, "$pki/provider.pem", "$pki/provider.key",
                              ["$pki/pec-ca.pem"], 'openssl');
    }
    $engine_bad++ if sign("$tmp/mail.txt", "$tmp/mail.signed");
    $engine_bad++ if verify("$tmp/mail.signed", "$tmp/signer.pem", 0);
    $engine_bad++ unless getCertInfo("$pki/provider.pem");
    $engine_bad++ unless defined getFingerprint("$pki/provider.pem", 'sha1');
    $engine_bad++ unless defined digest("$tmp/mail.signed", 'sha256');
    init(undef, undef, undef, undef, undef) if $i % 1000 == 999;    # failure path
};
$engine_round->($_) for 0 .. 499;
$before = rss_kb();
$t0 = Time::HiRes::time();
$engine_round->($_) for 0 .. $m - 1;
$secs = Time::HiRes::time() - $t0;
$after = rss_kb();
is($engine_bad, 0, "SMimeEngine: $m rounds without failure") or diag getErrStr();
$growth = $after - $before;
diag(sprintf 'SMimeEngine: %d rounds in %.1f s; RSS %d kB -> %d kB (%+d kB)',
     $m, $secs, $before, $after, $growth);
cmp_ok($growth, '<', 4096, 'SMimeEngine RSS growth under 4 MB');

done_testing;
