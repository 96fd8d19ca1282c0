#!/usr/bin/env bash
# Performance goals of issues 9 and 20, as ratios to OpenSSL's primitives measured in the
# same run:
#
#   signing       sign-envelope-10k ops/s      / openssl RSA-2048 sign/s        goal >= 0.6
#   verification  verify-envelope-10k ops/s    / openssl RSA-2048 verify/s      goal >= 0.6
#   1 MiB         verify-envelope-1m ops/s x 1 MiB (bytes/s; the signed part is slightly
#                 larger, so this understates) / openssl -evp sha256 at 16 KiB blocks
#                                                                               goal >= 0.9
#   2 threads     aggregate rate with --threads 2 / --threads 1, for the sign and verify
#                 10k workloads                                                 goal >= 1.8
#   engine        engine-access submissions/s / sign-envelope-10k signatures/s, both with
#                 --threads 4 (each submission signs twice and commits durably; issue 15)
#                                                                               goal >= 0.5
#
#   scripts/bench-ratios.sh [SECONDS]      (seconds per pec workload, default 2)
#
# Builds `pec` in release (`cargo build --release --locked -p pec-cli`) unless PEC_BIN points
# at a binary. Prints the load average: on a shared machine every ratio is only as good as
# the CPU time the run got. `openssl speed` runs with `-elapsed`, so both sides are rates per
# wall-clock second (by default it divides by its own CPU time, which on a loaded machine
# compares OpenSSL's CPU time with pec's wall time). Exit 0 when every goal is met, 1 otherwise, 2 on a setup error.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SECS="${1:-2}"
PEC="${PEC_BIN:-}"
if [ -z "$PEC" ]; then
    (cd "$ROOT" && cargo build --release --locked -p pec-cli >&2)
    PEC="$ROOT/target/release/pec"
fi
command -v openssl >/dev/null || { echo "openssl not found" >&2; exit 2; }

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (before)"
echo "openssl: $(openssl version | cut -d' ' -f1-2)"

RSA_OUT="$(openssl speed -elapsed -seconds 3 rsa2048 2>/dev/null)"
SHA_OUT="$(openssl speed -elapsed -seconds 3 -evp sha256 2>/dev/null)"

# "rsa 2048 bits 0.000280s 0.000015s   3575.0  65228.6": the last two fields
read -r RSA_SIGN RSA_VERIFY < <(awk '/^rsa[[:space:]]+2048[[:space:]]+bits/ {print $(NF-1), $NF; exit}' <<<"$RSA_OUT")
# the column headed "16384 bytes" of the sha256 row, in 1000s of bytes/s with a "k" suffix
SHA_16K="$(awk '
    /^type/ { for (i = 1; i <= NF; i++) if ($i == "16384") col = i / 2 + 1 }
    tolower($1) ~ /^sha(2-)?256$/ { row = $0 }
    END {
        if (!col || row == "") exit 1
        n = split(row, f, /[[:space:]]+/)
        v = f[col]; sub(/k$/, "", v); printf "%.0f\n", v * 1000
    }' <<<"$SHA_OUT")" || true
if [ -z "${RSA_SIGN:-}" ] || [ -z "${RSA_VERIFY:-}" ] || [ -z "${SHA_16K:-}" ]; then
    echo "could not parse openssl speed output:" >&2
    printf '%s\n%s\n' "$RSA_OUT" "$SHA_OUT" >&2
    exit 2
fi

ONE="$("$PEC" bench --json --seconds "$SECS" --only sign-envelope-10k --only sign-envelope-1m \
    --only verify-envelope-10k --only verify-envelope-1m --only parse-10k --only index-lookup)"
TWO="$("$PEC" bench --json --seconds "$SECS" --threads 2 --only sign-envelope-10k --only verify-envelope-10k)"
# the commits (fsyncs) per submission go to standard error
ENG="$("$PEC" bench --json --seconds "$SECS" --threads 4 --only sign-envelope-10k --only engine-access)"
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) (after)"

python3 - "$RSA_SIGN" "$RSA_VERIFY" "$SHA_16K" "$ONE" "$TWO" "$ENG" <<'PY'
import json, sys
rsa_sign, rsa_verify, sha = (float(x) for x in sys.argv[1:4])
one, two, eng = json.loads(sys.argv[4]), json.loads(sys.argv[5]), json.loads(sys.argv[6])
print(f"openssl: rsa2048 sign {rsa_sign:.0f}/s verify {rsa_verify:.0f}/s; sha256 16 KiB blocks {sha / 1e6:.0f} MB/s")
print("pec bench (1 thread):", ", ".join(f"{k} {v:.1f}/s" if v is not None else f"{k} n/a" for k, v in one.items()))
rows, ok = [], True
def goal(name, value, base, target, unit=""):
    global ok
    if value is None:
        rows.append((name, "n/a", f">= {target}", "MISS (workload not available)")); ok = False; return
    r = value / base
    passed = r >= target
    ok &= passed
    rows.append((name, f"{r:.2f}", f">= {target}", "PASS" if passed else f"MISS ({r / target:.0%} of goal)"))
rows_hdr = ("goal", "ratio", "target", "result")
goal("signing vs RSA-2048 sign", one.get("sign-envelope-10k"), rsa_sign, 0.6)
goal("verification vs RSA-2048 verify", one.get("verify-envelope-10k"), rsa_verify, 0.6)
v1m = one.get("verify-envelope-1m")
goal("1 MiB verify bytes/s vs SHA-256", None if v1m is None else v1m * 1048576, sha, 0.9)
for w in ("sign-envelope-10k", "verify-envelope-10k"):
    a, b = one.get(w), two.get(w)
    goal(f"2 threads vs 1 ({w})", b, a if a else float("nan"), 1.8)
print("pec bench (4 threads):", ", ".join(f"{k} {v:.1f}/s" for k, v in eng.items() if v is not None))
goal("engine-access vs signing (4 threads)", eng.get("engine-access"), eng.get("sign-envelope-10k") or float("nan"), 0.5)
width = max(len(r[0]) for r in rows + [rows_hdr])
for r in [rows_hdr] + rows:
    print(f"{r[0]:<{width}}  {r[1]:>6}  {r[2]:>7}  {r[3]}")
sys.exit(0 if ok else 1)
PY
