#!/bin/sh
# PDQ radius-31 search at scale (issue 18): mediahash's .mhset (automatic strategy, forced
# flat scan) against FAISS IndexBinaryFlat / MultiHash / Hash, side by side in each round,
# one thread each, results compared per query with the flat scan.
#
#   benches/pdq_scale.sh N QUERIES ROUNDS WORKDIR PYTHON [faiss kinds, default "flat"]
#
# WORKDIR receives codes-N.bin (32 bytes per code), queries, the .mhset and outputs (about
# 100 bytes per code in all: keep it outside the repository). PYTHON must import faiss
# (pip install faiss-cpu==1.15.1 numpy in a venv). Build first:
#   cargo build --release --example pdq_search_bench
set -eu
n=$1; q=$2; rounds=$3; work=$4; py=$5; kinds=${6:-flat}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${CARGO_TARGET_DIR:-$here/target}/release/examples/pdq_search_bench
mkdir -p "$work"
codes=$work/codes-$n.bin; queries=$work/queries-$n-$q.txt; set=$work/set-$n.mhset
[ -s "$codes" ] || "$bin" gen --n "$n" --queries "$q" --codes "$codes" --query-file "$queries"
[ -s "$queries" ] || "$bin" gen --n "$n" --queries "$q" --codes "$codes.tmp" --query-file "$queries"
rm -f "$codes.tmp"
[ -s "$set" ] || { /usr/bin/time -f '{"build_wall": %e, "build_max_rss_kb": %M}' "$bin" build --codes "$codes" --out "$set"; ls -l "$set"; }
for r in $(seq 1 "$rounds"); do
  echo "round $r load $(cut -d' ' -f1-3 /proc/loadavg)"
  for s in auto flat; do
    [ "$s" = flat ] && [ "$n" -gt 10000000 ] && [ "$q" -gt 20 ] && continue
    printf 'mh %s: ' "$s"
    RAYON_NUM_THREADS=1 "$bin" search --set "$set" --queries "$queries" --out "$work/out-mh-$s.txt" --strategy "$s" 2>&1
  done
  for k in $kinds; do
    printf 'faiss %s: ' "$k"
    OMP_NUM_THREADS=1 "$py" "$here/benches/compare/peers.py" faiss "$k" "$codes" "$queries" "$work/out-faiss-$k.txt"
  done
done
"$py" - "$work" "$q" $kinds <<'PY'
import sys, os
work, q, kinds = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def read(p):
    out = {}
    for line in open(p):
        qq, code, d = line.split()
        out.setdefault(int(qq), {})[code] = int(d)
    return out
ref = read(os.path.join(work, "out-mh-auto.txt"))
print("mh auto matches:", sum(len(v) for v in ref.values()))
for name in ["mh-flat"] + ["faiss-" + k for k in kinds]:
    p = os.path.join(work, f"out-{name}.txt")
    if not os.path.exists(p):
        continue
    got = read(p)
    same = sum(ref.get(i, {}) == got.get(i, {}) for i in range(q))
    found = sum(len(set(got.get(i, {})) & set(ref.get(i, {}))) for i in range(q))
    print(f"{name}: identical per query {same}/{q}; recall {found}/{sum(len(v) for v in ref.values())}")
PY
