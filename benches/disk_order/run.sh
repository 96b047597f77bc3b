#!/usr/bin/env bash
# Reading a disk image in media order versus path order (issue #15).
#
#   benches/disk_order/run.sh [--mb 900] [--rounds 3] [--old-mh PATH] WORKDIR
#
# Builds in WORKDIR a FAT32 image (no partition table) holding random files (16 KiB-1 MiB,
# random names) copied in a random order with mtools, so that path order and media order are
# unrelated, as on a disk written over years. Then, with the page cache dropped before each
# run (needs root; otherwise the runs are warm and the script says so):
#   - `cat IMAGE > /dev/null`: reading the image front to back, the limit;
#   - `mh scan --threads 1` (target/release/mh): files in media order, then free space carved;
#   - the same with --old-mh (an mh built before 5c2c542, which read files in path order);
# and, from mh's report, the seek distance each order implies: the sum over consecutive
# files of |start of the next file's first run - end of the previous file's last run|.
# Needs: mkfs.vfat (dosfstools), mcopy (mtools), python3.
set -euo pipefail
mb=900 rounds=3 old=""
while [ $# -gt 1 ]; do
  case "$1" in
    --mb) mb=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --old-mh) old=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
work=${1:?usage: run.sh [--mb N] [--rounds N] [--old-mh PATH] WORKDIR}
repo=$(cd "$(dirname "$0")/../.." && pwd)
mh="$repo/target/release/mh"
[ -x "$mh" ] || { echo "build first: cargo build --release --features cli" >&2; exit 2; }
mkdir -p "$work/files" "$work/out" "$work/evidence"
image="$work/evidence/shuffled.raw"
if [ ! -f "$image" ]; then
  python3 - "$work" "$mb" <<'PY'
import os, random, sys
work, mb = sys.argv[1], int(sys.argv[2])
rng = random.Random(15)
names, total = [], 0
while total < mb * 2**20:
    size = rng.randint(16 * 1024, 1024 * 1024)
    name = "%08x.bin" % rng.getrandbits(32)
    with open(os.path.join(work, "files", name), "wb") as f:
        f.write(rng.randbytes(size))
    names.append(name)
    total += size
rng.shuffle(names)
open(os.path.join(work, "order.txt"), "w").write("\n".join(names))
PY
  truncate -s $((mb * 12 / 10 + 64))M "$image"
  mkfs.vfat -F 32 "$image" >/dev/null
  (cd "$work/files" && MTOOLS_SKIP_CHECK=1 xargs -a ../order.txt -d '\n' \
    sh -c 'mcopy -i "$0" "$@" ::/' "$image")
fi
cold() {
  sync
  if [ "$(id -u)" = 0 ] && echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; then return; fi
  echo "(page cache not dropped: not root; runs are warm)" >&2
}
timed() { # label, command...
  local label=$1; shift
  for r in $(seq "$rounds"); do
    cold
    local t0 t1
    t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N)
    echo "$label round $r: $(python3 -c "print(f'{$t1-$t0:.2f}')") s"
  done
}
size=$(stat -c %s "$image")
echo "image: $image, $((size / 1048576)) MiB, $(grep -c . "$work/order.txt") files"
timed "cat (limit)" cat "$image"
rm -f "$work/out/"*.jsonl
timed "mh media order" sh -c "rm -f '$work/out/new.jsonl'; '$mh' scan --threads 1 --report '$work/out/new.jsonl' '$image'"
if [ -n "$old" ]; then
  timed "mh path order (--old-mh)" sh -c "rm -f '$work/out/old.jsonl'; '$old' scan --threads 1 --report '$work/out/old.jsonl' '$image'"
fi
python3 - "$work/out/new.jsonl" <<'PY'
import json, sys
files = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    runs = (r.get("location") or {}).get("byte_runs") or []
    if r.get("record") == "entry" and runs:
        files.append((r["path"], runs[0]["img_offset"], runs[-1]["img_offset"] + runs[-1]["len"]))
def seeks(order):
    total, back, pos = 0, 0, None
    for _, start, end in order:
        if pos is not None:
            total += abs(start - pos)
            back += start < pos
        pos = end
    return total, back
for name, order in [("report (media) order", files), ("path order", sorted(files))]:
    total, back = seeks(order)
    print(f"{name}: {len(order)} files, seek distance {total / 2**30:.2f} GiB, {back} backward jumps")
PY
