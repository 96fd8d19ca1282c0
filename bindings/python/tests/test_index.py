"""pec.Index: the providers index from LDIF (the repository's vector) and LDAP errors; the
index as trust list in verification."""

from __future__ import annotations

import pathlib
import socket

import pytest

import pec
from conftest import NOW, REPO_ROOT, Pki, ldif_entry, unsigned_message

VECTORS = REPO_ROOT / "tests" / "vectors" / "index"


@pytest.fixture(scope="module")
def index() -> pec.Index:
    return pec.Index.from_ldif(VECTORS / "providers.ldif")


def test_from_ldif_lookups(index: pec.Index) -> None:
    assert len(index) == 4
    alfa = index.by_domain("pec.cliente-uno.example")
    assert alfa is not None and alfa.name == "Alfa PEC"
    assert alfa.mail_receipt == "takecharge@pec.alfa.example"
    assert alfa.manages("PEC.ALFA.EXAMPLE")
    assert len(alfa.certificates) == 2 and all(isinstance(c, bytes) for c in alfa.certificates)
    beta_hash = (VECTORS / "certs" / "beta.sha1").read_text().strip()
    beta = index.by_cert_hash(beta_hash.upper())
    assert beta is not None and beta.name == "Beta Posta Certificata"
    by_cert = index.by_certificate((VECTORS / "certs" / "beta.der").read_bytes())
    assert by_cert is not None and by_cert.dn == beta.dn
    main = index.by_name("beta posta certificata")
    assert main is not None and main.unit is None
    assert index.is_certified("mario.rossi@gamma.example")
    assert "anna@pec.gamma.example" in index
    assert not index.is_certified("someone@gmail.com")
    assert index.by_domain("gmail.com") is None
    assert {r.name for r in index.records()} >= {"Alfa PEC", "Gamma PEC"}


def test_from_ldif_bytes_same(index: pec.Index) -> None:
    again = pec.Index.from_ldif_bytes((VECTORS / "providers.ldif").read_bytes())
    assert len(again) == len(index)


def test_malformed_ldif(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.ldif"
    bad.write_bytes(
        b"dn: providerName=X,o=postacert\nobjectClass: provider\nproviderName: X\n"
        b"providerCertificateHash: nothex\nmanagedDomains: x.example\n"
        b"mailReceipt: r@x.example\n\n"
    )
    with pytest.raises(pec.DirectoryError) as info:
        pec.Index.from_ldif(bad)
    assert info.value.code == pec.Code.LDIF_MALFORMED
    with pytest.raises(pec.FileError):
        pec.Index.from_ldif(tmp_path / "missing.ldif")


def test_from_ldap_unreachable() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(pec.DirectoryError) as info:
        pec.Index.from_ldap(f"ldap://127.0.0.1:{port}", base="o=postacert", timeout=2)
    assert info.value.code in (pec.Code.LDAP_CONNECT, pec.Code.LDAP_TIMEOUT)
    with pytest.raises(ValueError):
        pec.Index.from_ldap("ldap://127.0.0.1:1", timeout=-1)


def ldif_for(pki: Pki, tmp: pathlib.Path) -> pathlib.Path:
    p = tmp / "pki-index.ldif"
    p.write_text(ldif_entry("Test PEC S.p.A.", "pec.example.it", pki.cert_pem))
    return p


def test_index_as_trust_list(pki: Pki, tmp_path: pathlib.Path) -> None:
    idx = pec.Index.from_ldif(ldif_for(pki, tmp_path))
    msg = pec.sign(unsigned_message(), pki.signer, time=NOW)
    r = pec.verify(msg, ca_file=pki.root, index=idx)
    assert r.verdict == "valid", r.reasons
    assert r.provider is not None and r.provider.name == "Test PEC S.p.A."
    # signing for a domain the provider does not manage is impersonation
    other = pec.sign(unsigned_message(sender="x@pec.altro.it"), pki.signer, time=NOW)
    r = pec.verify(other, ca_file=pki.root, index=idx)
    assert r.verdict == "invalid" and "from-domain-mismatch" in r.reasons
