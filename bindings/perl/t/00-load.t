use strict;
use warnings;
use Test::More;

use_ok('Mail::PEC');
use_ok('Mail::PEC::SMimeEngine', qw(&init &sign &verify &getFingerprint &getCertInfo
    &ossl_version &ossl_path &load_privk &getErrStr &digest));

like(Mail::PEC->version, qr/\A\d+\.\d+\.\d+/, 'library version');
is(Mail::PEC::header_version(), Mail::PEC->version, 'header and library agree');
like(ossl_version(), qr/\Alibpec \d+\.\d+\.\d+\z/, 'ossl_version');
like(ossl_path(), qr/\ALIBPECDIR: "/, 'ossl_path');
is(getErrStr(), '', 'no error yet');

is(Mail::PEC::result_name(303), 'bad_signature', 'result_name');
is(Mail::PEC::Error::BAD_SIGNATURE(), 303, 'code constants');
is(Mail::PEC::Error::OK(), 0, 'OK constant');
is(Mail::PEC::Error->codes->{pkcs11_pin_incorrect}, 503, 'codes map');
ok(!defined Mail::PEC::result_name(99999), 'unknown code has no name');

done_testing;
