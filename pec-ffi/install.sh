#!/bin/sh
# Installs libpec: libpec.so.X.Y.Z with its libpec.so.X (SONAME) and libpec.so links, libpec.a,
# pec.h and a generated pec.pc.
#
#   pec-ffi/install.sh [OPTIONS] PREFIX [BUILDDIR [PC_PREFIX]]
#
# PREFIX           the prefix written into pec.pc, e.g. /usr/local or /usr
# BUILDDIR         where cargo put libpec (default: <target>/release if built, else <target>/debug)
# PC_PREFIX        (old form) the prefix for pec.pc when PREFIX includes a staging directory;
#                  prefer --destdir
# --libdir=DIR     library directory, absolute or relative to PREFIX (default: lib); Debian
#                  multiarch: --libdir=lib/x86_64-linux-gnu. pec.pc goes to DIR/pkgconfig.
# --includedir=DIR header directory, absolute or relative to PREFIX (default: include)
# --destdir=DIR    staging root for packaging (also the DESTDIR environment variable): files go
#                  to DIR/PREFIX/..., pec.pc names PREFIX
# --builddir=DIR   same as BUILDDIR
#
# Build first with pec-ffi/build-libpec.sh --release (or `make -C examples/c install`): it
# records the system libraries of the static library (Libs.private) next to libpec.a. After a
# plain `cargo build`, this script runs build-libpec.sh itself to get that list.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
libdir=lib
includedir=include
destdir=${DESTDIR:-}
builddir=
pos=
for a in "$@"; do
    case $a in
        --libdir=*) libdir=${a#--libdir=} ;;
        --includedir=*) includedir=${a#--includedir=} ;;
        --destdir=*) destdir=${a#--destdir=} ;;
        --builddir=*) builddir=${a#--builddir=} ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        -*) echo "install.sh: unknown option $a" >&2; exit 64 ;;
        *) pos="$pos$a
" ;;
    esac
done
prefix=$(printf '%s' "$pos" | sed -n 1p)
[ -n "$prefix" ] || { echo "usage: install.sh [--libdir=DIR] [--destdir=DIR] PREFIX [BUILDDIR]" >&2; exit 64; }
[ -n "$builddir" ] || builddir=$(printf '%s' "$pos" | sed -n 2p)
pc_prefix=$(printf '%s' "$pos" | sed -n 3p)
if [ -n "$pc_prefix" ]; then
    # old form: PREFIX already includes the staging root
    destdir=
    stage_prefix=$prefix
    prefix=$pc_prefix
else
    stage_prefix=$destdir$prefix
fi
prefix=${prefix%/}
[ -n "$prefix" ] || prefix=/
if [ -z "$builddir" ]; then
    target=${CARGO_TARGET_DIR:-$root/target}
    if [ -f "$target/release/libpec.a" ]; then builddir=$target/release; else builddir=$target/debug; fi
fi
for f in libpec.a libpec.so; do
    [ -f "$builddir/$f" ] || { echo "install.sh: $builddir/$f missing: run pec-ffi/build-libpec.sh --release first" >&2; exit 1; }
done
if [ ! -s "$builddir/libpec.native-libs" ]; then
    case $builddir in
        */release) "$here/build-libpec.sh" --locked --release >/dev/null ;;
        *) "$here/build-libpec.sh" --locked >/dev/null ;;
    esac
fi
private_libs=$(cat "$builddir/libpec.native-libs")

version=$(sed -n 's/^#define PEC_VERSION "\(.*\)"$/\1/p' "$root/include/pec.h")
major=${version%%.*}
# the SONAME the library was linked with (pec-ffi/build.rs)
soname=libpec.so.$major
if command -v readelf >/dev/null 2>&1; then
    found=$(readelf -d "$builddir/libpec.so" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
    [ "$found" = "$soname" ] || { echo "install.sh: $builddir/libpec.so has SONAME '$found', expected $soname" >&2; exit 1; }
fi

abs() { case $1 in /*) printf '%s' "$1" ;; *) printf '%s/%s' "${prefix%/}" "$1" ;; esac; }
# pec.pc names directories under the prefix through ${prefix}/${exec_prefix}
pcdir() {
    case $1 in
        "$prefix"/*) printf '%s' "\${$2}${1#"$prefix"}" ;;
        *) printf '%s' "$1" ;;
    esac
}
libdir_abs=$(abs "$libdir")
includedir_abs=$(abs "$includedir")
stage() { printf '%s%s' "$destdir" "$1"; }
if [ -n "$pc_prefix" ]; then
    stage() { printf '%s%s' "$stage_prefix" "${1#"$prefix"}"; }
fi
L=$(stage "$libdir_abs")
I=$(stage "$includedir_abs")

install -d "$L/pkgconfig" "$I"
install -m 0644 "$builddir/libpec.a" "$L/libpec.a"
install -m 0755 "$builddir/libpec.so" "$L/libpec.so.$version"
ln -sf "libpec.so.$version" "$L/$soname"
ln -sf "$soname" "$L/libpec.so"
install -m 0644 "$root/include/pec.h" "$I/pec.h"
sed -e "s|@PREFIX@|$prefix|" \
    -e "s|@LIBDIR@|$(pcdir "$libdir_abs" exec_prefix)|" \
    -e "s|@INCLUDEDIR@|$(pcdir "$includedir_abs" prefix)|" \
    -e "s|@VERSION@|$version|" \
    -e "s|@PRIVATE_LIBS@|$private_libs|" \
    "$here/pec.pc.in" > "$L/pkgconfig/pec.pc"
chmod 0644 "$L/pkgconfig/pec.pc"
echo "installed libpec $version ($soname) into $L (pkg-config: $L/pkgconfig/pec.pc)"
