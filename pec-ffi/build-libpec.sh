#!/bin/sh
# Builds libpec and records the system libraries its static library needs.
#
#   pec-ffi/build-libpec.sh [CARGO_ARGS...]     e.g. --release, --no-default-features --features pkcs11
#
# Runs `cargo rustc -p pec-ffi --lib ... -- --print native-static-libs=FILE`, which builds
# libpec.so (SONAME set by pec-ffi/build.rs), libpec.a and libpec.rlib like `cargo build`, and
# writes the list of system libraries the static library needs (-ldl -lgcc_s -lpthread ...)
# to <target>/<profile>/libpec.native-libs. That file is the one place the list comes from:
# pec-ffi/install.sh writes it into pec.pc (Libs.private), examples/c/Makefile and
# bindings/perl/Makefile.PL link with it. Always build libpec through this script (or the
# Makefiles that call it): a plain `cargo build -p pec-ffi` works too, but then
# the next run of this script compiles the pec-ffi crate again (a few seconds).
# CARGO_TARGET_DIR and CARGO are honoured; prints the path of the library directory last.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cargo=${CARGO:-cargo}
target=${CARGO_TARGET_DIR:-$root/target}
case $target in /*) ;; *) target=$root/$target ;; esac
profile=debug
prev=
for a in "$@"; do
    case $a in
        --release|-r) profile=release ;;
        --profile=*) profile=${a#--profile=} ;;
    esac
    [ "$prev" = "--profile" ] && profile=$a
    prev=$a
done
[ "$profile" = dev ] && profile=debug
outdir=$target/$profile
mkdir -p "$outdir"
# rustc writes the file only when it compiles pec-ffi: make it compile when the file is gone
[ -f "$outdir/libpec.native-libs" ] || touch "$here/src/lib.rs"
"$cargo" rustc --manifest-path "$root/Cargo.toml" -p pec-ffi --lib "$@" \
    -- --print "native-static-libs=$outdir/libpec.native-libs" >&2
# one line, as rustc wrote it (order and repetitions matter to the linker)
libs=$(tr '\n' ' ' < "$outdir/libpec.native-libs" | sed 's/  */ /g; s/^ //; s/ $//')
printf '%s\n' "$libs" > "$outdir/libpec.native-libs"
echo "$outdir"
