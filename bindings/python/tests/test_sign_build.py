"""Signing and building: every kind with the software signer, accepted by the real
`openssl cms -verify -noverify`."""

from __future__ import annotations

import datetime as dt
import pathlib
import subprocess

import pytest

import pec
from conftest import NOW, Pki, pending_core, require_tool, unsigned_message


def openssl_accepts(msg: bytes, tmp: pathlib.Path) -> None:
    openssl = require_tool("openssl")
    f = tmp / "msg.eml"
    f.write_bytes(msg)
    out = subprocess.run(
        [openssl, "cms", "-verify", "-noverify", "-in", str(f), "-out", str(tmp / "content")],
        capture_output=True,
    )
    assert out.returncode == 0, out.stderr.decode(errors="replace")


def test_sign_accepted_by_openssl(pki: Pki, tmp_path: pathlib.Path) -> None:
    msg = pec.sign(unsigned_message(), pki.signer, time=NOW)
    openssl_accepts(msg, tmp_path)
    m = pec.parse(msg)
    assert m.signed is not None
    assert pec.verify(msg, ca_file=pki.root).verdict == "valid"


def test_bad_key_is_certificate_error(pki: Pki) -> None:
    with pytest.raises(pec.CertificateError) as info:
        pec.SoftwareSigner.from_pem(b"not a key", pki.cert_pem)
    assert info.value.code == pec.Code.BAD_KEY
    _, other_cert, _ = pki.pki.providers[1]
    with pytest.raises(pec.CertificateError):
        pec.SoftwareSigner.from_pem(pki.key_pem, other_cert)


def test_signer_type_checked() -> None:
    with pytest.raises(TypeError):
        pec.sign(unsigned_message(), object())  # type: ignore[arg-type]


ORIGINAL = (
    b"From: mario.rossi@pec.example.it\r\n"
    b"To: anna.bianchi@pec.altro.it\r\n"
    b"Subject: Fattura 42\r\n"
    b"Date: Tue, 13 Nov 2018 17:39:26 +0100\r\n"
    b"Message-ID: <fattura.42@client.example.it>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    b"In allegato la fattura.\r\n"
)
TIME = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))


@pytest.fixture(scope="module")
def provider() -> pec.Provider:
    return pec.Provider(
        name="Test PEC S.p.A.",
        domain="pec.example.it",
        certified_domains=["pec.example.it", "pec.altro.it"],
    )


@pytest.fixture(scope="module")
def envelope(provider: pec.Provider, pki: Pki) -> bytes:
    return pending_core(
        lambda: provider.build("posta-certificata", original=ORIGINAL, time=TIME, signer=pki.signer)
    )


def build_args(kind: str, envelope: bytes) -> dict[str, object]:
    if kind in ("posta-certificata", "accettazione", "non-accettazione"):
        args: dict[str, object] = {"original": ORIGINAL}
    else:
        args = {"envelope": envelope, "recipient": "anna.bianchi@pec.altro.it"}
    if kind == "non-accettazione":
        args["error_text"] = "destinatario non valido"
    if kind == "errore-consegna":
        args["error"] = "no-dest"
        args["error_text"] = "5.1.1 user unknown"
    if kind == "preavviso-errore-consegna":
        args["timeout"] = "12h"
    if kind == "rilevazione-virus":
        args["error"] = "virus"
    if kind == "presa-in-carico":
        args.pop("recipient")
        args["recipients"] = ["anna.bianchi@pec.altro.it"]
    if kind == "errore":
        args = {"envelope": ORIGINAL, "error_text": "anomalia"}
    return args


@pytest.mark.parametrize("kind", list(pec.KINDS))
def test_build_every_kind(
    kind: str, provider: pec.Provider, pki: Pki, envelope: bytes, tmp_path: pathlib.Path
) -> None:
    args = build_args(kind, envelope)
    out = provider.build(kind, time=TIME, signer=pki.signer, **args)  # type: ignore[arg-type]
    assert isinstance(out, bytes)
    openssl_accepts(out, tmp_path)
    m = pec.parse(out)
    assert m.kind == kind
    assert pec.verify(out, ca_file=pki.root).verdict == "valid"


def test_build_unknown_kind(provider: pec.Provider, pki: Pki) -> None:
    with pytest.raises((pec.BuildError, NotImplementedError)):
        provider.build("consegna-forse", original=ORIGINAL, time=TIME, signer=pki.signer)


def test_build_naive_time_refused(provider: pec.Provider, pki: Pki) -> None:
    with pytest.raises(ValueError):
        provider.build("accettazione", original=ORIGINAL, time=dt.datetime(2020, 1, 1),
                       signer=pki.signer)


def test_build_errors_carry_codes(provider: pec.Provider, pki: Pki) -> None:
    with pytest.raises(pec.BuildError) as info:
        provider.build("avvenuta-consegna", recipient="a@pec.altro.it", time=TIME, signer=pki.signer)
    assert info.value.code == pec.Code.MISSING_INPUT
    with pytest.raises(pec.BuildError) as info:
        provider.build("consegna-forse", original=ORIGINAL, time=TIME)
    assert info.value.code == pec.Code.UNKNOWN_KIND
    with pytest.raises(ValueError):
        provider.build("posta-certificata", original=ORIGINAL, time=TIME, receipt_type="lunga")
    with pytest.raises(pec.ParseError):  # header injection through a recipient
        provider.build("avvenuta-consegna", envelope=ORIGINAL,
                       recipient="a@pec.altro.it\r\nBcc: x@y.it", time=TIME)


def test_build_unsigned_then_sign(provider: pec.Provider, pki: Pki, tmp_path: pathlib.Path) -> None:
    unsigned = provider.build("accettazione", original=ORIGINAL, time=TIME)
    assert pec.parse(unsigned).signed is None
    out = pec.sign(unsigned, pki.signer, time=TIME)
    openssl_accepts(out, tmp_path)
    m = pec.parse(out)
    assert m.kind == "accettazione" and m.daticert is not None
    assert m.daticert.data == TIME
    assert m.daticert.gestore_emittente == "Test PEC S.p.A."


def test_provider_with_index(pki: Pki, tmp_path: pathlib.Path) -> None:
    from conftest import ldif_entry

    ldif = tmp_path / "index.ldif"
    _, other_cert, _ = pki.pki.providers[1]
    ldif.write_text(ldif_entry("Altro Gestore", "pec.altro.it", other_cert))
    prov = pec.Provider(name="Test PEC S.p.A.", domain="pec.example.it",
                        index=pec.Index.from_ldif(ldif))
    out = prov.build("posta-certificata", original=ORIGINAL, time=TIME, signer=pki.signer)
    m = pec.parse(out)
    assert m.daticert is not None
    assert ("anna.bianchi@pec.altro.it", "certificato") in m.daticert.destinatari
    with pytest.raises(ValueError):
        pec.Provider(name="X", domain="pec.example.it", certified_domains=["a.it"],
                     index=pec.Index.from_ldif(ldif))
