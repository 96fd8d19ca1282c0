package Mail::PEC::SMimeEngine;
use strict;
use warnings;

our $VERSION = '0.1.0';

use Exporter 'import';
use File::Basename ();
use Scalar::Util ();
use Mail::PEC ();

our @EXPORT_OK = qw(&init &sign &verify &getFingerprint &getCertInfo &ossl_version
                    &ossl_path &load_privk &getErrStr &digest);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

# The error text of the last call: a package variable, hence one per Perl thread.
our $ERRSTR = '';

# The state made by init: arguments (to rebuild it in a new ithread, where the handles of the
# parent are not copied), signer, verifier. Replacing it frees the previous handles.
my %STATE;

my @MONTHS = qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec);

sub _fail {
    $ERRSTR = $_[0];
    return 1;
}

# The text of an exception (a Mail::PEC::Error or a plain die).
sub _text {
    my ($e) = @_;
    return $e->message if Scalar::Util::blessed($e) && $e->isa('Mail::PEC::Error');
    my $s = "$e";
    $s =~ s/ at \S+ line \d+\.?\n?\z//;
    return $s;
}

sub _read {
    my ($path) = @_;
    return undef unless defined $path && length $path;
    open my $fh, '<:raw', $path or return undef;
    local $/;
    my $data = <$fh>;
    close $fh;
    return defined $data ? $data : '';
}

sub _write {
    my ($path, $data) = @_;
    return 0 unless defined $path && length $path;
    open my $fh, '>:raw', $path or return 0;
    print {$fh} $data or return 0;
    return close $fh;
}

sub _is_handle { Scalar::Util::blessed($_[0]) ? 1 : 0 }

# Makes the signer for the engine; dies with a Mail::PEC::Error or a message.
sub _signer {
    my ($engine, $engine_so, $key, $cert_pem, $chain_pem) = @_;
    if ($engine eq 'pkcs11') {
        die "Error to load private key: KEY is undef\n" unless defined $key && length $key;
        my $module = defined $engine_so && length $engine_so ? $engine_so : undef;
        return Mail::PEC::Signer->pkcs11($key, $module, $cert_pem, $chain_pem);
    }
    my $key_pem = _read($key);
    die 'Error to access to key file: ' . (defined $key ? $key : '(undef)') . "\n"
        unless defined $key_pem;
    return Mail::PEC::Signer->software($key_pem, $cert_pem, $chain_pem);
}

sub _init {
    my ($capath, $certsigner, $key, $other, $engine, $engine_so) = @_;
    $engine = 'openssl' if !defined $engine || $engine eq '';
    $engine = lc $engine;
    return _fail("Error to load engine: $engine (supported: openssl, pkcs11)")
        unless $engine eq 'openssl' || $engine eq 'pkcs11';
    return _fail('Error to access to CA path: ' . (defined $capath ? $capath : '(undef)'))
        unless defined $capath && -d $capath && -r _;
    my $cert_pem = _read($certsigner);
    return _fail('Error to load certificate file: '
            . (defined $certsigner ? $certsigner : '(undef)'))
        unless defined $cert_pem;
    $other = [] unless ref $other eq 'ARRAY';
    my $chain_pem = '';
    for my $f (@$other) {
        my $pem = _read($f);
        return _fail('Error reading chain certificate: ' . (defined $f ? $f : '(undef)'))
            unless defined $pem;
        $chain_pem .= $pem . "\n";
    }
    my ($signer, $verifier);
    my $ok = eval {
        $signer = _signer($engine, $engine_so, $key, $cert_pem, $chain_pem);
        $verifier = Mail::PEC::Verifier->new(ca_path => $capath);
        1;
    };
    return _fail('Error in init: ' . _text($@)) unless $ok;
    %STATE = (
        args     => [ $capath, $certsigner, $key, [@$other], $engine, $engine_so ],
        engine   => $engine,
        engine_so => $engine_so,
        cert_pem => $cert_pem,
        chain_pem => $chain_pem,
        signer   => $signer,
        verifier => $verifier,
    );
    return 0;
}

# Whether init succeeded; rebuilds the handles in a new ithread.
sub _ready {
    return 1 if _is_handle($STATE{signer}) && _is_handle($STATE{verifier});
    return 0 unless $STATE{args};
    my @args = @{ $STATE{args} };
    %STATE = ();
    return _init(@args) == 0;
}

sub init($$$$$;$) {
    my ($capath, $certsigner, $key, $other, $engine, $engine_so) = @_;
    $ERRSTR = '';
    %STATE = ();    # releases the previous key, sessions and trust store
    return _init($capath, $certsigner, $key, $other, $engine, $engine_so);
}

sub sign {
    my ($in, $out) = @_;
    $ERRSTR = '';
    return _fail('init must be run correctly') unless _ready();
    my $data = _read($in);
    return _fail('Error to access to file: ' . (defined $in ? $in : '(undef)'))
        unless defined $data;
    return _fail('Error to write signed file: output path is undef')
        unless defined $out && length $out;
    my $signed = eval { $STATE{signer}->sign_message($data) };
    return _fail('Error to sign file ' . $in . ': ' . _text($@)) unless defined $signed;
    return _fail("Error to write signed file $out: $!") unless _write($out, $signed);
    return 0;
}

sub verify {
    my ($smime, $signer_file, $noverify) = @_;
    $ERRSTR = '';
    return _fail('init must be run correctly') unless _ready();
    my $data = _read($smime);
    return _fail('Error to access to mail file: ' . (defined $smime ? $smime : '(undef)'))
        unless defined $data;
    my $r = eval { $STATE{verifier}->verify($data) };
    return _fail('Verify failed: ' . _text($@)) unless $r;
    my $ok;
    if ($noverify) {
        # only the signature itself: certificate problems (4xx reasons) are ignored
        my @fatal = grep { $_ < 400 || $_ >= 500 } @{ $r->{reason_codes} };
        $ok = !@fatal && defined $r->{signer};
    } else {
        $ok = $r->{verdict} eq 'valid';
    }
    return _fail('Verify failed: ' . (join(', ', @{ $r->{reasons} }) || $r->{verdict}))
        unless $ok;
    if (defined $signer_file && length $signer_file) {
        my $der = $r->{signer}{der};
        my $b64 = '';
        require MIME::Base64;
        $b64 = MIME::Base64::encode_base64($der, '');
        $b64 =~ s/(.{1,64})/$1\n/g;
        my $pem = "-----BEGIN CERTIFICATE-----\n$b64-----END CERTIFICATE-----\n";
        return _fail("Error writing signers to $signer_file") unless _write($signer_file, $pem);
    }
    $ERRSTR = 'Verify Ok';
    return 0;
}

sub load_privk {
    my ($newkey, $newcert) = @_;
    $ERRSTR = '';
    return _fail('init must be run correctly') unless _ready();
    my $cert_pem = _read($newcert);
    return _fail('Error to load certificate file: ' . (defined $newcert ? $newcert : '(undef)'))
        unless defined $cert_pem;
    my $signer = eval {
        _signer($STATE{engine}, $STATE{engine_so}, $newkey, $cert_pem, $STATE{chain_pem});
    };
    return _fail('Error to load private key: ' . _text($@)) unless $signer;
    $STATE{signer} = $signer;    # the previous one is released
    $STATE{cert_pem} = $cert_pem;
    @{ $STATE{args} }[1, 2] = ($newcert, $newkey);
    return 0;
}

sub getFingerprint {
    my ($cert, $schema) = @_;
    $ERRSTR = '';
    my $pem = _read($cert);
    unless (defined $pem) {
        _fail('Error to load certificate: ' . (defined $cert ? $cert : '(undef)'));
        return undef;
    }
    unless (defined $schema && $schema =~ /\A(?:md5|sha1|sha256|sha384|sha512)\z/i) {
        _fail('Unknown schema: ' . (defined $schema ? $schema : '(undef)'));
        return undef;
    }
    my $fp = eval { Mail::PEC::Certificate->fingerprint($pem, lc $schema) };
    unless (defined $fp) {
        _fail("Error to load certificate: $cert: " . _text($@));
        return undef;
    }
    return join ':', map { sprintf '%02X', $_ } unpack 'C*', $fp;
}

sub digest {
    my ($file, $schema) = @_;
    $ERRSTR = '';
    unless (defined $schema) {
        _fail('Unknown message digest: (undef)');
        return undef;
    }
    my $d = eval { Mail::PEC::Digest->new($schema) };
    unless ($d) {
        _fail("Unknown message digest: $schema");
        return undef;
    }
    my $fh;
    unless (defined $file && open $fh, '<:raw', $file) {
        _fail('Error to open file to hash: ' . (defined $file ? $file : '(undef)'));
        return undef;
    }
    my $ok = eval { $d->addfile($fh); 1 };
    close $fh;
    unless ($ok) {
        _fail("Error to read file to hash: $file: " . _text($@));
        return undef;
    }
    return $d->hexdigest;
}

# RFC 4514 (most specific first, escaped) to OpenSSL's legacy one-line form (C=IT, O=..., CN=...).
sub _compat_dn {
    my ($dn) = @_;
    return '' unless defined $dn && length $dn;
    my @rdns;
    my $cur = '';
    while ($dn =~ /\G(\\[0-9A-Fa-f]{2}|\\.|[^\\,]+|,|\\\z)/gs) {
        if ($1 eq ',') { push @rdns, $cur; $cur = '' } else { $cur .= $1 }
    }
    push @rdns, $cur;
    for (@rdns) {
        s/\A\s+//;
        s/(?<!\\)\s+\z//;
        s/\\([0-9A-Fa-f]{2}|.)/length $1 == 2 ? chr hex $1 : $1/ge;
    }
    return join ', ', reverse @rdns;
}

sub _asn1_time {
    my ($t) = @_;
    return '' unless defined $t;
    my ($s, $m, $h, $d, $mon, $y) = gmtime $t;
    return sprintf '%s %2d %02d:%02d:%02d %d GMT', $MONTHS[$mon], $d, $h, $m, $s, $y + 1900;
}

sub getCertInfo {
    my ($cert) = @_;
    $ERRSTR = '';
    my $pem = _read($cert);
    my $info = defined $pem ? eval { Mail::PEC::Certificate->info($pem) } : undef;
    unless ($info) {
        _fail('Error reading certificate in ' . (defined $cert ? $cert : '(undef)')
              . ($@ ? ': ' . _text($@) : ''));
        return undef;
    }
    my $serial = $info->{serial};
    $serial = "0$serial" if length($serial) % 2;
    return {
        issuer    => _compat_dn($info->{issuer}),
        subject   => _compat_dn($info->{subject}),
        serial    => $serial,
        startdate => _asn1_time($info->{not_before}),
        enddate   => _asn1_time($info->{not_after}),
        v3_email  => defined $info->{email} ? $info->{email} : '',
    };
}

sub getErrStr { return $ERRSTR }

sub ossl_version { return 'libpec ' . Mail::PEC::library_version() }

sub ossl_path {
    my $dir = File::Basename::dirname($INC{'Mail/PEC.pm'} || '.');
    return qq{LIBPECDIR: "$dir"};
}

1;
__END__

=encoding utf8

=head1 NAME

Mail::PEC::SMimeEngine - drop-in replacement of OpenPEC's Crypt::SMimeEngine over libpec

=head1 SYNOPSIS

  use Mail::PEC::SMimeEngine qw(&init &sign &verify &getFingerprint &getCertInfo
                                &load_privk &getErrStr &digest &ossl_version);

  # software key
  init('certs/', 'certs/cert.pem', 'certs/key.pem', ['certs/ca.pem'], 'openssl') == 0
      or die 'init: ' . getErrStr() . "\n";

  # or a key in an HSM, through PKCS#11
  init('certs/', 'certs/cert.pem',
       'pkcs11:token=PEC;object=signer;type=private?pin-source=file:/run/pec/pin',
       [], 'pkcs11', '/usr/lib/softhsm/libsofthsm2.so') == 0
      or die 'init: ' . getErrStr() . "\n";

  sign('mail.txt', 'mail.txt.signed') == 0 or die 'sign: ' . getErrStr() . "\n";
  verify('mail.txt.signed', 'signer.pem', 0) == 0 or die 'verify: ' . getErrStr() . "\n";

  my $fp   = getFingerprint('certs/cert.pem', 'sha1');    # "BB:21:EA:..."
  my $hex  = digest('files/testfile.bin', 'sha256');
  my $info = getCertInfo('certs/cert.pem');               # { issuer, subject, serial, ... }

=head1 DESCRIPTION

The functions, arguments and return conventions of C<Crypt::SMimeEngine> 0.05 (OpenPEC),
implemented over libpec (no OpenSSL needed): switching an OpenPEC installation is a one-line
change of its C<use> statements (see L<Mail::PEC/MIGRATING FROM OPENPEC>). Nothing is
exported by default. The functions never die: they return 1 (or undef) and leave the reason
in C<getErrStr()>.

=head1 FUNCTIONS

=over 4

=item init(CAPATH, CERTSIGNER, KEY, \@OTHER_CERTS, ENGINE, ENGINE_SO)

Initialises the module; returns 0 on success, 1 on error. C<CAPATH> is a directory of
trusted certificates (hashed C<c_rehash> links or C<.pem>/C<.crt> files), C<CERTSIGNER> the
PEM signer certificate, C<\@OTHER_CERTS> PEM files of certificates embedded in signatures
(intermediates). C<ENGINE> C<'openssl'> (or undef): C<KEY> is a PEM private key file;
C<'pkcs11'>: C<KEY> is a C<pkcs11:> URI (RFC 7512; PIN through its C<pin-source> or
C<pin-value>) and C<ENGINE_SO> the PKCS#11 module (undef: C<module-path> of the URI). Calling
C<init> again replaces the previous state and releases it; a failed C<init> leaves the module
uninitialised.

=item sign(IN_PATH, OUT_PATH)

Signs the message in C<IN_PATH> (detached S/MIME signature, SHA-256) and writes the complete
C<multipart/signed> message to C<OUT_PATH>; 0/1.

=item verify(SIGNED_PATH, SIGNER_OUT_PATH, NOVERIFY)

Verifies the signed message in C<SIGNED_PATH>: returns 0 when the signature is valid and,
unless C<NOVERIFY> is true, its certificate is valid now and chains to C<CAPATH>; 1
otherwise. When C<SIGNER_OUT_PATH> is given, the signer certificate is written there as PEM.
After success C<getErrStr()> says C<Verify Ok>.

=item load_privk(NEWKEY, NEWCERT)

Replaces the signing key and certificate (same engine as C<init>); 0/1.

=item getFingerprint(CERT, SCHEMA)

The fingerprint of the PEM certificate file C<CERT> as upper-case hex pairs separated by
colons; C<SCHEMA> C<sha1>, C<sha256>, C<md5> (also C<sha384>, C<sha512>). undef on error.

=item digest(FILE, SCHEMA)

The digest of a file as lower-case hex (C<md5>, C<sha1>, C<sha256>, C<sha384>,
C<sha512>); undef on error.

=item getCertInfo(CERT)

A hash reference with C<issuer>, C<subject> (OpenSSL one-line form, C<C=IT, O=..., CN=...>),
C<serial> (upper-case hex), C<startdate>, C<enddate> (C<Mon DD HH:MM:SS YYYY GMT>) and
C<v3_email> (empty when none); undef on error.

=item getErrStr()

The error text of the last failed call of the calling thread (empty after a successful one,
C<Verify Ok> after a successful C<verify>).

=item ossl_version(), ossl_path()

The version of the library (C<libpec 0.1.0>) and the directory of the module
(C<LIBPECDIR: "...">), in place of OpenSSL's version and C<OPENSSLDIR>.

=back

=head1 THREADS

The state made by C<init> and the error string belong to the Perl thread that made them. A
new ithread starts with its parent's configuration and rebuilds the keys and trust store
at its first call (with PKCS#11: a new login).

=head1 DIFFERENCES FROM Crypt::SMimeEngine

See L<Mail::PEC/MIGRATING FROM OPENPEC>: ENGINE C<pkcs11> instead of OpenSSL engines, no
crash on undef arguments, a real re-initialisation, per-thread errors, SHA-256 signatures
with the non-C<Content-*> header fields outside the signed part, only C<CAPATH> trusted.

=cut
