# Every module has POD without errors (Pod::Checker, a core module).
use strict;
use warnings;
use Test::More;
use File::Find ();
use Pod::Checker ();
use FindBin;

my @pm;
File::Find::find(sub { push @pm, $File::Find::name if /\.pm\z/ }, "$FindBin::Bin/../lib");
ok(@pm >= 11, 'modules found');
for my $file (sort @pm) {
    my $checker = Pod::Checker->new(-warnings => 1);
    open my $out, '>', \my $report;
    $checker->parse_from_file($file, $out);
    is($checker->num_errors, 0, "$file: POD has no errors") or diag $report;
    ok($checker->num_errors >= 0 && $checker->name, "$file: has a NAME");
}
done_testing;
