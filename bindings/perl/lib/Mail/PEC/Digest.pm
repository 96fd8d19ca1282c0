package Mail::PEC::Digest;
use strict;
use warnings;

our $VERSION = '0.1.0';

use Mail::PEC ();

sub CLONE_SKIP { 1 }

sub add {
    my ($self, @data) = @_;
    $self->_add($_) for @data;
    return $self;
}

sub addfile {
    my ($self, $file) = @_;
    my $fh = $file;
    if (!ref $file) {
        Mail::PEC::Error->throw(100, 'file name is undef') unless defined $file;
        open $fh, '<:raw', $file or Mail::PEC::Error->throw(105, "cannot read $file: $!");
    }
    while (1) {
        my $n = read $fh, my $buf, 65536;
        Mail::PEC::Error->throw(105, "read error: $!") unless defined $n;
        last if $n == 0;
        $self->_add($buf);
    }
    close $fh if !ref $file;
    return $self;
}

sub hexdigest { unpack 'H*', $_[0]->digest }

1;
__END__

=head1 NAME

Mail::PEC::Digest - MD5 and SHA digests of data and files

=head1 SYNOPSIS

  my $hex = Mail::PEC::Digest->new('sha256')->addfile('/path/file')->hexdigest;

=head1 METHODS

C<new($algorithm)> (C<md5>, C<sha1>, C<sha256>, C<sha384>, C<sha512>; croaks
C<unsupported_algorithm> otherwise), C<add(@bytes)>, C<addfile($path_or_handle)>,
C<digest> (raw bytes of everything added so far) and C<hexdigest>.

=cut
