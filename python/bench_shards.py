"""Exact lookups through a shard manifest from Python (issue #17), run by hand:

    python python/bench_shards.py DIR/sim.shards.json N [mapped]

for the shards `examples/shard_sim.rs` writes (`shard_sim build N P 16 DIR`): 2*10^5 SHA-1
values, half stored, looked up one call at a time with `RefSet.lookup`; prints open time,
lookups/s, maximum RSS and the load average.
"""
import resource
import sys
import time

import mediahash

M = (1 << 64) - 1


def mix(x):
    """splitmix64, as shard_sim.rs."""
    z = (x + 0x9E3779B97F4A7C15) & M
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)


def sha1(i):
    """shard_sim.rs's SHA-1 value i."""
    return b"".join(mix(i * 3 + k).to_bytes(8, "little") for k in range(3))[:20]


def main():
    manifest, n = sys.argv[1], int(sys.argv[2])
    mapped = len(sys.argv) > 3 and sys.argv[3] == "mapped"
    load = lambda: open("/proc/loadavg").read().split()[0]  # noqa: E731
    rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # noqa: E731
    t = time.monotonic()
    s = mediahash.RefSet.open(manifest, mapped=mapped, verify=False)
    print(f"open ({'mapped' if mapped else 'copied'}): {time.monotonic() - t:.1f} s, "
          f"max RSS {rss():.2f} GB, load {load()}")
    keys = [sha1(mix(k) % n if k % 2 == 0 else n + mix(k) % n) for k in range(200000)]
    t = time.monotonic()
    found = sum(1 for k in keys if s.lookup(k, kind="sha1"))
    dt = time.monotonic() - t
    print(f"RefSet.lookup through the manifest: {len(keys) / dt:,.0f} lookups/s, found {found}, "
          f"max RSS {rss():.2f} GB, load {load()}")


if __name__ == "__main__":
    main()
