"""pec: Italian certified email (PEC, RFC 6109) for Python.

Parse any message as it arrived, verify its S/MIME signature against trust anchors, CRLs and
the providers index, and build and sign every envelope and receipt. The engine is Rust
(``pec-core``); this package is a thin, typed layer over it::

    import pec
    m = pec.parse(open("receipt.eml", "rb").read())
    print(m.kind, m.identificativo, m.daticert.mittente if m.daticert else None)
    r = pec.verify(m.raw, ca_path="/etc/ssl/certs", at="signing-time")
    print(r.verdict, r.reasons)

Strings are the wire values (``"accettazione"``, ``"valid"``, ``"no-signature"``...);
datetimes are timezone-aware, in and out. Errors are :class:`pec.PecError` subclasses with a
stable ``code`` (see :mod:`pec.exceptions`). The GIL is released while parsing large
messages, verifying and signing, so threads scale.

:class:`pec.Engine` is the provider engine (the access, incoming and delivery points of RFC
6109 with their state, timers and receipts) for a mail service that keeps its own transport::

    engine = pec.Engine("/etc/pec/engine.toml")
    out = engine.submission(data, mail_from="mario@pec.example.it", rcpt_to=["luigi@pec.other.it"])
    for m in out.messages:            # acceptance, transport envelope
        send(m.mail_from, m.rcpt_to, m.data)
    engine.ack(out)                   # until then a retry returns the same bytes

"""

from __future__ import annotations

import datetime as _dt
import os
from typing import Iterable, Optional, Union

from pec import _rust
from pec._rust import (
    CertificateInfo,
    Daticert,
    Engine,
    Index,
    MailboxAnswer,
    Message,
    Outcome,
    OutgoingMessage,
    Pkcs11Signer,
    Provider,
    ProviderInfo,
    ProviderRecord,
    Reply,
    RouteGroup,
    SignedParts,
    SoftwareSigner,
    VerificationReport,
    Verifier,
)
from pec.exceptions import (
    BuildError,
    CertificateError,
    Code,
    DirectoryError,
    EngineError,
    FileError,
    HsmError,
    InternalError,
    InvalidArgumentError,
    ParseError,
    PecError,
    SignatureError,
)

__all__ = [
    "KINDS",
    "BuildError",
    "CertificateError",
    "CertificateInfo",
    "Code",
    "Daticert",
    "DirectoryError",
    "Engine",
    "EngineError",
    "FileError",
    "HsmError",
    "Index",
    "InternalError",
    "InvalidArgumentError",
    "MailboxAnswer",
    "Message",
    "Outcome",
    "OutgoingMessage",
    "ParseError",
    "PecError",
    "Pkcs11Signer",
    "Provider",
    "ProviderInfo",
    "ProviderRecord",
    "Reply",
    "RouteGroup",
    "SignatureError",
    "SignedParts",
    "SoftwareSigner",
    "VerificationReport",
    "Verifier",
    "parse",
    "sign",
    "verify",
]

__version__: str = _rust.__version__

#: Every message kind ``Provider.build`` accepts, as wire values.
KINDS: tuple[str, ...] = tuple(_rust.KINDS)

_BytesLike = Union[bytes, bytearray, memoryview]
_Path = Union[str, "os.PathLike[str]"]


def _as_bytes(data: object, what: str = "data") -> bytes:
    """Accepts ``bytes`` as is and copies ``bytearray``/``memoryview`` (pyca's
    ``_check_byteslike``); anything else is a ``TypeError``."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"{what} must be bytes-like, not {type(data).__name__}")


def parse(data: _BytesLike) -> Message:
    """Parses a message (any mail, as raw bytes) and classifies it.

    Ordinary mail is not an error: it comes back with ``kind is None``. Malformed input
    (empty, no header block, a broken ``daticert.xml``, limits exceeded) raises
    :class:`pec.ParseError` with its ``code``.
    """
    return _rust.parse(_as_bytes(data))


def verify(
    data: _BytesLike,
    ca_file: Optional[_Path] = None,
    ca_path: Optional[_Path] = None,
    crl_files: Iterable[_Path] = (),
    index: Optional[Index] = None,
    at: Union[_dt.datetime, str, None] = None,
) -> VerificationReport:
    """Verifies the S/MIME signature of a message as it arrived.

    ``ca_file`` is a PEM bundle (or one DER certificate), ``ca_path`` a directory of
    certificates such as ``/etc/ssl/certs``; ``crl_files`` are PEM or DER CRLs; ``index`` a
    :class:`pec.Index` used as trust list (the signer must be a provider of the index, the
    ``From:`` domain one of its domains). ``at`` is when certificates are evaluated: a
    timezone-aware ``datetime``, ``"signing-time"`` (the CMS signingTime: legal evidence is
    judged when it was signed), or ``None`` for now.

    Returns a :class:`pec.VerificationReport`; findings (``"bad-signature"``, ``"revoked"``,
    ``"expired"``...) are its ``reasons``, not exceptions. To verify many messages against
    the same trust anchors, build one :class:`pec.Verifier` and call its ``verify``.
    """
    if isinstance(crl_files, (str, bytes, os.PathLike)):
        raise TypeError("crl_files must be an iterable of paths, not a single path")
    verifier = Verifier(
        ca_file=ca_file, ca_path=ca_path, crl_files=list(crl_files), index=index, at=at
    )
    return verifier.verify(_as_bytes(data))


def sign(
    message: _BytesLike,
    signer: Union[SoftwareSigner, Pkcs11Signer],
    time: Optional[_dt.datetime] = None,
) -> bytes:
    """Signs a complete unsigned RFC 5322 message as S/MIME ``multipart/signed`` (CMS,
    SHA-256, the signer certificate and chain embedded). ``time`` is the signingTime, a
    timezone-aware ``datetime`` (``None``: now). The GIL is released while signing."""
    return _rust.sign(_as_bytes(message, "message"), signer, time)
