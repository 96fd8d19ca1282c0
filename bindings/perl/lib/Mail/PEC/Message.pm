package Mail::PEC::Message;
use strict;
use warnings;

our $VERSION = '0.1.0';

use Mail::PEC ();

sub CLONE_SKIP { 1 }

sub parse {
    my ($class, $bytes) = @_;
    return $class->_parse($bytes);
}

sub kind_name { $_[0]->kind }

1;
__END__

=encoding utf8

=head1 NAME

Mail::PEC::Message - a parsed PEC envelope, notification or ordinary message

=head1 SYNOPSIS

  my $msg = Mail::PEC::Message->parse($bytes);    # same as Mail::PEC->parse($bytes)
  if (defined $msg->kind) {
      my $d = $msg->daticert;
      printf "%s %s -> %s\n", $msg->kind, $d->{mittente},
          join ', ', map { $_->{address} } @{ $d->{destinatari} };
  }

=head1 DESCRIPTION

The object owns a copy of the bytes it was parsed from; every accessor returns a copy, so
values stay valid after the object is gone. Methods croak with a L<Mail::PEC::Error>.

=head1 METHODS

=over 4

=item parse($bytes)

Class method: parses a message. Croaks (C<malformed_message>, C<limit_exceeded>,
C<daticert_malformed>, ...) when the bytes are not a message.

=item kind

The kind as its wire value (C<posta-certificata>, C<errore>, C<accettazione>,
C<non-accettazione>, C<presa-in-carico>, C<avvenuta-consegna>, C<errore-consegna>,
C<preavviso-errore-consegna>, C<rilevazione-virus>), undef for ordinary mail.

=item header_kind

The kind the outer C<X-Trasporto> / C<X-Ricevuta> header claims (unsigned; where a signed
daticert is present, C<kind> follows daticert C<tipo>), or undef.

=item signed_scope

What the signature covers: C<whole> (the signed entity is the top-level entity), C<inner>
(unsigned MIME wraps it), or undef when the message is not signed.

=item receipt_type

C<completa>, C<breve> or C<sintetica>, or undef.

=item daticert

A hash reference with the certification data (C<daticert.xml>) under the keys of
C<pec inspect --json>: C<tipo>, C<errore>, C<mittente>, C<destinatari> (array of
C<< { address, tipo } >>), C<risposte>, C<oggetto>, C<gestore_emittente>, C<data>
(C<< { giorno, ora, zona } >>), C<identificativo>, C<msgid>, C<ricevuta>, C<consegna>,
C<ricezione> (array), C<errore_esteso>; undef when the message carries none.

=item identificativo

The PEC identifier the message refers to (without angle brackets).

=item msgid

The client's Message-ID (C<X-Riferimento-Message-ID>), with angle brackets.

=item message_id, subject, from, from_domain

The message's own Message-ID, the original subject (PEC prefix removed), the C<From:> field
and its lower-case domain.

=item header($name)

The first outer header field C<$name>, unfolded and decoded, or undef.

=item original

The exact bytes of the original message (C<postacert.eml>) of an envelope or a complete
receipt, or undef.

=item bytes

The bytes the message was parsed from.

=item signed, is_pec, security_error

Whether the message is C<multipart/signed> (use L<Mail::PEC::Verifier> to know whether the
signature is good), a PEC system message, or carries C<X-VerificaSicurezza: errore>.

=item warnings

The list of inconsistencies between headers and daticert (not errors).

=item hash_parts

The C<.hash> parts of a brief delivery receipt: a list of C<< { filename, sha1 } >>.

=item to_json

The message as the JSON text of C<pec inspect --json> (a character string: encode it as
UTF-8 to write it): the wire view every door prints, from the one definition in the core
(C<pec_message_to_json>). Keys sorted; daticert under the same Italian keys as L</daticert>.

=back

=cut
