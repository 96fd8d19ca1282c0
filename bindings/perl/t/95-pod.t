# Every module has valid POD: Test::Pod when installed (the CPAN convention), else the core
# Pod::Checker. Both also cover the optional shim Crypt::SMimeEngine.
use strict;
use warnings;
use Test::More;
use File::Find ();
use FindBin;

my @pm;
File::Find::find(sub { push @pm, $File::Find::name if /\.pm\z/ },
    "$FindBin::Bin/../lib", "$FindBin::Bin/../shim");
@pm = sort @pm;
ok(@pm >= 12, 'modules found');

if (eval { require Test::Pod; Test::Pod->VERSION('1.22'); 1 }) {
    note 'Test::Pod ' . Test::Pod->VERSION;
    Test::Pod::pod_file_ok($_, "$_: POD (Test::Pod)") for @pm;
} else {
    note 'Test::Pod not installed: Pod::Checker';
}
require Pod::Checker;
for my $file (@pm) {
    my $checker = Pod::Checker->new(-warnings => 1);
    open my $out, '>', \my $report;
    $checker->parse_from_file($file, $out);
    is($checker->num_errors, 0, "$file: POD has no errors") or diag $report;
    ok($checker->name, "$file: has a NAME");
    open my $fh, '<', $file or die "$file: $!";
    my $text = do { local $/; <$fh> };
    like($text, qr/^=head1 LICENSE\n\n.*Apache-2\.0 OR MIT/ms, "$file: states the licence")
        if $file =~ m{/(?:PEC|SMimeEngine)\.pm\z};
}
done_testing;
