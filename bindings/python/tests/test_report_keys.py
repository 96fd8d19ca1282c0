"""Issue 12: the report keys `time_source`, `signed_scope`, `weaknesses` and the message keys
`signed_scope`, `header_kind`, with the values today's semantics give."""

from __future__ import annotations

import datetime as dt

import pec
from conftest import NOW, Pki, interop_dir, unsigned_message


def signed(pki: Pki) -> bytes:
    return pec.sign(unsigned_message(), pki.signer, time=NOW - dt.timedelta(hours=1))


def test_time_source(pki: Pki) -> None:
    msg = signed(pki)
    r = pec.verify(msg, ca_file=pki.root)
    assert r.verdict == "valid", r.reasons
    assert r.time_source == "now"
    r = pec.verify(msg, ca_file=pki.root, at=NOW)
    assert r.time_source == "given"
    r = pec.verify(msg, ca_file=pki.root, at="signing-time")
    assert r.time_source == "signing-time-claimed"
    r = pec.Verifier(ca_file=pki.root, at="now").verify(msg)
    assert r.time_source == "now"


def test_signed_scope_and_weaknesses_of_a_built_message(pki: Pki) -> None:
    r = pec.verify(signed(pki), ca_file=pki.root)
    assert r.signed_scope == "whole"
    assert r.weaknesses == []  # SHA-256, RSA 2048
    unsigned = pec.verify(unsigned_message())
    assert unsigned.signed_scope is None
    assert isinstance(unsigned.weaknesses, list)
    assert "no-signature" in unsigned.reasons


def test_message_keys(pki: Pki) -> None:
    m = pec.parse(signed(pki))
    assert m.signed_scope == "whole"
    assert m.header_kind is None  # a plain signed mail: no X-Ricevuta / X-Trasporto
    plain = pec.parse(unsigned_message())
    assert plain.signed_scope is None and plain.header_kind is None
    prov = pec.Provider(
        name="Test PEC S.p.A.", domain="pec.example.it", certified_domains=["pec.example.it"]
    )
    receipt = prov.build("accettazione", original=unsigned_message(), time=NOW, signer=pki.signer)
    m = pec.parse(receipt)
    assert m.kind == "accettazione" and m.header_kind == "accettazione"
    assert m.signed_scope == "whole"


def test_real_receipt_keys() -> None:
    data = (interop_dir() / "OCA-l10n-italy/CONSEGNA__IT03339130126_00009.xml.txt").read_bytes()
    m = pec.parse(data)
    assert m.header_kind == "avvenuta-consegna" and m.signed_scope == "whole"
    r = pec.verify(data, ca_path="/etc/ssl/certs", at="signing-time")
    assert r.time_source == "signing-time-claimed"
    assert r.signed_scope == "whole"
    # a list (it names "sha1-digest" once the CMS checks report weaknesses)
    assert isinstance(r.weaknesses, list)
    assert all(isinstance(w, str) for w in r.weaknesses)
