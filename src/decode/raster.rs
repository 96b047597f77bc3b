//! stub
use super::{DecodeError, ImageFormat, Limits, RgbImage};
pub(super) fn probe(format: ImageFormat, _bytes: &[u8]) -> Result<(u32, u32), DecodeError> {
    Err(DecodeError::Unsupported { format, message: "todo".into() })
}
pub(super) fn decode(
    format: ImageFormat,
    _bytes: &[u8],
    _limits: &Limits,
) -> Result<RgbImage, DecodeError> {
    Err(DecodeError::Unsupported { format, message: "todo".into() })
}
