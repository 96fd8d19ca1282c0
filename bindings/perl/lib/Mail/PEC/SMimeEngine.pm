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

# OpenSSL's default certificate store (X509_STORE_set_default_paths, which the original's
# verification store loads besides CAPATH): SSL_CERT_FILE / SSL_CERT_DIR when set, else the
# usual bundle file of the platform, else its hashed directory.
sub _system_ca {
    return (ca_file => $ENV{SSL_CERT_FILE}) if defined $ENV{SSL_CERT_FILE} && -f $ENV{SSL_CERT_FILE};
    return (ca_path => $ENV{SSL_CERT_DIR}) if defined $ENV{SSL_CERT_DIR} && -d $ENV{SSL_CERT_DIR};
    for my $f ('/usr/lib/ssl/cert.pem', '/etc/ssl/certs/ca-certificates.crt',
               '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem') {
        return (ca_file => $f) if -f $f && -r _;
    }
    for my $d ('/usr/lib/ssl/certs', '/etc/ssl/certs') {
        return (ca_path => $d) if -d $d && -r _;
    }
    return ();
}

# The PKCS#11 configuration of an OpenSSL engine name (pkcs11, chil, nuron, ...): the module
# and the key URI, from init's options or the environment. KEY is used as given when it is
# a pkcs11: URI; otherwise it is put into the URI template (%k) or becomes the object label.
sub _pkcs11_config {
    my ($engine, $engine_so, $key, $opts) = @_;
    my $module = $opts->{pkcs11_module};
    $module = $ENV{PEC_SMIME_PKCS11_MODULE} unless defined $module && length $module;
    # ENGINE_SO names the PKCS#11 module only for the engine 'pkcs11'; for the others it is
    # an OpenSSL engine library, which the original ignored too
    $module = $engine_so
        if $engine eq 'pkcs11' && !(defined $module && length $module)
        && defined $engine_so && length $engine_so;
    $module = undef unless defined $module && length $module;
    die "Error to load private key: KEY is undef\n" unless defined $key && length $key;
    my $uri;
    if ($key =~ /\Apkcs11:/i) {
        $uri = $key;
    } else {
        my $template = $opts->{pkcs11_uri};
        $template = $ENV{PEC_SMIME_PKCS11_URI} unless defined $template && length $template;
        (my $esc = $key) =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge;
        if (defined $template && length $template) {
            ($uri = $template) =~ s/%k/$esc/g;
        } elsif ($engine eq 'pkcs11') {
            die "Error to load private key: $key is not a pkcs11: URI\n";
        } else {
            $uri = "pkcs11:object=$esc;type=private";
        }
    }
    die "Error to load engine: $engine (no PKCS#11 module: set PEC_SMIME_PKCS11_MODULE"
        . " or the init option pkcs11_module)\n"
        unless defined $module || $uri =~ /[?&]module-path=/;
    return ($uri, $module);
}

# Makes the signer for the engine; dies with a Mail::PEC::Error or a message.
sub _signer {
    my ($engine, $engine_so, $key, $cert_pem, $chain_pem, $opts) = @_;
    if ($engine ne 'openssl') {
        my ($uri, $module) = _pkcs11_config($engine, $engine_so, $key, $opts || {});
        return Mail::PEC::Signer->pkcs11($uri, $module, $cert_pem, $chain_pem);
    }
    my $key_pem = _read($key);
    die 'Error to access to key file: ' . (defined $key ? $key : '(undef)') . "\n"
        unless defined $key_pem;
    return Mail::PEC::Signer->software($key_pem, $cert_pem, $chain_pem);
}

my %INIT_OPTIONS = map { $_ => 1 } qw(pkcs11_module pkcs11_uri system_ca);

sub _init {
    my ($capath, $certsigner, $key, $other, $engine, $engine_so, $opts) = @_;
    $engine = 'openssl' if !defined $engine || $engine eq '';
    $engine = lc $engine;
    $opts = {} unless ref $opts eq 'HASH';
    for my $k (sort keys %$opts) {
        return _fail("Error in init: unknown option '$k'") unless $INIT_OPTIONS{$k};
    }
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
        $signer = _signer($engine, $engine_so, $key, $cert_pem, $chain_pem, $opts);
        my $system = exists $opts->{system_ca} ? $opts->{system_ca}
                   : !$ENV{PEC_SMIME_NO_SYSTEM_CA};
        my %sys = $system ? _system_ca() : ();
        my @dirs = ($capath, defined $sys{ca_path} ? $sys{ca_path} : ());
        $verifier = Mail::PEC::Verifier->new(
            ca_path => \@dirs, defined $sys{ca_file} ? (ca_file => $sys{ca_file}) : ());
        1;
    };
    if (!$ok) {
        my $t = _text($@);
        return _fail($t =~ /\AError to load engine/ ? $t : "Error in init: $t");
    }
    %STATE = (
        opts     => {%$opts},
        args     => [ $capath, $certsigner, $key, [@$other], $engine, $engine_so, {%$opts} ],
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

sub init($$$$$;$$) {
    my ($capath, $certsigner, $key, $other, $engine, $engine_so, $opts) = @_;
    $ERRSTR = '';
    %STATE = ();    # releases the previous key, sessions and trust store
    return _init($capath, $certsigner, $key, $other, $engine, $engine_so, $opts);
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
    my $content = _crlf_copy($data);
    my $p7s = eval { $STATE{signer}->sign_detached($content) };
    return _fail('Error to sign file ' . $in . ': ' . _text($@)) unless defined $p7s;
    return _fail("Error to write signed file $out: $!")
        unless _write($out, _smime_write($content, $p7s));
    return 0;
}

# The signed content as OpenSSL's SMIME_crlf_copy makes it from a text file (PKCS7_sign and
# SMIME_write_PKCS7 without PKCS7_BINARY): the input read in lines of at most 1023 bytes
# (BIO_gets into a 1024-byte buffer), trailing CR and LF stripped from each, CRLF written
# after each line that had an LF. The whole input is the signed part, headers included.
sub _crlf_copy {
    my ($data) = @_;
    my $out = '';
    while ($data =~ /\G([^\n]{0,1022}\n|[^\n]{1,1023})/g) {
        my $line = $1;
        my $eol = $line =~ s/\n\z//;
        $line =~ s/\r+\z//;
        $out .= $line;
        $out .= "\r\n" if $eol;
    }
    return $out;
}

# SMIME_write_PKCS7(out, p7, data, PKCS7_DETACHED): the multipart/signed of OpenSSL, its
# framing with LF line ends, a boundary of 32 random hex digits after "----", the content as
# signed, the CMS in base64 lines of 64 characters.
sub _smime_write {
    my ($content, $p7s) = @_;
    my $bound = _random_hex(16);
    require MIME::Base64;
    my $b64 = MIME::Base64::encode_base64($p7s, '');
    $b64 =~ s/(.{1,64})/$1\n/g;
    return "MIME-Version: 1.0\n"
        . 'Content-Type: multipart/signed; protocol="application/x-pkcs7-signature";'
        . qq{ micalg="sha-256"; boundary="----$bound"\n\n}
        . "This is an S/MIME signed message\n\n"
        . "------$bound\n"
        . $content
        . "\n------$bound\n"
        . qq{Content-Type: application/x-pkcs7-signature; name="smime.p7s"\n}
        . "Content-Transfer-Encoding: base64\n"
        . qq{Content-Disposition: attachment; filename="smime.p7s"\n\n}
        . $b64
        . "\n------$bound--\n\n";
}

sub _random_hex {
    my ($n) = @_;
    my $bytes = '';
    if (open my $fh, '<:raw', '/dev/urandom') {
        read $fh, $bytes, $n;
        close $fh;
    }
    $bytes = join '', map { chr int rand 256 } 1 .. $n if length $bytes != $n;
    return uc unpack 'H*', $bytes;
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
        _signer($STATE{engine}, $STATE{engine_so}, $newkey, $cert_pem, $STATE{chain_pem},
            $STATE{opts});
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

=item init(CAPATH, CERTSIGNER, KEY, \@OTHER_CERTS, ENGINE, ENGINE_SO, \%OPTIONS)

Initialises the module; returns 0 on success, 1 on error. C<CAPATH> is a directory of
trusted certificates (hashed C<c_rehash> links or C<.pem>/C<.crt> files); like the original,
verification also trusts the system's default store (OpenSSL's default paths:
C<SSL_CERT_FILE>/C<SSL_CERT_DIR> when set, else the platform bundle such as
F</etc/ssl/certs/ca-certificates.crt>). C<CERTSIGNER> is the PEM signer certificate,
C<\@OTHER_CERTS> PEM files of certificates embedded in signatures (intermediates).

C<ENGINE> C<'openssl'> (or undef): C<KEY> is a PEM private key file. Any other name is an
OpenSSL engine of the original (C<pkcs11>, C<chil>, C<nuron>, ...) and is served through
PKCS#11: C<KEY> is a C<pkcs11:> URI (RFC 7512; PIN through its C<pin-source> or
C<pin-value>), or a key name put into the URI template C<pkcs11_uri> (C<%k> stands for it,
e.g. C<pkcs11:token=PEC;object=%k;type=private?pin-source=file:/run/pec/pin>), or, without a
template and for engines other than C<pkcs11>, the object label
(C<pkcs11:object=KEY;type=private>). The PKCS#11 module is the option C<pkcs11_module>, else
the environment variable C<PEC_SMIME_PKCS11_MODULE>, else (engine C<pkcs11> only)
C<ENGINE_SO>, else the C<module-path> of the URI; the URI template is the option
C<pkcs11_uri>, else C<PEC_SMIME_PKCS11_URI>. So an OpenPEC configuration that names C<chil>
runs unchanged once those two variables point at the HSM's PKCS#11 module and key. The
C<ENGINE_SO> of other engines is an OpenSSL engine library, ignored as the original did.

C<\%OPTIONS> (optional, an addition): C<pkcs11_module>, C<pkcs11_uri> (above) and
C<system_ca> (false: trust only C<CAPATH>; also C<PEC_SMIME_NO_SYSTEM_CA=1>). Calling C<init>
again replaces the previous state and releases it; a failed C<init> leaves the module
uninitialised.

=item sign(IN_PATH, OUT_PATH)

Signs the whole message in C<IN_PATH>, header included, as the original's
C<PKCS7_sign(..., PKCS7_DETACHED)> + C<SMIME_write_PKCS7> did, and writes the same
structure to C<OUT_PATH>: C<MIME-Version: 1.0> and a C<multipart/signed>
(C<protocol="application/x-pkcs7-signature"; micalg="sha-256">, boundary C<----> and 32 hex
digits) with LF line ends, whose first part is the input with each line end made CRLF
(exactly the signed bytes) and whose second part is C<smime.p7s> (base64, 64-character
lines). Returns 0/1.

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

See L<Mail::PEC/MIGRATING FROM OPENPEC>. The signed structure is the original's (see
C<sign>); the CMS carries the signed attributes contentType, signingTime and messageDigest
(no SMIMECapabilities) and is always SHA-256. OpenSSL engines are served through PKCS#11
(see C<init>). No crash on undef arguments, a real re-initialisation (the original ignored a
second C<init>), per-thread errors.

=head1 LICENSE

Apache-2.0 OR MIT.

=cut
