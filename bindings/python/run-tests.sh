#!/usr/bin/env bash
# Builds the release wheel ONCE (maturin, abi3, manylinux, --locked), installs that wheel into
# a fresh venv whose PATH has no Rust toolchain, and runs the pytest suite against it, with
# mypy --strict on the typed usage file and mypy.stubtest on the extension's stubs. The
# project's CI calls this.
#
# Usage: bindings/python/run-tests.sh [--from-source] [VENV_DIR] [-- PYTEST_ARGS...]
#   VENV_DIR       where to create the test venv (default: a temporary directory, removed)
#   --from-source  instead of the wheel, check `pip install ./bindings/python` (a second
#                  release build: not what CI runs)
# Environment:
#   PYTHON           interpreter to create the venvs with (default: python3)
#   CARGO_TARGET_DIR the cargo target directory (default: the workspace's target/, shared
#                    with the other release builds of the workspace)
#   PEC_WHEEL_DIR    where the wheel is written (default: $CARGO_TARGET_DIR/wheels)
#   PEC_INTEROP_DIR  real samples (default: <repo>/../shared/interop)
#   CI=true          missing samples or tools (openssl, softhsm2-util, mypy) fail, not skip
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3}
# never let maturin download a Rust toolchain behind our back
export MATURIN_NO_INSTALL_RUST=1
export PIP_DISABLE_PIP_VERSION_CHECK=1
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
wheels=${PEC_WHEEL_DIR:-$CARGO_TARGET_DIR/wheels}

from_source=""
if [ "${1:-}" = "--from-source" ]; then
  from_source=1
  shift
fi
venv=""
cleanup=()
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
  venv=$1
  shift
fi
[ "${1:-}" = "--" ] && shift
if [ -z "$venv" ]; then
  venv=$(mktemp -d "${TMPDIR:-/tmp}/pec-py-venv.XXXXXX")
  cleanup+=("$venv")
fi
tools=$(mktemp -d "${TMPDIR:-/tmp}/pec-py-build.XXXXXX")
cleanup+=("$tools")
trap 'rm -rf "${cleanup[@]}"' EXIT

command -v cargo >/dev/null || { echo "cargo not found on PATH (the build needs Rust)" >&2; exit 1; }

# PATH without any directory holding cargo, rustc or rustup: what a user who only installs
# the wheel has
no_rust_path=""
IFS=: read -r -a dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  [ -n "$d" ] || continue
  if [ -e "$d/cargo" ] || [ -e "$d/rustc" ] || [ -e "$d/rustup" ]; then
    continue
  fi
  no_rust_path=${no_rust_path:+$no_rust_path:}$d
done

echo "== test venv $venv ($($python --version 2>&1))"
"$python" -m venv "$venv"
vpy="$venv/bin/python"
PATH=$no_rust_path "$vpy" -m pip install --quiet --upgrade pip

if [ -n "$from_source" ]; then
  echo "== pip install ./bindings/python (maturin from PyPI, release, --locked)"
  start=$(date +%s)
  (cd "$repo" && "$vpy" -m pip install --quiet \
    --config-settings "build-args=--features=test-support" ./bindings/python)
  echo "   built and installed in $(( $(date +%s) - start )) s"
  unset PEC_WHEEL_UNDER_TEST
else
  echo "== maturin build --release (abi3 manylinux wheel; target dir $CARGO_TARGET_DIR)"
  "$python" -m venv "$tools/venv"
  "$tools/venv/bin/python" -m pip install --quiet "maturin>=1.9,<2"
  mkdir -p "$wheels"
  rm -f "$wheels"/pec_mail-*.whl
  start=$(date +%s)
  # the suite needs `pec._rust.test_support` (cargo feature test-support: a generated test
  # PKI); the wheels published to users are built without it, otherwise identically
  (cd "$here" && "$tools/venv/bin/maturin" build --release --strip --locked \
    --features test-support --out "$wheels")
  echo "   built in $(( $(date +%s) - start )) s"
  wheel=$(ls "$wheels"/pec_mail-*.whl)
  echo "== install $(basename "$wheel") into the venv, no Rust on PATH"
  PATH=$no_rust_path "$vpy" -m pip install --quiet --no-index "$wheel"
  export PEC_WHEEL_UNDER_TEST=$wheel
fi

echo "== test tools (pytest, mypy, aiosmtpd for the example service)"
if ! PATH=$no_rust_path timeout 300 "$vpy" -m pip install --quiet "pytest>=7" "mypy>=1.10"; then
  echo "   mypy not installed: the typing tests skip (they fail under CI=true)"
  PATH=$no_rust_path "$vpy" -m pip install --quiet "pytest>=7"
fi
if ! PATH=$no_rust_path timeout 300 "$vpy" -m pip install --quiet "aiosmtpd>=1.4,<2"; then
  echo "   aiosmtpd not installed: the example service test skips (it fails under CI=true)"
fi

echo "== pytest (against the installed package, PATH without Rust)"
cd "$here/tests"
# run from the tests directory so `import pec` is the installed package, not the source tree
PATH=$no_rust_path "$vpy" -m pytest -q -p no:cacheprovider "$@" .
