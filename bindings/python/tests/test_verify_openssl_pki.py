"""pec.verify on the openssl-generated PKI of tests/pki/make-pki.sh (shaped like the real
PEC one: root -> name-constrained PEC CA -> provider certificates): valid, tampered,
revoked, expired, untrusted, name-constraint violation, stale CRL, not in index."""

from __future__ import annotations

import datetime as dt
import pathlib
import subprocess

import pytest

import pec
from conftest import NOW, REPO_ROOT, ldif_entry, require, require_tool, unsigned_message

MAKE_PKI = REPO_ROOT / "tests" / "pki" / "make-pki.sh"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    require(MAKE_PKI.exists(), f"{MAKE_PKI} missing")
    require_tool("openssl")
    out = tmp_path_factory.mktemp("openssl-pki")
    subprocess.run(["bash", str(MAKE_PKI), str(out)], check=True, capture_output=True)
    return out


def signer(pki: pathlib.Path, name: str) -> pec.SoftwareSigner:
    return pec.SoftwareSigner.from_pem(
        (pki / f"{name}.key").read_bytes(),
        (pki / f"{name}.pem").read_bytes(),
        (pki / "chain.pem").read_bytes(),
    )


def signed(pki: pathlib.Path, name: str, time: dt.datetime = NOW) -> bytes:
    return pec.sign(unsigned_message(), signer(pki, name), time=time)


def test_valid_with_full_crls(pki: pathlib.Path) -> None:
    r = pec.verify(signed(pki, "provider"), ca_file=pki / "root.pem", crl_files=[pki / "crls.pem"])
    assert (r.verdict, r.reasons, r.revocation) == ("valid", [], "good")
    assert r.signer is not None and "Example PEC" in r.signer.subject
    assert r.chain and "PEC CA" in r.chain[1]


def test_pkcs1_key_accepted(pki: pathlib.Path) -> None:
    s = pec.SoftwareSigner.from_pem(
        (pki / "provider.rsa.key").read_bytes(), (pki / "provider.pem").read_bytes(),
        (pki / "chain.pem").read_bytes())
    msg = pec.sign(unsigned_message(), s, time=NOW)
    assert pec.verify(msg, ca_file=pki / "root.pem").verdict == "valid"


def test_tampered(pki: pathlib.Path) -> None:
    msg = signed(pki, "provider").replace(b"Ricevuta di accettazione.", b"Ricevuta di accettaziome.")
    r = pec.verify(msg, ca_file=pki / "root.pem")
    assert r.verdict == "invalid" and "content-mismatch" in r.reasons


def test_revoked(pki: pathlib.Path) -> None:
    r = pec.verify(signed(pki, "revoked"), ca_file=pki / "root.pem", crl_files=[pki / "crls.pem"])
    assert r.verdict == "invalid" and "revoked" in r.reasons and r.revocation == "revoked"


def test_stale_crl_is_indeterminate(pki: pathlib.Path) -> None:
    r = pec.verify(
        signed(pki, "provider"), ca_file=pki / "root.pem",
        crl_files=[pki / "pec-ca-expired.crl.pem", pki / "root.crl.pem"],
    )
    assert r.verdict == "indeterminate" and r.reasons == ["revocation-unknown"]


def test_expired(pki: pathlib.Path) -> None:
    when = dt.datetime(2015, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
    msg = signed(pki, "expired", time=when)
    r = pec.verify(msg, ca_file=pki / "root.pem")
    assert r.verdict == "invalid" and "expired" in r.reasons
    assert pec.verify(msg, ca_file=pki / "root.pem", at="signing-time").verdict == "valid"
    assert pec.verify(msg, ca_file=pki / "root.pem", at=when).verdict == "valid"


@pytest.mark.parametrize("name", ["other-root", "nc-violation", "unknown-critical"])
def test_untrusted(pki: pathlib.Path, name: str) -> None:
    chain = pki / ("untrusted-root.pem" if name == "other-root" else "chain.pem")
    s = pec.SoftwareSigner.from_pem(
        (pki / f"{name}.key").read_bytes() if (pki / f"{name}.key").exists()
        else (pki / "provider.key").read_bytes(),
        (pki / f"{name}.pem").read_bytes(), chain.read_bytes())
    sender = ("posta-certificata@evil.example.com" if name == "nc-violation"
              else "posta-certificata@pec.example.it")
    msg = pec.sign(unsigned_message(sender=sender), s, time=NOW)
    r = pec.verify(msg, ca_file=pki / "root.pem")
    assert r.verdict == "invalid" and "untrusted-chain" in r.reasons


def test_index(pki: pathlib.Path, tmp_path: pathlib.Path) -> None:
    ldif = tmp_path / "index.ldif"
    ldif.write_text(
        ldif_entry("Example PEC S.p.A.", "pec.example.it", (pki / "provider.pem").read_bytes())
    )
    idx = pec.Index.from_ldif(ldif)
    r = pec.verify(signed(pki, "provider"), ca_file=pki / "root.pem", index=idx)
    assert r.verdict == "valid", r.reasons
    assert r.provider is not None and r.provider.name == "Example PEC S.p.A."
    r = pec.verify(signed(pki, "provider2"), ca_file=pki / "root.pem", index=idx)
    assert r.verdict == "invalid" and "not-in-index" in r.reasons
