"""pec.Engine: two engines (Example PEC and Other PEC, each on its own SQLite file in a
temporary directory, both on one manual clock) and a wire that routes every message as an MTA
would. Every built message that crosses the wire is parsed and verified with this binding
(pec.parse, pec.Verifier at the clock's time).

Cases: the happy path (RFC 6109 §3.5), the 12 h notice only, the 24 h notice only, both
notices, a repeated submission after a missing ack returning the same bytes, and two threads
driving one engine."""

from __future__ import annotations

import datetime as dt
import pathlib
import threading
from typing import Any, Callable, Optional

import pytest

import pec

try:
    from pec._rust import test_support as ts
except ImportError:  # a wheel built without the cargo feature test-support
    pytest.skip("pec built without test-support", allow_module_level=True)

MARIO = "mario.rossi@pec.example.it"
LUIGI = "luigi.verdi@pec.other.it"
ALPHA_BOX = "ricevute@pec.example.it"
DOMAINS = ("pec.example.it", "pec.other.it")
HOUR = 3600


def original(subject: str = "prova", n: int = 1) -> bytes:
    return (
        f"From: {MARIO}\r\nTo: {LUIGI}\r\nSubject: {subject}\r\n"
        f"Message-ID: <c{n}.{subject.replace(' ', '.')}@client.test>\r\n"
        "Date: Tue, 01 Dec 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nTesto.\r\n"
    ).encode()


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    d = tmp_path_factory.mktemp("engine-fixtures")
    ts.write_engine_fixtures(d)
    return d


class Net:
    """Two engines, the wire, the mailboxes and the clock."""

    def __init__(self, fixtures: pathlib.Path, state: pathlib.Path) -> None:
        self.fixtures = fixtures
        self.clock = ts.ManualClock(dt.datetime.now(dt.timezone.utc).replace(microsecond=0))
        self.engines = [
            ts.open_engine(fixtures / f"{t}-engine.toml", self.clock, store=f"sqlite:{state / t}.db")
            for t in ("a", "b")
        ]
        self.index = pec.Index.from_ldif(fixtures / "index.ldif")
        self.mailboxes: dict[str, list[str]] = {}
        self.built: list[tuple[int, str]] = []
        self.answers: dict[str, pec.MailboxAnswer] = {}
        self.hold: Optional[Callable[[pec.OutgoingMessage], bool]] = None
        self.held: list[tuple[int, pec.OutgoingMessage, pec.RouteGroup]] = []
        self.verified = 0

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock.timestamp, dt.timezone.utc)

    def advance(self, seconds: int) -> None:
        self.clock.advance(seconds)

    def check(self, m: pec.OutgoingMessage) -> None:
        if m.kind == "forward":
            return
        parsed = pec.parse(m.data)
        assert parsed.kind == m.kind
        assert parsed.message_id == m.message_id
        v = pec.Verifier(ca_file=self.fixtures / "root.pem", index=self.index, now=self.now())
        r = v.verify(m.data)
        assert (r.verdict, r.reasons) == ("valid", []), (m.kind, r.reasons)
        self.verified += 1

    def submit(self, data: bytes, frm: str = MARIO, to: tuple[str, ...] = (LUIGI,)) -> pec.Outcome:
        out = self.engines[0].submission(data, frm, list(to))
        assert out.reply.code == 250, out.reply
        self.pump(0, out)
        return out

    def inbound(self, i: int, frm: str, to: list[str], data: bytes) -> None:
        out = self.engines[i].inbound(data, frm, to)
        assert out.reply.code == 250, out.reply
        self.pump(i, out)

    def run_due(self, i: int) -> list[pec.OutgoingMessage]:
        out = self.engines[i].run_due()
        self.pump(i, out)
        return out.messages

    def pump(self, frm: int, out: pec.Outcome) -> None:
        for m in out.messages:
            if m.sent:
                continue
            self.check(m)
            if m.kind != "forward":
                self.built.append((frm, m.kind))
            for g in m.groups:
                if self.hold is not None and self.hold(m):
                    self.held.append((frm, m, g))
                else:
                    self.route(frm, m, g)
            assert self.engines[frm].ack([m.id]) == 1

    def release(self) -> None:
        held, self.held, self.hold = self.held, [], None
        for frm, m, g in held:
            self.route(frm, m, g)

    def store(self, rcpt: str, data: bytes) -> None:
        kind = pec.parse(data).kind or "ordinary"
        self.mailboxes.setdefault(rcpt, []).append(kind)

    def route(self, frm: int, m: pec.OutgoingMessage, g: pec.RouteGroup) -> None:
        if g.route == "relay":
            for t, domain in enumerate(DOMAINS):
                to = [r for r in g.rcpt_to if r.endswith("@" + domain)]
                if to:
                    self.inbound(t, m.mail_from, to, m.data)
        elif g.route == "loopback":
            self.inbound(frm, m.mail_from, g.rcpt_to, m.data)
        elif g.route == "deliver":
            answers = [self.answers.get(r, pec.MailboxAnswer(r)) for r in g.rcpt_to]
            for a in answers:
                if a.outcome == "stored":
                    self.store(a.rcpt, m.data)
            out = self.engines[frm].mailbox_result(m.data, m.mail_from, answers)
            assert [r for r, _ in out.replies] == g.rcpt_to
            for a, (_, reply) in zip(answers, out.replies):
                assert reply.code == (451 if a.outcome == "temporary" else 250), reply
            self.pump(frm, out)
        elif g.route == "service-mailbox":
            for r in g.rcpt_to:
                self.store(r, m.data)
        else:
            raise AssertionError(g.route)

    def state(self, i: int, identifier: str, address: str) -> str:
        s: Any = self.engines[i].status(identifier)
        return str(next(r["state"] for r in s["sent"]["recipients"] if r["address"] == address))


@pytest.fixture
def net(fixtures: pathlib.Path, tmp_path: pathlib.Path) -> Net:
    return Net(fixtures, tmp_path)


def identifier(out: pec.Outcome) -> str:
    ident = next(m.identifier for m in out.messages if m.identifier)
    assert ident is not None
    return ident


def test_happy_path(net: Net) -> None:
    out = net.submit(original())
    ident = identifier(out)
    assert [m.kind for m in out.messages] == ["accettazione", "posta-certificata"]
    assert net.built == [
        (0, "accettazione"),
        (0, "posta-certificata"),
        (1, "presa-in-carico"),
        (1, "avvenuta-consegna"),
    ]
    assert net.mailboxes[LUIGI] == ["posta-certificata"]
    assert net.mailboxes[MARIO] == ["accettazione", "avvenuta-consegna"]
    assert net.mailboxes[ALPHA_BOX] == ["presa-in-carico"]
    assert net.state(0, ident, LUIGI) == "delivered"
    assert net.engines[1].status(ident)["received"][0]["state"] == "delivered"
    assert net.engines[0].status() == []
    assert net.engines[0].status("unknown@nowhere") is None
    net.advance(25 * HOUR)
    assert net.run_due(0) == [] and net.run_due(1) == []
    assert net.verified == 4
    assert net.engines[0].name == "Example PEC S.p.A."
    assert out.reply.ok and str(out.reply).startswith("250 ")


def test_12h_notice_then_late_delivery(net: Net) -> None:
    net.hold = lambda m: m.kind == "posta-certificata"
    ident = identifier(net.submit(original()))
    net.advance(12 * HOUR - 60)
    assert net.run_due(0) == []
    net.advance(60)
    due = net.run_due(0)
    assert [m.kind for m in due] == ["preavviso-errore-consegna"]
    assert b"12 ore" in due[0].data
    assert net.state(0, ident, LUIGI) == "pending"
    net.advance(3 * HOUR)
    net.release()
    assert net.state(0, ident, LUIGI) == "delivered"
    net.advance(10 * HOUR)
    assert net.run_due(0) == []
    assert net.mailboxes[MARIO] == ["accettazione", "preavviso-errore-consegna", "avvenuta-consegna"]


def test_24h_notice_after_take_charge(net: Net) -> None:
    net.answers[LUIGI] = pec.MailboxAnswer(LUIGI, "temporary", "4.2.1", "try later")
    ident = identifier(net.submit(original()))
    assert net.state(0, ident, LUIGI) == "taken-in-charge"
    net.advance(12 * HOUR + 60)
    assert net.run_due(0) == []
    net.advance(9 * HOUR + 58 * 60)
    assert net.run_due(0) == []
    net.advance(HOUR + 60)
    due = net.run_due(0)
    assert len(due) == 1 and b"24 ore" in due[0].data
    assert net.state(0, ident, LUIGI) == "timed-out"
    net.advance(5 * HOUR)
    assert net.run_due(0) == []
    assert net.mailboxes[MARIO] == ["accettazione", "preavviso-errore-consegna"]


def test_both_notices_when_nothing_comes(net: Net) -> None:
    net.hold = lambda m: m.kind == "posta-certificata"
    ident = identifier(net.submit(original()))
    net.advance(12 * HOUR)
    assert b"12 ore" in net.run_due(0)[0].data
    net.advance(11 * HOUR)
    assert b"24 ore" in net.run_due(0)[0].data
    assert net.state(0, ident, LUIGI) == "timed-out"
    net.release()


def test_retry_after_missing_ack_returns_the_same_bytes(net: Net) -> None:
    e = net.engines[0]
    first = e.submission(original(), MARIO, [LUIGI])
    second = e.submission(original(), MARIO, [LUIGI])
    unsent = e.unsent()
    assert not first.replayed and second.replayed
    assert [m.data for m in first.messages] == [m.data for m in second.messages]
    assert [m.data for m in first.messages] == [m.data for m in unsent.messages]
    assert first.ids == second.ids == unsent.ids and len(first.ids) == 2
    for m in second.messages:
        net.check(m)
    assert e.ack(first) == 2
    assert e.ack(first.messages) == 0
    third = e.submission(original(), MARIO, [LUIGI])
    assert third.replayed and all(m.sent for m in third.messages) and third.ids == []
    assert e.unsent().messages == []


def test_two_threads_drive_one_engine(net: Net) -> None:
    e = net.engines[0]
    results: dict[int, list[bytes]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def worker(t: int) -> None:
        try:
            barrier.wait()
            for n in range(8):
                out = e.submission(original(f"thread {t}", n), MARIO, [LUIGI])
                assert out.reply.code == 250
                results.setdefault(t, []).extend(m.data for m in out.messages)
                e.ack(out)
        except BaseException as x:  # noqa: BLE001 - reported below
            errors.append(x)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert len(results[0]) == len(results[1]) == 16
    # every message distinct, every one verifies; identifiers unique across both threads
    all_msgs = results[0] + results[1]
    assert len(set(all_msgs)) == 32
    idents = {pec.parse(b).identificativo for b in all_msgs}
    assert len(idents) == 16
    pending = e.status()
    assert len(pending) == 16
    assert e.unsent().messages == []


def test_errors() -> None:
    with pytest.raises(pec.EngineError) as ei:
        pec.Engine("/nonexistent/engine.toml")
    assert ei.value.code == pec.Code.ENGINE_CONFIG and not ei.value.temporary
    with pytest.raises(pec.InvalidArgumentError):
        pec.MailboxAnswer(LUIGI, "maybe")


def test_store_unavailable_is_temporary(fixtures: pathlib.Path) -> None:
    with pytest.raises(pec.EngineError) as ei:
        pec.Engine(fixtures / "a-engine.toml", store="sqlite:/nonexistent/dir/x.db")
    assert ei.value.code == pec.Code.ENGINE_STORE and ei.value.temporary
