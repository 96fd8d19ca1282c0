"""Shared fixtures: the real samples of ../shared/interop, the generated test PKI, and the
rule for tools and samples: skip when absent, FAIL when CI=true."""

from __future__ import annotations

import datetime as dt
import os
import pathlib
import shutil
from typing import Any, Callable, Iterator, TypeVar

import pytest

import pec

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
CI = os.environ.get("CI") == "true"
T = TypeVar("T")


def require(condition: bool, what: str) -> None:
    """Skips the test when `condition` is false, unless CI=true (then it fails)."""
    if condition:
        return
    if CI:
        pytest.fail(f"{what} (required when CI=true)")
    pytest.skip(what)


def require_tool(name: str) -> str:
    path = shutil.which(name)
    require(path is not None, f"{name} not installed")
    assert path is not None
    return path


def pending_core(fn: Callable[[], T]) -> T:
    """Calls `fn`; a core feature that has not landed yet (NotImplementedError in the
    binding) skips the test with the binding's message."""
    try:
        return fn()
    except NotImplementedError as e:
        pytest.skip(f"pending core: {e}")


def interop_dir() -> pathlib.Path:
    d = pathlib.Path(os.environ.get("PEC_INTEROP_DIR", REPO_ROOT.parent / "shared" / "interop"))
    require(d.is_dir(), f"interop samples not found at {d}")
    return d


@pytest.fixture(scope="session")
def interop() -> pathlib.Path:
    return interop_dir()


def interop_files() -> list[pathlib.Path]:
    d = pathlib.Path(os.environ.get("PEC_INTEROP_DIR", REPO_ROOT.parent / "shared" / "interop"))
    if not d.is_dir():
        return []
    return sorted(p for p in d.rglob("*") if p.is_file() and p.name != "SOURCES.md")


UTC = dt.timezone.utc
NOW = dt.datetime.now(UTC).replace(microsecond=0)


class Pki:
    """A generated PKI on disk: root (anchor), CA, providers, CRLs."""

    def __init__(self, tmp: pathlib.Path, not_before: dt.datetime, not_after: dt.datetime):
        from pec._rust import test_support

        self.tmp = tmp
        self.pki = test_support.TestPki(
            [("Test PEC S.p.A.", "pec.example.it"), ("Altro Gestore", "pec.altro.it")],
            not_before,
            not_after,
        )
        self.root = tmp / "root.pem"
        self.root.write_bytes(self.pki.root_pem)
        self.crl = tmp / "crl.pem"
        self.crl.write_bytes(self.pki.crl_pem)
        # with the root's CRL, every certificate of the path is covered
        self.root_crl = tmp / "root-crl.pem"
        self.root_crl.write_bytes(self.pki.root_crl_pem)
        self.crls = [self.crl, self.root_crl]
        key, cert, serial = self.pki.providers[0]
        self.key_pem, self.cert_pem, self.serial = key, cert, serial
        self.chain_pem = self.pki.ca_pem
        self.signer = pec.SoftwareSigner.from_pem(key, cert, self.chain_pem)

    def revoked_crl(self, this_update: dt.datetime, next_update: dt.datetime) -> pathlib.Path:
        p = self.tmp / "revoked-crl.pem"
        p.write_bytes(self.pki.crl_revoking([self.serial], this_update, next_update))
        return p


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(
        tmp_path_factory.mktemp("pki"),
        NOW - dt.timedelta(days=30),
        NOW + dt.timedelta(days=365),
    )


@pytest.fixture(scope="session")
def expired_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(
        tmp_path_factory.mktemp("expired-pki"),
        NOW - dt.timedelta(days=800),
        NOW - dt.timedelta(days=400),
    )


def unsigned_message(
    sender: str = "posta-certificata@pec.example.it",
    body: bytes = b"Ricevuta di accettazione.\r\n",
    subject: str = "ACCETTAZIONE: prova",
) -> bytes:
    return (
        f"From: {sender}\r\n"
        f"To: mario.rossi@pec.altro.it\r\n"
        f"Subject: {subject}\r\n"
        f"Date: Tue, 13 Nov 2018 17:39:26 +0100\r\n"
        f"Message-ID: <test.{os.getpid()}@pec.example.it>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n"
        f"\r\n"
    ).encode() + body


def iter_chunks(data: bytes, n: int) -> Iterator[bytes]:
    for i in range(0, len(data), n):
        yield data[i : i + n]


def any_(x: Any) -> Any:
    return x


def ldif_entry(name: str, domain: str, cert_pem: bytes) -> str:
    """One RFC 6109 §5 `provider` entry for `cert_pem` managing `domain`."""
    import base64
    import hashlib

    der = base64.b64decode(b"".join(cert_pem.split(b"-----")[2].split()))
    return (
        f"dn: providerName={name},o=postacert\n"
        "objectClass: top\nobjectClass: provider\n"
        f"providerName: {name}\n"
        f"providerCertificateHash: {hashlib.sha1(der).hexdigest()}\n"
        f"providerCertificate;binary:: {base64.b64encode(der).decode()}\n"
        f"mailReceipt: posta-certificata@{domain}\n"
        f"managedDomains: {domain}\n\n"
    )
