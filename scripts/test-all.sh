#!/usr/bin/env bash
# Runs every test: Rust (fmt, clippy, unit + integration), C (valgrind + ASan), Python, Perl.
# Tests that need openssl, xmllint, SoftHSM2 or slapd run them for real; with CI=true a
# missing tool is a failure, not a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
# each step says how long the run has taken so far (a slow or stuck step shows in CI's log)
step() { printf '\n==== [%02d:%02d] %s ====\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

step "rustfmt"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (workspace)"
cargo test --workspace --locked --no-fail-fast

step "pec serve on loopback and behind two real Postfix instances (--features test-clock: --test serve --test postfix_e2e)"
cargo clippy --locked -p pec-cli --all-targets --features test-clock -- -D warnings
cargo test --locked -p pec-cli --features test-clock --test serve --test postfix_e2e

step "pec encrypt --pgp, opened by gpg --decrypt (--features openpgp: --test atrest_pgp)"
cargo clippy --locked -p pec-cli --all-targets --features openpgp -- -D warnings
cargo test --locked -p pec-cli --features openpgp --test atrest_pgp

if [ -f examples/c/Makefile ]; then
  step "C examples and tests (valgrind, AddressSanitizer)"
  make -C examples/c check
fi

if [ -x bindings/python/run-tests.sh ]; then
  step "Python"
  bindings/python/run-tests.sh
fi

# One release build of libpec (pec-ffi/build-libpec.sh, in the shared target directory) serves
# the C install test, the in-tree Perl build and the Perl tarball test.
install_tmp=$(mktemp -d "${TMPDIR:-/tmp}/pec-install.XXXXXX")
trap 'rm -rf "$install_tmp"' EXIT
timed() { local t0=$SECONDS; "$@"; echo "   ($(( SECONDS - t0 )) s)"; }

step "C: libpec installed into a prefix, used through pkg-config (shared, static), SONAME"
timed tests/install/c-install.sh "$install_tmp/prefix"

if [ -f bindings/perl/Makefile.PL ]; then
  step "Perl"
  (cd bindings/perl && perl Makefile.PL && make && make test)

  step "Perl: make dist tarball built and tested elsewhere against the installed libpec"
  timed tests/install/perl-dist.sh "$install_tmp/prefix"
fi

step "libpec without LDAP (cargo test -p pec-ffi --no-default-features --features pkcs11)"
timed cargo test --locked -p pec-ffi --no-default-features --features pkcs11 --test features --test header

step "cargo deny check licenses bans sources (deny.toml)"
if cargo deny --version >/dev/null 2>&1; then
  # advisories need the RustSec database from GitHub, out of reach here (deny.toml)
  timed cargo deny --log-level error check licenses bans sources
elif [ "${CI:-}" = true ]; then
  echo "cargo-deny is required when CI=true (scripts/install-deps.sh installs it)" >&2
  exit 1
else
  echo "skip: cargo-deny not installed (cargo install --locked cargo-deny)"
fi

step "all tests passed"
