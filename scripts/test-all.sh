#!/usr/bin/env bash
# Runs every test: Rust (fmt, clippy, unit + integration), C (valgrind + ASan), Python, Perl.
# Tests that need openssl, xmllint, SoftHSM2 or slapd run them for real; with CI=true a
# missing tool is a failure, not a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
step() { printf '\n==== %s ====\n' "$*"; }

step "rustfmt"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (workspace)"
cargo test --workspace --locked --no-fail-fast

if [ -f examples/c/Makefile ]; then
  step "C examples and tests (valgrind, AddressSanitizer)"
  make -C examples/c check
fi

if [ -x bindings/python/run-tests.sh ]; then
  step "Python"
  bindings/python/run-tests.sh
fi

if [ -f bindings/perl/Makefile.PL ]; then
  step "Perl"
  (cd bindings/perl && perl Makefile.PL && make && make test)
fi

step "all tests passed"
