# The SMimeEngine error string and state are per Perl thread; handles are not cloned.
use strict;
use warnings;
use Config;
BEGIN {
    unless ($Config{useithreads}) {
        print "1..0 # SKIP perl without ithreads\n";
        exit 0;
    }
}
use threads;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp ();
use PECTest;
use Mail::PEC;
use Mail::PEC::SMimeEngine qw(init sign verify getErrStr);

need_tool('openssl', 'version');
# a plain path: a File::Temp object cloned into a thread would remove the directory at its exit
my $tmp = File::Temp::tempdir("pec-perl-XXXXXX", TMPDIR => 1, CLEANUP => 1);
my $pki = make_pki("$tmp/pki");
my $capath = make_capath("$tmp/capath", "$pki/root.pem");
spew("$tmp/mail.txt", original_mail());

is(init($capath, "$pki/provider.pem", "$pki/provider.key", ["$pki/pec-ca.pem"], 'openssl'), 0, 'init');
is(sign("$tmp/nonexistent", "$tmp/x"), 1, 'main thread: an error');
my $main_err = getErrStr();
like($main_err, qr/nonexistent/, 'main error text');

my @results = map {
    my $n = $_;
    threads->create(sub {
        my $before = getErrStr();
        my $rc_bad = sign("$tmp/missing-$n", "$tmp/x-$n");
        my $err = getErrStr();
        my $rc_sign = sign("$tmp/mail.txt", "$tmp/signed-$n");
        my $rc_verify = verify("$tmp/signed-$n", undef, 0);
        my $ok_err = getErrStr();
        my $msg = Mail::PEC->parse(slurp("$tmp/signed-$n"));
        return [$rc_bad, $err, $rc_sign, $rc_verify, $ok_err, defined $msg ? 1 : 0];
    });
} 1 .. 4;
my $i = 0;
for my $thr (@results) {
    $i++;
    my $r = $thr->join;
    is($r->[0], 1, "thread $i: its own failure");
    like($r->[1], qr/missing-$i/, "thread $i: its own error text");
    is($r->[2], 0, "thread $i: signs with the state rebuilt from init's arguments");
    is($r->[3], 0, "thread $i: verifies");
    is($r->[4], 'Verify Ok', "thread $i: Verify Ok");
    ok($r->[5], "thread $i: object API usable");
}
is(getErrStr(), $main_err, 'main thread error text unchanged by the threads');
is(sign("$tmp/mail.txt", "$tmp/signed-main"), 0, 'main thread still signs');

# objects are not cloned into threads (CLONE_SKIP): no double free
my $msg = Mail::PEC->parse(original_mail());
my $seen = threads->create(sub { defined(Scalar::Util::blessed($msg)) ? 'blessed' : 'undef' })->join;
require Scalar::Util;
is($seen, 'undef', 'a handle is undef in a new thread');
is($msg->kind, undef, 'and still works in its own thread');

done_testing;
