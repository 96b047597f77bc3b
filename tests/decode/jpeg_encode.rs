//! Test-only JPEG encoder over mozjpeg-sys (libjpeg API), used by tests/decode.rs and
//! benches/decode.rs to make JPEG fixtures in code. Valid parameters only: libjpeg's default
//! error handler exits the process on a fatal error, which is acceptable in test code fed
//! with fixed, valid settings.
#![allow(dead_code)]

use mozjpeg_sys::*;
use std::ffi::{c_int, c_ulong};

/// Colour model of the encoded JPEG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JpegColor {
    /// 1 component (input: 1 byte per pixel).
    Grey,
    /// YCbCr (input: RGB).
    YCbCr,
    /// RGB stored as is, Adobe transform 0 (input: RGB).
    Rgb,
    /// CMYK, Adobe transform 0 (input: 4 bytes per pixel, stored as given).
    Cmyk,
    /// YCCK, Adobe transform 2 (input: CMYK, converted by libjpeg).
    Ycck,
}

/// Encoding settings.
#[derive(Debug, Clone, Copy)]
pub struct JpegSpec {
    pub color: JpegColor,
    pub quality: i32,
    /// Sampling factors of the first component (the others are 1x1): (2, 2) is 4:2:0.
    pub luma_sampling: (u8, u8),
    pub progressive: bool,
    /// Restart marker every N MCU rows (0 = none).
    pub restart_rows: i32,
}

impl JpegSpec {
    pub fn new(color: JpegColor, quality: i32) -> Self {
        Self { color, quality, luma_sampling: (2, 2), progressive: false, restart_rows: 0 }
    }
}

/// Bytes per input pixel for a colour model.
pub fn input_channels(color: JpegColor) -> usize {
    match color {
        JpegColor::Grey => 1,
        JpegColor::YCbCr | JpegColor::Rgb => 3,
        JpegColor::Cmyk | JpegColor::Ycck => 4,
    }
}

/// Encodes `pixels` (row-major, `input_channels(spec.color)` bytes per pixel).
pub fn encode(pixels: &[u8], width: u32, height: u32, spec: &JpegSpec) -> Vec<u8> {
    let channels = input_channels(spec.color);
    assert_eq!(pixels.len(), width as usize * height as usize * channels);
    let (in_space, jpeg_space) = match spec.color {
        JpegColor::Grey => (J_COLOR_SPACE::JCS_GRAYSCALE, J_COLOR_SPACE::JCS_GRAYSCALE),
        JpegColor::YCbCr => (J_COLOR_SPACE::JCS_RGB, J_COLOR_SPACE::JCS_YCbCr),
        JpegColor::Rgb => (J_COLOR_SPACE::JCS_RGB, J_COLOR_SPACE::JCS_RGB),
        JpegColor::Cmyk => (J_COLOR_SPACE::JCS_CMYK, J_COLOR_SPACE::JCS_CMYK),
        JpegColor::Ycck => (J_COLOR_SPACE::JCS_CMYK, J_COLOR_SPACE::JCS_YCCK),
    };
    // SAFETY: the structs are zero-initialised as libjpeg expects before jpeg_create_compress,
    // live on this stack frame for the whole use, and every call follows libjpeg's documented
    // order (create, defaults, start, write all rows, finish, destroy). Row pointers point
    // into `pixels`, which outlives the calls; the output buffer is malloc'd by libjpeg and
    // released with free after copying.
    unsafe {
        let mut err: jpeg_error_mgr = std::mem::zeroed();
        let mut cinfo: jpeg_compress_struct = std::mem::zeroed();
        cinfo.common.err = jpeg_std_error(&mut err);
        jpeg_create_compress(&mut cinfo);
        let mut out_ptr: *mut u8 = std::ptr::null_mut();
        let mut out_len: c_ulong = 0;
        jpeg_mem_dest(&mut cinfo, &mut out_ptr, &mut out_len);
        cinfo.image_width = width;
        cinfo.image_height = height;
        cinfo.input_components = channels as c_int;
        cinfo.in_color_space = in_space;
        // Plain libjpeg-turbo behaviour, not MozJPEG's tuned defaults.
        jpeg_c_set_int_param(
            &mut cinfo,
            J_INT_PARAM::JINT_COMPRESS_PROFILE,
            JINT_COMPRESS_PROFILE_VALUE::JCP_FASTEST as c_int,
        );
        jpeg_set_defaults(&mut cinfo);
        jpeg_set_colorspace(&mut cinfo, jpeg_space);
        jpeg_set_quality(&mut cinfo, spec.quality, 1);
        let components =
            std::slice::from_raw_parts_mut(cinfo.comp_info, cinfo.num_components as usize);
        for (i, comp) in components.iter_mut().enumerate() {
            let (h, v) = if i == 0 { spec.luma_sampling } else { (1, 1) };
            comp.h_samp_factor = c_int::from(h);
            comp.v_samp_factor = c_int::from(v);
        }
        if spec.progressive {
            jpeg_simple_progression(&mut cinfo);
        }
        cinfo.restart_in_rows = spec.restart_rows;
        cinfo.optimize_coding = 1;
        jpeg_start_compress(&mut cinfo, 1);
        let stride = width as usize * channels;
        while cinfo.next_scanline < height {
            let row = pixels[cinfo.next_scanline as usize * stride..].as_ptr();
            let rows = [row];
            jpeg_write_scanlines(&mut cinfo, rows.as_ptr() as JSAMPARRAY, 1);
        }
        jpeg_finish_compress(&mut cinfo);
        let bytes = std::slice::from_raw_parts(out_ptr, out_len as usize).to_vec();
        jpeg_destroy_compress(&mut cinfo);
        libc::free(out_ptr.cast());
        bytes
    }
}
