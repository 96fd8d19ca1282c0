package Mail::PEC::Engine;
use strict;
use warnings;

our $VERSION = '0.1.0';

use JSON::PP ();
use Mail::PEC ();

sub CLONE_SKIP { 1 }

my %OUTCOME = (stored => 0, temporary => 1, permanent => 2);

sub new {
    my ($class, %a) = @_;
    Mail::PEC::Error->throw(100, 'config is required') unless defined $a{config};
    if (defined $a{manual_clock}) {
        return $class->_open_manual($a{config}, $a{store}, $a{manual_clock});
    }
    return $class->_open($a{config}, $a{store});
}

sub submission {
    my ($self, %a) = @_;
    return $self->_smtp_event(0, $a{data}, $a{mail_from}, $a{rcpt_to} || [], $a{virus});
}

sub inbound {
    my ($self, %a) = @_;
    return $self->_smtp_event(1, $a{data}, $a{mail_from}, $a{rcpt_to} || [], $a{virus});
}

sub mailbox_result {
    my ($self, %a) = @_;
    my @r;
    for my $x (@{ $a{results} || [] }) {
        my $o = defined $x->{outcome} ? $x->{outcome} : 'stored';
        Mail::PEC::Error->throw(103, "outcome '$o': stored, temporary or permanent")
            unless exists $OUTCOME{$o};
        push @r, [ $x->{rcpt}, $OUTCOME{$o}, $x->{status}, $x->{text} ];
    }
    return $self->_mailbox_result($a{data}, $a{mail_from}, \@r);
}

sub run_due {
    my ($self, %a) = @_;
    return $self->_run_due($a{limit} || 100, 0);
}

sub unsent {
    my ($self, %a) = @_;
    return $self->_run_due($a{limit} || 100, 1);
}

sub ack {
    my ($self, @what) = @_;
    my @ids;
    for my $w (@what) {
        if (ref $w && eval { $w->isa('Mail::PEC::Engine::Outcome') }) {
            push @ids, map { $_->{id} } @{ $w->{messages} };
        } elsif (ref $w && eval { $w->isa('Mail::PEC::Engine::Message') }) {
            push @ids, $w->{id};
        } elsif (ref $w eq 'ARRAY') {
            push @ids, map { ref $_ ? $_->{id} : $_ } @$w;
        } else {
            push @ids, $w;
        }
    }
    return $self->_ack(\@ids);
}

sub status {
    my ($self, $identifier) = @_;
    return JSON::PP->new->utf8(0)->decode($self->_status($identifier));
}

package Mail::PEC::Engine::Outcome;

sub reply    { $_[0]->{reply} }
sub code     { $_[0]->{reply}{code} }
sub replies  { @{ $_[0]->{replies} } }
sub messages { @{ $_[0]->{messages} } }
sub replayed { $_[0]->{replayed} }
sub ids      { map { $_->{id} } grep { !$_->{sent} } @{ $_[0]->{messages} } }
sub unsent_messages { grep { !$_->{sent} } @{ $_[0]->{messages} } }

package Mail::PEC::Engine::Message;

sub id         { $_[0]->{id} }
sub kind       { $_[0]->{kind} }
sub identifier { $_[0]->{identifier} }
sub message_id { $_[0]->{message_id} }
sub mail_from  { $_[0]->{mail_from} }
sub groups     { @{ $_[0]->{groups} } }
sub rcpt_to    { @{ $_[0]->{rcpt_to} } }
sub data       { $_[0]->{data} }
sub sent       { $_[0]->{sent} }

1;
__END__

=head1 NAME

Mail::PEC::Engine - the PEC provider engine: access, incoming and delivery points with state

=head1 SYNOPSIS

  use Mail::PEC;
  my $engine = Mail::PEC::Engine->new(config => '/etc/pec/engine.toml');
  my $out = $engine->submission(
      data      => $message_bytes,
      mail_from => 'mario.rossi@pec.example.it',
      rcpt_to   => ['luigi.verdi@pec.other.it'],
  );
  print $out->reply->{line}, "\n";                  # 250 2.0.0 ...
  for my $m ($out->unsent_messages) {               # acceptance, transport envelope
      for my $g ($m->groups) {                       # { route => 'relay', rcpt_to => [...] }
          send_smtp($m->mail_from, $g->{rcpt_to}, $m->data);
      }
      $engine->ack($m);                              # until then a retry returns the same bytes
  }

=head1 DESCRIPTION

The provider engine of libpec (C<pec_engine_*>) for a Perl mail service (an OpenPEC-style
pre-forked worker, an AMaVIS-like filter) that keeps its transport and lets the library make
the decisions of RFC 6109, sign the receipts and notices, keep the state and run the 12 h /
24 h timers. Every event is one transaction of the engine's store (SQLite, in the
configuration's C<[store] url>); it returns an outcome: the reply owed to the MTA, the
per-recipient replies (LMTP), and the messages to send. Send them, then C<ack> them: until
then the same event again (the MTA's retry) and C<unsent> return them with the same bytes,
and nothing is signed twice.

Methods croak with a L<Mail::PEC::Error>: C<engine_store> (800: the store is unavailable,
temporary: answer 451 / exit 75 so that the MTA retries), C<engine_config> (801), the signer's
codes (C<signing_failed>, C<pkcs11_*>: temporary too).

An engine is not shared across threads (C<CLONE_SKIP>); pre-forked workers each open their own
(the store takes care of concurrency between processes). Open it in the child, after the
fork, and keep none open in a parent that goes on forking: an engine's store connections and
threads do not survive C<fork>.

=head1 METHODS

=over 4

=item new(config => $path, store => $url)

Opens the engine configured by C<$path> (ENGINE.md, section Config: index, signing key, trust,
store). C<store> (C<sqlite:PATH>) replaces the file's C<[store] url>. C<manual_clock =E<gt>
$unix_time> puts the engine on a manual clock (moved with C<clock_advance($seconds)>, read
with C<clock_now>): only with a libpec built with the cargo feature C<test-clock>
(C<< Mail::PEC::Engine->has_test_clock >>), for tests.

=item submission(data => $bytes, mail_from => $from, rcpt_to => \@rcpts, virus => $name)

A submission at the access point. C<mail_from> undef is the null reverse path; C<virus> is the
antivirus verdict (undef: clean).

=item inbound(data => $bytes, mail_from => $from, rcpt_to => \@rcpts, virus => $name)

An arrival at the incoming point (verified against the engine's trust, CRLs and index).

=item mailbox_result(data => $bytes, mail_from => $from, results => [{ rcpt => $r, outcome => 'stored' }, ...])

The mailbox store's answers at the delivery point for a message routed C<deliver>: C<outcome>
is C<stored>, C<temporary> or C<permanent>, with an optional C<status> (C<4.2.2>, C<5.1.1>) and
C<text>. The outcome's C<replies> has one LMTP reply per recipient.

=item run_due(limit => 100)

The 12 h / 24 h notices due now.

=item unsent(limit => 100)

The messages committed but never acknowledged, oldest first.

=item ack($outcome | $message | \@ids | $id, ...)

Marks messages as sent; returns how many were not acknowledged before.

=item status($identifier)

The state of a PEC identifier as a hash reference (C<identifier>, C<sent> with its
recipients, receipts and timers, C<received>), undef when unknown; without an identifier, the
array reference of messages still awaiting receipts.

=back

=head1 OUTCOMES

A C<Mail::PEC::Engine::Outcome> is a hash: C<reply> (C<{ code, status, text, line }>),
C<replies> (C<[{ rcpt, code, line }]>), C<messages>, C<replayed>; accessors C<reply>, C<code>,
C<replies>, C<messages>, C<unsent_messages>, C<ids>, C<replayed>. Each message
(C<Mail::PEC::Engine::Message>) has C<id>, C<kind> (C<posta-certificata>, C<accettazione>, ...
or C<forward>), C<identifier>, C<message_id>, C<mail_from>, C<groups> (C<{ route, rcpt_to }>:
C<relay>, C<loopback>, C<deliver>, C<service-mailbox>), C<rcpt_to> (all groups), C<data> (the
bytes to send) and C<sent> (already acknowledged: do not send again).

=head1 EXAMPLE

F<examples/perl/pec-worker.pl> is an OpenPEC-style pre-forked worker: it hands each message to
the engine, sends the outcome with L<Net::SMTP> and acks it.

=head1 SEE ALSO

L<Mail::PEC>, L<Mail::PEC::Error>, F<pec-ffi/README.md>.

=cut
