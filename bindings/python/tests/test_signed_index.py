"""Issue 12, finding 5: a signed (.p7m) providers index is accepted only when signed by a
certificate the caller names in `index_signers`; a provider certificate that merely chains to
the trust anchors cannot sign it."""

from __future__ import annotations

import base64
import pathlib

import pytest

import pec
from conftest import Pki, ldif_entry, unsigned_message


def pem_to_der(pem: bytes) -> bytes:
    return base64.b64decode(b"".join(pem.split(b"-----")[2].split()))


@pytest.fixture()
def signed_index(pki: Pki, tmp_path: pathlib.Path) -> tuple[pathlib.Path, bytes]:
    ldif = ldif_entry("Test PEC S.p.A.", "pec.example.it", pki.cert_pem).encode()
    p7m = pki.pki.sign_attached(0, ldif)  # signed by provider 0
    path = tmp_path / "index.ldif.p7m"
    path.write_bytes(p7m)
    return path, p7m


def test_named_signer_loads(pki: Pki, signed_index: tuple[pathlib.Path, bytes]) -> None:
    path, p7m = signed_index
    for signer in (pki.cert_pem, pem_to_der(pki.cert_pem)):
        idx = pec.Index.from_ldif(path, index_signers=[signer], ca_file=pki.root)
        assert len(idx) == 1
        rec = idx.by_domain("pec.example.it")
        assert rec is not None and rec.name == "Test PEC S.p.A."
    # a path to the certificate file, and the bytes of the .p7m (PEM too)
    cert_file = path.parent / "signer.pem"
    cert_file.write_bytes(pki.cert_pem)
    idx = pec.Index.from_ldif_bytes(p7m, index_signers=[cert_file], ca_file=pki.root)
    assert len(idx) == 1
    pem = b"-----BEGIN PKCS7-----\n" + base64.encodebytes(p7m) + b"-----END PKCS7-----\n"
    idx = pec.Index.from_ldif_bytes(pem, index_signers=[str(cert_file)], ca_file=pki.root)
    assert len(idx) == 1
    # the loaded index works as trust list
    msg = pec.sign(unsigned_message(), pki.signer)
    r = pec.verify(msg, ca_file=pki.root, index=idx)
    assert r.verdict == "valid", r.reasons
    assert r.provider is not None and r.provider.name == "Test PEC S.p.A."


def test_other_provider_is_refused(pki: Pki, signed_index: tuple[pathlib.Path, bytes]) -> None:
    path, _ = signed_index
    _, other_cert, _ = pki.pki.providers[1]  # chains to the same root
    with pytest.raises(pec.DirectoryError) as info:
        pec.Index.from_ldif(path, index_signers=[other_cert], ca_file=pki.root)
    assert info.value.code == pec.Code.INDEX_SIGNATURE
    assert "not a named index signer" in str(info.value)


def test_no_signer_is_refused(pki: Pki, signed_index: tuple[pathlib.Path, bytes]) -> None:
    path, p7m = signed_index
    for call in (
        lambda: pec.Index.from_ldif(path, ca_file=pki.root),
        lambda: pec.Index.from_ldif(path, index_signers=[], ca_file=pki.root),
        lambda: pec.Index.from_ldif_bytes(p7m, ca_file=pki.root),
    ):
        with pytest.raises(pec.DirectoryError) as info:
            call()
        assert info.value.code == pec.Code.INDEX_SIGNATURE
        assert "index signer" in str(info.value)
    # named, but without trust anchors the signature is not valid
    with pytest.raises(pec.DirectoryError) as info:
        pec.Index.from_ldif(path, index_signers=[pki.cert_pem])
    assert info.value.code == pec.Code.INDEX_SIGNATURE


def test_tampered_and_bad_arguments(pki: Pki, signed_index: tuple[pathlib.Path, bytes]) -> None:
    _, p7m = signed_index
    pos = p7m.index(b"pec.example.it")
    tampered = p7m[:pos] + b"P" + p7m[pos + 1 :]
    with pytest.raises(pec.DirectoryError):
        pec.Index.from_ldif_bytes(tampered, index_signers=[pki.cert_pem], ca_file=pki.root)
    with pytest.raises(pec.PecError):
        pec.Index.from_ldif_bytes(p7m, index_signers=[b"not a certificate"], ca_file=pki.root)
    with pytest.raises(TypeError):
        pec.Index.from_ldif_bytes(p7m, index_signers=[42], ca_file=pki.root)  # type: ignore[list-item]
    # plain LDIF still needs no signer
    plain = ldif_entry("Test PEC S.p.A.", "pec.example.it", pki.cert_pem).encode()
    assert len(pec.Index.from_ldif_bytes(plain)) == 1
