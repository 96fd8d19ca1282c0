package Mail::PEC::Provider;
use strict;
use warnings;

our $VERSION = '0.1.0';

use Mail::PEC ();
use Time::Local ();

sub CLONE_SKIP { 1 }

my %NEW = map { $_ => 1 } qw(name domain certified_domains timezone index max_size);
my %BUILD = map { $_ => 1 }
    qw(time utc_offset original envelope recipients receipt_type error error_text timeout
       smtp_sender smtp_recipients identifier signer);

sub new {
    my ($class, %o) = @_;
    for my $k (keys %o) {
        Mail::PEC::Error->throw(103, "unknown provider option '$k'") unless $NEW{$k};
    }
    for my $k (qw(name domain)) {
        Mail::PEC::Error->throw(704, "provider option '$k' is required") unless defined $o{$k};
    }
    my @domains = ref $o{certified_domains} eq 'ARRAY' ? @{ $o{certified_domains} }
                : defined $o{certified_domains} ? ($o{certified_domains}) : ();
    Mail::PEC::Error->throw(704, 'certified_domains holds undef') if grep { !defined } @domains;
    my $self = $class->_from_fields($o{name}, $o{domain}, \@domains, $o{timezone}, $o{index});
    $self->set_max_size($o{max_size}) if defined $o{max_size};
    return $self;
}

sub from_toml {
    my ($class, $toml) = @_;
    return $class->_from_toml($toml);
}

sub from_file {
    my ($class, $path) = @_;
    my $text = Mail::PEC::_slurp($path);
    utf8::decode($text);
    return $class->_from_toml($text);
}

sub build {
    my ($self, $kind, %o) = @_;
    for my $k (keys %o) {
        Mail::PEC::Error->throw(103, "unknown build option '$k'") unless $BUILD{$k};
    }
    my $signer = delete $o{signer};
    if (defined $o{time} && $o{time} =~ /\A-?\d+\z/ && !defined $o{utc_offset}) {
        # Unix seconds shown in the local time zone of this process
        my $t = $o{time};
        $o{utc_offset} = Time::Local::timegm(localtime $t) - $t;
    }
    return $self->_build($kind, \%o, $signer);
}

1;
__END__

=encoding utf8

=head1 NAME

Mail::PEC::Provider - a PEC provider that builds envelopes and notices

=head1 SYNOPSIS

  my $prov = Mail::PEC::Provider->new(
      name              => 'Example PEC S.p.A.',       # gestore-emittente
      domain            => 'pec.example.it',           # posta-certificata@pec.example.it
      certified_domains => ['pec.example.it'],
      timezone          => 'Europe/Rome');
  my $signer = Mail::PEC::Signer->software($key, $cert, $chain);

  my $id  = 'opec.20241125100000.12345@pec.example.it';
  my $acc = $prov->build('accettazione', original => $mail, identifier => $id,
                         signer => $signer);
  my $env = $prov->build('posta-certificata', original => $mail, identifier => $id,
                         signer => $signer);
  my $dlv = $prov->build('avvenuta-consegna', envelope => $env,
                         recipients => 'bob@pec.example.it', signer => $signer);

=head1 METHODS

Methods croak with a L<Mail::PEC::Error>.

=over 4

=item new(name => ..., domain => ..., certified_domains => [...], timezone => ..., index => $idx, max_size => $bytes)

The provider's name, mail domain, the PEC domains (until an index is given) and optionally
its time zone, a L<Mail::PEC::Index> to classify recipients and the size limit of the access
point's checks.

=item from_toml($text), from_file($path)

The same from the text of a provider file (C<name>, C<domain>, C<certified_domains>,
C<timezone>).

=item set_index($index), set_max_size($bytes), name, domain

=item build($kind, %inputs)

Builds a message of C<$kind> (C<posta-certificata>, C<errore>, C<accettazione>,
C<non-accettazione>, C<presa-in-carico>, C<avvenuta-consegna>, C<errore-consegna>,
C<preavviso-errore-consegna>, C<rilevazione-virus>) and returns its bytes (CRLF MIME),
signed when a C<signer> is given. Inputs:

=over 4

=item original, envelope

The user's message (for C<posta-certificata>, C<accettazione>, C<non-accettazione>) or the
received transport envelope (every other kind; any message for C<errore>).

=item time, utc_offset

The time reference: Unix seconds (shown at C<utc_offset> seconds east of UTC, default the
local zone of the process) or an RFC 3339 string. Default: now, in the provider's zone.

=item recipients

A recipient (or an array of them) the notice is about.

=item receipt_type, error, error_text, timeout

C<completa>/C<breve>/C<sintetica>; C<postacert@errore> (C<nessuno>, C<no-dest>,
C<no-dominio>, C<virus>, C<altro>); C<errore-esteso>; C<12h> or C<24h>.

=item smtp_sender, smtp_recipients, identifier

The SMTP envelope of the transaction and the PEC identifier (pass the same one to the
acceptance and the transport envelope of a submission).

=item signer

A L<Mail::PEC::Signer>; without it the message is returned unsigned.

=back

=back

=cut
