"""Golden files (tests/vectors/expected/README.md): the Python door's `Message.to_json()` and
`VerificationReport.to_json()` against the expectations every door is checked against.

Both sides are parsed as JSON and compared as values (canonical dumps, so `true` is not `1`).
A mismatch writes `<name>.failed` beside the expectation and fails; a missing expectation
fails unless PEC_BLESS=1 (then it is written). Interop messages skip when their directory is
absent, and fail under CI=true."""

from __future__ import annotations

import json
import os
import pathlib
from typing import Any

import pytest

import pec
from conftest import REPO_ROOT, interop_dir

EXPECTED = REPO_ROOT / "tests" / "vectors" / "expected"


def sources() -> list[str]:
    lines = (EXPECTED / "sources.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def source_path(source: str) -> pathlib.Path:
    if source.startswith("vectors/"):
        return REPO_ROOT / "tests" / "vectors" / source[len("vectors/") :]
    assert source.startswith("interop/"), source
    return interop_dir() / source[len("interop/") :]


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def check(name: str, actual: str) -> None:
    path = EXPECTED / name
    failed = EXPECTED / f"{name}.failed"
    actual_value = json.loads(actual)
    if not path.exists():
        if os.environ.get("PEC_BLESS") == "1":
            path.write_text(actual.rstrip() + "\n", encoding="utf-8")
            return
        pytest.fail(f"{path}: no expectation; run with PEC_BLESS=1 to write it")
    expected_value = json.loads(path.read_text(encoding="utf-8"))
    if canonical(expected_value) == canonical(actual_value):
        failed.unlink(missing_ok=True)
        return
    failed.write_text(actual.rstrip() + "\n", encoding="utf-8")
    pytest.fail(f"{name}: differs from the expectation; actual output in {failed}")


@pytest.fixture(scope="module")
def verifier() -> pec.Verifier:
    return pec.Verifier(ca_file=EXPECTED / "anchors.pem", at="signing-time")


@pytest.mark.parametrize("source", sources())
def test_golden(source: str, verifier: pec.Verifier) -> None:
    data = source_path(source).read_bytes()
    stem = source.replace("/", "__")
    message = pec.parse(data)
    check(f"{stem}.inspect.json", message.to_json())
    report = verifier.verify(data)
    check(f"{stem}.verify.json", report.to_json())
    # to_dict is the same view, parsed
    assert message.to_dict() == json.loads(message.to_json())
    assert report.to_dict() == json.loads(report.to_json())
    # the wire names are the attribute names of the Python objects
    d = message.to_dict()
    assert d["kind"] == message.kind and d["signed_scope"] == message.signed_scope
    if message.daticert is not None:
        assert d["daticert"]["gestore_emittente"] == message.daticert.gestore_emittente
        assert d["daticert"]["data"]["giorno"] == message.daticert.giorno
    r = report.to_dict()
    assert r["verdict"] == report.verdict and r["reasons"] == report.reasons


def test_a_mismatch_writes_a_failed_file(tmp_path: pathlib.Path) -> None:
    name = f"selftest-py-{os.getpid()}.json"
    path, failed = EXPECTED / name, EXPECTED / f"{name}.failed"
    path.write_text('{"a": [1, true, null], "b": "x"}\n', encoding="utf-8")
    try:
        check(name, '{\n  "b": "x",\n  "a": [1, true, null]\n}')
        with pytest.raises(pytest.fail.Exception):
            check(name, '{"a": [true, true, null], "b": "x"}')
        assert '"a": [true' in failed.read_text(encoding="utf-8")
    finally:
        path.unlink(missing_ok=True)
        failed.unlink(missing_ok=True)


def test_index_record_to_json() -> None:
    index = pec.Index.from_ldif(REPO_ROOT / "tests" / "vectors" / "index" / "providers.ldif")
    record = index.by_domain("pec.alfa.example")
    assert record is not None
    assert json.loads(record.to_json()) == {
        "cert_hashes": record.cert_hashes,
        "dn": record.dn,
        "mail_receipt": record.mail_receipt,
        "managed_domains": record.managed_domains,
        "name": "Alfa PEC",
        "unit": None,
    }
