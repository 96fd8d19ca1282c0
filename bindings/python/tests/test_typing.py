"""The stubs type-check a small usage file with mypy --strict (when mypy is installed)."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest


def test_mypy_strict() -> None:
    pytest.importorskip("mypy")
    here = pathlib.Path(__file__).parent
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental",
         str(here / "typing_usage.py")],
        capture_output=True, text=True, cwd=here,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_stubs_installed() -> None:
    import pec

    pkg = pathlib.Path(pec.__file__).parent
    assert (pkg / "py.typed").exists()
    assert (pkg / "_rust.pyi").exists()
