#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time.
#
#   scripts/fuzz.sh SECONDS [TARGET...]      (default: every target in fuzz/Cargo.toml)
#
# Environment:
#   FUZZ_PARALLEL=N   targets run at once (default 1; the CI/dev machines have 2 cores)
#   PEC_INTEROP_DIR   real PEC samples (default <repo>/../shared/interop)
#
# Corpora live in fuzz/corpus/<target> (not in git) and are seeded at every run from the real
# samples, tests/vectors and the messages the test suite generated. Crashes land in
# fuzz/artifacts/<target>/; the script exits 1 when any target found one.
#
# libFuzzer needs a nightly compiler: `cargo +nightly fuzz` when a nightly toolchain is
# installed, otherwise `RUSTC_BOOTSTRAP=1 cargo fuzz` on stable (known to work).
set -euo pipefail

SECONDS_PER_TARGET="${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}"
shift || true
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
FUZZ="$ROOT/fuzz"
INTEROP="${PEC_INTEROP_DIR:-$ROOT/../shared/interop}"
PARALLEL="${FUZZ_PARALLEL:-1}"

if ! cargo fuzz --help >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 2
fi
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    FUZZ_CMD=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
    FUZZ_CMD=(cargo fuzz)
fi

if [ "$#" -gt 0 ]; then
    TARGETS=("$@")
else
    mapfile -t TARGETS < <(sed -n 's/^name = "\(.*\)"$/\1/p' "$FUZZ/Cargo.toml" | grep -v '^pec-fuzz$')
fi

seed() { # seed TARGET FILE...: copy files into the corpus under content-hash names
    local dir="$FUZZ/corpus/$1"; shift
    mkdir -p "$dir"
    local f
    for f in "$@"; do
        [ -f "$f" ] || continue
        cp "$f" "$dir/seed-$(sha1sum "$f" | cut -c1-16)"
    done
}

if [ ! -d "$INTEROP" ]; then
    echo "note: $INTEROP not found: seeding from the repository only" >&2
fi
shopt -s nullglob globstar
MESSAGES=("$INTEROP"/**/*.eml "$INTEROP"/**/*.txt "$ROOT"/tests/vectors/**/*.eml)
seed message "${MESSAGES[@]}"
seed daticert "$ROOT"/tests/vectors/**/*.xml
seed ldif "$ROOT"/tests/vectors/**/*.ldif
# CMS seeds: the detached signatures of every signed sample, as DER
CMS_TMP="$(mktemp -d)"
trap 'rm -rf "$CMS_TMP"' EXIT
python3 - "$CMS_TMP" "${MESSAGES[@]}" <<'PY'
import email, email.policy, hashlib, sys
out = sys.argv[1]
for path in sys.argv[2:]:
    try:
        with open(path, "rb") as fh:
            msg = email.message_from_binary_file(fh, policy=email.policy.compat32)
        for part in msg.walk():
            if part.get_content_type() in ("application/pkcs7-signature", "application/x-pkcs7-signature",
                                           "application/pkcs7-mime", "application/x-pkcs7-mime"):
                der = part.get_payload(decode=True)
                if der:
                    with open(f"{out}/{hashlib.sha1(der).hexdigest()[:16]}.der", "wb") as o:
                        o.write(der)
    except Exception as e:  # a sample that is not a message is not a seed
        print(f"note: {path}: {e}", file=sys.stderr)
PY
seed cms "$CMS_TMP"/*.der
PF="$CMS_TMP/pf"
mkdir -p "$PF"
printf 'name = "Example PEC S.p.A."\ndomain = "pec.example.it"\ncertified_domains = ["pec.example.it", "pec.ente.example.it"]\n' >"$PF/1.toml"
printf 'name = "Ente PEC"\ndomain = "pec.ente.example.it"\ntimezone = "Europe/Rome"\ncertified_domains = []\n' >"$PF/2.toml"
seed provider_file "$PF"/*.toml "$ROOT"/**/*provider*.toml

run_one() {
    local t="$1"
    local log="$FUZZ/artifacts/$t.log"
    mkdir -p "$FUZZ/artifacts/$t" "$FUZZ/corpus/$t"
    echo "fuzz: $t for ${SECONDS_PER_TARGET}s (log $log)"
    if (cd "$FUZZ" && "${FUZZ_CMD[@]}" run "$t" "corpus/$t" -- \
            -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 \
            -print_final_stats=1) >"$log" 2>&1; then
        echo "fuzz: $t: no crash ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?') runs)"
        return 0
    fi
    echo "fuzz: $t: FAILED, see $log and $FUZZ/artifacts/$t/" >&2
    return 1
}

# build every target first (once, sequentially), so parallel runs do not fight over cargo
for t in "${TARGETS[@]}"; do
    (cd "$FUZZ" && "${FUZZ_CMD[@]}" build "$t")
done

status=0
pids=()
for t in "${TARGETS[@]}"; do
    run_one "$t" &
    pids+=("$!")
    if [ "${#pids[@]}" -ge "$PARALLEL" ]; then
        wait "${pids[0]}" || status=1
        pids=("${pids[@]:1}")
    fi
done
for p in "${pids[@]}"; do
    wait "$p" || status=1
done
exit "$status"
