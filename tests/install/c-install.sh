#!/bin/sh
# The C install test: installs libpec into a temporary prefix the way a distribution would
# (Debian multiarch libdir, libpec.so.X.Y.Z + SONAME link + dev link, pec.h, pec.pc), then
# builds and runs a C program with nothing but `pkg-config --cflags --libs pec` (shared) and
# `pkg-config --static` (static libpec.a), and checks the SONAME with readelf.
#
#   tests/install/c-install.sh [PREFIX] [BUILDDIR]
#
# PREFIX    where to install (default: a temporary directory, removed afterwards; give one to
#           keep it, e.g. for tests/install/perl-dist.sh)
# BUILDDIR  the cargo output holding libpec (default: build it with
#           `pec-ffi/build-libpec.sh --release --locked`: the release build the Perl step uses)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
prefix=${1:-}
builddir=${2:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pec-c-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
[ -n "$prefix" ] || prefix=$tmp/prefix
case $prefix in /*) ;; *) prefix=$(pwd)/$prefix ;; esac
fail() { echo "c-install: FAIL: $*" >&2; exit 1; }
for tool in pkg-config readelf cc; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is required"
done
[ -n "$builddir" ] || builddir=$("$root/pec-ffi/build-libpec.sh" --release --locked)

multiarch=$(cc -print-multiarch 2>/dev/null || true)
libdir=lib${multiarch:+/$multiarch}
rm -rf "$prefix"
"$root/pec-ffi/install.sh" --libdir="$libdir" "$prefix" "$builddir"
L=$prefix/$libdir
export PKG_CONFIG_PATH="$L/pkgconfig"
unset PKG_CONFIG_LIBDIR 2>/dev/null || true

echo "== files and links"
[ -f "$L/libpec.so.0.1.0" ] || fail "libpec.so.0.1.0 not installed"
[ "$(readlink "$L/libpec.so.0")" = libpec.so.0.1.0 ] || fail "libpec.so.0 -> libpec.so.0.1.0"
[ "$(readlink "$L/libpec.so")" = libpec.so.0 ] || fail "libpec.so -> libpec.so.0"
soname=$(readelf -d "$L/libpec.so.0.1.0" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
[ "$soname" = libpec.so.0 ] || fail "SONAME is '$soname', expected libpec.so.0"
echo "SONAME $soname"

echo "== pkg-config"
pkg-config --exists pec || fail "pkg-config does not find pec"
[ "$(pkg-config --modversion pec)" = "$(sed -n 's/^#define PEC_VERSION "\(.*\)"$/\1/p' "$root/include/pec.h")" ] \
    || fail "pec.pc version differs from pec.h"
[ "$(pkg-config --variable=libdir pec)" = "$L" ] || fail "libdir is $(pkg-config --variable=libdir pec), expected $L"
private=$(pkg-config --static --libs-only-l pec | sed 's/^-lpec //')
[ "$private" = "$(cat "$builddir/libpec.native-libs") " ] || [ "$private" = "$(cat "$builddir/libpec.native-libs")" ] \
    || fail "Libs.private '$private' is not the computed native-static-libs list"
echo "cflags: $(pkg-config --cflags pec)"
echo "libs: $(pkg-config --libs pec)"
echo "static: $(pkg-config --static --libs pec)"

cat > "$tmp/prog.c" <<'C'
#include <pec.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    const char *v = pec_version();
    if (v == NULL || strcmp(v, PEC_VERSION) != 0) {
        fprintf(stderr, "version mismatch: header %s, library %s\n", PEC_VERSION, v ? v : "(null)");
        return 1;
    }
    static const char msg[] =
        "From: a@example.it\r\nTo: b@example.it\r\nSubject: hi\r\n"
        "Message-ID: <1@example.it>\r\nDate: Mon, 25 Nov 2024 10:00:00 +0100\r\n\r\nhello\r\n";
    pec_message *m = NULL;
    if (pec_message_parse((const uint8_t *)msg, sizeof msg - 1, &m) != PEC_RESULT_OK) {
        fprintf(stderr, "parse failed\n");
        return 1;
    }
    const char *kind = NULL;
    size_t kind_len = 0;
    pec_message_kind(m, &kind, &kind_len);
    printf("libpec %s: plain mail kind %s\n", v, kind ? kind : "(none)");
    pec_message_free(m);
    pec_message_free(NULL);
    return kind == NULL ? 0 : 1;
}
C

echo "== shared: cc prog.c \$(pkg-config --cflags --libs pec)"
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -Werror -o "$tmp/prog-shared" "$tmp/prog.c" $(pkg-config --cflags --libs pec)
readelf -d "$tmp/prog-shared" | grep -q 'Shared library: \[libpec.so.0\]' \
    || fail "the program does not record NEEDED libpec.so.0"
LD_LIBRARY_PATH=$L "$tmp/prog-shared"
resolved=$(LD_LIBRARY_PATH=$L ldd "$tmp/prog-shared" | sed -n 's/.*libpec.so.0 => \([^ ]*\).*/\1/p')
[ "$resolved" = "$L/libpec.so.0" ] || fail "libpec.so.0 resolves to '$resolved'"

echo "== static: cc prog.c \$(pkg-config --cflags --static --libs pec), libpec.a chosen with -Bstatic"
# pkg-config names the library (-lpec) and, with --static, the system libraries it needs; the
# linker prefers libpec.so unless told otherwise for -lpec alone
static_libs=$(pkg-config --static --libs pec | sed 's/-lpec /-Wl,-Bstatic -lpec -Wl,-Bdynamic /')
# shellcheck disable=SC2046,SC2086
cc -std=c99 -Wall -Wextra -Werror -o "$tmp/prog-static" "$tmp/prog.c" $(pkg-config --cflags pec) $static_libs
if readelf -d "$tmp/prog-static" | grep -q 'libpec'; then fail "the static program needs libpec.so"; fi
env -u LD_LIBRARY_PATH "$tmp/prog-static"

echo "== staged install (DESTDIR): files under the stage, pec.pc names the final prefix"
"$root/pec-ffi/install.sh" --destdir="$tmp/stage" --libdir="$libdir" /usr "$builddir" >/dev/null
[ -f "$tmp/stage/usr/$libdir/libpec.so.0.1.0" ] || fail "staged library missing"
grep -qx 'prefix=/usr' "$tmp/stage/usr/$libdir/pkgconfig/pec.pc" || fail "staged pec.pc prefix"
grep -qx "libdir=\${exec_prefix}/$libdir" "$tmp/stage/usr/$libdir/pkgconfig/pec.pc" || fail "staged pec.pc libdir"

echo "c-install: all checks passed (prefix $prefix)"
