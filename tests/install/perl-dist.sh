#!/bin/sh
# The Perl tarball test: `make dist` in bindings/perl, the tarball unpacked outside the
# repository, then `perl Makefile.PL && make && make test` there against an installed libpec
# found by pkg-config: linked statically (the default: libpec.a) with the Crypt::SMimeEngine
# shim configured, then shared (PEC_LINK=shared: libpec.so.0, checked with readelf/ldd).
#
#   tests/install/perl-dist.sh PREFIX
#
# PREFIX  a prefix holding an installed libpec (tests/install/c-install.sh PREFIX makes one)
# Environment: PEC_INTEROP_DIR (real samples; default <repo>/../shared/interop),
# PEC_LEAK_ITERATIONS (default here 2000: the full 100 000-round leak test runs in the
# in-tree Perl step), CI=true (missing tools fail instead of skipping).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
prefix=${1:?usage: perl-dist.sh PREFIX (an installed libpec: tests/install/c-install.sh PREFIX)}
fail() { echo "perl-dist: FAIL: $*" >&2; exit 1; }
pc=$(ls -d "$prefix"/lib/pkgconfig "$prefix"/lib/*/pkgconfig "$prefix"/lib64/pkgconfig 2>/dev/null | head -1)
[ -n "$pc" ] && [ -f "$pc/pec.pc" ] || fail "no pec.pc under $prefix"
export PKG_CONFIG_PATH="$pc"
export PEC_INTEROP_DIR="${PEC_INTEROP_DIR:-$(cd "$root/.." && pwd)/shared/interop}"
export PEC_LEAK_ITERATIONS="${PEC_LEAK_ITERATIONS:-2000}"
unset PEC_LIB_DIR PEC_INCLUDE_DIR PEC_NO_CARGO PEC_LINK 2>/dev/null || true
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pec-perl-dist.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "== make dist"
work=$tmp/src
mkdir -p "$work"
# a copy of the module directory, so the checkout stays clean (links to the test scripts
# are followed: the tarball holds real files)
(cd "$root/bindings/perl" && tar -chf - $(cat MANIFEST)) | (cd "$work" && tar -xf -)
# configured inside a copy without the repository around it: pkg-config must be what finds libpec
(cd "$work" && perl Makefile.PL >/dev/null && make dist >/dev/null)
tarball=$(ls "$work"/Mail-PEC-*.tar.gz)
echo "$(basename "$tarball"): $(tar -tzf "$tarball" | wc -l) files"
for f in LICENSE Changes META.json META.yml MANIFEST t/tools/make-pki.sh shim/Crypt/SMimeEngine.pm; do
    tar -tzf "$tarball" | grep -q "^Mail-PEC-[^/]*/$f\$" || fail "$f missing from the tarball"
done
tar -xzf "$tarball" -C "$tmp"
dist=$(ls -d "$tmp"/Mail-PEC-*/ | head -1)
dist=${dist%/}
[ -L "$dist/t/tools/make-pki.sh" ] && fail "t/tools/make-pki.sh is a link in the tarball"
perl -MJSON::PP -e '
    local $/; open my $fh, "<", $ARGV[0] or die; my $m = JSON::PP::decode_json(<$fh>);
    my $l = join ",", sort @{ $m->{license} };
    $l eq "apache_2_0,mit" or die "META license is $l, expected apache_2_0 and mit\n";
    print "META.json license: $l\n";' "$dist/META.json"

echo "== static build from the tarball (perl Makefile.PL --crypt-smimeengine && make && make test)"
cd "$dist"
perl Makefile.PL --crypt-smimeengine | grep 'Mail::PEC:' | tee "$tmp/configure.out"
grep -q 'libpec from pkg-config' "$tmp/configure.out" || fail "libpec was not found through pkg-config"
grep -q 'linked static' "$tmp/configure.out" || fail "not linked statically"
make >/dev/null
[ -f blib/lib/Crypt/SMimeEngine.pm ] || fail "the shim is not in blib"
if readelf -d blib/arch/auto/Mail/PEC/PEC.so | grep -q 'libpec'; then fail "static build needs libpec.so"; fi
make test
make realclean >/dev/null

echo "== shared build from the tarball (PEC_LINK=shared)"
PEC_LINK=shared perl Makefile.PL | grep 'Mail::PEC:' | tee "$tmp/configure.out"
grep -q 'linked shared' "$tmp/configure.out" || fail "not linked shared"
make >/dev/null
[ -f blib/lib/Crypt/SMimeEngine.pm ] && fail "the shim is installed without --crypt-smimeengine"
readelf -d blib/arch/auto/Mail/PEC/PEC.so | grep -q 'Shared library: \[libpec.so.0\]' \
    || fail "PEC.so does not need libpec.so.0"
ldd blib/arch/auto/Mail/PEC/PEC.so | grep -q "libpec.so.0 => $prefix/" \
    || fail "libpec.so.0 does not resolve into $prefix (RPATH)"
prove -b t/00-load.t t/10-smimeengine.t t/15-shim.t t/60-errors.t
echo "perl-dist: the tarball builds and passes against the installed libpec (static and shared)"
