package Mail::PEC::Signer;
use strict;
use warnings;

our $VERSION = '0.1.0';

use Mail::PEC ();

sub CLONE_SKIP { 1 }

sub software {
    my ($class, $key_pem, $cert_pem, $chain_pem) = @_;
    return $class->_software($key_pem, $cert_pem, $chain_pem);
}

sub pkcs11 {
    my ($class, $uri, $module, $cert_pem, $chain_pem) = @_;
    return $class->_pkcs11($uri, $module, $cert_pem, $chain_pem);
}

sub sign_message {
    my ($self, $bytes, %opts) = @_;
    my $t = defined $opts{time} ? $opts{time} : -1;
    return $self->_sign_message($bytes, $t);
}

sub sign_detached {
    my ($self, $bytes, %opts) = @_;
    my $t = defined $opts{time} ? $opts{time} : -1;
    return $self->_sign_detached($bytes, $t);
}

1;
__END__

=head1 NAME

Mail::PEC::Signer - the provider's signing key: software or PKCS#11

=head1 SYNOPSIS

  my $s = Mail::PEC::Signer->software($key_pem, $cert_pem, $chain_pem);
  my $h = Mail::PEC::Signer->pkcs11(
      'pkcs11:token=PEC;object=signer;type=private?pin-source=file:/run/pec/pin',
      '/usr/lib/softhsm/libsofthsm2.so', $cert_pem, $chain_pem);
  my $signed = $s->sign_message($unsigned_mail);          # multipart/signed

=head1 METHODS

Methods croak with a L<Mail::PEC::Error>.

=over 4

=item software($key_pem, $cert_pem, $chain_pem)

A software key: PEM private key (PKCS#8 or PKCS#1 RSA), PEM certificate and an optional PEM
bundle of intermediates embedded in signatures. Croaks C<bad_key> when the key is unreadable
or does not match the certificate.

=item pkcs11($uri, $module, $cert_pem, $chain_pem)

A key in a PKCS#11 token: C<$uri> is an RFC 7512 C<pkcs11:> URI naming token and key, with
the PIN in its C<pin-source> (C<file:...>) or C<pin-value>; C<$module> the PKCS#11 module
(undef: C<module-path> of the URI); C<$cert_pem> the certificate (undef: read from the
token); C<$chain_pem> the intermediates. Logs in now; the sessions are pooled and closed
when the object is destroyed. Croaks C<pkcs11_*> codes.

=item sign_message($bytes, time => $epoch)

Signs a complete unsigned RFC 5322 message and returns it as S/MIME C<multipart/signed>
(SHA-256, RSA PKCS#1 v1.5): C<Content-*> fields and body become the signed part, the other
header fields stay outside. C<time> is the CMS signingTime (default: now).

=item sign_detached($bytes, time => $epoch)

Signs C<$bytes> exactly as given and returns the detached CMS C<SignedData> as DER (the
body of an C<smime.p7s>), for callers that write the C<multipart/signed> themselves.
C<time> is the CMS signingTime (default: now).

=back

=cut
