"""The installed distribution: its name, metadata and licence files, and (when run-tests.sh
installed the release wheel) the wheel's tags and a PATH with no Rust toolchain."""

from __future__ import annotations

import email
import os
import pathlib
import shutil
import sys
import zipfile
from importlib import metadata

import pytest

import pec

WHEEL = os.environ.get("PEC_WHEEL_UNDER_TEST")


def test_distribution_metadata() -> None:
    dist = metadata.distribution("pec-mail")
    meta = dist.metadata
    assert meta["Name"] == "pec-mail"
    assert meta["Version"] == pec.__version__
    assert meta["Requires-Python"] == ">=3.10"
    # PEP 639: an SPDX expression and the licence files
    assert meta["License-Expression"] == "Apache-2.0 OR MIT"
    assert sorted(meta.get_all("License-File") or []) == ["LICENSE-APACHE", "LICENSE-MIT"]
    urls = meta.get_all("Project-URL") or []
    assert any(u.startswith("Repository, ") for u in urls), urls
    files = [str(f) for f in dist.files or []]
    for name in ("LICENSE-APACHE", "LICENSE-MIT"):
        lic = [f for f in files if f.endswith(f"licenses/{name}")]
        assert lic, f"{name} not shipped: {files}"
        text = pathlib.Path(str(dist.locate_file(lic[0]))).read_text()
        assert ("Apache License" if name == "LICENSE-APACHE" else "Permission is hereby granted") in text
    # the import name stays `pec`, with its typed stubs
    assert {"pec/__init__.py", "pec/_rust.pyi", "pec/py.typed"} <= set(files)


@pytest.mark.skipif(WHEEL is None, reason="not run against the release wheel (run-tests.sh)")
def test_release_wheel_without_rust() -> None:
    assert WHEEL is not None
    # installed from the wheel, in a venv whose PATH has no Rust toolchain
    for tool in ("cargo", "rustc", "rustup"):
        assert shutil.which(tool) is None, f"{tool} on PATH: {shutil.which(tool)}"
    assert sys.prefix != sys.base_prefix, "not a venv"
    assert pathlib.Path(pec.__file__).resolve().is_relative_to(pathlib.Path(sys.prefix).resolve())
    name = pathlib.Path(WHEEL).name
    # one abi3 wheel for every CPython >= 3.10, manylinux-tagged
    assert name.startswith(f"pec_mail-{pec.__version__}-cp310-abi3-manylinux"), name
    with zipfile.ZipFile(WHEEL) as z:
        wheel_meta = next(n for n in z.namelist() if n.endswith(".dist-info/WHEEL"))
        tags = email.message_from_bytes(z.read(wheel_meta)).get_all("Tag") or []
        assert tags and all(t.startswith("cp310-abi3-manylinux") for t in tags), tags
        ext = [n for n in z.namelist() if n.startswith("pec/_rust") and n.endswith(".so")]
        assert ext == ["pec/_rust.abi3.so"], ext
