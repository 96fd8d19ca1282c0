# Golden files (tests/vectors/expected/README.md): the Perl door's Mail::PEC::Message->to_json
# and Mail::PEC::Report->to_json against the expectations every door is checked against.
# Both sides are parsed as JSON and compared as values (canonical encodings). A mismatch
# writes <name>.failed beside the expectation and fails; a missing expectation fails unless
# PEC_BLESS=1 (then it is written). Interop messages are skipped when their directory is
# absent (a failure under CI=true).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Spec;
use JSON::PP ();
use Encode ();
use PECTest;
use Mail::PEC;

my $expected = File::Spec->catdir(repo_root(), 'tests', 'vectors', 'expected');
# the golden files are the repository's, not the distribution's: a tarball unpacked elsewhere
# (tests/install/perl-dist.sh) has none, and the in-tree run checks them
plan skip_all => "golden files not found at $expected (outside the repository)"
    unless -d $expected;
my $json = JSON::PP->new->canonical;

sub write_text {
    my ($path, $text) = @_;
    $text =~ s/\s+\z//;
    spew($path, Encode::encode_utf8("$text\n"));
}

# Compares the door's JSON text (characters) with the expectation $name: undef when it
# matches (or was blessed), else what is wrong.
sub compare_golden {
    my ($name, $actual) = @_;
    my $path = "$expected/$name";
    my $failed = "$path.failed";
    my $actual_value = eval { $json->decode($actual) };
    return "$name: the door printed no JSON: $@" unless defined $actual_value;
    unless (-f $path) {
        return "$path: no expectation; run with PEC_BLESS=1 to write it"
            unless ($ENV{PEC_BLESS} // '') eq '1';
        write_text($path, $actual);
        return undef;
    }
    my $expected_value = $json->decode(Encode::decode_utf8(slurp($path)));
    if ($json->encode($expected_value) eq $json->encode($actual_value)) {
        unlink $failed;
        return undef;
    }
    write_text($failed, $actual);
    return "$name: differs from the expectation; actual output in $failed";
}

sub check_golden {
    my ($name, $actual) = @_;
    my $problem = compare_golden($name, $actual);
    ok(!defined $problem, "$name: as expected") or diag($problem);
}

my $dir = interop_dir();
my $have_interop = -d $dir;
unless ($have_interop) {
    BAIL_OUT("interop samples missing at $dir (CI=true)") if ci();
    diag("interop samples not found at $dir: their golden files are skipped");
}

my $v = Mail::PEC::Verifier->new(ca_file => "$expected/anchors.pem", at => 'signing-time');
open my $list, '<', "$expected/sources.txt" or die "sources.txt: $!";
my $messages = 0;
while (my $line = <$list>) {
    $line =~ s/\s+\z//;
    next if $line eq '' || $line =~ /\A#/;
    my $file;
    if ($line =~ m{\Avectors/(.+)\z}) {
        $file = File::Spec->catfile(repo_root(), 'tests', 'vectors', $1);
    } elsif ($line =~ m{\Ainterop/(.+)\z}) {
        next unless $have_interop;
        $file = "$dir/$1";
    } else {
        fail("sources.txt: bad line $line");
        next;
    }
    (my $stem = $line) =~ s{/}{__}g;
    my $bytes = slurp($file);
    my $m = Mail::PEC->parse($bytes);
    check_golden("$stem.inspect.json", $m->to_json);
    my $r = $v->verify($bytes);
    check_golden("$stem.verify.json", $r->to_json);
    # the wire names are the keys of the Perl structures
    my $mv = $json->decode($m->to_json);
    is($mv->{daticert}{gestore_emittente}, $m->daticert->{gestore_emittente}, "$stem: daticert keys")
        if $m->daticert;
    is($json->decode($r->to_json)->{verdict}, $r->verdict, "$stem: report keys");
    $messages++;
}
close $list;
cmp_ok($messages, '>=', 7, "$messages messages checked");

# the comparison itself: values, not layout; a difference writes .failed
{
    my $name = "selftest-perl-$$.json";
    my ($path, $failed) = ("$expected/$name", "$expected/$name.failed");
    spew($path, qq({"a": [1, true, null], "b": "x"}\n));
    is(compare_golden($name, qq({\n  "b": "x",\n  "a": [1, true, null]\n})), undef,
       'the same values in another layout match');
    like(compare_golden($name, qq({"a": [1, true, null], "b": "y"})), qr/differs/,
         'a different value does not');
    ok(-f $failed && slurp($failed) =~ /"y"/, 'a mismatch writes the .failed file');
    unlink $path, $failed;
}

done_testing;
