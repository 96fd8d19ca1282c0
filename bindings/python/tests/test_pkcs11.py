"""PKCS#11 signing on a hermetic SoftHSM2 token (created in a temp dir; nothing touches
/etc/softhsm). The signer runs in a child process: SOFTHSM2_CONF must be set before the
module's first C_Initialize, which is once per process."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

from conftest import Pki, require, require_tool

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
CHILD = r"""
import datetime as dt, pathlib, sys
import pec
d = pathlib.Path(sys.argv[1])
try:
    signer = pec.Pkcs11Signer(
        "pkcs11:token=pec-py;object=provider;type=private", sys.argv[2], "1234",
        (d / "cert.pem").read_bytes(), (d / "ca.pem").read_bytes())
except NotImplementedError as e:
    print("PENDING", e); sys.exit(3)
with signer:
    msg = (d / "unsigned.eml").read_bytes()
    out = pec.sign(msg, signer, time=dt.datetime.now(dt.timezone.utc))
    (d / "signed.eml").write_bytes(out)
    r = pec.verify(out, ca_file=d / "root.pem")
    assert r.verdict == "valid", r.reasons
try:
    pec.Pkcs11Signer("pkcs11:token=pec-py;object=provider;type=private", sys.argv[2], "0000",
                     (d / "cert.pem").read_bytes())
except pec.HsmError as e:
    assert e.code == pec.Code.PKCS11_PIN_INCORRECT, e
    print("pin refused", e.code)
try:
    pec.Pkcs11Signer("pkcs11:token=nope;object=provider", sys.argv[2], "1234",
                     (d / "cert.pem").read_bytes())
    sys.exit("unknown token accepted")
except pec.HsmError as e:
    assert e.code == pec.Code.PKCS11_TOKEN_NOT_FOUND, e
print("OK")
"""


def test_pkcs11_sign_on_softhsm(pki: Pki, tmp_path: pathlib.Path) -> None:
    softhsm = require_tool("softhsm2-util")
    require(pathlib.Path(MODULE).exists(), f"{MODULE} missing")
    openssl = require_tool("openssl")
    from conftest import unsigned_message

    (tmp_path / "tokens").mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tmp_path / 'tokens'}\nobjectstore.backend = file\n"
        "log.level = ERROR\nslots.removable = false\n"
    )
    env = dict(os.environ, SOFTHSM2_CONF=str(conf))
    (tmp_path / "key.pem").write_bytes(pki.key_pem)
    subprocess.run(
        [openssl, "pkcs8", "-topk8", "-nocrypt", "-in", str(tmp_path / "key.pem"),
         "-out", str(tmp_path / "key.pk8")], check=True, capture_output=True)
    subprocess.run(
        [softhsm, "--init-token", "--free", "--label", "pec-py", "--pin", "1234",
         "--so-pin", "5678"], check=True, capture_output=True, env=env)
    subprocess.run(
        [softhsm, "--import", str(tmp_path / "key.pk8"), "--token", "pec-py", "--label",
         "provider", "--id", "01", "--pin", "1234"], check=True, capture_output=True, env=env)
    (tmp_path / "cert.pem").write_bytes(pki.cert_pem)
    (tmp_path / "ca.pem").write_bytes(pki.chain_pem)
    (tmp_path / "root.pem").write_bytes(pki.root.read_bytes())
    (tmp_path / "unsigned.eml").write_bytes(unsigned_message())
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path), MODULE],
        capture_output=True, text=True, env=env, timeout=120,
    )
    if out.returncode == 3 and "PENDING" in out.stdout:
        import pytest

        pytest.skip(f"pending core: {out.stdout.strip()}")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "OK" in out.stdout
    verify = subprocess.run(
        [openssl, "cms", "-verify", "-noverify", "-in", str(tmp_path / "signed.eml"),
         "-out", os.devnull], capture_output=True)
    assert verify.returncode == 0, verify.stderr
