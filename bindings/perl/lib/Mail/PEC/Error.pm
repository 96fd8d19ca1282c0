package Mail::PEC::Error;
use strict;
use warnings;

our $VERSION = '0.1.0';

use Mail::PEC ();

use overload
    '""'     => sub { $_[0]->{message} },
    'bool'   => sub { 1 },
    '0+'     => sub { $_[0]->{code} },
    fallback => 1;

# One constant per result code (Mail::PEC::Error::BAD_SIGNATURE() == 303, ...), named like the
# C enum without its PEC_RESULT_ prefix, generated from the library's own code list.
my %BY_NAME;
for my $code (0 .. 999) {
    my $name = Mail::PEC::result_name($code);
    next unless defined $name;
    $BY_NAME{$name} = $code;
    no strict 'refs';
    my $value = $code;
    *{ __PACKAGE__ . '::' . uc $name } = sub () { $value };
}

sub new {
    my ($class, %args) = @_;
    my $code = $args{code} // 103;
    my $name = $args{name} // Mail::PEC::result_name($code) // 'unknown';
    my $message = $args{message} // Mail::PEC::result_message($code);
    return bless { code => $code + 0, name => $name, message => $message }, $class;
}

sub throw {
    my ($class, $code, $message) = @_;
    die $class->new(code => $code, message => $message);
}

sub code    { $_[0]->{code} }
sub name    { $_[0]->{name} }
sub message { $_[0]->{message} }

sub codes { return {%BY_NAME} }

1;
__END__

=head1 NAME

Mail::PEC::Error - the exception object of Mail::PEC

=head1 SYNOPSIS

  use Mail::PEC;
  my $msg = eval { Mail::PEC->parse($bytes) };
  if (my $e = $@) {
      die $e unless ref $e && $e->isa('Mail::PEC::Error');
      printf "%d %s: %s\n", $e->code, $e->name, $e->message;
      retry() if $e->code == Mail::PEC::Error::LDAP_TIMEOUT;
  }

=head1 DESCRIPTION

Every method of L<Mail::PEC> croaks with an object of this class. It carries:

=over 4

=item code

The stable numeric code: the same number as C<pec_result> in F<include/pec.h> and the
C<code> of the Python exceptions (1xx API, 2xx parsing, 3xx S/MIME, 4xx certificates and
CRLs, 5xx PKCS#11, 6xx providers index, 7xx building, 8xx provider engine).

=item name

The stable snake_case name of the code (C<malformed_message>, C<pkcs11_pin_incorrect>).

=item message

The detailed English message of the failure.

=back

The object stringifies to its message, numifies to its code and is always true. For each
code there is a constant named after it in upper case: C<Mail::PEC::Error::BAD_SIGNATURE>,
C<Mail::PEC::Error::PKCS11_PIN_INCORRECT>, ... C<< Mail::PEC::Error->codes >> returns a
hash reference from name to code.

=head2 Methods

C<< Mail::PEC::Error->new(code => $n, message => $text) >> makes one (the name is looked up);
C<< Mail::PEC::Error->throw($code, $message) >> dies with one.

=cut
