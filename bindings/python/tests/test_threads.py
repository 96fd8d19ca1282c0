"""The GIL is released around verification: two threads verifying 1 MiB messages in
parallel finish in clearly less than twice the time of one."""

from __future__ import annotations

import datetime as dt
import os
import statistics
import threading
import time

import pytest

import pec
from conftest import NOW, Pki, unsigned_message


def big_signed(pki: Pki) -> bytes:
    line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n"
    body = line * ((1 << 20) // len(line))
    return pec.sign(unsigned_message(body=body), pki.signer, time=NOW - dt.timedelta(hours=1))


def run(verifier: pec.Verifier, msg: bytes, n: int, threads: int) -> float:
    expected = verifier.verify(msg).verdict
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(n):
                assert verifier.verify(msg).verdict == expected
        except BaseException as e:  # noqa: BLE001 - re-raised in the main thread
            errors.append(e)

    ts = [threading.Thread(target=work) for _ in range(threads)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return elapsed


def test_two_threads_scale(pki: Pki) -> None:
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs 2 cores")
    msg = big_signed(pki)
    assert len(msg) > 1 << 20
    verifier = pec.Verifier(ca_file=pki.root)
    # calibrate: about 0.4 s of work per thread
    t = run(verifier, msg, 2, 1)
    n = max(4, int(0.4 / max(t / 2, 1e-4)))
    ratios, controls = [], []
    for _ in range(5):
        one = run(verifier, msg, n, 1)
        two = run(verifier, msg, n, 2)
        ratios.append(two / one)
        if ratios[-1] < 1.7:
            return
        controls.append(control_ratio())
    # no attempt scaled: tell a GIL regression from a machine busy with other work using a
    # control known to release the GIL (hashlib.sha256 on 1 MiB buffers), measured alongside
    control = statistics.median(controls)
    if control >= 1.6:
        pytest.skip(f"machine busy: hashlib control ratios {controls}, pec {ratios}")
    pytest.fail(f"2 threads / 1 thread = {ratios} (n={n}); hashlib control {controls}")


def control_ratio() -> float:
    import hashlib

    data = b"x" * (1 << 20)

    def timed(threads: int) -> float:
        ts = [
            threading.Thread(target=lambda: [hashlib.sha256(data).digest() for _ in range(300)])
            for _ in range(threads)
        ]
        t0 = time.perf_counter()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return time.perf_counter() - t0

    return timed(2) / timed(1)


def test_parse_large_releases_gil(pki: Pki) -> None:
    msg = big_signed(pki)
    out: list[pec.Message] = []
    ts = [threading.Thread(target=lambda: out.append(pec.parse(msg))) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(out) == 4 and all(m.signed is not None for m in out)
