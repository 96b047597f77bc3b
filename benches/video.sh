#!/usr/bin/env bash
# vPDQ throughput side by side (docs/performance.md, "Videos"): seconds of video hashed per
# wall second by `mh hash --video-fps 1` (decoder threads 1 and automatic), by Meta's vpdq
# package (thread_count 1 and 0) and by `ffmpeg` decoding alone (the limit), on one 1080p
# H.264 clip made here from ffmpeg's mandelbrot source; peak RSS from GNU time.
#   benches/video.sh [PYTHON_WITH_VPDQ] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
python="${1:-python3}"
seconds="${2:-20}"
work="${TMPDIR:-/tmp}/mh-video-bench"
mkdir -p "$work"
clip="$work/m1080-$seconds.mp4"
[ -f "$clip" ] || ffmpeg -y -v error -f lavfi -i "mandelbrot=s=1920x1080:r=30" -t "$seconds" \
  -c:v libx264 -preset veryfast -pix_fmt yuv420p "$clip"
cargo build --release --bin mh >/dev/null 2>&1
mh=target/release/mh
# label, command...: wall time, video seconds per wall second, peak RSS.
run_l() { local l="$1"; shift; local t0 t1; t0=$(date +%s.%N); /usr/bin/time -f "%M" -o "$work/rss" "$@" >/dev/null 2>&1; t1=$(date +%s.%N);
  awk -v l="$l" -v s="$seconds" -v a="$t0" -v b="$t1" -v r="$(cat "$work/rss")" 'BEGIN {
    printf "%-34s %6.2f s wall  %6.1f video-s/s  peak RSS %d MiB\n", l, b - a, s / (b - a), r / 1024 }'; }
run_l "ffmpeg decode only, 1 thread" ffmpeg -v error -threads 1 -thread_type slice -i "$clip" -f null -
run_l "ffmpeg decode only, auto threads" ffmpeg -v error -thread_type slice -i "$clip" -f null -
run_l "mh hash --video-fps 1, 1 thread" "$mh" hash --video-fps 1 --video-threads 1 "$clip"
run_l "mh hash --video-fps 1, auto" "$mh" hash --video-fps 1 "$clip"
run_l "vpdq computeHash(1 s), 1 thread" "$python" -c "import sys,vpdq; vpdq.computeHash(sys.argv[1], seconds_per_hash=1, thread_count=1)" "$clip"
run_l "vpdq computeHash(1 s), auto" "$python" -c "import sys,vpdq; vpdq.computeHash(sys.argv[1], seconds_per_hash=1, thread_count=0)" "$clip"
run_l "mh hash --video-fps 0 (every frame)" "$mh" hash --video-fps 0 "$clip"
run_l "vpdq computeHash(0 s), auto" "$python" -c "import sys,vpdq; vpdq.computeHash(sys.argv[1], seconds_per_hash=0, thread_count=0)" "$clip"
# Same answers: the lists must be equal.
"$mh" hash --video-fps 1 "$clip" | "$python" -c "
import json, sys, vpdq
ours = json.load(sys.stdin)['vpdq']
ref = vpdq.computeHash(sys.argv[1], seconds_per_hash=1, thread_count=0)
same = len(ours) == len(ref) and all(o['hash'] == r.hex and o['quality'] == r.quality and o['frame'] == r.frame_number for o, r in zip(ours, ref))
print('answers: %d frames, identical: %s' % (len(ours), same))" "$clip"
