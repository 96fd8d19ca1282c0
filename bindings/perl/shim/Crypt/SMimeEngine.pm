package Crypt::SMimeEngine;
use strict;
use warnings;

our $VERSION = '0.1.0';

# OpenPEC's module name over Mail::PEC::SMimeEngine: the same functions (the same code refs),
# exported on request as the original does.
use Exporter 'import';
use Mail::PEC::SMimeEngine ();

our @EXPORT_OK = @Mail::PEC::SMimeEngine::EXPORT_OK;
our %EXPORT_TAGS = (all => \@EXPORT_OK);

{
    no strict 'refs';
    for my $name (@EXPORT_OK) {
        (my $sub = $name) =~ s/\A&//;
        *{"Crypt::SMimeEngine::$sub"} = \&{"Mail::PEC::SMimeEngine::$sub"};
    }
}

1;
__END__

=encoding utf8

=head1 NAME

Crypt::SMimeEngine - OpenPEC's module name for Mail::PEC::SMimeEngine (optional shim)

=head1 SYNOPSIS

  # perl Makefile.PL --crypt-smimeengine && make && make install
  use Crypt::SMimeEngine qw(&init &sign &verify &getFingerprint &getCertInfo
                            &getErrStr &ossl_version &load_privk &digest);

=head1 DESCRIPTION

Installed only when Mail::PEC is configured with C<--crypt-smimeengine>, so that an OpenPEC
tree written for C<Crypt::SMimeEngine> 0.05 runs over libpec without editing its C<use>
lines. Every function is L<Mail::PEC::SMimeEngine>'s (same code, same state, same error
string); see there for the engine mapping (C<chil> and other OpenSSL engine names to
PKCS#11) and the differences from the original. Do not install it next to OpenPEC's own
C<Crypt::SMimeEngine>: one of the two would hide the other.

=head1 LICENSE

Apache-2.0 OR MIT.

=cut
