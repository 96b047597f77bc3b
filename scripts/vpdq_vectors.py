#!/usr/bin/env python3
"""Reference vPDQ lists for the test videos, from Meta's `vpdq` package (PyPI).

Makes small videos with ffmpeg's test sources (lavfi testsrc2, mandelbrot, smptehdbars,
rgbtestsrc: no people), each aimed at one pitfall of docs/video.md, into
tests/data/video/, and writes, for each, the vpdq package's frame list in the reference's
text format (`frame,quality,pdqhex,timestamp`, as `vpdq-hash-video` writes it) into
tests/vectors/vpdq/NAME.S.txt (S = seconds per hash), plus tests/vectors/vpdq/README.txt
recording the ffmpeg and vpdq versions and the CPU. tests/video.rs compares mediahash's
lists with these files: same frames, timestamps and qualities, PDQ distance 0.

The videos are committed (a few KiB each), so the comparison does not depend on the encoder
version; the reference values depend on the FFmpeg build and the CPU's SIMD path that vpdq
was built against (docs/video.md), which the README records.

Regenerate (from the repository root; vpdq builds from its sdist against Debian's
libavcodec-dev libavformat-dev libswscale-dev libavutil-dev libavdevice-dev libavfilter-dev
pkg-config cmake):

    python3 -m venv /tmp/v && /tmp/v/bin/pip install vpdq==0.2.5
    /tmp/v/bin/python scripts/vpdq_vectors.py            # remakes the videos too
    /tmp/v/bin/python scripts/vpdq_vectors.py --keep     # reuses tests/data/video/
"""

import os
import platform
import subprocess
import sys

import vpdq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VIDEOS = os.path.join(ROOT, "tests", "data", "video")
OUT = os.path.join(ROOT, "tests", "vectors", "vpdq")

# name -> ffmpeg arguments after `ffmpeg -y -v error` (the output path is appended).
CASES = {
    # Plain H.264 at 30 fps (step 30).
    "testsrc2-h264.mp4": ["-f", "lavfi", "-i", "testsrc2=s=192x144:r=30:d=4",
                          "-c:v", "libx264", "-crf", "35", "-pix_fmt", "yuv420p", "-g", "30"],
    # 29.97 fps: step 29, timestamps 29/29.97...
    "mandelbrot-2997.mp4": ["-f", "lavfi", "-i", "mandelbrot=s=160x120:r=30000/1001",
                            "-t", "4", "-c:v", "libx264", "-crf", "40", "-pix_fmt", "yuv420p"],
    # BT.709 tags: the reference converts as BT.601 whatever the tags.
    "bars-bt709.mkv": ["-f", "lavfi", "-i", "smptehdbars=s=160x120:r=25:d=3,hue=H=t",
                       "-c:v", "libx264", "-pix_fmt", "yuv420p", "-colorspace", "bt709",
                       "-color_primaries", "bt709", "-color_trc", "bt709"],
    # Full-range VP9 in yuv420p (range pc): the reference takes it as limited range.
    "testsrc2-vp9-full.webm": ["-f", "lavfi", "-i", "testsrc2=s=160x120:r=24:d=3",
                               "-c:v", "libvpx-vp9", "-deadline", "realtime", "-b:v", "100k",
                               "-pix_fmt", "yuv420p", "-color_range", "pc"],
    # yuvj420p (MJPEG): full range by pixel format.
    "mandelbrot-mjpeg.avi": ["-f", "lavfi", "-i", "mandelbrot=s=96x72:r=5", "-t", "3",
                             "-c:v", "mjpeg", "-pix_fmt", "yuvj420p", "-q:v", "12"],
    # Rotation metadata: the reference ignores it (no autorotate).
    "testsrc2-rotated.mp4": ["-f", "lavfi", "-i", "testsrc2=s=160x96:r=15:d=3",
                             "-c:v", "libx264", "-pix_fmt", "yuv420p"],
    # HEVC 10-bit 4:2:0.
    "testsrc2-hevc10.mkv": ["-f", "lavfi", "-i", "testsrc2=s=160x120:r=20:d=3",
                            "-c:v", "libx265", "-pix_fmt", "yuv420p10le",
                            "-x265-params", "log-level=error"],
    # MPEG-4 part 2, odd size.
    "rgbtestsrc-mpeg4.avi": ["-f", "lavfi", "-i", "testsrc=s=178x100:r=12:d=3",
                             "-c:v", "mpeg4", "-q:v", "4"],
    # Variable frame rate: frame count is not time; timestamps come from frame numbers.
    "testsrc2-vfr.mkv": ["-f", "lavfi", "-i", "testsrc2=s=160x120:r=30:d=4",
                         "-vf", "select='lt(mod(n\\,30)\\,10)+eq(mod(n\\,3)\\,0)'",
                         "-fps_mode", "vfr", "-c:v", "libx264", "-crf", "35", "-pix_fmt", "yuv420p"],
    # 4:4:4.
    "testsrc2-444.mkv": ["-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=3",
                         "-c:v", "libx264", "-pix_fmt", "yuv444p"],
}

# Stream metadata added by a second, copying pass (ffmpeg 5.1 writes the rotation matrix
# only when remuxing).
REMUX = {"testsrc2-rotated.mp4": ["-metadata:s:v:0", "rotate=90"]}

# Seconds per hash computed for each video (1 s, the default; 0 = every frame for two).
EVERY_FRAME = {"testsrc2-h264.mp4", "testsrc2-vfr.mkv"}


def make_videos():
    os.makedirs(VIDEOS, exist_ok=True)
    for name, args in CASES.items():
        path = os.path.join(VIDEOS, name)
        subprocess.run(["ffmpeg", "-y", "-v", "error", *args, "-map_metadata", "-1",
                        "-fflags", "+bitexact", "-flags:v", "+bitexact", path], check=True)
        if name in REMUX:
            tmp = path + ".tmp" + os.path.splitext(name)[1]
            subprocess.run(["ffmpeg", "-y", "-v", "error", "-i", path, "-c", "copy",
                            *REMUX[name], "-fflags", "+bitexact", tmp], check=True)
            os.replace(tmp, path)


def write_list(path, features):
    with open(path, "w") as f:
        for h in features:
            f.write(f"{h.frame_number},{h.quality},{h.hex},{h.timestamp:.3f}\n")


def main():
    if "--keep" not in sys.argv:
        make_videos()
    os.makedirs(OUT, exist_ok=True)
    for name in CASES:
        path = os.path.join(VIDEOS, name)
        for seconds in ([1, 0] if name in EVERY_FRAME else [1]):
            features = vpdq.computeHash(path, seconds_per_hash=seconds, thread_count=1)
            write_list(os.path.join(OUT, f"{name}.{seconds}.txt"), features)
            print(f"{name} @ {seconds}s: {len(features)} frames", file=sys.stderr)
    version = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout
    flags = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags") or line.startswith("model name"):
                flags += line
            if line.startswith("flags"):
                break
    with open(os.path.join(OUT, "README.txt"), "w") as f:
        f.write("Made by scripts/vpdq_vectors.py with the vpdq package "
                f"{getattr(vpdq, '__version__', '0.2.5')} (PyPI sdist), "
                f"Python {platform.python_version()}, {platform.machine()}.\n")
        f.write("vpdq linked against the system FFmpeg libraries; the ffmpeg program:\n")
        f.write(version.splitlines()[0] + "\n")
        f.write("CPU:\n" + flags)


if __name__ == "__main__":
    main()
