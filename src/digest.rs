//! Cryptographic digests: MD5, SHA-1 and SHA-256 (BLAKE3 optional) in one read pass.
//!
//! Each buffer read is fed to every hasher before the next read, so a file is read once
//! whatever the number of digests, with memory bounded by one buffer. The RustCrypto
//! implementations pick SHA-NI / AVX2 code at run time.
//!
//! The three digests are driven block by block, alternately, through the crates' block-level
//! cores. MD5 is a single chain of dependent additions that leaves most of a core's execution
//! units idle; with the SHA-1 and SHA-256 work of the same 64 bytes next to it in the
//! instruction stream, the CPU runs them side by side. Measured: ~1.5x the throughput of
//! feeding each hasher a whole buffer in turn (`cargo bench --bench digest`).
//!
//! ```
//! use mediahash::digest::{digest_bytes, digest_reader, DigestOptions};
//!
//! let d = digest_bytes(b"abc", DigestOptions::default());
//! assert_eq!(d.md5_hex(), "900150983cd24fb0d6963f7d28e17f72");
//! assert_eq!(d.sha256_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
//! assert_eq!(d.blake3, None); // BLAKE3 only on request
//!
//! // Any `Read` (a file, a stream out of an image) gives the same digests in one pass.
//! let (from_reader, bytes) = digest_reader(&b"abc"[..], DigestOptions { blake3: true })?;
//! assert_eq!(bytes, 3);
//! assert_eq!(from_reader.sha1, d.sha1);
//! assert!(from_reader.blake3.is_some());
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io::{self, Read};

use crate::cpu::{SimdLevel, simd_level};

mod md5_lanes;

use md5::block_api::Md5Core;
use sha1::block_api::Sha1Core;
use sha2::block_api::Sha256VarCore;
use sha2::digest::array::Array;
use sha2::digest::block_api::{Buffer, CtOutWrapper, FixedOutputCore, UpdateCore};
use sha2::digest::{Output, consts::U32};

type Sha256Core = CtOutWrapper<Sha256VarCore, U32>;

/// MD5, SHA-1 and SHA-256 all work on 64-byte blocks.
const BLOCK: usize = 64;

/// Read buffer size: large enough to amortise syscalls, small enough to stay in L2.
pub const READ_BUFFER_SIZE: usize = 256 * 1024;

/// The digests of one byte stream, as raw bytes (use the `*_hex` methods for the text form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digests {
    /// MD5 (RFC 1321). Broken for collisions; kept because most hash lists still key on it.
    pub md5: [u8; 16],
    /// SHA-1 (FIPS 180-4). Collisions are practical; kept for NSRL and older lists.
    pub sha1: [u8; 20],
    /// SHA-256 (FIPS 180-4), the digest mediahash treats as authoritative.
    pub sha256: [u8; 32],
    /// Present only when requested with [`DigestOptions::blake3`].
    pub blake3: Option<[u8; 32]>,
}

impl Digests {
    /// MD5 as 32 lower-case hex characters.
    pub fn md5_hex(&self) -> String {
        crate::hex::encode(&self.md5)
    }
    /// SHA-1 as 40 lower-case hex characters.
    pub fn sha1_hex(&self) -> String {
        crate::hex::encode(&self.sha1)
    }
    /// SHA-256 as 64 lower-case hex characters.
    pub fn sha256_hex(&self) -> String {
        crate::hex::encode(&self.sha256)
    }
    /// BLAKE3 as 64 lower-case hex characters, `None` when it was not requested.
    pub fn blake3_hex(&self) -> Option<String> {
        self.blake3.as_ref().map(|b| crate::hex::encode(b))
    }
}

/// Which optional digests to compute besides MD5, SHA-1 and SHA-256.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DigestOptions {
    /// Also compute BLAKE3 (256-bit output). Off by default: it adds CPU work over every byte
    /// (never a second read).
    pub blake3: bool,
}

/// Incremental one-pass hasher: every `update` feeds all digests.
///
/// For data that arrives in pieces (a stream carved out of a container, a network read).
/// Splitting the input differently never changes the result.
///
/// ```
/// use mediahash::digest::{digest_bytes, DigestOptions, MultiHasher};
///
/// let mut hasher = MultiHasher::new(DigestOptions::default());
/// hasher.update(b"a");
/// hasher.update(b"bc");
/// assert_eq!(hasher.bytes(), 3);
/// assert_eq!(hasher.finalize(), digest_bytes(b"abc", DigestOptions::default()));
/// ```
#[derive(Clone)]
pub struct MultiHasher {
    md5: Md5Core,
    sha1: Sha1Core,
    sha256: Sha256Core,
    /// Bytes of an incomplete block, shared by the three block-level digests.
    pending: [u8; BLOCK],
    pending_len: usize,
    blake3: Option<Box<blake3::Hasher>>,
    bytes: u64,
}

impl Default for MultiHasher {
    fn default() -> Self {
        Self::new(DigestOptions::default())
    }
}

impl MultiHasher {
    /// A hasher with nothing fed yet; `options` chooses the optional digests.
    pub fn new(options: DigestOptions) -> Self {
        Self {
            md5: Md5Core::default(),
            sha1: Sha1Core::default(),
            sha256: Sha256Core::default(),
            pending: [0; BLOCK],
            pending_len: 0,
            blake3: options.blake3.then(|| Box::new(blake3::Hasher::new())),
            bytes: 0,
        }
    }

    /// Feeds `data` to every digest. Any length, including zero, in any number of calls.
    pub fn update(&mut self, mut data: &[u8]) {
        if let Some(b3) = self.blake3.as_mut() {
            b3.update(data);
        }
        self.bytes += data.len() as u64;
        if self.pending_len > 0 {
            let take = (BLOCK - self.pending_len).min(data.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&data[..take]);
            self.pending_len += take;
            data = &data[take..];
            if self.pending_len < BLOCK {
                return;
            }
            let block = self.pending;
            self.compress(std::slice::from_ref(&block));
            self.pending_len = 0;
        }
        let (blocks, rest) = data.as_chunks::<BLOCK>();
        self.compress(blocks);
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
    }

    /// One block to each digest in turn (see the module notes for why not all blocks at once).
    fn compress(&mut self, blocks: &[[u8; BLOCK]]) {
        for block in Array::cast_slice_from_core(blocks).chunks_exact(1) {
            self.md5.update_blocks(block);
            self.sha1.update_blocks(block);
            self.sha256.update_blocks(block);
        }
    }

    /// Bytes fed so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Pads and finishes every digest over all bytes fed, consuming the hasher.
    pub fn finalize(mut self) -> Digests {
        let tail = &self.pending[..self.pending_len];
        Digests {
            md5: finalize_core(&mut self.md5, tail).into(),
            sha1: finalize_core(&mut self.sha1, tail).into(),
            sha256: finalize_core(&mut self.sha256, tail).into(),
            blake3: self.blake3.map(|b| *b.finalize().as_bytes()),
        }
    }
}

/// The digest's own padding and output of a core that has been fed every full block.
fn finalize_core<C: FixedOutputCore>(core: &mut C, tail: &[u8]) -> Output<C> {
    let mut buffer = Buffer::<C>::new(tail);
    let mut out = Output::<C>::default();
    core.finalize_fixed_core(&mut buffer, &mut out);
    out
}

/// Digests of an in-memory buffer. Infallible; for files prefer [`digest_reader`], which
/// keeps memory bounded whatever the size.
pub fn digest_bytes(data: &[u8], options: DigestOptions) -> Digests {
    let mut hasher = MultiHasher::new(options);
    hasher.update(data);
    hasher.finalize()
}

/// Digests of everything `reader` yields, in one pass with one bounded buffer.
/// Returns the digests and the number of bytes read. `Interrupted` reads are retried.
///
/// # Errors
/// The first other I/O error from `reader`, as is; nothing partial is returned, since
/// digests of a truncated read would not identify the file.
pub fn digest_reader<R: Read>(mut reader: R, options: DigestOptions) -> io::Result<(Digests, u64)> {
    let mut hasher = MultiHasher::new(options);
    let mut buffer = vec![0u8; READ_BUFFER_SIZE];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buffer[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    let bytes = hasher.bytes();
    Ok((hasher.finalize(), bytes))
}

/// Bytes each lane of [`digest_many`] reads at a time.
const LANE_BUFFER: usize = 64 * 1024;

/// Most blocks one lane step runs before the lanes are looked at again.
const BLOCKS_PER_STEP: usize = 64;

/// One input being digested in a lane of [`digest_many`].
struct Lane<R> {
    reader: R,
    md5: [u32; 4],
    sha1: Sha1Core,
    sha256: Sha256Core,
    blake3: Option<Box<blake3::Hasher>>,
    buffer: Box<[u8]>,
    /// Bytes of `buffer` already digested (whole blocks).
    start: usize,
    /// Bytes of `buffer` read.
    end: usize,
    bytes: u64,
    eof: bool,
}

impl<R: Read> Lane<R> {
    fn new(reader: R, options: DigestOptions, buffer: Box<[u8]>) -> Self {
        Lane {
            reader,
            md5: md5_lanes::INIT,
            sha1: Sha1Core::default(),
            sha256: Sha256Core::default(),
            blake3: options.blake3.then(|| Box::new(blake3::Hasher::new())),
            buffer,
            start: 0,
            end: 0,
            bytes: 0,
            eof: false,
        }
    }

    /// Reads until at least one whole block is buffered or the input ends.
    fn fill(&mut self) -> io::Result<()> {
        while self.end - self.start < BLOCK && !self.eof {
            if self.start > 0 {
                self.buffer.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            match self.reader.read(&mut self.buffer[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    if let Some(b3) = self.blake3.as_mut() {
                        b3.update(&self.buffer[self.end..self.end + n]);
                    }
                    self.end += n;
                    self.bytes += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn blocks(&self) -> usize {
        (self.end - self.start) / BLOCK
    }

    /// The digests of an input read to its end (every whole block already digested).
    fn finish(mut self) -> (R, Digests, u64, Box<[u8]>) {
        let tail = &self.buffer[self.start..self.end];
        let digests = Digests {
            md5: md5_lanes::finish(self.md5, tail, self.bytes),
            sha1: finalize_core(&mut self.sha1, tail).into(),
            sha256: finalize_core(&mut self.sha256, tail).into(),
            blake3: self.blake3.map(|b| *b.finalize().as_bytes()),
        };
        (self.reader, digests, self.bytes, self.buffer)
    }
}

/// How [`digest_many`] feeds SHA-1 and SHA-256 beside the MD5 lanes (benchmarks compare
/// them; the default is the fastest measured).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShaOrder {
    /// Block `b` of every lane, then block `b + 1`: the SHA chains of different inputs sit
    /// next to each other in the instruction stream, so the CPU overlaps their latencies.
    #[default]
    Interleaved,
    /// All blocks of one lane, then the next lane: one SHA chain at a time.
    PerLane,
}

/// Digests of many inputs at once, read and hashed by the calling thread: MD5 runs in SIMD
/// lanes (16 with AVX-512, 8 with AVX2, see [`crate::cpu`]) over as many inputs, and
/// SHA-1/SHA-256 (SHA-NI where the CPU has it) run beside it on the same blocks. Each input
/// takes a free lane as soon as the previous one ends, so small files are batched into the
/// lanes and large files share them. `done` is called once per input, in the order the
/// inputs end (not the order given), with the reader back, its digests and byte count, or
/// the first read error (`Interrupted` is retried; nothing partial is returned).
///
/// The digests are the same as [`digest_reader`]'s for every input, at every SIMD level.
///
/// ```
/// use mediahash::digest::{digest_bytes, digest_many, DigestOptions};
///
/// let inputs: Vec<&[u8]> = vec![b"abc", &[7u8; 100_000], b""];
/// let mut results = Vec::new();
/// let readers = inputs.iter().map(|bytes| std::io::Cursor::new(*bytes));
/// digest_many(readers, DigestOptions::default(), |reader, result| {
///     // The reader comes back read to its end; its bytes are still there.
///     results.push((reader.into_inner(), result.unwrap()));
/// });
/// assert_eq!(results.len(), 3);
/// for (input, (digests, bytes)) in results {
///     assert_eq!(bytes, input.len() as u64);
///     assert_eq!(digests, digest_bytes(input, DigestOptions::default()));
/// }
/// ```
pub fn digest_many<R: Read>(
    inputs: impl IntoIterator<Item = R>,
    options: DigestOptions,
    done: impl FnMut(R, io::Result<(Digests, u64)>),
) {
    digest_many_with(simd_level(), ShaOrder::default(), inputs, options, done)
}

/// [`digest_many`] at a given SIMD level (at most [`SimdLevel::detected`]) and SHA order,
/// for tests and benchmarks.
#[doc(hidden)]
pub fn digest_many_with<R: Read>(
    level: SimdLevel,
    order: ShaOrder,
    inputs: impl IntoIterator<Item = R>,
    options: DigestOptions,
    mut done: impl FnMut(R, io::Result<(Digests, u64)>),
) {
    let level = level.min(SimdLevel::detected());
    if level == SimdLevel::Portable {
        // Without SIMD lanes the one-stream hasher is faster: it feeds MD5, SHA-1 and
        // SHA-256 block by block, so the CPU overlaps their chains; the lane loop with the
        // plain MD5 chain does not (docs/performance.md, "MD5 lanes").
        for mut reader in inputs {
            let result = digest_reader(&mut reader, options);
            done(reader, result);
        }
        return;
    }
    let width = md5_lanes::lanes_for(level);
    let mut inputs = inputs.into_iter();
    let mut lanes: Vec<Lane<R>> = Vec::with_capacity(width);
    let mut spare: Vec<Box<[u8]>> = Vec::new();
    let mut exhausted = false;
    loop {
        // Top up the lanes, and finish the inputs that ended.
        let mut i = 0;
        while i < lanes.len() || (lanes.len() < width && !exhausted) {
            if i == lanes.len() {
                match inputs.next() {
                    Some(reader) => {
                        let buffer = spare
                            .pop()
                            .unwrap_or_else(|| vec![0u8; LANE_BUFFER].into_boxed_slice());
                        lanes.push(Lane::new(reader, options, buffer));
                    }
                    None => {
                        exhausted = true;
                        continue;
                    }
                }
            }
            let lane = &mut lanes[i];
            match lane.fill() {
                Ok(()) if lane.blocks() > 0 => i += 1,
                Ok(()) => {
                    let (reader, digests, bytes, buffer) = lanes.swap_remove(i).finish();
                    spare.push(buffer);
                    done(reader, Ok((digests, bytes)));
                }
                Err(e) => {
                    let lane = lanes.swap_remove(i);
                    spare.push(lane.buffer);
                    done(lane.reader, Err(e));
                }
            }
        }
        if lanes.is_empty() {
            return;
        }
        let blocks = lanes.iter().map(Lane::blocks).min().unwrap_or(0).min(BLOCKS_PER_STEP);
        let mut states: Vec<[u32; 4]> = lanes.iter().map(|l| l.md5).collect();
        let data: Vec<&[u8]> = lanes.iter().map(|l| &l.buffer[l.start..l.end]).collect();
        // One input left (a large file at the end of a batch): the SIMD kernels would run
        // it at the latency of a whole vector step for one lane's work, slower than the
        // plain chain.
        let kernel = if lanes.len() == 1 { SimdLevel::Portable } else { level };
        md5_lanes::compress_lanes(kernel, &mut states, &data, blocks);
        for (lane, state) in lanes.iter_mut().zip(states) {
            lane.md5 = state;
        }
        match order {
            ShaOrder::Interleaved => {
                for b in 0..blocks {
                    for lane in lanes.iter_mut() {
                        let at = lane.start + b * BLOCK;
                        let block: &[u8; BLOCK] = lane.buffer[at..at + BLOCK].try_into().unwrap();
                        let block = Array::cast_slice_from_core(std::slice::from_ref(block));
                        lane.sha1.update_blocks(block);
                        lane.sha256.update_blocks(block);
                    }
                }
            }
            ShaOrder::PerLane => {
                for lane in lanes.iter_mut() {
                    let (chunks, _) =
                        lane.buffer[lane.start..lane.start + blocks * BLOCK].as_chunks::<BLOCK>();
                    let chunks = Array::cast_slice_from_core(chunks);
                    lane.sha1.update_blocks(chunks);
                    lane.sha256.update_blocks(chunks);
                }
            }
        }
        for lane in lanes.iter_mut() {
            lane.start += blocks * BLOCK;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::encode;
    use sha2::{Digest, Sha256};

    fn check(data: &[u8], md5: &str, sha1: &str, sha256: &str) {
        let d = digest_bytes(data, DigestOptions::default());
        assert_eq!(encode(&d.md5), md5);
        assert_eq!(encode(&d.sha1), sha1);
        assert_eq!(encode(&d.sha256), sha256);
        assert_eq!(d.blake3, None);
    }

    #[test]
    fn empty_input() {
        check(
            b"",
            "d41d8cd98f00b204e9800998ecf8427e",
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        );
    }

    #[test]
    fn abc() {
        check(
            b"abc",
            "900150983cd24fb0d6963f7d28e17f72",
            "a9993e364706816aba3e25717850c26c9cd0d89d",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        );
    }

    #[test]
    fn million_a() {
        check(
            &vec![b'a'; 1_000_000],
            "7707d6ae4e027c70eea2a935c2296f21",
            "34aa973cd4c4daa4f61eeb2bdbad27316534016f",
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
        );
    }

    #[test]
    fn blake3_optional() {
        let d = digest_bytes(b"abc", DigestOptions { blake3: true });
        assert_eq!(
            d.blake3_hex().unwrap(),
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
    }

    #[test]
    fn reader_larger_than_buffer_matches_bytes() {
        // Three and a half buffers, with a short read at the end.
        let data: Vec<u8> = (0..READ_BUFFER_SIZE * 7 / 2).map(|i| (i * 31 % 251) as u8).collect();
        let (from_reader, n) = digest_reader(&data[..], DigestOptions::default()).unwrap();
        assert_eq!(n, data.len() as u64);
        assert_eq!(from_reader, digest_bytes(&data, DigestOptions::default()));
        // And against the straight single-digest computation.
        assert_eq!(from_reader.sha256, <[u8; 32]>::from(Sha256::digest(&data)));
    }

    /// Inputs of random lengths 0..10k (and a few larger), fed through the lanes in random
    /// read sizes so lanes end at different times, equal the one-stream digests at every
    /// SIMD level and SHA order.
    #[test]
    fn many_equals_one_stream_at_every_level() {
        struct Chunky<'a> {
            data: &'a [u8],
            step: usize,
        }
        impl Read for Chunky<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.step.min(buf.len()).min(self.data.len());
                buf[..n].copy_from_slice(&self.data[..n]);
                self.data = &self.data[n..];
                Ok(n)
            }
        }
        let mut seed = 0x1234_5678u64;
        let mut next = |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        let inputs: Vec<Vec<u8>> = (0..150)
            .map(|i| {
                let len = match i % 25 {
                    0 => 200_000 + next(300_000),
                    _ => next(10_000),
                } as usize;
                (0..len).map(|_| next(256) as u8).collect()
            })
            .collect();
        let steps: Vec<usize> = (0..inputs.len()).map(|_| 1 + next(70_000) as usize).collect();
        let want: Vec<Digests> =
            inputs.iter().map(|d| digest_bytes(d, DigestOptions { blake3: true })).collect();
        for level in SimdLevel::available() {
            for order in [ShaOrder::Interleaved, ShaOrder::PerLane] {
                let readers = inputs
                    .iter()
                    .zip(&steps)
                    .enumerate()
                    .map(|(i, (d, &step))| (i, Chunky { data: d, step }));
                let mut seen = vec![false; inputs.len()];
                struct Keyed<'a>(usize, Chunky<'a>);
                impl Read for Keyed<'_> {
                    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                        self.1.read(buf)
                    }
                }
                digest_many_with(
                    level,
                    order,
                    readers.map(|(i, r)| Keyed(i, r)),
                    DigestOptions { blake3: true },
                    |Keyed(i, _), result| {
                        let (digests, bytes) = result.unwrap();
                        assert_eq!(bytes, inputs[i].len() as u64);
                        assert_eq!(digests, want[i], "{level:?} {order:?} input {i}");
                        assert!(!std::mem::replace(&mut seen[i], true));
                    },
                );
                assert!(seen.iter().all(|&s| s), "{level:?}: every input reported once");
            }
        }
    }

    /// The padding boundaries (0, 1, 55, 56, 63, 64, 65 bytes...), block multiples and a
    /// large input, side by side in the lanes in every arrangement of a rotation (so each
    /// size meets each lane position and each neighbour length), at every SIMD level.
    #[test]
    fn many_at_padding_boundaries_at_every_level() {
        let mut sizes: Vec<usize> =
            vec![0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 191, 192, 4096, 65_536];
        sizes.extend([65_535, 65_537, 3 * 65_536 + 55, (1 << 20) + 64, (1 << 20) + 65]);
        let inputs: Vec<Vec<u8>> = sizes
            .iter()
            .map(|&n| (0..n).map(|i| (i * 131 + n * 7 + (i >> 8)) as u8).collect())
            .collect();
        let want: Vec<Digests> =
            inputs.iter().map(|d| digest_bytes(d, DigestOptions::default())).collect();
        for level in SimdLevel::available() {
            for rotation in 0..inputs.len() {
                let order: Vec<usize> =
                    (0..inputs.len()).map(|i| (i + rotation) % inputs.len()).collect();
                struct Tagged<'a>(usize, &'a [u8]);
                impl Read for Tagged<'_> {
                    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                        self.1.read(buf)
                    }
                }
                let mut seen = 0;
                digest_many_with(
                    level,
                    ShaOrder::default(),
                    order.iter().map(|&i| Tagged(i, &inputs[i][..])),
                    DigestOptions::default(),
                    |Tagged(i, _), result| {
                        let (digests, bytes) = result.unwrap();
                        assert_eq!(bytes, sizes[i] as u64);
                        assert_eq!(digests, want[i], "{level:?} size {}", sizes[i]);
                        seen += 1;
                    },
                );
                assert_eq!(seen, inputs.len());
            }
        }
    }

    #[test]
    fn many_reports_read_errors_and_goes_on() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("disk on fire"));
                }
                let n = self.0.min(buf.len()).min(1000);
                buf[..n].fill(1);
                self.0 -= n;
                Ok(n)
            }
        }
        for level in SimdLevel::available() {
            let mut results = Vec::new();
            let inputs = [Failing(5000), Failing(0), Failing(70_000)];
            digest_many_with(
                level,
                ShaOrder::default(),
                inputs,
                DigestOptions::default(),
                |_, r| results.push(r.map_err(|e| e.to_string())),
            );
            assert_eq!(results.len(), 3);
            assert!(results.iter().all(|r| r.as_ref().is_err_and(|e| e == "disk on fire")));
        }
    }

    proptest::proptest! {
        /// One pass over arbitrary data, fed in arbitrary pieces, equals each digest computed
        /// alone over the whole input.
        #[test]
        fn one_pass_equals_single_digests(
            data in proptest::collection::vec(proptest::num::u8::ANY, 0..20_000),
            cuts in proptest::collection::vec(0usize..20_000, 0..8),
        ) {
            let mut hasher = MultiHasher::new(DigestOptions { blake3: true });
            let mut points: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            points.sort_unstable();
            let mut start = 0;
            for p in points.into_iter().chain([data.len()]) {
                hasher.update(&data[start..p]);
                start = p;
            }
            let d = hasher.finalize();
            proptest::prop_assert_eq!(d.md5, <[u8; 16]>::from(md5::Md5::digest(&data)));
            proptest::prop_assert_eq!(d.sha1, <[u8; 20]>::from(sha1::Sha1::digest(&data)));
            proptest::prop_assert_eq!(d.sha256, <[u8; 32]>::from(Sha256::digest(&data)));
            proptest::prop_assert_eq!(d.blake3, Some(*blake3::hash(&data).as_bytes()));
        }
    }
}
