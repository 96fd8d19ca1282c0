package Mail::PEC::Verifier;
use strict;
use warnings;

our $VERSION = '0.1.0';

use Mail::PEC ();
use Mail::PEC::Report ();

sub CLONE_SKIP { 1 }

my %OPTIONS = map { $_ => 1 } qw(ca_file ca_pem ca_path crl index at now);

sub _list {
    my ($v) = @_;
    return () unless defined $v;
    return ref $v eq 'ARRAY' ? @$v : ($v);
}

# Whether a value of a "file name or contents" list is contents (PEM/DER bytes).
sub _is_contents {
    my ($v) = @_;
    Mail::PEC::Error->throw(100, 'undef in a list of files') unless defined $v;
    return $v =~ /-----BEGIN / || $v =~ /[\x00-\x08\x0e-\x1f\x7f-\xff]/;
}

# A file name or the contents themselves (PEM/DER bytes): the contents.
sub _contents {
    my ($v) = @_;
    return _is_contents($v) ? $v : Mail::PEC::_slurp($v);
}

# Trust anchors as the XS takes them: PEM contents, files and directories (files are read
# by libpec: PEM or DER).
sub _trust_args {
    my (%o) = @_;
    return ([ _list($o{ca_pem}) ], [ _list($o{ca_file}) ], [ _list($o{ca_path}) ]);
}

# CRLs given as file names or contents: (contents, files), the files read by libpec.
sub _crl_args {
    my (@crls) = @_;
    my (@bytes, @files);
    for my $c (@crls) {
        if (_is_contents($c)) { push @bytes, $c } else { push @files, $c }
    }
    return (\@bytes, \@files);
}

sub new {
    my ($class, %opts) = @_;
    for my $k (keys %opts) {
        Mail::PEC::Error->throw(103, "unknown verify option '$k'") unless $OPTIONS{$k};
    }
    my $self = $class->_new;
    my ($pems, $files, $dirs) = _trust_args(%opts);
    $self->_set_trust($pems, $files, $dirs) if @$pems || @$files || @$dirs;
    my ($crls, $crl_files) = _crl_args(_list($opts{crl}));
    $self->_set_crls($crls, $crl_files) if @$crls || @$crl_files;
    $self->set_index($opts{index}) if defined $opts{index};
    $self->set_time($opts{at}) if defined $opts{at};
    $self->set_clock_unix($opts{now}) if defined $opts{now};
    return $self;
}

sub set_trust {
    my ($self, %opts) = @_;
    return $self->_set_trust(_trust_args(%opts));
}

sub set_crls {
    my ($self, @crls) = @_;
    @crls = @{ $crls[0] } if @crls == 1 && ref $crls[0] eq 'ARRAY';
    return $self->_set_crls(_crl_args(@crls));
}

sub set_time {
    my ($self, $at) = @_;
    if (!defined $at || $at eq 'now') {
        $self->set_time_now;
    } elsif ($at eq 'signing-time' || $at eq 'signing_time') {
        $self->set_time_signing;
    } elsif ($at =~ /\A-?\d+\z/) {
        $self->set_time_unix($at);
    } else {
        Mail::PEC::Error->throw(208, "at: expected 'now', 'signing-time' or Unix seconds, got '$at'");
    }
    return $self;
}

sub verify {
    my ($self, $bytes) = @_;
    return bless $self->_verify($bytes), 'Mail::PEC::Report';
}

1;
__END__

=head1 NAME

Mail::PEC::Verifier - verify the S/MIME signature of PEC messages

=head1 SYNOPSIS

  my $v = Mail::PEC::Verifier->new(ca_path => '/etc/ssl/pec', crl => ['ca.crl'],
                                    at => 'signing-time');
  my $report = $v->verify($bytes);      # a Mail::PEC::Report

=head1 DESCRIPTION

A verifier is configured once and may then verify any number of messages (from several
threads of the library at once). Methods croak with a L<Mail::PEC::Error>.

=head1 METHODS

=over 4

=item new(%options)

Options C<ca_file>, C<ca_pem>, C<ca_path>, C<crl>, C<index>, C<at> as in
L<Mail::PEC/verify>. Without trust anchors nothing is trusted (C<untrusted-chain>). C<now>
(epoch seconds) is the verifier's clock (C<set_clock_unix>).

=item set_trust(ca_file => ..., ca_pem => ..., ca_path => ...)

Replaces the trust anchors (C<ca_file>: PEM bundles or DER certificates, read by libpec);
returns how many were loaded.

=item set_crls(@files_or_bytes)

Replaces the CRLs (none: revocation C<not-checked>); returns how many were loaded.

=item set_index($index)

Uses a L<Mail::PEC::Index> as trust list (undef removes it).

=item set_time('now' | 'signing-time' | $epoch)

When certificates are evaluated (also C<set_time_now>, C<set_time_signing>,
C<set_time_unix($epoch)>).

=item set_clock_unix($epoch)

The verifier's "now" (default: the system clock): what C<at =E<gt> 'now'> means and what a
signingTime claim is compared with (C<signing-time-in-future>), for a service on its own clock
(an engine on a manual clock in tests).

=item verify($bytes)

Verifies a signed message as it arrived and returns a L<Mail::PEC::Report>. A bad or
missing signature is a report with verdict C<invalid>, not an error.

=back

=cut
