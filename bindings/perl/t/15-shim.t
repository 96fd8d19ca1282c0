# The optional shim Crypt::SMimeEngine (perl Makefile.PL --crypt-smimeengine): an OpenPEC tree's
# calls, unchanged, through the original module name. Loaded from shim/ (the installed copy is
# the same file), so the test runs whether or not the shim is configured for installation.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use lib "$FindBin::Bin/../shim";
use Test::More;
use PECTest;
# OpenPEC's own import lines (Crypt::SMimeEngine 0.05 tests and OpenPEC's pec engine)
use Crypt::SMimeEngine qw(&init &sign &verify &getFingerprint &getCertInfo &getErrStr
    &ossl_version &load_privk &digest);

need_tool('openssl', 'version');

like($INC{'Crypt/SMimeEngine.pm'}, qr{/shim/Crypt/SMimeEngine\.pm\z}, 'the shim is loaded');
is(\&Crypt::SMimeEngine::sign, \&Mail::PEC::SMimeEngine::sign, 'sign is Mail::PEC::SMimeEngine::sign');
# (Exporter strips the leading & of the names once it has imported them)
is_deeply([sort map { s/\A&//r } @Crypt::SMimeEngine::EXPORT_OK],
    [sort map { s/\A&//r } @Mail::PEC::SMimeEngine::EXPORT_OK], 'the same export list');
ok(!defined &main::ossl_path, 'nothing imported unasked');
eval "use Crypt::SMimeEngine qw(:all); 1" or die $@;
ok(defined &main::ossl_path, ':all');

my $tmp = tmpdir();
my $pki = make_pki("$tmp/pki");
my $cert_dir = make_capath("$tmp/certs", "$pki/root.pem");
my $cert = "$pki/provider.pem";
my $key = "$pki/provider.key";
my $other_cert = ["$pki/pec-ca.pem"];
my $mail_in = "$tmp/mail.txt";
my $mail_out = "$tmp/mail.txt.signed";
spew($mail_in, original_mail());

# the calls of OpenPEC (init with 'openssl' and undef engine library, then sign/verify)
is(init($cert_dir, $cert, $key, $other_cert, 'openssl', undef), 0, 'init()') or diag getErrStr();
is(sign($mail_in, $mail_out), 0, 'sign(mail_in, mail_out)') or diag getErrStr();
is(verify($mail_out, "$tmp/signer.pem", 0), 0, 'verify(mail_out, signer, 0)') or diag getErrStr();
is(getErrStr(), 'Verify Ok', 'getErrStr after verify');
is(verify($mail_out, undef, 1), 0, 'verify noverify');
like(slurp($mail_out), qr/\A(?s:.)*\n------[0-9A-F]{32}\nFrom: Mario Rossi/, 'whole input signed');
is(system("openssl smime -verify -in '$mail_out' -CAfile '$pki/root.pem' -out /dev/null >/dev/null 2>&1"),
    0, 'openssl smime -verify accepts it');

my $fp = `openssl x509 -in '$cert' -noout -fingerprint -sha1`;
$fp =~ s/^.*=//;
chomp $fp;
is(getFingerprint($cert, 'sha1'), $fp, 'getFingerprint(certificate, sha1)');
is(ref(getCertInfo($cert)), 'HASH', 'getCertInfo(certificate)');
spew("$tmp/testfile.bin", "pec\n" x 100);
require Digest::SHA;
is(digest("$tmp/testfile.bin", 'sha1'), Digest::SHA::sha1_hex("pec\n" x 100), 'digest(file, sha1)');
is(load_privk("$pki/provider2.key", "$pki/provider2.pem"), 0, 'load_privk(newkey, newcert)')
    or diag getErrStr();
is(sign($mail_in, "$tmp/mail2.signed"), 0, 'sign with the new key');
like(ossl_version(), qr/^libpec /, 'ossl_version');

# the state is shared with Mail::PEC::SMimeEngine: one module under two names
is(Mail::PEC::SMimeEngine::verify("$tmp/mail2.signed", undef, 0), 0, 'shared state');

# when configured with --crypt-smimeengine the installed copy is this file
my $built = "$FindBin::Bin/../blib/lib/Crypt/SMimeEngine.pm";
if (-f $built) {
    is(slurp($built), slurp("$FindBin::Bin/../shim/Crypt/SMimeEngine.pm"), 'blib holds the shim');
} else {
    note 'shim not configured for installation (perl Makefile.PL --crypt-smimeengine)';
}

done_testing;
