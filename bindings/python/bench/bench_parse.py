#!/usr/bin/env python3
"""Times `pec.parse` on the real messages of ../shared/interop against the Python PEC parsers
on PyPI, installed in the same venv:

- `mayai-pec-cli` (module `pec_cli`): its parse path is the body of
  `pec_cli.imap.client.IMAPClient.fetch_message` after the IMAP fetch, i.e.
  `email.message_from_bytes`, `_extract_bodies`, `_walk_attachments(load_bytes=True)`,
  `_find_daticert` (-> `pec_cli.daticert.parse_daticert`) and the `Message` dataclass; the
  same calls are made here, the network part left out.
- `genro-mail-proxy` (module `enterprise.mail_proxy.pec.parser`):
  `PecReceiptParser().parse(raw_email: bytes)`.

Install them next to pec:  pip install mayai-pec-cli genro-mail-proxy
Usage:                     python bench/bench_parse.py [--interop DIR] [--min-time SECONDS]

Prints per-message times (microseconds per call, best of several runs) and the speedup of
pec over the fastest competitor; the goal is at least 20x. A parser that cannot be
installed, imported or used is reported as such, never silently dropped.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import time
from typing import Callable, Optional

GOAL = 20.0
Parser = Callable[[bytes], object]


def load_pec() -> tuple[Optional[Parser], str]:
    try:
        import pec
    except ImportError as e:
        return None, f"pec not importable: {e}"
    return pec.parse, f"pec {pec.__version__}"


def load_mayai() -> tuple[Optional[Parser], str]:
    try:
        import email

        from pec_cli.imap import client as c
        from pec_cli.models import Message
    except ImportError as e:
        return None, f"mayai-pec-cli not importable ({e}); pip install mayai-pec-cli"

    def parse(raw: bytes) -> object:
        # IMAPClient.fetch_message, after the IMAP round trip
        parsed = email.message_from_bytes(raw)
        text, html = c._extract_bodies(parsed)
        attachments = c._walk_attachments(parsed, load_bytes=True)
        daticert = c._find_daticert(attachments)
        return Message(
            id="1",
            date=c._format_date(parsed.get("Date")),
            from_addr=c._first_addr(parsed.get("From")),
            to_addrs=c._parse_addr_list(parsed.get("To")),
            cc_addrs=c._parse_addr_list(parsed.get("Cc")),
            subject=c._decode(parsed.get("Subject")),
            pec_type=c._pec_type(parsed),
            body_text=text,
            body_html=html,
            attachments=attachments,
            daticert=daticert,
        )

    return parse, "mayai-pec-cli (pec_cli fetch_message parse path)"


def load_genro() -> tuple[Optional[Parser], str]:
    try:
        from enterprise.mail_proxy.pec.parser import PecReceiptParser
    except ImportError as e:
        return None, f"genro-mail-proxy not importable ({e}); pip install genro-mail-proxy"
    parser = PecReceiptParser()
    return parser.parse, "genro-mail-proxy (PecReceiptParser.parse)"


def time_call(fn: Parser, data: bytes, min_time: float) -> float:
    """Seconds per call: calibrated loop, best of 5 rounds."""
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn(data)
        dt = time.perf_counter() - t0
        if dt >= min_time / 5 or n >= 1 << 20:
            break
        n *= 2
    best = dt / n
    for _ in range(4):
        t0 = time.perf_counter()
        for _ in range(n):
            fn(data)
        best = min(best, (time.perf_counter() - t0) / n)
    return best


def main() -> int:
    here = pathlib.Path(__file__).resolve()
    default = os.environ.get("PEC_INTEROP_DIR", str(here.parents[3].parent / "shared" / "interop"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--interop", default=default, help="directory of sample messages")
    ap.add_argument("--min-time", type=float, default=0.2, help="seconds per measurement")
    args = ap.parse_args()

    root = pathlib.Path(args.interop)
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "SOURCES.md")
    if not files:
        print(f"no sample messages under {root}", file=sys.stderr)
        return 2

    parsers: list[tuple[str, Optional[Parser], str]] = []
    for key, loader in (("pec", load_pec), ("mayai", load_mayai), ("genro", load_genro)):
        fn, desc = loader()
        parsers.append((key, fn, desc))
        print(f"{key:6} {desc}" if fn else f"{key:6} UNAVAILABLE: {desc}")
    if parsers[0][1] is None:
        return 2
    print()

    names = [k for k, fn, _ in parsers if fn]
    print(f"{'message':58} {'bytes':>8} " + " ".join(f"{k + ' us':>11}" for k in names)
          + f" {'speedup':>9}")
    speedups: list[float] = []
    for f in files:
        data = f.read_bytes()
        times: dict[str, Optional[float]] = {}
        notes: list[str] = []
        for key, fn, _ in parsers:
            if fn is None:
                continue
            try:
                fn(data)
            except Exception as e:  # a parser failing on a real message is a result
                times[key] = None
                notes.append(f"{key}: {type(e).__name__}: {str(e)[:60]}")
                continue
            times[key] = time_call(fn, data, args.min_time)
        others = [t for k, t in times.items() if k != "pec" and t is not None]
        ours = times.get("pec")
        speed = ""
        if ours and others:
            s = min(others) / ours
            speedups.append(s)
            speed = f"{s:8.1f}x"
        cells = " ".join(
            f"{times[k] * 1e6:11.1f}" if times.get(k) is not None else f"{'error':>11}"
            for k in names
        )
        rel = str(f.relative_to(root))
        print(f"{rel[:58]:58} {len(data):8d} {cells} {speed:>9}")
        for n in notes:
            print(f"{'':60}{n}")

    print()
    if speedups:
        gmean = statistics.geometric_mean(speedups)
        print(f"speedup of pec.parse vs the fastest competitor per message: "
              f"min {min(speedups):.1f}x, geometric mean {gmean:.1f}x, max {max(speedups):.1f}x "
              f"over {len(speedups)} messages (goal >= {GOAL:.0f}x: "
              f"{'met' if min(speedups) >= GOAL else 'NOT met'})")
    else:
        print("no message could be timed with pec and a competitor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
