package Mail::PEC::Index;
use strict;
use warnings;

our $VERSION = '0.1.0';

use Mail::PEC ();
use Mail::PEC::Verifier ();

sub CLONE_SKIP { 1 }

my %OPEN_OPTIONS = map { $_ => 1 } qw(index_signers ca_file ca_pem ca_path crl);

# Lists and "file name or contents" as Mail::PEC::Verifier takes them.
sub _list     { Mail::PEC::Verifier::_list(@_) }
sub _contents { Mail::PEC::Verifier::_contents(@_) }

# The index signers, trust anchors (PEM contents, files, directories) and CRLs (contents,
# files) of from_ldif*; files of anchors and CRLs are read by libpec.
sub _open_args {
    my (%o) = @_;
    for my $k (keys %o) {
        Mail::PEC::Error->throw(103, "unknown index option '$k'") unless $OPEN_OPTIONS{$k};
    }
    my @signers = map { _contents($_) } _list($o{index_signers});
    my ($pems, $files, $dirs) = Mail::PEC::Verifier::_trust_args(%o);
    my ($crls, $crl_files) = Mail::PEC::Verifier::_crl_args(_list($o{crl}));
    return (\@signers, $pems, $files, $dirs, $crls, $crl_files);
}

sub from_ldif {
    my ($class, $bytes, %o) = @_;
    return $class->_open($bytes, _open_args(%o));
}

sub from_ldif_file {
    my ($class, $path, %o) = @_;
    Mail::PEC::Error->throw(100, 'file name is undef') unless defined $path;
    return $class->_open_file($path, _open_args(%o));
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
  my $idx = Mail::PEC::Index->from_ldif_file('indice.ldif.p7m',
      index_signers => ['agid-index-signer.pem'], ca_path => '/etc/ssl/certs');
  my $idx = Mail::PEC::Index->from_ldap('ldap://localhost:389', base => 'o=postacert',
                                        timeout => 5);
  my $rec = $idx->lookup_domain('pec.example.it');
  print "$rec->{name} <$rec->{mail_receipt}>\n" if $rec;

=head1 METHODS

Methods croak with a L<Mail::PEC::Error> (C<ldif_malformed>, C<index_signature>,
C<ldap_connect>, C<ldap_timeout>, C<ldap_search>).

=over 4

=item from_ldif($bytes, %options), from_ldif_file($path, %options)

Plain LDIF, or a signed C<.p7m> index (DER, base64 or PEM; a file named C<*.p7m> is always
treated as signed). A signed index is accepted only when its signer certificate is one of
C<index_signers> B<and> its signature is valid now against the trust anchors: a provider
certificate that merely chains to the anchors cannot sign it. Without C<index_signers> a
signed index croaks with C<index_signature> (604). Options:

=over 4

=item index_signers => [$cert, ...]

The certificates allowed to sign the index: file names or PEM/DER contents.

=item ca_file, ca_pem, ca_path, crl

Trust anchors and CRLs for the signature, as for L<Mail::PEC::Verifier>.

=back

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
