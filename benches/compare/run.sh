#!/usr/bin/env bash
# mediahash versus hashdeep, Pillow + pdqhash, imagehash and FAISS on the same inputs.
# One command: sets up the peers (Debian's hashdeep, PyPI packages in benches/compare/.venv),
# builds the Rust binaries, then runs benches/compare/compare.py with the given options
# (--help lists them). Inputs and results go to benches/compare/work/. See
# docs/performance.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

# hashdeep and tsk_recover are peers; nasm builds libjpeg-turbo's SIMD code into mediahash (feature jpeg-simd).
missing=()
command -v hashdeep >/dev/null || missing+=(hashdeep)
command -v nasm >/dev/null || missing+=(nasm)
# Case 5 (disk images): The Sleuth Kit's tsk_recover, mkfs.vfat + mtools, ewfacquire.
command -v tsk_recover >/dev/null || missing+=(sleuthkit)
[ -x /usr/sbin/mkfs.vfat ] || command -v mkfs.vfat >/dev/null || missing+=(dosfstools)
command -v mcopy >/dev/null || missing+=(mtools)
command -v ewfacquire >/dev/null || missing+=(ewf-tools)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "== installing ${missing[*]} (Debian packages)"
    sudo_=""
    [ "$(id -u)" -eq 0 ] || sudo_=sudo
    $sudo_ apt-get update -qq
    $sudo_ apt-get install -y -qq "${missing[@]}"
fi

venv="$here/.venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import faiss, pdqhash, imagehash, PIL, numpy' 2>/dev/null; then
    echo "== creating $venv (pdqhash builds from source: needs g++ and python3-dev)"
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q -r "$here/requirements.txt"
fi

echo "== building target/release/mh and target/release/examples/{compare_driver,pdq_search_bench}"
examples=(--bin mh --example compare_driver)
[ -f "$root/examples/pdq_search_bench.rs" ] && examples+=(--example pdq_search_bench)
# MH_FEATURES="a b" builds the Rust binaries with extra cargo features.
(cd "$root" && cargo build --release -q ${MH_FEATURES:+--features "$MH_FEATURES"} "${examples[@]}")

echo "== machine load before the run: $(uptime)"
exec "$venv/bin/python" "$here/compare.py" "$@"
