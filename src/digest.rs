//! Cryptographic digests: MD5, SHA-1 and SHA-256 (BLAKE3 optional) in one read pass.
//!
//! Each buffer read is fed to every hasher before the next read, so a file is read once
//! whatever the number of digests, with memory bounded by one buffer. The RustCrypto
//! implementations pick SHA-NI / AVX2 code at run time.

use std::io::{self, Read};

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Read buffer size: large enough to amortise syscalls, small enough to stay in L2.
pub const READ_BUFFER_SIZE: usize = 256 * 1024;

/// The digests of one byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digests {
    pub md5: [u8; 16],
    pub sha1: [u8; 20],
    pub sha256: [u8; 32],
    /// Present only when requested with [`DigestOptions::blake3`].
    pub blake3: Option<[u8; 32]>,
}

impl Digests {
    pub fn md5_hex(&self) -> String {
        crate::hex::encode(&self.md5)
    }
    pub fn sha1_hex(&self) -> String {
        crate::hex::encode(&self.sha1)
    }
    pub fn sha256_hex(&self) -> String {
        crate::hex::encode(&self.sha256)
    }
    pub fn blake3_hex(&self) -> Option<String> {
        self.blake3.as_ref().map(|b| crate::hex::encode(b))
    }
}

/// Which optional digests to compute besides MD5, SHA-1 and SHA-256.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DigestOptions {
    pub blake3: bool,
}

/// Incremental one-pass hasher: every `update` feeds all digests.
#[derive(Clone)]
pub struct MultiHasher {
    md5: Md5,
    sha1: Sha1,
    sha256: Sha256,
    blake3: Option<Box<blake3::Hasher>>,
    bytes: u64,
}

impl Default for MultiHasher {
    fn default() -> Self {
        Self::new(DigestOptions::default())
    }
}

impl MultiHasher {
    pub fn new(options: DigestOptions) -> Self {
        Self {
            md5: Md5::new(),
            sha1: Sha1::new(),
            sha256: Sha256::new(),
            blake3: options.blake3.then(|| Box::new(blake3::Hasher::new())),
            bytes: 0,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.md5.update(data);
        self.sha1.update(data);
        self.sha256.update(data);
        if let Some(b3) = self.blake3.as_mut() {
            b3.update(data);
        }
        self.bytes += data.len() as u64;
    }

    /// Bytes fed so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn finalize(self) -> Digests {
        Digests {
            md5: self.md5.finalize().into(),
            sha1: self.sha1.finalize().into(),
            sha256: self.sha256.finalize().into(),
            blake3: self.blake3.map(|b| *b.finalize().as_bytes()),
        }
    }
}

/// Digests of an in-memory buffer.
pub fn digest_bytes(data: &[u8], options: DigestOptions) -> Digests {
    let mut hasher = MultiHasher::new(options);
    hasher.update(data);
    hasher.finalize()
}

/// Digests of everything `reader` yields, in one pass with one bounded buffer.
/// Returns the digests and the number of bytes read. `Interrupted` reads are retried.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::encode;

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
