"""The stubs are checked, not trusted: ``mypy --strict`` on a small usage file, and
``mypy.stubtest`` of ``pec._rust`` against the built extension. Both need mypy in the
venv; under ``CI=true`` a missing mypy fails instead of skipping."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest


def _need_mypy() -> None:
    try:
        import mypy  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("mypy is required when CI=true (run-tests.sh installs it)")
        pytest.skip("mypy not installed")


def test_mypy_strict() -> None:
    _need_mypy()
    here = pathlib.Path(__file__).parent
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental",
         str(here / "typing_usage.py")],
        capture_output=True, text=True, cwd=here,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_stubtest() -> None:
    """The hand-written ``_rust.pyi`` matches the extension: every class, method, property
    and module attribute, with the signatures PyO3 reports."""
    _need_mypy()
    here = pathlib.Path(__file__).parent
    allow = here / "stubtest-allowlist.txt"
    out = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "pec._rust", "--allowlist", str(allow)],
        capture_output=True, text=True, cwd=here,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_stubs_installed() -> None:
    import pec

    pkg = pathlib.Path(pec.__file__).parent
    assert (pkg / "py.typed").exists()
    assert (pkg / "_rust.pyi").exists()
