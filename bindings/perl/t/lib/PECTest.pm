package PECTest;
# Helpers shared by the tests: paths, tools (skip when missing unless CI=true), the test PKI
# (tests/pki/make-pki.sh), a SoftHSM2 token (tests/softhsm/make-token.sh), files.
use strict;
use warnings;
use Exporter 'import';
use File::Spec;
use File::Temp ();
use Cwd qw(abs_path);
use FindBin;
use Test::More;

our @EXPORT = qw(repo_root interop_dir need_tool have_tool make_pki make_capath make_token
                 slurp spew tmpdir original_mail ci rss_kb ldif_entry);

sub ci { ($ENV{CI} // '') eq 'true' }

sub repo_root {
    return abs_path(File::Spec->catdir($FindBin::Bin, File::Spec->updir, File::Spec->updir,
                                       File::Spec->updir));
}

sub interop_dir {
    return $ENV{PEC_INTEROP_DIR} if $ENV{PEC_INTEROP_DIR};
    return File::Spec->catdir(repo_root(), File::Spec->updir, 'shared', 'interop');
}

sub have_tool {
    my ($tool, @args) = @_;
    @args = ('version') unless @args;
    return system("$tool @args >/dev/null 2>&1") == 0 || system("command -v $tool >/dev/null 2>&1") == 0;
}

# Skips the whole file when a tool is missing (fails when CI=true).
sub need_tool {
    my ($tool, @args) = @_;
    return 1 if have_tool($tool, @args);
    BAIL_OUT("$tool is required when CI=true") if ci();
    plan skip_all => "$tool not found";
}

sub tmpdir { File::Temp->newdir('pec-perl-XXXXXX', TMPDIR => 1, CLEANUP => 1) }

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or die "$path: $!";
    local $/;
    my $d = <$fh>;
    return $d;
}

sub spew {
    my ($path, $data) = @_;
    open my $fh, '>:raw', $path or die "$path: $!";
    print {$fh} $data;
    close $fh or die "$path: $!";
}

# The test PKI in $dir (root, pec-ca, provider, expired, revoked, untrusted-root, other-root,
# CRLs): see tests/pki/README.md.
# The repository's test scripts, shipped in t/tools (links in the repository, copies in the
# distribution tarball).
sub tool_script {
    my ($name) = @_;
    return File::Spec->catfile($FindBin::Bin, 'tools', $name);
}

sub make_pki {
    my ($dir) = @_;
    my $script = tool_script('make-pki.sh');
    system("bash '$script' '$dir' >/dev/null 2>&1") == 0 or die "make-pki.sh failed";
    return $dir;
}

# A CA directory trusting the given PEM files (named <hash>.0 like c_rehash, plus the .pem).
sub make_capath {
    my ($dir, @pems) = @_;
    mkdir $dir;
    for my $pem (@pems) {
        my $hash = `openssl x509 -noout -hash -in '$pem'`;
        chomp $hash;
        spew(File::Spec->catfile($dir, "$hash.0"), slurp($pem));
    }
    return $dir;
}

# A SoftHSM2 token under $dir; returns { conf, uri, cert, module, dir }.
sub make_token {
    my ($dir) = @_;
    my $script = tool_script('make-token.sh');
    system("sh '$script' '$dir' >/dev/null 2>&1") == 0 or die "make-token.sh failed";
    my $module = $ENV{PKCS11_MODULE} || '/usr/lib/softhsm/libsofthsm2.so';
    return {
        dir    => $dir,
        conf   => "$dir/softhsm2.conf",
        module => $module,
        cert   => "$dir/cert.pem",
        key    => "$dir/key.pem",
        uri    => "pkcs11:token=pec-test;object=provider;id=%01;type=private"
                  . "?pin-source=file:$dir/pin.txt",
    };
}

sub original_mail {
    my (%o) = @_;
    my $to = $o{to} // 'ufficio@pec.ente.example.it';
    return "From: Mario Rossi <mario.rossi\@pec.example.it>\r\n"
        . "To: $to\r\n"
        . "Subject: Richiesta documenti\r\n"
        . "Date: Mon, 25 Nov 2024 10:00:00 +0100\r\n"
        . "Message-ID: <a1b2c3\@client.example>\r\n"
        . "MIME-Version: 1.0\r\n"
        . "Content-Type: text/plain; charset=utf-8\r\n"
        . "Content-Transfer-Encoding: 8bit\r\n"
        . "\r\n"
        . "Buongiorno,\r\ninvio la richiesta.\r\n";
}

# One provider entry of the index (RFC 6109 §5 schema), its certificate given as PEM.
sub ldif_entry {
    my (%o) = @_;
    require MIME::Base64;
    require Digest::SHA;
    my ($b64) = $o{cert_pem} =~ /-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----/s;
    $b64 =~ s/\s+//g;
    my $der = MIME::Base64::decode_base64($b64);
    my $hash = $o{hash} // uc Digest::SHA::sha1_hex($der);
    my $ldif = "dn: providerName=$o{name},o=postacert\n"
        . "objectClass: top\nobjectClass: provider\n"
        . "providerName: $o{name}\n"
        . "providerCertificateHash: $hash\n"
        . "providerCertificate;binary:: $b64\n"
        . "mailReceipt: $o{mail_receipt}\n";
    $ldif .= "managedDomains: $_\n" for @{ $o{domains} };
    return $ldif . "\n";
}

sub rss_kb {
    open my $fh, '<', '/proc/self/status' or return undef;
    while (<$fh>) { return $1 if /^VmRSS:\s+(\d+)\s+kB/ }
    return undef;
}

1;
