"""``python -m mediahash``: a small command line over the package (the full tool is ``mh``).

    python -m mediahash version
    python -m mediahash hash [--dihedral] [--fast] FILE...      one JSON object per file
    python -m mediahash scan [--refset SET]... [--threads N] ROOT...   JSON Lines, as mh scan
    python -m mediahash refset info|verify SET
    python -m mediahash refset lookup SET HEX...

Exit status: 0 success (scan: 0 clean, 1 alerts, 2 errors or incomplete, as mh scan),
3 a mediahash error (message on stderr), 64 a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys

import mediahash


def _file_hash_json(h: "mediahash.FileHash") -> dict:
    out = {
        "path": h.path,
        "size": h.size,
        "md5": h.md5_hex,
        "sha1": h.sha1_hex,
        "sha256": h.sha256_hex,
    }
    for name in ("image_format", "width", "height", "pdq_quality", "image_error"):
        value = getattr(h, name)
        if value is not None:
            out[name] = value
    for name in ("pdq_hex", "phash_hex", "dhash_hex", "ahash_hex", "pdq_dihedral_hex"):
        value = getattr(h, name)
        if value is not None:
            out[name[: -len("_hex")]] = value
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mediahash", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("version")
    p = sub.add_parser("hash")
    p.add_argument("--dihedral", action="store_true")
    p.add_argument("--fast", action="store_true")
    p.add_argument("files", nargs="+")
    p = sub.add_parser("scan")
    p.add_argument("--refset", action="append", default=[])
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--dihedral", action="store_true")
    p.add_argument("--no-videos", action="store_true")
    p.add_argument("roots", nargs="+")
    p = sub.add_parser("refset")
    p.add_argument("action", choices=["info", "verify", "lookup"])
    p.add_argument("set")
    p.add_argument("values", nargs="*")
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return 64 if e.code else 0
    out = sys.stdout
    try:
        if args.command == "version":
            print(f"mediahash {mediahash.__version__} (jpeg simd: {mediahash.JPEG_SIMD}, "
                  f"search kernel: {mediahash.SCAN_KERNEL})", file=out)
            return 0
        if args.command == "hash":
            for f in args.files:
                h = mediahash.hash_file(f, dihedral=args.dihedral, fast=args.fast)
                print(json.dumps(_file_hash_json(h)), file=out)
            return 0
        if args.command == "scan":
            run = mediahash.scan(args.roots, args.refset, threads=args.threads,
                                 dihedral=args.dihedral, videos=not args.no_videos)
            # The library's own JSON text, line for line (entries byte-identical to mh scan).
            native = run._native
            header_done = False
            for line in native:
                if not header_done:
                    print(native.header, file=out)
                    header_done = True
                print(line, file=out)
            if not header_done and native.header is not None:
                print(native.header, file=out)
            if native.footer is not None:
                print(native.footer, file=out)
            return run.exit_status or 0
        s = mediahash.RefSet.open(args.set, verify=args.action != "info")
        if args.action == "info":
            print(json.dumps(s.info(), indent=2), file=out)
        elif args.action == "verify":
            print(f"{args.set}: ok (sha256 {s.sha256})", file=out)
        else:
            for v in args.values:
                print(json.dumps({"query": v, "matches": s.lookup(v)}), file=out)
        return 0
    except mediahash.MediahashError as e:
        print(f"mediahash: error {e.status} ({type(e).__name__}): {e}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
