"""pec.verify on a generated PKI (valid, tampered, revoked, expired, not in index) and on the
real Aruba receipts at signing time."""

from __future__ import annotations

import datetime as dt
import pathlib

import pytest

import pec
from conftest import NOW, Pki, interop_dir, ldif_entry, require, unsigned_message


def signed(pki: Pki, body: bytes = b"Ricevuta di accettazione.\r\n") -> bytes:
    return pec.sign(unsigned_message(body=body), pki.signer, time=NOW - dt.timedelta(hours=1))


def test_valid(pki: Pki) -> None:
    msg = signed(pki)
    r = pec.verify(msg, ca_file=pki.root, crl_files=pki.crls)
    assert r.verdict == "valid", r.reasons
    assert r.reasons == []
    assert r.digest == "sha256" and r.weak_digest is False
    assert r.signing_time is not None and r.signing_time.tzinfo is not None
    assert r.signer is not None and "Test PEC" in r.signer.subject
    assert r.signer.der and len(r.signer.sha1) == 40
    assert r.revocation == "good"
    assert r.provider is None


def test_no_crl_is_not_checked(pki: Pki) -> None:
    r = pec.verify(signed(pki), ca_file=pki.root)
    assert r.revocation == "not-checked"
    assert r.verdict == "valid", r.reasons


def test_partial_crls_are_indeterminate(pki: Pki) -> None:
    r = pec.verify(signed(pki), ca_file=pki.root, crl_files=[pki.crl])
    assert r.verdict == "indeterminate"
    assert r.reasons == ["revocation-unknown"]


def test_tampered(pki: Pki) -> None:
    msg = signed(pki, b"Importo: 100 EUR\r\n")
    tampered = msg.replace(b"Importo: 100 EUR", b"Importo: 900 EUR", 1)
    assert tampered != msg
    r = pec.verify(tampered, ca_file=pki.root)
    assert r.verdict == "invalid"
    assert "content-mismatch" in r.reasons
    assert pec.Code.CONTENT_MISMATCH in r.reason_codes


def test_revoked(pki: Pki) -> None:
    crl = pki.revoked_crl(NOW - dt.timedelta(hours=2), NOW + dt.timedelta(days=7))
    r = pec.verify(signed(pki), ca_file=pki.root, crl_files=[crl, pki.root_crl])
    assert r.verdict == "invalid"
    assert "revoked" in r.reasons
    assert r.revocation == "revoked"


def test_expired(expired_pki: Pki) -> None:
    msg = pec.sign(unsigned_message(), expired_pki.signer, time=NOW - dt.timedelta(days=500))
    r = pec.verify(msg, ca_file=expired_pki.root)
    assert r.verdict == "invalid"
    assert "expired" in r.reasons
    # the same message judged when it was signed is valid
    r = pec.verify(msg, ca_file=expired_pki.root, at="signing-time")
    assert r.verdict == "valid", r.reasons
    r = pec.verify(msg, ca_file=expired_pki.root, at=NOW - dt.timedelta(days=500))
    assert r.verdict == "valid", r.reasons


def test_untrusted(pki: Pki, expired_pki: Pki) -> None:
    r = pec.verify(signed(pki), ca_file=expired_pki.root, at="signing-time")
    assert r.verdict == "invalid"
    assert "untrusted-chain" in r.reasons


def test_not_in_index(pki: Pki, tmp_path: pathlib.Path) -> None:
    ldif = tmp_path / "index.ldif"
    _, other_cert, _ = pki.pki.providers[1]
    ldif.write_text(ldif_entry("Altro Gestore", "pec.altro.it", other_cert))
    index = pec.Index.from_ldif(ldif)
    r = pec.verify(signed(pki), ca_file=pki.root, index=index)
    assert r.verdict == "invalid"
    assert "not-in-index" in r.reasons


def test_unsigned_message() -> None:
    r = pec.verify(unsigned_message())
    assert r.verdict == "invalid" and r.reasons == ["no-signature"]


def test_naive_datetime_refused(pki: Pki) -> None:
    with pytest.raises(ValueError):
        pec.verify(signed(pki), ca_file=pki.root, at=dt.datetime(2020, 1, 1))
    with pytest.raises(ValueError):
        pec.sign(unsigned_message(), pki.signer, time=dt.datetime(2020, 1, 1))
    with pytest.raises((TypeError, ValueError)):
        pec.verify(signed(pki), ca_file=pki.root, at="yesterday")
    with pytest.raises(TypeError):
        pec.verify(signed(pki), ca_file=pki.root, at=12)  # type: ignore[arg-type]


def test_zoneinfo_datetime_accepted(pki: Pki) -> None:
    try:
        from zoneinfo import ZoneInfo
    except ImportError:  # Python 3.8
        pytest.skip("zoneinfo")
    at = (NOW - dt.timedelta(minutes=5)).astimezone(ZoneInfo("Europe/Rome"))
    r = pec.verify(signed(pki), ca_file=pki.root, at=at)
    assert r.verdict == "valid", r.reasons


def test_verifier_is_reusable(pki: Pki) -> None:
    v = pec.Verifier(ca_file=pki.root, crl_files=pki.crls)
    for _ in range(3):
        assert v.verify(signed(pki)).verdict == "valid"


@pytest.mark.parametrize(
    "name",
    [
        "OCA-l10n-italy/ACCETTAZIONE__IT03339130126_00009.xml.txt",
        "OCA-l10n-italy/CONSEGNA__IT03339130126_00009.xml.txt",
    ],
)
def test_real_aruba_receipts_valid_at_signing_time(name: str) -> None:
    ca_path = pathlib.Path("/etc/ssl/certs")
    require(ca_path.is_dir(), "no /etc/ssl/certs")
    data = (interop_dir() / name).read_bytes()
    r = pec.verify(data, ca_path=ca_path, at="signing-time")
    assert r.verdict == "valid", r.reasons
    assert r.weak_digest is True
    assert r.digest == "sha1"
    assert r.signing_time is not None and r.signing_time.year == 2018
    assert r.signer is not None and "aruba" in r.signer.subject.lower()
    # judged now, the certificate has expired (2020)
    now = pec.verify(data, ca_path=ca_path)
    assert now.verdict == "invalid" and "expired" in now.reasons


def test_edited_real_envelope_is_tampered() -> None:
    # the samples' authors edited these bodies: the signature no longer matches
    data = (interop_dir() / "OCA-l10n-italy/POSTA_CERTIFICATA__Invio_File_7339338.txt").read_bytes()
    r = pec.verify(data, ca_path="/etc/ssl/certs", at="signing-time")
    assert r.verdict == "invalid"
    assert "content-mismatch" in r.reasons or "bad-signature" in r.reasons


def test_trust_and_crl_files_pem_or_der(pki: Pki, tmp_path: pathlib.Path) -> None:
    """Files are opened by the core (pec_core::open): a DER anchor like a PEM one, a DER CRL
    like a PEM one; a file holding no certificate is an error, not an empty trust store."""
    import base64
    import ssl

    der = tmp_path / "root.der"
    der.write_bytes(ssl.PEM_cert_to_DER_cert(pki.root.read_text()))
    r = pec.verify(signed(pki), ca_file=der, crl_files=pki.crls)
    assert r.verdict == "valid", r.reasons
    assert r.revocation == "good"
    crl_ders = []
    for i, crl in enumerate(pki.crls):
        body = "".join(line for line in crl.read_text().splitlines() if "-----" not in line)
        crl_der = tmp_path / f"crl{i}.der"
        crl_der.write_bytes(base64.b64decode(body))
        crl_ders.append(crl_der)
    assert pec.verify(signed(pki), ca_file=der, crl_files=crl_ders).revocation == "good"
    empty = tmp_path / "empty.pem"
    empty.write_bytes(b"")
    with pytest.raises(pec.PecError) as e:
        pec.Verifier(ca_file=empty)
    assert e.value.code == 405
