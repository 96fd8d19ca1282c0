"""pec.parse: every real sample of ../shared/interop, ordinary mail, garbage, errors."""

from __future__ import annotations

import datetime as dt
import pathlib

import pytest

import pec
from conftest import interop_files, interop_dir

# (file, kind, identificativo, msgid, subject, daticert?, original?, receipt_type)
EXPECTED = [
    ("OCA-l10n-italy/ACCETTAZIONE__IT03339130126_00009.xml.txt", "accettazione",
     "opec288.20181113163926.01838.310.1.63@pec.aruba.it",
     "<1542123565.921546936035156.464602125997431-openerp-8-fatturapa.attachment.out@elbati-Vostro-3550>",
     "IT03339130126_00009.xml", True, False, None),
    ("OCA-l10n-italy/CONSEGNA__IT03339130126_00009.xml.txt", "avvenuta-consegna",
     "opec288.20181113163926.01838.310.1.63@pec.aruba.it",
     "<1542123565.921546936035156.464602125997431-openerp-8-fatturapa.attachment.out@elbati-Vostro-3550>",
     "IT03339130126_00009.xml", True, True, "completa"),
    ("OCA-l10n-italy/POSTA_CERTIFICATA__Invio_File_7339338.txt", "posta-certificata",
     "opec288.20181208122618.17535.2665.1.3@pcert.sogei.it",
     "<4163125586355393.1544268377979@pec.fatturapa.it>",
     "Invio File 7339338 (SIMULAZIONE)", True, True, "breve"),
    ("OCA-l10n-italy/POSTA_CERTIFICATA__Invio_File_7339338_base64.txt", "posta-certificata",
     "opec288.20181208122618.17535.2665.1.3@pcert.sogei.it",
     "<4163125586355393.1544268377979@pec.fatturapa.it>",
     "Invio File 7339338 (SIMULAZIONE)", True, True, "breve"),
    ("OCA-l10n-italy/POSTA_CERTIFICATA__Invio_File_7339338_broken_XML.txt", "posta-certificata",
     "opec288.20181208122618.17535.2665.1.3@pcert.sogei.it",
     "<4163125586355393.1544268377979@pec.fatturapa.it>",
     "Invio File 7339338 (SIMULAZIONE)", True, True, "breve"),
    ("OCA-l10n-italy/POSTA_CERTIFICATA__Ricevuta_di_consegna_6782414.txt", "posta-certificata",
     "opec288.20181113164732.05177.8374.1.1@pcert.sogei.it",
     "<5168561142842364.1542124052746@pec.fatturapa.it>",
     "Ricevuta di consegna 6782414 (SIMULAZIONE)", True, True, "breve"),
    ("OCA-l10n-italy/POSTA_CERTIFICATA_mancata_consegna.txt", "posta-certificata",
     "opec288.20190104213401.26494.1867.1.1@pcert.sogei.it",
     "<29868973923542086.1546634040973@pec.fatturapa.it>",
     "Notifica di mancata consegna 141107829", False, True, "breve"),
    ("go-pec/accettazione.eml", "accettazione",
     "opec210312.20241115182038.288127.606.1.53@fakepec.it",
     "<SN05IE$951DEC16C1CFD3E4FD8FF1B1D24A99AE@fakepec.it>", "Test PEC", True, False, None),
    ("go-pec/consegna.eml", "errore-consegna",
     "opec210312.20241115182038.288127.606.1.53@fakepec.it",
     "<SN05IE$951DEC16C1CFD3E4FD8FF1B1D24A99AE@pec.it>", "Test PEC", True, False, None),
    ("go-pec/email_2.eml", "avvenuta-consegna",
     "CZPXCJRZKQDRVYXFAZYUIAWNACDAAHEVAEXAKN@example.com",
     "<CZPXCJRZKQDRVYXFAZYUIAWNACDAAHEVAEXAKN@example.com>",
     "HVQQWBNRWGHAFVPBSKAPGQAWCWSWTLMDBNFKGHCGRTYIUTUJATPVANVYLKOOWWECM", True, True, "completa"),
    ("go-pec/email_3.eml", "posta-certificata",
     "CZPXCJRZKQDRVYXFAZYUIAWNACDAAHEVAEXAKN@example.com",
     "<CZPXCJRZKQDRVYXFAZYUIAWNACDAEXAKN@example.com>",
     "POSTA CERTIFICATA: EXAMPLE", True, True, "completa"),
    ("java-pec-parser/accettazione.eml", "accettazione",
     "opec210312.20241115182038.288127.606.1.53@fakepec.it",
     "<SN05IE$951DEC16C1CFD3E4FD8FF1B1D24A99AE@fakepec.it>", "Test PEC", True, False, None),
    ("java-pec-parser/consegna.eml", "errore-consegna",
     "opec210312.20241115182038.288127.606.1.53@fakepec.it",
     "<SN05IE$951DEC16C1CFD3E4FD8FF1B1D24A99AE@pec.it>", "Test PEC", True, False, None),
]


@pytest.mark.parametrize("row", EXPECTED, ids=[r[0] for r in EXPECTED])
def test_real_sample(row: tuple) -> None:  # type: ignore[type-arg]
    name, kind, ident, msgid, subject, has_daticert, has_original, receipt_type = row
    data = (interop_dir() / name).read_bytes()
    m = pec.parse(data)
    assert m.kind == kind
    assert m.identificativo == ident
    assert m.msgid == msgid
    assert m.subject == subject
    assert (m.daticert is not None) == has_daticert
    assert (m.original is not None) == has_original
    assert m.receipt_type == receipt_type
    assert m.is_pec()
    assert m.signed is not None and "pkcs7-signature" in m.signed.protocol
    # the signed content is a slice of the bytes as they arrived
    assert m.signed.content in data
    assert m.raw is data or m.raw == data
    if m.original is not None:
        assert isinstance(m.original, bytes) and len(m.original) > 0
    if m.daticert is not None:
        d = m.daticert
        assert d.tipo is not None
        assert d.errore
        assert isinstance(d.destinatari, list)
        for address, tipo in d.destinatari:
            assert address and tipo in ("certificato", "esterno")
        assert d.identificativo == ident
        assert d.gestore_emittente
        assert d.data is None or d.data.tzinfo is not None


def test_every_sample_parses() -> None:
    files = interop_files()
    if not files:
        interop_dir()  # skips, or fails when CI=true
    named = {r[0] for r in EXPECTED}
    root = interop_dir()
    for f in files:
        m = pec.parse(f.read_bytes())
        assert m.kind is not None, f
        # every sample is listed above with its expectations
        assert str(f.relative_to(root)) in named, f


def test_aruba_acceptance_daticert() -> None:
    d = interop_dir()
    m = pec.parse((d / "OCA-l10n-italy/ACCETTAZIONE__IT03339130126_00009.xml.txt").read_bytes())
    assert m.daticert is not None
    dc = m.daticert
    assert dc.tipo == "accettazione"
    assert dc.errore == "nessuno"
    assert dc.gestore_emittente
    assert dc.data is not None and dc.data.utcoffset() is not None
    assert dc.data.year == 2018
    assert m.header("X-Ricevuta") == "accettazione"
    assert m.header("x-ricevuta") == "accettazione"
    assert m.header("X-Nonexistent") is None
    names = [n.lower() for n, _ in m.headers()]
    assert "x-ricevuta" in names


def test_ordinary_mail_is_not_an_error() -> None:
    m = pec.parse(b"From: a@b.it\r\nTo: c@d.it\r\nSubject: ciao\r\n\r\nhello\r\n")
    assert m.kind is None
    assert m.daticert is None
    assert m.original is None
    assert m.signed is None
    assert m.subject == "ciao"
    assert m.from_ == "a@b.it"
    assert not m.is_pec()


def test_bytes_like_accepted_str_refused() -> None:
    raw = b"Subject: x\r\n\r\nbody"
    assert pec.parse(bytearray(raw)).subject == "x"
    assert pec.parse(memoryview(raw)).subject == "x"
    with pytest.raises(TypeError):
        pec.parse("Subject: x\r\n\r\nbody")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "garbage",
    [b"", b"   \r\n", b"\x00\x01\x02 not a message", b"no header here at all"],
)
def test_garbage_raises_parse_error_with_code(garbage: bytes) -> None:
    with pytest.raises(pec.ParseError) as info:
        pec.parse(garbage)
    e = info.value
    assert isinstance(e, pec.PecError) and isinstance(e, ValueError)
    assert 200 <= e.code < 300
    assert e.name == pec.Code(e.code).name.lower()


def test_broken_daticert_in_pec_message_is_parse_error() -> None:
    msg = (
        b"From: posta-certificata@pec.example.it\r\nX-Ricevuta: accettazione\r\n"
        b"Subject: ACCETTAZIONE: x\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n"
        b"--BB\r\nContent-Type: application/xml; name=daticert.xml\r\n"
        b"Content-Disposition: attachment; filename=daticert.xml\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n--BB--\r\n"
    )
    with pytest.raises(pec.ParseError) as info:
        pec.parse(msg)
    assert info.value.code in (203, 204, 205)


def test_large_message_parses_without_gil_and_correctly() -> None:
    body = b"x" * 78 + b"\r\n"
    msg = b"Subject: big\r\nFrom: a@b.it\r\n\r\n" + body * 20000
    m = pec.parse(msg)
    assert m.subject == "big" and m.kind is None


def test_truncations_never_panic() -> None:
    root = interop_dir()
    data = (root / "OCA-l10n-italy/CONSEGNA__IT03339130126_00009.xml.txt").read_bytes()
    for cut in range(0, len(data), max(1, len(data) // 97)):
        try:
            pec.parse(data[:cut])
        except pec.ParseError:
            pass


def test_codes_and_exception_hierarchy() -> None:
    assert pec.Code.OK == 0
    assert pec.Code.PANIC == 101
    assert pec.Code.MALFORMED_MESSAGE == 200
    assert pec.Code.NO_SIGNATURE == 300
    assert pec.Code.PKCS11_PIN_INCORRECT == 503
    assert pec.Code.FORMAL_CHECKS == 703
    for cls in (
        pec.ParseError, pec.SignatureError, pec.CertificateError, pec.HsmError,
        pec.DirectoryError, pec.BuildError, pec.InternalError, pec.FileError,
        pec.InvalidArgumentError,
    ):
        assert issubclass(cls, pec.PecError)
    assert issubclass(pec.ParseError, ValueError)
    assert issubclass(pec.FileError, OSError)
    e = pec.ParseError("x", 200, "malformed_message")
    assert (e.code, e.name, str(e)) == (200, "malformed_message", "x")


def test_paths(tmp_path: pathlib.Path) -> None:
    import errno
    import pickle

    missing = tmp_path / "missing.pem"
    with pytest.raises(pec.FileError) as info:
        pec.verify(b"Subject: x\r\n\r\n", ca_file=missing)
    e = info.value
    assert e.code == pec.Code.IO
    # like OSError: errno, strerror, filename
    assert isinstance(e, OSError)
    assert e.errno == errno.ENOENT
    assert e.filename == str(missing)
    assert e.strerror and "No such file" in e.strerror
    assert str(missing) in str(e)
    again = pickle.loads(pickle.dumps(e))
    assert (type(again), again.errno, again.filename, str(again), again.code) == (
        pec.FileError, e.errno, e.filename, str(e), e.code)
    with pytest.raises(pec.FileError) as info:
        pec.Index.from_ldif(tmp_path)  # a directory: EISDIR
    assert info.value.errno == errno.EISDIR
    assert info.value.filename == str(tmp_path)
    # built by hand, without an OS error number
    plain = pec.FileError("i/o error on x: gone")
    assert (plain.errno, plain.filename, plain.code) == (None, None, pec.Code.IO)


def test_code_is_a_static_enum_matching_the_extension() -> None:
    import enum

    from pec import _rust

    assert issubclass(pec.Code, enum.IntEnum)
    assert [(c.name.lower(), c.value) for c in pec.Code] == list(_rust.CODES)


@pytest.mark.parametrize("detached", [False, True])
def test_panic_becomes_internal_error(detached: bool) -> None:
    from pec._rust import test_support

    with pytest.raises(pec.InternalError) as info:
        test_support.panic(detached)
    assert info.value.code == pec.Code.PANIC == 101
    assert type(info.value).__name__ == "InternalError"


def test_errors_pickle_with_their_code() -> None:
    import pickle

    try:
        pec.parse(b"")
    except pec.ParseError as e:
        again = pickle.loads(pickle.dumps(e))
        assert type(again) is pec.ParseError
        assert (again.code, again.name, str(again)) == (e.code, e.name, str(e))


def test_signature_is_decoded_on_access_exactly() -> None:
    """`signed.signature` is decoded lazily: the same bytes as the smime.p7s part decoded by
    the standard library; a placeholder that is not base64 (go-pec's `MII...njA==`) is empty
    and warned about, as by the eager parse."""
    import email

    files = interop_files()
    if not files:
        interop_dir()  # skips, or fails when CI=true
    for f in files:
        data = f.read_bytes()
        m = pec.parse(data)
        assert m.signed is not None, f
        std = next(
            p for p in email.message_from_bytes(data).walk()
            if p.get_content_type() == "multipart/signed"
        )
        parts = std.get_payload()
        if len(parts) < 2:  # java-pec-parser's samples have no signature part
            assert m.signed.signature == b"", f
            assert "multipart/signed without a signature part" in m.warnings, f
            continue
        expected = parts[1].get_payload(decode=True)
        if "smime.p7s is not valid base64" in m.warnings:
            assert m.signed.signature == b"" and len(expected) < 16, f
        else:
            assert m.signed.signature == expected, f
        assert f"signature={len(m.signed.signature)} bytes" in repr(m.signed)


def test_broken_signature_base64_is_the_first_warning() -> None:
    msg = (
        b"From: a@b.it\r\nX-Ricevuta: accettazione\r\nSubject: ACCETTAZIONE: x\r\n"
        b"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; "
        b"boundary=S\r\n\r\n--S\r\nContent-Type: text/plain\r\n\r\nhello\r\n--S\r\n"
        b"Content-Type: application/pkcs7-signature; name=smime.p7s\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--S--\r\n"
    )
    m = pec.parse(msg % b"!!not base64!!")
    # before and after the signature itself is looked at
    assert m.warnings[0] == "smime.p7s is not valid base64"
    assert m.signed is not None and m.signed.signature == b""
    assert m.warnings[0] == "smime.p7s is not valid base64"
    assert m.warnings.count("smime.p7s is not valid base64") == 1
    ok = pec.parse(msg % b"MIIBAgM=")
    assert ok.signed is not None and ok.signed.signature == b"\x30\x82\x01\x02\x03"
    assert "smime.p7s is not valid base64" not in ok.warnings
