package Mail::PEC::Report;
use strict;
use warnings;

our $VERSION = '0.1.0';

for my $field (qw(verdict verdict_code reasons reason_codes digest weak_digest canonicalized
                  signing_time evaluated_at revocation chain signer provider
                  time_source signed_scope weaknesses)) {
    no strict 'refs';
    *{ __PACKAGE__ . "::$field" } = sub { $_[0]->{$field} };
}

sub is_valid { $_[0]->{verdict} eq 'valid' }

# the wire view, kept by the verifier (the private key _json)
sub to_json { $_[0]->{_json} }

sub has_reason {
    my ($self, $reason) = @_;
    return scalar grep { $_ eq $reason } @{ $self->{reasons} };
}

1;
__END__

=head1 NAME

Mail::PEC::Report - the result of a signature verification

=head1 SYNOPSIS

  my $r = Mail::PEC->verify($bytes, ca_file => 'ca.pem');
  if ($r->is_valid) { ... }
  print "$r->{verdict}: @{ $r->{reasons} }\n";
  print "signed by $r->{signer}{subject} at ", scalar gmtime($r->{signing_time}), "\n";

=head1 DESCRIPTION

A blessed hash reference; each key also has an accessor of the same name.

=over 4

=item verdict, verdict_code

C<valid> (0), C<invalid> (1) or C<indeterminate> (2: nothing is wrong but something, such as
revocation, could not be established).

=item reasons, reason_codes

The findings (array references): wire names (C<no-signature>, C<malformed-signature>,
C<content-mismatch>, C<bad-signature>, C<untrusted-chain>, C<expired>, C<not-yet-valid>,
C<revoked>, C<revocation-unknown>, C<not-in-index>, C<from-domain-mismatch>) and their
L<Mail::PEC::Error> codes. Empty when valid.

=item digest, weak_digest, canonicalized

The SignerInfo's digest algorithm (C<sha256>, C<sha1>, ...), whether it is weak (SHA-1),
and whether the digest matched only after CRLF canonicalisation.

=item signing_time, evaluated_at

The CMS signingTime and the instant the path was evaluated at, as Unix seconds (undef when
absent).

=item signer

C<< { subject, issuer, serial, sha1, email, not_before, not_after, der } >> or undef.

=item chain

The subjects of the certificate path, signer first.

=item revocation

C<good>, C<revoked>, C<unknown> or C<not-checked>.

=item provider

C<< { name, mail_receipt } >> of the signing provider from the index, or undef.

=item time_source

Where the evaluation instant came from: C<now>, C<given> (an explicit C<at>) or
C<signing-time-claimed> (the signer's own signingTime, C<< at => 'signing-time' >>).

=item signed_scope

What the signature covers: C<whole> (the signed entity is the message's top-level entity),
C<inner> (unsigned MIME wraps it; reason C<partially-signed>), or undef without a signature.

=item weaknesses

Weak algorithms and keys by stable name (array reference, sorted): C<sha1-digest>,
C<md5-digest>, C<sha1-signature>, C<sha1-certificate>, C<md5-certificate>,
C<rsa-key-under-2048>. Empty when none.

=item is_valid, has_reason($name)

Convenience predicates.

=item to_json

The report as the JSON text of C<pec verify --json> (a character string: encode it as UTF-8
to write it): the wire view every door prints, from the one definition in the core
(C<pec_report_to_json>). Keys sorted; instants RFC 3339 UTC. Kept under the private key
C<_json>.

=back

=cut
