package Mail::PEC;
use strict;
use warnings;

our $VERSION;

BEGIN {
    $VERSION = '0.1.0';
    require XSLoader;
    XSLoader::load('Mail::PEC', $VERSION);
}

use Mail::PEC::Error ();
use Mail::PEC::Message ();
use Mail::PEC::Verifier ();
use Mail::PEC::Report ();
use Mail::PEC::Signer ();
use Mail::PEC::Provider ();
use Mail::PEC::Index ();
use Mail::PEC::Certificate ();
use Mail::PEC::Digest ();
use Mail::PEC::Engine ();

sub CLONE_SKIP { 1 }

# The version of libpec this module is linked with.
sub version { library_version() }

sub parse {
    my ($class, $bytes) = @_;
    return Mail::PEC::Message->parse($bytes);
}

sub verify {
    my ($class, $bytes, %opts) = @_;
    return Mail::PEC::Verifier->new(%opts)->verify($bytes);
}

# Reads a whole file as bytes; croaks with an `io` Mail::PEC::Error.
sub _slurp {
    my ($path) = @_;
    Mail::PEC::Error->throw(100, 'file name is undef') unless defined $path;
    open my $fh, '<:raw', $path or Mail::PEC::Error->throw(105, "cannot read $path: $!");
    local $/;
    my $data = <$fh>;
    close $fh;
    return defined $data ? $data : '';
}

1;
__END__

=encoding utf8

=head1 NAME

Mail::PEC - Italian certified email (PEC, RFC 6109): parse, verify, build and sign

=head1 SYNOPSIS

  use Mail::PEC;

  # parse a PEC envelope or notification
  my $msg = Mail::PEC->parse($bytes);
  print $msg->kind, "\n";                       # "posta-certificata", "accettazione", ...
  my $d = $msg->daticert;                       # { tipo, mittente, destinatari, data, ... }
  print "$_->{address} ($_->{tipo})\n" for @{ $d->{destinatari} };
  my $original = $msg->original;               # postacert.eml, bytes as they arrived

  # verify its S/MIME signature: chain, validity, CRLs, providers index
  my $report = Mail::PEC->verify($bytes,
      ca_file => '/etc/pec/ca.pem',             # or ca_path => '/etc/ssl/pec' (hashed dir)
      crl     => ['/var/lib/pec/ca.crl'],
      index   => Mail::PEC::Index->from_ldif($ldif),
      at      => 'signing-time');
  print $report->verdict, " @{ $report->reasons }\n";

  # build and sign every kind of notice as a provider
  my $signer = Mail::PEC::Signer->software($key_pem, $cert_pem, $chain_pem);
  # or Mail::PEC::Signer->pkcs11('pkcs11:token=PEC;object=signer;type=private'
  #        . '?pin-source=file:/run/pec/pin', '/usr/lib/softhsm/libsofthsm2.so');
  my $prov = Mail::PEC::Provider->new(
      name              => 'Example PEC S.p.A.',
      domain            => 'pec.example.it',
      certified_domains => ['pec.example.it']);
  my $receipt = $prov->build('accettazione', original => $user_mail, signer => $signer);

  # errors are Mail::PEC::Error objects
  eval { Mail::PEC->parse('') };
  print $@->code, ' ', $@->name, ': ', $@->message, "\n";   # 200 malformed_message: ...

=head1 DESCRIPTION

Perl binding of libpec, the pec library for Italian certified email (Posta Elettronica
Certificata): the parser of PEC envelopes and notifications with their C<daticert.xml>, the
S/MIME (CMS) verifier with certificate chains, CRLs and the providers index as trust list,
the builders of every envelope and receipt kind, and software or PKCS#11 signing. It is an
XS module over the C ABI of the library (F<include/pec.h>), linked statically: it needs no
OpenSSL.

For a drop-in replacement of OpenPEC's C<Crypt::SMimeEngine>, see
L<Mail::PEC::SMimeEngine> and L</MIGRATING FROM OPENPEC> below.

All methods B<croak> on error with a L<Mail::PEC::Error> object (C<code>, C<name>,
C<message>; it stringifies to the message). The codes are the stable C<pec_result> numbers
shared with the C and Python bindings. Binary data (messages, certificates, CRLs) are byte
strings; text (addresses, names, subjects) comes back as Perl character strings.

=head1 CLASS METHODS

=head2 Mail::PEC->parse($bytes)

Parses a message (bytes as received) and returns a L<Mail::PEC::Message>. Ordinary mail is
not an error (its C<kind> is undef).

=head2 Mail::PEC->verify($bytes, %options)

Verifies the S/MIME signature of a message and returns a L<Mail::PEC::Report>. A bad or
missing signature is B<not> an error: the report says C<invalid> with its reasons; it
croaks only when the bytes are not a message at all or the options are wrong. Options (see
L<Mail::PEC::Verifier>):

=over 4

=item ca_file => $path | [$path, ...]

File(s) of trust anchors: PEM bundles or DER certificates (read by libpec).

=item ca_pem => $pem | [$pem, ...]

Trust anchors given as PEM text.

=item ca_path => $dir | [$dir, ...]

Directories of trusted certificates (C<c_rehash> links or C<.pem>/C<.crt> files).

=item crl => [$path_or_bytes, ...]

CRLs, PEM or DER, as file names or contents.

=item index => $index

A L<Mail::PEC::Index>: the signer must be in it and manage the C<From:> domain.

=item at => 'now' | 'signing-time' | $epoch

When certificates are evaluated: now (default), at the CMS signingTime (legal evidence is
judged when it was signed) or at a given Unix time.

=back

=head2 Mail::PEC->version

The version of libpec this module was linked with (C<header_version> gives the one of the
header it was compiled against).

=head1 CLASSES

=over 4

=item L<Mail::PEC::Message>

A parsed message: C<kind>, C<receipt_type>, C<daticert> (a hash with the Italian keys of
C<pec inspect --json>: C<tipo>, C<errore>, C<mittente>, C<destinatari> (C<< [ { address,
tipo } ] >>), C<risposte>, C<oggetto>, C<gestore_emittente>, C<data> (C<< { giorno, ora, zona
} >>), C<identificativo>, C<msgid>, C<ricevuta>, C<consegna>, C<ricezione>, C<errore_esteso>),
C<identificativo>, C<msgid>, C<message_id>, C<subject>, C<from>, C<from_domain>,
C<header($name)>, C<original>, C<bytes>, C<signed>, C<is_pec>, C<security_error>,
C<warnings>, C<hash_parts>.

=item L<Mail::PEC::Verifier> and L<Mail::PEC::Report>

A reusable verifier (configure once, verify many messages) and its report: C<verdict>
(C<valid>, C<invalid>, C<indeterminate>), C<reasons> (wire names such as C<bad-signature>,
C<untrusted-chain>), C<reason_codes>, C<digest>, C<weak_digest>, C<signing_time>,
C<evaluated_at>, C<signer> (C<< { subject, issuer, serial, sha1, email, not_before,
not_after, der } >>), C<chain>, C<revocation>, C<provider> (C<< { name, mail_receipt } >>),
C<canonicalized>, C<is_valid>.

=item L<Mail::PEC::Signer>

C<< Mail::PEC::Signer->software($key_pem, $cert_pem, $chain_pem) >>,
C<< Mail::PEC::Signer->pkcs11($uri, $module, $cert_pem, $chain_pem) >> and
C<< $signer->sign_message($bytes, time => $epoch) >> (S/MIME C<multipart/signed>).

=item L<Mail::PEC::Provider>

C<< Mail::PEC::Provider->new(name => ..., domain => ..., certified_domains => [...]) >> or
C<< ->from_toml($text) >>, then C<< $prov->build($kind, %inputs) >> for every kind:
C<posta-certificata>, C<errore>, C<accettazione>, C<non-accettazione>, C<presa-in-carico>,
C<avvenuta-consegna>, C<errore-consegna>, C<preavviso-errore-consegna>,
C<rilevazione-virus>.

=item L<Mail::PEC::Index>

The providers index: C<< ->from_ldif($bytes) >>, C<< ->from_ldap($url, base => ..., timeout =>
...) >>, C<lookup_domain>, C<lookup_cert_hash>, C<lookup_name>, C<is_certified>, C<len>.

=item L<Mail::PEC::Certificate>, L<Mail::PEC::Digest>

Certificate description and fingerprints; MD5/SHA digests of data and files.

=back

=head1 THREADS

The library is thread-safe. The handle classes define C<CLONE_SKIP>: objects are not
copied into a new Perl ithread (they become undef there); make new ones in each thread.

=head1 MIGRATING FROM OPENPEC

OpenPEC signs and verifies through C<Crypt::SMimeEngine>, an XS module over OpenSSL
internals that no longer builds with OpenSSL 1.1 or later and reaches HSMs only through
deprecated ENGINEs. L<Mail::PEC::SMimeEngine> exports the same functions with the same
arguments and return conventions, so the switch is one line in each file that uses it:

  -use Crypt::SMimeEngine qw(&init &sign &verify &getFingerprint &getCertInfo &getErrStr);
  +use Mail::PEC::SMimeEngine qw(&init &sign &verify &getFingerprint &getCertInfo &getErrStr);

or none at all: C<perl Makefile.PL --crypt-smimeengine> also installs the shim
L<Crypt::SMimeEngine> under the original name (off by default).

What differs:

=over 4

=item * HSMs

Every OpenSSL ENGINE name (C<chil>, C<pkcs11>, ...) is served through PKCS#11, configured
outside the code: C<PEC_SMIME_PKCS11_MODULE> names the PKCS#11 module of the HSM (nCipher,
Luna, SoftHSM2 ...) and C<PEC_SMIME_PKCS11_URI> the key (RFC 7512 URI; C<%k> stands for the
C<KEY> OpenPEC passes, and its C<pin-source> or C<pin-value> gives the PIN); or C<KEY> is
itself a C<pkcs11:> URI. See L<Mail::PEC::SMimeEngine/init>.

=item * Fixed defects

Undefined arguments give 1 (or undef) and an error text instead of a segmentation fault;
calling C<init> again really re-initialises (the original silently kept the first key) and
frees the previous state; the error string of C<getErrStr> is per thread.

=item * Signing

C<sign> writes what the original wrote: the whole input, header included, becomes the
signed first part (line ends made CRLF), framed by OpenSSL's C<multipart/signed> layout. The
CMS is SHA-256 and carries no SMIMECapabilities attribute.

=item * Verification

C<verify> also checks the validity period of the signer certificate. Like the original, it
trusts C<CAPATH> and the system-wide store (C<SSL_CERT_FILE>/C<SSL_CERT_DIR> or the platform
bundle). Signatures with SHA-1 still verify.

=item * Certificate information

C<getCertInfo> writes the names in OpenSSL's legacy one-line form (C<C=IT, O=..., CN=...>),
the serial in upper-case hex and the dates like OpenSSL (C<Jan  1 00:00:00 2030 GMT>);
C<v3_email> prefers the subjectAltName address. C<getFingerprint> and C<digest> support
MD5, SHA-1 and SHA-2 (not MD2, MD4, RIPEMD or Whirlpool).

=item * Versions

C<ossl_version> returns the libpec version (C<libpec 0.1.0>), C<ossl_path> the directory of
the module instead of C<OPENSSLDIR>.

=back

Beyond the drop-in functions, the object API above verifies against CRLs and the providers
index, and builds every notice of the protocol.

=head1 SEE ALSO

L<Mail::PEC::SMimeEngine>, F<include/pec.h>, RFC 6109.

=head1 LICENSE

Apache-2.0 OR MIT.

=cut
