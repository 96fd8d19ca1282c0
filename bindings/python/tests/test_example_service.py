"""examples/python/pec_service.py, exercised: two providers' services on aiosmtpd (access and
incoming points on loopback, Maildirs in a temporary directory), a message submitted by SMTP
to the sender's access point, and the expected messages found in the mailboxes, each parsed
and verified with this binding."""

from __future__ import annotations

import importlib.util
import pathlib
import smtplib
import socket
import sys
from types import ModuleType
from typing import Any

import pytest

import pec
from conftest import REPO_ROOT, require

try:
    from pec._rust import test_support as ts
except ImportError:  # a wheel built without the cargo feature test-support
    pytest.skip("pec built without test-support", allow_module_level=True)

MARIO = "mario.rossi@pec.example.it"
LUIGI = "luigi.verdi@pec.other.it"


def load_example() -> ModuleType:
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        require(False, "aiosmtpd not installed")
    path = REPO_ROOT / "examples" / "python" / "pec_service.py"
    spec = importlib.util.spec_from_file_location("pec_service", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["pec_service"] = mod
    spec.loader.exec_module(mod)
    return mod


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kinds(maildir: pathlib.Path, address: str) -> list[str]:
    box = maildir / address / "new"
    if not box.is_dir():
        return []
    files = sorted(box.iterdir(), key=lambda p: p.name)
    return [pec.parse(f.read_bytes()).kind or "ordinary" for f in files]


def test_a_message_in_the_expected_messages_out(tmp_path: pathlib.Path) -> None:
    svc = load_example()
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir()
    ts.write_engine_fixtures(fixtures)
    ports = {k: free_port() for k in ("a_access", "a_in", "b_access", "b_in")}
    services: list[Any] = []
    ctls: list[Any] = []
    for tag, other, domain_other in (("a", "b", "pec.other.it"), ("b", "a", "pec.example.it")):
        engine = pec.Engine(fixtures / f"{tag}-engine.toml", store=f"sqlite:{tmp_path / tag}.db")
        s = svc.PecService(
            engine,
            tmp_path / f"mail-{tag}",
            routes={domain_other: ("127.0.0.1", ports[f"{other}_in"])},
            incoming=("127.0.0.1", ports[f"{tag}_in"]),
        )
        services.append(s)
        ctls += svc.controllers(
            s, ("127.0.0.1", ports[f"{tag}_access"]), ("127.0.0.1", ports[f"{tag}_in"])
        )
    for c in ctls:
        c.start()
    try:
        msg = (
            f"From: {MARIO}\r\nTo: {LUIGI}\r\nSubject: via aiosmtpd\r\n"
            "Message-ID: <svc1@client.test>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0100\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCiao.\r\n"
        ).encode()
        with smtplib.SMTP("127.0.0.1", ports["a_access"], timeout=60) as c:
            assert c.sendmail(MARIO, [LUIGI], msg) == {}
        # the same submission again (a client retry): the same reply, nothing sent twice
        with smtplib.SMTP("127.0.0.1", ports["a_access"], timeout=60) as c:
            c.sendmail(MARIO, [LUIGI], msg)
        # an ordinary message from the Internet to Luigi: an anomaly envelope
        with smtplib.SMTP("127.0.0.1", ports["b_in"], timeout=60) as c:
            c.sendmail("anna@example.com", [LUIGI], msg.replace(MARIO.encode(), b"anna@example.com"))
        assert services[0].tick() == 0 and services[1].tick() == 0
    finally:
        for c in ctls:
            c.stop()
    mail_a, mail_b = tmp_path / "mail-a", tmp_path / "mail-b"
    assert kinds(mail_b, LUIGI) == ["posta-certificata", "errore"]
    assert kinds(mail_a, MARIO) == ["accettazione", "avvenuta-consegna"]
    assert kinds(mail_a, "ricevute@pec.example.it") == ["presa-in-carico"]
    verifier = pec.Verifier(
        ca_file=fixtures / "root.pem", index=pec.Index.from_ldif(fixtures / "index.ldif")
    )
    for box in (mail_a / MARIO, mail_b / LUIGI, mail_a / "ricevute@pec.example.it"):
        for f in (box / "new").iterdir():
            r = verifier.verify(f.read_bytes())
            assert (r.verdict, r.reasons) == ("valid", []), (f, r.reasons)
    envelope = pec.parse(next((mail_b / LUIGI / "new").iterdir()).read_bytes())
    assert envelope.original is not None and b"Ciao." in envelope.original
