#!/usr/bin/env python3
"""A PEC provider's access, incoming and delivery points on aiosmtpd, with pec.Engine.

The engine (the library) decides, signs, keeps the state (SQLite) and remembers what it
emitted; this service is only its transport:

* the **access point** (``--access HOST:PORT``) takes the users' submissions (SMTP; put it
  behind your authenticated submission service) and answers with the engine's reply;
* the **incoming point** (``--incoming HOST:PORT``) takes mail from other providers and from
  the Internet;
* every message the engine emits goes out by its route: ``relay`` to the incoming point of
  the provider managing the domain (``--route DOMAIN=HOST:PORT``) or to a smarthost
  (``--relay HOST:PORT``); ``loopback`` to this service's own incoming point; ``deliver``
  into the local Maildirs (``--maildir DIR``, one per address), the outcome of each going
  back to the engine (``Engine.mailbox_result``) for the delivery receipts;
  ``service-mailbox`` into the provider's service Maildir;
* every ``--tick`` seconds the due 12 h / 24 h notices (``Engine.run_due``) and anything
  committed but never sent (``Engine.unsent``) go out.

A message is acknowledged (``Engine.ack``) once every group of it went out. If a relay is
down the SMTP client gets a 451 and retries; the engine recognises the same submission and
hands back the same bytes, so nothing is signed or sent twice.

    python3 pec_service.py --config /etc/pec/engine.toml --access 127.0.0.1:10587 \\
        --incoming 0.0.0.0:25 --relay 127.0.0.1:10025 --maildir /var/mail/pec
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import pathlib
import smtplib
import threading
import time
import uuid
from typing import Any, Optional, Sequence

import pec

log = logging.getLogger("pec-service")

HostPort = tuple[str, int]


def host_port(s: str) -> HostPort:
    host, _, port = s.rpartition(":")
    return (host or "127.0.0.1", int(port))


class PecService:
    """The transport around one engine."""

    def __init__(
        self,
        engine: pec.Engine,
        maildir: pathlib.Path,
        routes: Optional[dict[str, HostPort]] = None,
        relay: Optional[HostPort] = None,
        incoming: Optional[HostPort] = None,
    ) -> None:
        self.engine = engine
        self.maildir = pathlib.Path(maildir)
        self.routes = {d.lower(): hp for d, hp in (routes or {}).items()}
        self.relay = relay
        self.incoming = incoming
        self._lock = threading.Lock()

    # -- storing -------------------------------------------------------------------------

    def store(self, rcpt: str, data: bytes) -> None:
        """Stores `data` in `rcpt`'s Maildir (new/), atomically (tmp/ then rename)."""
        box = self.maildir / rcpt.lower()
        for sub in ("tmp", "new", "cur"):
            (box / sub).mkdir(parents=True, exist_ok=True)
        name = f"{time.time():.6f}.{uuid.uuid4().hex}.pec"
        tmp = box / "tmp" / name
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, box / "new" / name)

    # -- sending -------------------------------------------------------------------------

    def _smtp(self, where: HostPort, mail_from: str, rcpts: Sequence[str], data: bytes) -> None:
        with smtplib.SMTP(where[0], where[1], timeout=60) as s:
            refused = s.sendmail(mail_from or "<>", list(rcpts), data)
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)

    def _relay(self, mail_from: str, rcpts: Sequence[str], data: bytes) -> None:
        by_dest: dict[HostPort, list[str]] = {}
        for r in rcpts:
            dest = self.routes.get(r.rpartition("@")[2].lower(), self.relay)
            if dest is None:
                raise RuntimeError(f"no route to {r} (--route or --relay)")
            by_dest.setdefault(dest, []).append(r)
        for dest, to in by_dest.items():
            self._smtp(dest, mail_from, to, data)

    def _deliver(self, m: pec.OutgoingMessage, rcpts: Sequence[str]) -> None:
        answers = []
        for r in rcpts:
            try:
                self.store(r, m.data)
                answers.append(pec.MailboxAnswer(r))
            except OSError as e:
                answers.append(pec.MailboxAnswer(r, "temporary", "4.3.0", str(e)))
        self.dispatch(self.engine.mailbox_result(m.data, m.mail_from, answers))

    def send(self, m: pec.OutgoingMessage) -> None:
        for g in m.groups:
            if g.route == "relay":
                self._relay(m.mail_from, g.rcpt_to, m.data)
            elif g.route == "loopback":
                if self.incoming is not None:
                    self._smtp(self.incoming, m.mail_from, g.rcpt_to, m.data)
                else:
                    self.dispatch(self.engine.inbound(m.data, m.mail_from, g.rcpt_to))
            elif g.route == "deliver":
                self._deliver(m, g.rcpt_to)
            elif g.route == "service-mailbox":
                for r in g.rcpt_to:
                    self.store(r, m.data)
            else:
                raise RuntimeError(f"unknown route {g.route}")

    def dispatch(self, outcome: pec.Outcome) -> None:
        """Sends every message of `outcome` not sent yet, acking each once it went out.
        Raises when one could not be sent (it stays unacknowledged)."""
        for m in outcome.messages:
            if m.sent:
                continue
            self.send(m)
            self.engine.ack([m.id])
            log.info("sent %s %s (%s)", m.kind, m.identifier or "-", m.id)

    def tick(self) -> int:
        """The due notices and the unsent messages; returns how many went out."""
        n = 0
        for out in (self.engine.run_due(), self.engine.unsent()):
            todo = [m for m in out.messages if not m.sent]
            self.dispatch(out)
            n += len(todo)
        return n

    # -- the SMTP points -----------------------------------------------------------------

    def handle(self, point: str, mail_from: str, rcpts: list[str], data: bytes) -> str:
        """One SMTP transaction at `point` (`access` or `incoming`): the reply line."""
        try:
            if point == "access":
                out = self.engine.submission(data, mail_from or None, rcpts)
            else:
                out = self.engine.inbound(data, mail_from or None, rcpts)
        except pec.EngineError as e:
            log.warning("%s: %s", point, e)
            return "451 4.3.0 " + ("try again later" if e.temporary else "engine misconfigured")
        except (pec.HsmError, pec.SignatureError) as e:
            log.warning("%s: signer: %s", point, e)
            return "451 4.3.0 signer unavailable, try again later"
        except pec.PecError as e:
            return f"554 5.6.0 {e}"
        try:
            self.dispatch(out)
        except Exception as e:  # noqa: BLE001 - any transport failure: the client retries
            log.warning("%s: sending failed, the client will retry: %s", point, e)
            return "451 4.4.0 could not pass the message on, try again later"
        return out.reply.line


class _Handler:
    def __init__(self, service: PecService, point: str) -> None:
        self.service = service
        self.point = point

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        loop = asyncio.get_running_loop()
        # the engine releases the GIL; sending blocks: keep the event loop free
        return await loop.run_in_executor(
            None,
            self.service.handle,
            self.point,
            envelope.mail_from or "",
            list(envelope.rcpt_tos),
            data,
        )


def controllers(service: PecService, access: HostPort, incoming: HostPort) -> list[Any]:
    """The aiosmtpd controllers of the access and incoming points (not started)."""
    from aiosmtpd.controller import Controller

    return [
        Controller(_Handler(service, "access"), hostname=access[0], port=access[1]),
        Controller(_Handler(service, "incoming"), hostname=incoming[0], port=incoming[1]),
    ]


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="the engine's configuration (ENGINE.md §Config)")
    p.add_argument("--store", help="state store URL, replaces the file's [store] url")
    p.add_argument("--access", type=host_port, default=("127.0.0.1", 10587))
    p.add_argument("--incoming", type=host_port, default=("127.0.0.1", 10025))
    p.add_argument("--route", action="append", default=[], metavar="DOMAIN=HOST:PORT")
    p.add_argument("--relay", type=host_port, help="smarthost for every other domain")
    p.add_argument("--maildir", type=pathlib.Path, required=True)
    p.add_argument("--tick", type=float, default=60.0, help="seconds between timer runs")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    routes = {d: host_port(hp) for d, _, hp in (r.partition("=") for r in a.route)}
    service = PecService(pec.Engine(a.config, store=a.store), a.maildir, routes, a.relay, a.incoming)
    ctl = controllers(service, a.access, a.incoming)
    for c in ctl:
        c.start()
    log.info("access %s:%d, incoming %s:%d", *a.access, *a.incoming)
    try:
        while True:
            time.sleep(a.tick)
            try:
                service.tick()
            except Exception as e:  # noqa: BLE001 - next tick retries
                log.warning("tick: %s", e)
    except KeyboardInterrupt:
        pass
    finally:
        for c in ctl:
            c.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
