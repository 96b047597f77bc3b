//! Lower-case hexadecimal, the one text form every hash in mediahash uses.
//!
//! Output is always lower case; input of either case is accepted, so hashes pasted from other
//! tools decode unchanged.
//!
//! ```
//! use mediahash::hex::{self, HexError};
//!
//! let text = hex::encode(&[0xde, 0xad, 0xbe, 0xef]);
//! assert_eq!(text, "deadbeef");
//! assert_eq!(hex::decode_fixed::<4>("DEADbeef")?, [0xde, 0xad, 0xbe, 0xef]);
//! assert_eq!(
//!     hex::decode_fixed::<4>("deadbee"),
//!     Err(HexError::Length { expected: 8, found: 7 })
//! );
//! # Ok::<(), HexError>(())
//! ```

use thiserror::Error;

/// A hex string that does not have the expected form.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HexError {
    /// The string has the wrong number of characters for the hash kind.
    #[error("expected {expected} hex characters, found {found}")]
    Length {
        /// Characters required: twice the byte length of the hash (for [`decode_vec`], the
        /// next even number).
        expected: usize,
        /// Characters given ([`decode_vec`] counts bytes; the same for ASCII input).
        found: usize,
    },
    /// A character outside `0-9a-fA-F`.
    #[error("invalid hex character {character:?} at position {position}")]
    Character {
        /// The first offending character.
        character: char,
        /// Its 0-based position, counted in characters.
        position: usize,
    },
}

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Encodes bytes as lower-case hex, two characters per byte, most significant nibble first.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes exactly `N` bytes from `2*N` hex characters (either case accepted).
///
/// # Errors
/// [`HexError::Length`] if `text` is not exactly `2*N` characters (no whitespace or `0x`
/// prefix is stripped), [`HexError::Character`] for the first non-hex character.
pub fn decode_fixed<const N: usize>(text: &str) -> Result<[u8; N], HexError> {
    let raw = text.as_bytes();
    if raw.len() != 2 * N {
        return Err(HexError::Length { expected: 2 * N, found: text.chars().count() });
    }
    let mut out = [0u8; N];
    for (i, pair) in raw.chunks_exact(2).enumerate() {
        let hi = nibble(pair[0]).ok_or_else(|| bad_char(text, 2 * i))?;
        let lo = nibble(pair[1]).ok_or_else(|| bad_char(text, 2 * i + 1))?;
        out[i] = (hi << 4) | lo;
    }
    Ok(out)
}

/// Decodes any even-length hex string (either case) into its bytes; `""` gives an empty vector.
///
/// # Errors
/// [`HexError::Length`] for an odd length, [`HexError::Character`] for the first non-hex
/// character.
pub fn decode_vec(text: &str) -> Result<Vec<u8>, HexError> {
    let raw = text.as_bytes();
    if !raw.len().is_multiple_of(2) {
        return Err(HexError::Length { expected: raw.len() + 1, found: raw.len() });
    }
    raw.chunks_exact(2)
        .enumerate()
        .map(|(i, pair)| {
            let hi = nibble(pair[0]).ok_or_else(|| bad_char(text, 2 * i))?;
            let lo = nibble(pair[1]).ok_or_else(|| bad_char(text, 2 * i + 1))?;
            Ok((hi << 4) | lo)
        })
        .collect()
}

fn bad_char(text: &str, byte_pos: usize) -> HexError {
    // Report the character (not the byte) so non-ASCII input gives a readable message.
    let (position, character) = text
        .char_indices()
        .enumerate()
        .find(|(_, (offset, c))| byte_pos < offset + c.len_utf8())
        .map(|(i, (_, c))| (i, c))
        .unwrap_or((byte_pos, '?'));
    HexError::Character { character, position }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let bytes = [0x00, 0x0f, 0xa5, 0xff];
        assert_eq!(encode(&bytes), "000fa5ff");
        assert_eq!(decode_fixed::<4>("000FA5ff").unwrap(), bytes);
        assert_eq!(decode_vec("000fa5ff").unwrap(), bytes);
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(decode_fixed::<2>("abc"), Err(HexError::Length { expected: 4, found: 3 }));
        assert_eq!(
            decode_fixed::<2>("ab g"),
            Err(HexError::Character { character: ' ', position: 2 })
        );
        assert_eq!(
            decode_fixed::<2>("abé"),
            Err(HexError::Character { character: 'é', position: 2 })
        );
        assert!(decode_vec("abc").is_err());
    }
}
