//! PNM (stub).
use super::{DecodeError, ImageFormat, Limits, RgbImage};
pub(super) fn probe(_bytes: &[u8]) -> Result<(u32, u32), DecodeError> {
    Err(DecodeError::Unsupported { format: ImageFormat::Pnm, message: "todo".into() })
}
pub(super) fn decode(_bytes: &[u8], _limits: &Limits) -> Result<RgbImage, DecodeError> {
    Err(DecodeError::Unsupported { format: ImageFormat::Pnm, message: "todo".into() })
}
