package Mail::PEC::Index;
use strict;
use warnings;

our $VERSION = '0.1.0';

use Mail::PEC ();

sub CLONE_SKIP { 1 }

sub from_ldif {
    my ($class, $bytes) = @_;
    return $class->_from_ldif($bytes);
}

sub from_ldif_file {
    my ($class, $path) = @_;
    return $class->_from_ldif(Mail::PEC::_slurp($path));
}

sub from_ldap {
    my ($class, $url, %o) = @_;
    for my $k (keys %o) {
        Mail::PEC::Error->throw(103, "unknown from_ldap option '$k'")
            unless $k eq 'base' || $k eq 'timeout';
    }
    my $ms = defined $o{timeout} ? int($o{timeout} * 1000 + 0.5) : 0;
    Mail::PEC::Error->throw(103, 'timeout must not be negative') if $ms < 0;
    return $class->_from_ldap($url, $o{base}, $ms);
}

1;
__END__

=head1 NAME

Mail::PEC::Index - the index of PEC providers (LDIF or LDAP)

=head1 SYNOPSIS

  my $idx = Mail::PEC::Index->from_ldif($ldif_bytes);
  my $idx = Mail::PEC::Index->from_ldap('ldap://localhost:389', base => 'o=postacert',
                                        timeout => 5);
  my $rec = $idx->lookup_domain('pec.example.it');
  print "$rec->{name} <$rec->{mail_receipt}>\n" if $rec;

=head1 METHODS

Methods croak with a L<Mail::PEC::Error> (C<ldif_malformed>, C<ldap_connect>,
C<ldap_timeout>, C<ldap_search>).

=over 4

=item from_ldif($bytes), from_ldif_file($path)

=item from_ldap($url, base => $dn, timeout => $seconds)

Anonymous bind and search (default base C<o=postacert>); the timeout bounds the connection
and, separately, the search (default 5 s and 30 s).

=item len

The number of provider entries.

=item is_certified($address)

Whether the address is in a domain managed by a PEC provider.

=item lookup_domain($domain), lookup_cert_hash($sha1_hex), lookup_name($name)

The provider entry, or undef: a hash reference with C<dn>, C<name>, C<unit>,
C<mail_receipt>, C<ldif_url>, C<description>, C<domains>, C<cert_hashes> and
C<certificates> (DER).

=back

=cut
