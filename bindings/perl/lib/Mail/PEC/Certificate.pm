package Mail::PEC::Certificate;
use strict;
use warnings;

our $VERSION = '0.1.0';

use Mail::PEC ();

sub info {
    my ($class, $bytes) = @_;
    return $class->_info($bytes);
}

sub fingerprint {
    my ($class, $bytes, $algorithm) = @_;
    return $class->_fingerprint($bytes, defined $algorithm ? $algorithm : 'sha256');
}

1;
__END__

=head1 NAME

Mail::PEC::Certificate - describe X.509 certificates

=head1 SYNOPSIS

  my $info = Mail::PEC::Certificate->info($pem_or_der);
  print "$info->{subject} ($info->{serial}) until ", scalar gmtime($info->{not_after}), "\n";
  my $fp = unpack 'H*', Mail::PEC::Certificate->fingerprint($pem, 'sha1');

=head1 METHODS

=over 4

=item info($pem_or_der)

A hash reference: C<subject>, C<issuer> (RFC 4514), C<serial> (upper-case hex),
C<sha1> (lower-case hex), C<email>, C<not_before>, C<not_after> (Unix seconds), C<der>.
The first certificate of a PEM bundle is taken. Croaks C<bad_certificate>.

=item fingerprint($pem_or_der, $algorithm)

The raw digest (C<md5>, C<sha1>, C<sha256>, C<sha384>, C<sha512>) of the DER certificate.

=back

=cut
