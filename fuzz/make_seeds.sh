#!/usr/bin/env bash
# Seed corpora for the disk-image fuzz targets, made with Debian's tools (dosfstools, mtools,
# ntfs-3g, fdisk, gdisk, ewf-tools, exfatprogs, e2fsprogs where installed): small real volumes,
# partition tables and E01s, so the fuzzer starts past the signature checks.
# Usage: fuzz/make_seeds.sh DIR   (writes DIR/<target>/seed-*, each at most 128 KiB: run the
# targets with -max_len=131072)
set -euo pipefail
out=${1:?usage: make_seeds.sh DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export MTOOLS_SKIP_CHECK=1 PATH="$PATH:/usr/sbin:/sbin"
mkdir -p "$out"/{fat,ntfs,volume,ewf,exfat,ext}
printf 'short file\n' > "$work/a.txt"
head -c 3000 /dev/urandom > "$work/b.bin"
head -c 9000 /dev/urandom > "$work/c.bin"

# FAT12 and FAT16 volumes with a directory, long names and a deleted file.
fat() { # name size_kib extra-mkfs-args...
    local img="$work/$1.img"; shift; local kib=$1; shift
    mkfs.vfat -C "$@" "$img" "$kib" >/dev/null
    mmd -i "$img" ::/Dir
    mcopy -i "$img" "$work/a.txt" ::/A.TXT
    mcopy -i "$img" "$work/b.bin" "::/Dir/a long file name.bin"
    mcopy -i "$img" "$work/c.bin" ::/GONE.BIN
    mdel -i "$img" ::/GONE.BIN
    echo "$img"
}
cp "$(fat fat12 64 -F 12)" "$out/fat/seed-fat12"
head -c 65536 "$(fat fat16 8192 -F 16 -s 1)" > "$out/fat/seed-fat16-head"

# NTFS: a 1 MiB volume with files and a stream (ntfscp, no mount).
if command -v mkntfs >/dev/null; then
    ntfs="$work/ntfs.img"
    truncate -s 2M "$ntfs"
    mkntfs -q -F -f -c 512 "$ntfs" >/dev/null 2>&1
    ntfscp -f "$ntfs" "$work/a.txt" a.txt >/dev/null 2>&1 || true
    ntfscp -f "$ntfs" "$work/c.bin" c.bin >/dev/null 2>&1 || true
    # The boot sector and the $MFT (at 16 KiB here) fit in the first 128 KiB.
    head -c 131072 "$ntfs" > "$out/ntfs/seed-ntfs"
fi

# Partition tables: MBR with an extended partition, GPT; small FAT volumes inside.
mbr="$work/mbr.img"
truncate -s 2M "$mbr"
printf 'label: dos\nstart=1, size=1000, type=c\nstart=1100, size=2000, type=5\nstart=1200, size=800, type=83\nstart=2100, size=900, type=7\n' \
    | sfdisk -q "$mbr" >/dev/null
dd if="$out/fat/seed-fat12" of="$mbr" bs=512 seek=1 conv=notrunc status=none
head -c 131072 "$mbr" > "$out/volume/seed-mbr"
gpt="$work/gpt.img"
truncate -s 2M "$gpt"
sgdisk -q -n 1:34:1000 -t 1:0700 -n 2:1024:3000 -t 2:8300 "$gpt" >/dev/null
dd if="$out/fat/seed-fat12" of="$gpt" bs=512 seek=34 conv=notrunc status=none
head -c 131072 "$gpt" > "$out/volume/seed-gpt"

# E01s of the FAT12 volume: deflate and uncompressed.
if command -v ewfacquire >/dev/null; then
    for c in deflate:fast none; do
        ewfacquire -u -q -t "$work/e-${c%%:*}" -c "$c" -b 64 "$out/fat/seed-fat12" >/dev/null
        cp "$work/e-${c%%:*}.E01" "$out/ewf/seed-${c%%:*}"
    done
fi

# exFAT and ext (when their tools are installed).
if command -v mkfs.exfat >/dev/null; then
    truncate -s 1M "$work/exfat.img"
    mkfs.exfat -b 4096 "$work/exfat.img" >/dev/null
    head -c 131072 "$work/exfat.img" > "$out/exfat/seed-exfat"
fi
if command -v mkfs.ext4 >/dev/null; then
    mkdir -p "$work/tree/dir"
    cp "$work/a.txt" "$work/b.bin" "$work/tree/dir/"
    for v in ext2 ext4; do
        mkfs.$v -q -F -b 1024 -N 32 -d "$work/tree" "$work/$v.img" 256 >/dev/null 2>&1 \
            && head -c 131072 "$work/$v.img" > "$out/ext/seed-$v"
    done
fi
ls -l "$out"/*/
