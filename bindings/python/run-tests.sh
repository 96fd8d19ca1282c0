#!/usr/bin/env bash
# Builds and installs the Python package into a fresh venv, then runs the pytest suite (and
# mypy --strict on the typed usage file). The project's CI calls this.
#
# Usage: bindings/python/run-tests.sh [VENV_DIR] [-- PYTEST_ARGS...]
#   VENV_DIR  where to create the venv (default: a temporary directory, removed afterwards)
# Environment:
#   PYTHON           interpreter to create the venv with (default: python3)
#   PEC_INTEROP_DIR  real samples (default: <repo>/../shared/interop)
#   CI=true          missing samples or tools (openssl, softhsm2-util) fail instead of skip
#   PEC_PY_PROFILE   cargo profile for the extension (default: release)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3}
# never let maturin download a Rust toolchain behind our back
export MATURIN_NO_INSTALL_RUST=1
export PIP_DISABLE_PIP_VERSION_CHECK=1

venv=""
cleanup=""
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
  venv=$1
  shift
fi
[ "${1:-}" = "--" ] && shift
if [ -z "$venv" ]; then
  venv=$(mktemp -d "${TMPDIR:-/tmp}/pec-py-venv.XXXXXX")
  cleanup=$venv
fi
trap '[ -n "$cleanup" ] && rm -rf "$cleanup"' EXIT

command -v cargo >/dev/null || { echo "cargo not found on PATH (the build needs Rust)" >&2; exit 1; }

echo "== venv $venv ($($python --version 2>&1))"
"$python" -m venv "$venv"
vpy="$venv/bin/python"
"$vpy" -m pip install --quiet --upgrade pip

echo "== pip install ./bindings/python (maturin, abi3, --locked)"
profile=${PEC_PY_PROFILE:-release}
# the tests need `pec._rust.test_support` (cargo feature test-support; never in release wheels)
build_args=(--config-settings "build-args=--features=test-support")
if [ "$profile" != "release" ]; then
  build_args=(--config-settings "build-args=--features=test-support --profile=$profile")
fi
start=$(date +%s)
(cd "$repo" && "$vpy" -m pip install --quiet "${build_args[@]}" ./bindings/python)
echo "   built and installed in $(( $(date +%s) - start )) s"

echo "== test tools"
"$vpy" -m pip install --quiet "pytest>=7"
# mypy is optional: if it does not install quickly the typing test skips
timeout 120 "$vpy" -m pip install --quiet mypy || echo "   mypy not installed: typing check skipped"

echo "== pytest"
cd "$here/tests"
# run from the tests directory so `import pec` is the installed package, not the source tree
"$vpy" -m pytest -q -p no:cacheprovider "$@" .
