"""A small user of the typed API, checked with `mypy --strict` by test_typing.py."""

from __future__ import annotations

import datetime as dt
from typing import Optional

import pec


def summarise(data: bytes) -> str:
    m: pec.Message = pec.parse(data)
    kind: Optional[str] = m.kind
    header_kind: Optional[str] = m.header_kind
    scope: Optional[str] = m.signed_scope
    _ = (header_kind, scope)
    parts = [kind or "mail", m.identificativo or "", m.subject or ""]
    d = m.daticert
    if d is not None:
        who: list[tuple[str, str]] = d.destinatari
        parts += [d.mittente, str(len(who))]
        when: Optional[dt.datetime] = d.data
        if when is not None:
            parts.append(when.isoformat())
    original: Optional[bytes] = m.original
    if original is not None:
        parts.append(str(len(original)))
    return " ".join(parts)


def check(data: bytes, index: Optional[pec.Index] = None) -> bool:
    r = pec.verify(data, ca_path="/etc/ssl/certs", at="signing-time", index=index)
    reasons: list[str] = r.reasons
    t: Optional[dt.datetime] = r.signing_time
    _ = (reasons, t, r.weak_digest, r.digest, r.provider, r.signer)
    source: str = r.time_source
    scope: Optional[str] = r.signed_scope
    weak: list[str] = r.weaknesses
    _ = (source, scope, weak)
    return r.verdict == "valid"


def open_signed_index(path: str, signer_pem: bytes) -> pec.Index:
    return pec.Index.from_ldif(path, index_signers=[signer_pem], ca_path="/etc/ssl/certs")


def build(key: bytes, cert: bytes, original: bytes) -> bytes:
    signer = pec.SoftwareSigner.from_pem(key, cert, chain_pem=b"")
    prov = pec.Provider(name="Gestore", domain="pec.example.it", certified_domains=["pec.example.it"])
    now = dt.datetime.now(dt.timezone.utc)
    out: bytes = prov.build("accettazione", original=original, time=now, signer=signer)
    return out


def errors(data: bytes) -> int:
    try:
        pec.parse(data)
    except pec.ParseError as e:
        code: int = e.code
        name: str = e.name
        return code + len(name)
    return 0


def codes(e: pec.PecError) -> bool:
    # the members are visible to the type checker (a static enum, not a functional one)
    c: pec.Code = pec.Code.MALFORMED_MESSAGE
    return e.code == c or e.code == pec.Code.IO


def file_error(e: pec.FileError) -> Optional[str]:
    n: Optional[int] = e.errno
    return e.filename if n is not None else None


def engine(config: str, data: bytes) -> tuple[str, int]:
    e = pec.Engine(config, store="sqlite:/var/lib/pec/state.db")
    try:
        out = e.submission(data, "mario@pec.example.it", ["luigi@pec.other.it"], virus=None)
    except pec.EngineError as x:
        return ("451 4.3.0 try again later" if x.temporary else "554 5.6.0", 0)
    for m in out.messages:
        if m.sent:
            continue
        groups: list[pec.RouteGroup] = m.groups
        payload: bytes = m.data
        assert groups and payload and m.kind
    answers = [pec.MailboxAnswer("luigi@pec.other.it", "temporary", "4.2.2", "full")]
    lmtp = e.mailbox_result(data, None, answers)
    lines: list[str] = [r.line for _, r in lmtp.replies]
    acked: int = e.ack(out) + e.ack(out.ids) + e.ack(e.run_due().messages) + e.ack(e.unsent(10))
    status = e.status(out.messages[0].identifier)
    return (out.reply.line + "".join(lines) + str(status), acked)
