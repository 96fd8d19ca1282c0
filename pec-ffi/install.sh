#!/bin/sh
# Installs libpec: the shared and static libraries, pec.h and a generated pec.pc.
#
#   pec-ffi/install.sh PREFIX [LIBDIR] [PC_PREFIX]
#
# PREFIX     where to install (e.g. /usr/local, or $DESTDIR/usr/local for packaging)
# LIBDIR     where cargo put libpec (default: <repo>/target/release, else target/debug)
# PC_PREFIX  the prefix written into pec.pc (default: PREFIX; give the final prefix when
#            PREFIX includes a DESTDIR)
#
# Build first with `cargo build -p pec-ffi --release` (or use `make -C examples/c install`).
set -eu
prefix=${1:?usage: install.sh PREFIX [LIBDIR] [PC_PREFIX]}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
libdir=${2:-}
if [ -z "$libdir" ]; then
    target=${CARGO_TARGET_DIR:-$root/target}
    if [ -f "$target/release/libpec.a" ]; then libdir=$target/release; else libdir=$target/debug; fi
fi
pc_prefix=${3:-$prefix}
version=$(sed -n 's/^#define PEC_VERSION "\(.*\)"$/\1/p' "$root/include/pec.h")
# native libraries the static library needs (cargo rustc -- --print native-static-libs)
private_libs="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"

for f in libpec.a libpec.so; do
    [ -f "$libdir/$f" ] || { echo "install.sh: $libdir/$f missing: build pec-ffi first" >&2; exit 1; }
done
install -d "$prefix/lib/pkgconfig" "$prefix/include"
install -m 0644 "$libdir/libpec.a" "$prefix/lib/libpec.a"
install -m 0755 "$libdir/libpec.so" "$prefix/lib/libpec.so"
install -m 0644 "$root/include/pec.h" "$prefix/include/pec.h"
sed -e "s|@PREFIX@|$pc_prefix|" -e "s|@VERSION@|$version|" -e "s|@PRIVATE_LIBS@|$private_libs|" \
    "$here/pec.pc.in" > "$prefix/lib/pkgconfig/pec.pc"
echo "installed libpec $version into $prefix (pkg-config: $prefix/lib/pkgconfig/pec.pc)"
